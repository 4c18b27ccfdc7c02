import type { Clock, Timer } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { EncodedPacket, MediaKind } from '../media/packet.js';

/** How long a packet may wait for the other kind to reach its time, by default: ms. */
export const DEFAULT_INTERLEAVE_MAX_WAIT_MS = 300;

/** Counters of an Interleaver. */
export interface InterleaverStats {
  /** Packets waiting now. */
  readonly held: number;
  /** Packets released because they had waited `maxWaitMs` (the other kind was late or stalled). */
  readonly releasedOnTimeout: number;
  /** The longest any packet waited, ms. */
  readonly maxWaitedMs: number;
}

interface Held {
  readonly packet: EncodedPacket;
  readonly atUs: number;
}

/**
 * Puts the session's audio and video in decode-time order before they fan out to the outputs, as
 * FLV muxers do (FFmpeg's interleaving, OBS's): a packet waits until the other kind has reached its
 * time, so the server gets one time-ordered stream. AAC hands out a packet about 64 ms after its
 * first sample and video leaves the encoder within a frame, so it is video that waits (for the AAC
 * packet that covers its time: audio reaches the end of each packet), and the
 * stream reaches the server as a player can use it: a player starts at the later of the two kinds.
 *
 * Nothing waits longer than `maxWaitMs` (then it goes, and is counted): a stalled or slow encoder
 * never holds the other kind back for longer. Order within a kind is kept. A session with one kind
 * only passes everything through at once, as does `maxWaitMs` 0.
 */
export class Interleaver {
  readonly #clock: Clock;
  readonly #maxWaitUs: number;
  readonly #release: (packet: EncodedPacket) => void;
  readonly #interleaves: boolean;
  readonly #queues: Record<MediaKind, Held[]> = { video: [], audio: [] };
  readonly #reachedUs: Record<MediaKind, number> = { video: -Infinity, audio: -Infinity };
  /** Audio's last decode time, and the step between its last two packets (one AAC frame). */
  #audioDtsUs = -Infinity;
  #audioStepUs = NaN;
  #timer: Timer | null = null;
  #releasedOnTimeout = 0;
  #maxWaitedUs = 0;

  /**
   * `kinds`: which kinds the session carries (a kind that is absent is never waited for).
   * `release`: called with each packet, in order, when it may go.
   */
  constructor(
    clock: Clock,
    kinds: { video: boolean; audio: boolean },
    maxWaitMs: number,
    release: (packet: EncodedPacket) => void,
  ) {
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new ConfigError('interleaveMaxWaitMs', maxWaitMs, 'use a number of milliseconds ≥ 0, e.g. 300');
    }
    this.#clock = clock;
    this.#maxWaitUs = maxWaitMs * 1000;
    this.#release = release;
    this.#interleaves = kinds.video && kinds.audio && maxWaitMs > 0;
  }

  /** Takes one packet; it is released now, or once the other kind reaches its time, or after `maxWaitMs`. */
  push(packet: EncodedPacket): void {
    const kind = packet.kind;
    const reachedUs = kind === 'audio' ? this.#audioReachedUs(packet.dtsUs) : packet.dtsUs;
    if (reachedUs > this.#reachedUs[kind]) this.#reachedUs[kind] = reachedUs;
    if (!this.#interleaves) {
      this.#release(packet);
      return;
    }
    this.#queues[kind].push({ packet, atUs: this.#clock.nowUs() });
    this.#drain();
  }

  /**
   * How far audio has reached once a packet at `dtsUs` is in: to the end of that packet. Audio comes
   * from one encoder in frames of one length, back to back, so the next packet starts where this one
   * ends, and video up to there need not wait for it (half an AAC frame less wait on average). The
   * length is taken as the step between the last two packets once two steps in a row agreed (to a
   * microsecond of rounding); until then, and after any other step, only the packet's start counts.
   */
  #audioReachedUs(dtsUs: number): number {
    const step = dtsUs - this.#audioDtsUs;
    const previousStep = this.#audioStepUs;
    this.#audioDtsUs = dtsUs;
    this.#audioStepUs = step;
    // The next packet starts at least the shorter of the two steps on (less a microsecond: just before it).
    return Math.abs(step - previousStep) <= 1 ? dtsUs + Math.min(step, previousStep) - 1 : dtsUs;
  }

  /** Releases everything held, in decode-time order (the session's end). */
  flush(): void {
    this.#drain('flush');
  }

  /** A snapshot of the counters. */
  get stats(): InterleaverStats {
    return {
      held: this.#queues.video.length + this.#queues.audio.length,
      releasedOnTimeout: this.#releasedOnTimeout,
      maxWaitedMs: this.#maxWaitedUs / 1000,
    };
  }

  // `timer`: the deadline timer fired, which may be up to a millisecond early (timers are in ms).
  #drain(why: 'push' | 'timer' | 'flush' = 'push'): void {
    const nowUs = this.#clock.nowUs();
    const all = why === 'flush';
    const slackUs = why === 'timer' ? 1000 : 0;
    for (;;) {
      const kind = this.#earliest();
      if (kind === null) break;
      const other: MediaKind = kind === 'video' ? 'audio' : 'video';
      const { packet, atUs } = this.#queues[kind][0] as Held;
      const waitedUs = nowUs - atUs;
      const reached = this.#reachedUs[other] >= packet.dtsUs;
      const timedOut = waitedUs + slackUs >= this.#maxWaitUs;
      if (!all && !reached && !timedOut) break;
      if (!all && !reached) this.#releasedOnTimeout++;
      if (waitedUs > this.#maxWaitedUs) this.#maxWaitedUs = waitedUs;
      this.#queues[kind].shift();
      this.#release(packet);
    }
    this.#armTimer();
  }

  /** The kind whose first held packet has the earlier decode time (audio on a tie), or null when none is held. */
  #earliest(): MediaKind | null {
    const video = this.#queues.video[0];
    const audio = this.#queues.audio[0];
    if (video === undefined) return audio === undefined ? null : 'audio';
    if (audio === undefined) return 'video';
    return video.packet.dtsUs < audio.packet.dtsUs ? 'video' : 'audio';
  }

  // One timer for the packet that waits longest, so a kind that stops altogether still releases the other.
  #armTimer(): void {
    const first = this.#earliest();
    if (first === null) {
      this.#timer?.cancel();
      this.#timer = null;
      return;
    }
    if (this.#timer !== null) return;
    const { atUs } = this.#queues[first][0] as Held;
    const delayMs = (atUs + this.#maxWaitUs - this.#clock.nowUs()) / 1000;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#drain('timer');
    }, delayMs);
  }
}
