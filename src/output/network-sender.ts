import { sleep, type Clock } from '../core/clock.js';
import { packetTag } from '../flv/tags.js';
import type { RtmpConnection } from '../rtmp/rtmp-connection.js';
import { KernelSendQueue } from './kernel-send-queue.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { MediaKind } from '../media/packet.js';
import type { StreamMuxer } from './stream-muxer.js';

// Without acknowledgements, the kernel may hold at least this much (a few TCP segments keep the path busy).
const KERNEL_QUEUE_FLOOR_BYTES = 32 * 1024;

/** Options of the send loop. */
export interface NetworkSenderOptions {
  /** The socket's own buffer is kept under this many bytes, bytes. */
  sendBufferBytes: number;
  /** Bytes past the socket buffer are kept to about this much of the delivery rate, ms. */
  inFlightTargetMs: number;
  /**
   * The stream's own bitrate (video + audio), bits per second: how fast the kernel is assumed to drain
   * while its last reading showed it keeping up. 0: no such assumption.
   */
  nominalRateBps: number;
}

/** What the sender needs from its output besides the queue and the tracker. */
export interface NetworkSenderHooks {
  /** RTMP timestamp of a packet's decode time, ms. */
  timestampMs(dtsUs: number): number;
  /** Called after each pass with the bytes still waiting (socket buffer plus queued packets). */
  onPumped(pendingBytes: number): void;
  /**
   * Writes what must precede the first packet of `kind` on a connection (metadata, the sequence
   * header), stamped with that packet's timestamp so no stream's timestamps ever step backwards.
   */
  beforeFirstPacket(connection: RtmpConnection, kind: MediaKind, timestampMs: number): void;
}

/**
 * The event-driven send loop of one destination (ARCHITECTURE: NetworkSender). It runs when a packet
 * is queued, the socket drains, an acknowledgement arrives or the kernel reports progress — never on
 * a timer — and moves packets from the StreamMuxer to the socket only while both the socket's own
 * buffer and the bytes past it (kernel buffers, the path) are small. Everything else waits in the
 * StreamBuffer, where video can still be dropped: no buffer downstream hides congestion.
 */
export class NetworkSender {
  readonly #clock: Clock;
  readonly #muxer: StreamMuxer;
  readonly #tracker: LatencyTracker;
  readonly #options: NetworkSenderOptions;
  readonly #hooks: NetworkSenderHooks;
  #connection: RtmpConnection | null = null;
  /** The kinds already started on this connection (their headers are out). */
  readonly #started = new Set<MediaKind>();
  #pumping = false;
  #kernelQueue: KernelSendQueue | null = null;
  #kernelReading: { atUs: number; handedOver: number; inKernel: number } | null = null;

  constructor(
    clock: Clock,
    muxer: StreamMuxer,
    tracker: LatencyTracker,
    options: NetworkSenderOptions,
    hooks: NetworkSenderHooks,
  ) {
    this.#clock = clock;
    this.#muxer = muxer;
    this.#tracker = tracker;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Starts sending on a newly published connection. */
  attach(connection: RtmpConnection): void {
    this.detach();
    this.#started.clear();
    this.#connection = connection;
  }

  /** Stops sending (the connection is gone); idempotent. */
  detach(): void {
    this.#connection = null;
    this.#kernelQueue?.close();
    this.#kernelQueue = null;
    this.#kernelReading = null;
  }

  /** Bytes in the kernel not yet received by the server, where that gates sending (Linux, no acknowledgements); else null. */
  get kernelQueueBytes(): number | null {
    const connection = this.#connection;
    if (!connection || this.#tracker.ackState === 'acknowledging') return null;
    const bytes = this.#estimatedKernelBytes(connection);
    return bytes === null ? null : Math.round(bytes);
  }

  /** Moves packets from the queue to the socket while the socket and the path can take them. */
  pump(): void {
    const connection = this.#connection;
    if (this.#pumping || !connection) return;
    this.#pumping = true;
    try {
      this.#observeKernel(connection);
      while (connection.writableLength < this.#options.sendBufferBytes && !this.#inFlightFull(connection)) {
        const packet = this.#muxer.nextPacket();
        if (!packet) break;
        const body = packetTag(packet);
        const ts = this.#hooks.timestampMs(packet.dtsUs);
        if (!this.#started.has(packet.kind)) {
          this.#started.add(packet.kind);
          this.#hooks.beforeFirstPacket(connection, packet.kind, ts);
        }
        const result =
          packet.kind === 'video' ? connection.writeVideo(ts, body) : connection.writeAudio(ts, body);
        this.#tracker.recordSent(result.endOffset, packet.dtsUs);
        if (!result.ok) break;
      }
    } finally {
      this.#pumping = false;
    }
    this.#hooks.onPumped(connection.writableLength + this.#muxer.queuedPackets);
  }

  /** Sends what is queued until it is all handed to the kernel, or `timeoutMs` passes. */
  async flush(timeoutMs: number): Promise<void> {
    const deadlineUs = this.#clock.nowUs() + timeoutMs * 1000;
    for (let connection = this.#connection; connection && this.#clock.nowUs() < deadlineUs;) {
      this.pump();
      if (this.#muxer.queuedPackets === 0 && connection.writableLength === 0) return;
      await sleep(this.#clock, 20);
      connection = this.#connection;
    }
  }

  /**
   * Keeps the bytes past our socket buffer (kernel buffers, the path) to about inFlightTargetMs of the
   * delivery rate, so congestion shows up in the StreamBuffer where video can still be dropped.
   * Acknowledging servers: unacknowledged bytes, never under two windows (or acknowledgements stop).
   * Otherwise, where the kernel's queue is visible (Linux), the bytes in it: without this the kernel
   * soaks up megabytes — measured 10-14 s of media at 665 kbit/s behind node-media-server.
   */
  #inFlightFull(connection: RtmpConnection): boolean {
    if (this.#tracker.ackState === 'acknowledging') {
      const byRate = (this.#tracker.deliveryRateBps / 8) * (this.#options.inFlightTargetMs / 1000);
      const window = this.#tracker.effectiveAckWindowBytes;
      return this.#tracker.unacknowledgedBytes >= Math.max(2 * window + 16384, byRate);
    }
    const inKernel = this.#estimatedKernelBytes(connection);
    const byDrain = (this.#kernelDrainRateBps() / 8) * (this.#options.inFlightTargetMs / 1000);
    return inKernel !== null && inKernel >= Math.max(KERNEL_QUEUE_FLOOR_BYTES, byDrain);
  }

  /**
   * How fast the kernel's queue drains, bits per second. While the last reading found it (nearly)
   * empty the path kept up with everything it was given, so it drains at least at the stream's own
   * rate; the measured delivery rate alone would start at zero, the gate would let only the floor
   * through per reading (readings can be 200 ms apart) and that would throttle the measure itself:
   * measured, 0.6–0.85 s of latency and 20 fps during the first 2 s on a clean loopback. Once a
   * reading finds the kernel holding more, the path is the bottleneck and the measured rate rules.
   */
  #kernelDrainRateBps(): number {
    const measured = this.#tracker.deliveryRateBps;
    const reading = this.#kernelReading;
    const keptUp = reading !== null && reading.inKernel <= KERNEL_QUEUE_FLOOR_BYTES;
    return keptUp ? Math.max(measured, this.#options.nominalRateBps) : measured;
  }

  /**
   * Bytes in the kernel now: the last reading, plus what was handed over since, minus what the delivery
   * rate drained since. Readings can be 200 ms apart (listing the socket table is slow), and counting
   * everything handed over since as still queued would starve a fast path between readings.
   */
  #estimatedKernelBytes(connection: RtmpConnection): number | null {
    const reading = this.#kernelReading;
    if (reading === null || !this.#kernelQueue?.visible) return null;
    const handedOverSince = connection.bytesWritten - connection.writableLength - reading.handedOver;
    const drainedSince = (this.#kernelDrainRateBps() / 8) * ((this.#clock.nowUs() - reading.atUs) / 1e6);
    return Math.max(0, reading.inKernel + handedOverSince - drainedSince);
  }

  /** Non-acknowledging (or not yet acknowledging) servers: what the kernel says the server's TCP got. */
  #observeKernel(connection: RtmpConnection): void {
    if (this.#tracker.ackState === 'acknowledging') return;
    this.#kernelQueue ??= new KernelSendQueue(this.#clock, connection.tcpPorts);
    // Bytes handed to the kernel when the read starts: what it reports is at most that (conservative).
    const handedOver = connection.bytesWritten - connection.writableLength;
    const atUs = this.#clock.nowUs();
    this.#kernelQueue.request((inKernel) => {
      if (this.#connection !== connection) return;
      this.#kernelReading = { atUs, handedOver, inKernel };
      this.#tracker.onTransportDelivered(handedOver - inKernel);
      this.pump();
    });
  }
}
