import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { EncodedPacket } from '../media/packet.js';

/** Bounds of the queue between the StreamMuxer and the NetworkSender. */
export interface StreamBufferOptions {
  /** Hard cap on queued packets (video beyond it is refused; audio may exceed it). Default 100. */
  maxPackets: number;
  /**
   * Hard cap on queued bytes. Default 4 MiB: about 12 s of the default 2.66 Mbit/s stream, so at the
   * default bitrates the latency bound always acts first and this only caps memory (8 Mbit/s → 4 s).
   */
  maxBytes: number;
  /** Latency bound, ms: the age of the oldest queued media. Default 2000. */
  maxLatencyMs: number;
}

/** Default StreamBuffer bounds. */
export function defaultStreamBufferOptions(): StreamBufferOptions {
  return { maxPackets: 100, maxBytes: 4 * 1024 * 1024, maxLatencyMs: 2000 };
}

/** Throws a ConfigError naming the first bad StreamBuffer option. */
export function validateStreamBufferOptions(options: StreamBufferOptions): void {
  if (!Number.isInteger(options.maxPackets) || options.maxPackets < 1) {
    throw new ConfigError('maxPackets', options.maxPackets, 'use a whole number ≥ 1, e.g. 100');
  }
  if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) {
    throw new ConfigError('maxBytes', options.maxBytes, 'use a whole number of bytes ≥ 1, e.g. 4194304');
  }
  if (!Number.isFinite(options.maxLatencyMs) || options.maxLatencyMs <= 0) {
    throw new ConfigError(
      'maxLatencyMs',
      options.maxLatencyMs,
      'use a positive number of milliseconds, e.g. 2000',
    );
  }
}

/** Which video packets a purge takes (those of one track of a multitrack output). */
export type VideoTrackFilter = (packet: EncodedPacket) => boolean;

const everyVideo: VideoTrackFilter = () => true;

/** Which hard cap a packet would exceed. */
export type HardCap = 'packets' | 'bytes';

// Compact the backing array once this many slots before the head are dead (and they are half of it).
const COMPACT_AFTER = 1024;

/**
 * Whether a queue with `deadSlots` of its `totalSlots` dead (before its head) should drop them: at
 * once when nothing is live, else once there are COMPACT_AFTER of them and they are half the array
 * (so memory stays within twice the live packets plus COMPACT_AFTER, and copies are amortised O(1)).
 */
export function shouldCompact(deadSlots: number, totalSlots: number): boolean {
  return deadSlots === totalSlots || (deadSlots >= COMPACT_AFTER && deadSlots * 2 >= totalSlots);
}

/**
 * The bounded FIFO between muxer and sender. Enqueue and dequeue are O(1) amortised (a head index
 * over an array, compacted in bulk). The buffer enforces its packet and byte caps on `addPacket()`;
 * what to drop when they or the latency bound are reached is the StreamMuxer's decision.
 */
export class StreamBuffer {
  /** The validated bounds. */
  readonly options: Readonly<StreamBufferOptions>;
  readonly #clock: Clock;
  // Live packets are #items[#head ..]; slots before #head are dead and set to undefined.
  #items: (EncodedPacket | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #videoCount = 0;

  constructor(clock: Clock, options: Partial<StreamBufferOptions> = {}) {
    const resolved = { ...defaultStreamBufferOptions(), ...options };
    validateStreamBufferOptions(resolved);
    this.options = Object.freeze(resolved);
    this.#clock = clock;
  }

  /** Packets queued. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Bytes queued (sum of `byteLength`). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Video packets queued. */
  get videoCount(): number {
    return this.#videoCount;
  }

  /** Audio packets queued. */
  get audioCount(): number {
    return this.size - this.#videoCount;
  }

  /** Age of the oldest queued media, ms: now − its dts (timestamps are capture times); 0 when empty. */
  get currentLatencyMs(): number {
    const oldest = this.#items[this.#head];
    if (oldest === undefined) return 0;
    return Math.max(0, (this.#clock.nowUs() - oldest.dtsUs) / 1000);
  }

  /** The hard cap that queuing `packet` would exceed, or null. An empty buffer takes any one packet. */
  hardCapExceeded(packet: EncodedPacket): HardCap | null {
    if (this.size + 1 > this.options.maxPackets) return 'packets';
    if (this.size > 0 && this.#bytes + packet.byteLength > this.options.maxBytes) return 'bytes';
    return null;
  }

  /** Whether `packet` fits all three bounds: packets, bytes and the buffer's latency. */
  canAcceptPacket(packet: EncodedPacket): boolean {
    return this.hardCapExceeded(packet) === null && this.currentLatencyMs <= this.options.maxLatencyMs;
  }

  /** Queues `packet` if it fits the packet and byte caps; returns whether it was queued. */
  addPacket(packet: EncodedPacket): boolean {
    if (this.hardCapExceeded(packet) !== null) return false;
    this.#push(packet);
    return true;
  }

  /** Queues `packet` whatever the caps (audio is never dropped while connected). */
  addPacketOverBound(packet: EncodedPacket): void {
    this.#push(packet);
  }

  /** The oldest queued packet, without removing it. */
  peek(): EncodedPacket | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the oldest queued packet. */
  nextPacket(): EncodedPacket | undefined {
    const packet = this.#items[this.#head];
    if (packet === undefined) return undefined;
    this.#items[this.#head] = undefined;
    this.#head++;
    this.#account(packet, -1);
    this.#compactIfDue();
    return packet;
  }

  /** Removes everything; returns what was removed, oldest first, so the caller can count it. */
  clear(): EncodedPacket[] {
    const removed = this.#items.slice(this.#head) as EncodedPacket[];
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#videoCount = 0;
    return removed;
  }

  /**
   * Removes the queued, unsent video of the GOP being broken: every video packet from the last
   * queued keyframe on, or all queued video if that GOP's keyframe has already been sent (then the
   * queue holds only its tail). Audio stays. What is removed is a suffix of the video sequence, so
   * the stream stays decodable provided the caller drops all video until the next keyframe.
   * `inTrack`: only the video it accepts (one track of a multitrack output), every video by default.
   */
  purgeBrokenGop(inTrack: VideoTrackFilter = everyVideo): EncodedPacket[] {
    // Dead slots before the head are undefined, so the search cannot find one of them.
    const lastKeyframe = this.#items.findLastIndex((p) => p?.kind === 'video' && p.keyframe && inTrack(p));
    return this.#removeVideoFrom(Math.max(lastKeyframe, this.#head), inTrack);
  }

  /** Removes every queued video packet (a suffix of the video sequence; same contract as purgeBrokenGop). */
  purgeAllVideo(inTrack: VideoTrackFilter = everyVideo): EncodedPacket[] {
    return this.#removeVideoFrom(this.#head, inTrack);
  }

  /** A copy of the queued packets, oldest first (diagnostics and tests). */
  toArray(): EncodedPacket[] {
    return this.#items.slice(this.#head) as EncodedPacket[];
  }

  #push(packet: EncodedPacket): void {
    this.#items.push(packet);
    this.#account(packet, 1);
  }

  #account(packet: EncodedPacket, sign: 1 | -1): void {
    this.#bytes += sign * packet.byteLength;
    if (packet.kind === 'video') this.#videoCount += sign;
  }

  #removeVideoFrom(start: number, inTrack: VideoTrackFilter): EncodedPacket[] {
    const removed: EncodedPacket[] = [];
    let write = start;
    for (let read = start; read < this.#items.length; read++) {
      const packet = this.#items[read] as EncodedPacket;
      if (packet.kind === 'video' && inTrack(packet)) {
        removed.push(packet);
        this.#account(packet, -1);
      } else {
        this.#items[write++] = packet;
      }
    }
    this.#items.length = write;
    this.#compactIfDue();
    return removed;
  }

  #compactIfDue(): void {
    if (!shouldCompact(this.#head, this.#items.length)) return;
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }
}
