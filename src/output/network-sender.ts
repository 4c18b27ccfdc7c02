import { sleep, type Clock } from '../core/clock.js';
import type { InFlightGate } from './in-flight-gate.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { EncodedPacket } from '../media/packet.js';
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
  #next: { connection: TransportConnection; onSwitch: (keyframe: EncodedPacket) => void } | null = null;
  #videoSeen = false;

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

  /** Stops sending (the connection is gone); idempotent. A pending switch is forgotten. */
  detach(): void {
    this.#connection = null;
    this.#next = null;
  }

  /**
   * Moves to `next` at the next video keyframe to leave the queue (the next packet, for a stream
   * that has carried no video): that packet and everything after it go to `next`, everything before
   * went to the current connection, so each packet goes to exactly one, in order. `onSwitch` runs
   * just before the keyframe is written to `next`. Timestamps go on from the same epoch.
   */
  switchAtKeyframe(next: TransportConnection, onSwitch: (keyframe: EncodedPacket) => void): void {
    this.#next = { connection: next, onSwitch };
    this.pump();
  }

  /** Forgets a pending switch (the next connection failed). */
  cancelSwitch(): void {
    this.#next = null;
  }

  /** Moves packets from the queue to the connection while it and the path can take them. */
  pump(): void {
    if (this.#pumping || !this.#connection) return;
    this.#pumping = true;
    let connection = this.#connection;
    try {
      if (this.#tracker.ackState !== 'acknowledging') connection.requestDeliveryReading();
      for (;;) {
        const next = this.#next;
        const head = next ? this.#muxer.peek() : undefined;
        if (next && head && (head.kind === 'video' ? head.keyframe : !this.#videoSeen)) {
          // The switch point: the old connection's own buffer and the gate no longer matter.
          this.#next = null;
          this.#connection = connection = next.connection;
          next.onSwitch(head);
        }
        // What waits in our buffer goes down as the path takes it: a keyframe in pieces, not in one burst.
        connection.limitHandOver(this.#gate.allowance(connection));
        if (
          !connection.writable ||
          connection.bufferedBytes >= this.#options.sendBufferBytes ||
          this.#gate.isFull(connection)
        ) {
          break;
        }
        const packet = this.#muxer.nextPacket();
        if (!packet) break;
        if (packet.kind === 'video') this.#videoSeen = true;
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
