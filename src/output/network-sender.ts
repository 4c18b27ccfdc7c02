import { sleep, type Clock } from '../core/clock.js';
import type { InFlightGate } from './in-flight-gate.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { StreamMuxer } from './stream-muxer.js';
import type { TransportConnection } from './transport.js';

/** Options of the send loop. */
export interface NetworkSenderOptions {
  /** The connection's own buffer is kept under this many bytes, bytes. */
  sendBufferBytes: number;
}

/**
 * The send loop of one destination (docs/architecture.md: NetworkSender). `pump()` runs when a packet is
 * queued, the socket drains, an acknowledgement or a delivery reading arrives — event-driven, no
 * polling while streaming — and moves packets from the StreamMuxer to the connection only while its
 * own buffer is small and the InFlightGate is open. Everything else waits in the StreamBuffer, where
 * video can still be dropped. Only `flush()`, at the end of a stream, waits on a 20 ms timer.
 */
export class NetworkSender {
  readonly #clock: Clock;
  readonly #muxer: StreamMuxer;
  readonly #tracker: LatencyTracker;
  readonly #gate: InFlightGate;
  readonly #options: NetworkSenderOptions;
  readonly #onPumped: (pendingBytes: number) => void;
  #connection: TransportConnection | null = null;
  #epochMs = 0;
  #pumping = false;

  /** `onPumped(bytes)`: after each pass, the bytes still waiting (socket buffer plus queue). */
  constructor(
    clock: Clock,
    muxer: StreamMuxer,
    tracker: LatencyTracker,
    gate: InFlightGate,
    options: NetworkSenderOptions,
    onPumped: (pendingBytes: number) => void,
  ) {
    this.#clock = clock;
    this.#muxer = muxer;
    this.#tracker = tracker;
    this.#gate = gate;
    this.#options = options;
    this.#onPumped = onPumped;
  }

  /** Starts sending on a newly published connection; RTMP timestamps are session ms minus `epochMs`. */
  attach(connection: TransportConnection, epochMs: number): void {
    this.#connection = connection;
    this.#epochMs = epochMs;
  }

  /** Stops sending (the connection is gone); idempotent. */
  detach(): void {
    this.#connection = null;
  }

  /** Moves packets from the queue to the connection while it and the path can take them. */
  pump(): void {
    const connection = this.#connection;
    if (this.#pumping || !connection) return;
    this.#pumping = true;
    try {
      if (this.#tracker.ackState !== 'acknowledging') connection.requestDeliveryReading();
      while (
        connection.writable &&
        connection.bufferedBytes < this.#options.sendBufferBytes &&
        !this.#gate.isFull(connection)
      ) {
        const packet = this.#muxer.nextPacket();
        if (!packet) break;
        const timestampMs = Math.max(0, Math.round(packet.dtsUs / 1000) - this.#epochMs);
        const result = connection.write(packet, timestampMs);
        this.#tracker.recordSent(result.endOffset, packet.dtsUs);
        if (!result.ok) break;
      }
    } finally {
      this.#pumping = false;
    }
    this.#onPumped(connection.bufferedBytes + this.#muxer.queuedBytes);
  }

  /** Sends what is queued until it is all handed below our buffer, or `timeoutMs` passes. */
  async flush(timeoutMs: number): Promise<void> {
    const deadlineUs = this.#clock.nowUs() + timeoutMs * 1000;
    for (let connection = this.#connection; connection && this.#clock.nowUs() < deadlineUs;) {
      this.pump();
      if (this.#muxer.queuedPackets === 0 && connection.bufferedBytes === 0) return;
      await sleep(this.#clock, 20);
      connection = this.#connection;
    }
  }
}
