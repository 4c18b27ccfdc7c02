import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';

/** Options of a BitrateController. */
export interface BitrateControllerOptions {
  /** The configured video bitrate: where it starts and the most it goes back up to, bits per second. */
  maxBitrateBps: number;
  /** The least it goes down to, bits per second; default max(maxBitrateBps / 10, 200 kbit/s). */
  minBitrateBps: number;
  /** Audio's share of the path, bits per second: taken off the delivery rate. */
  audioBitrateBps: number;
  /** A path whose latency is above this share of its own maxLatencyMs counts as congested; default 0.5. */
  congestedShare: number;
  /**
   * Every path's latency must be under this share of its maxLatencyMs for the bitrate to go up; in
   * between it holds (a queue is building: probing higher would only overshoot). Default 0.25.
   */
  clearShare: number;
  /** When lowering, video gets this share of the measured delivery rate (minus audio); default 0.8. */
  headroom: number;
  /** At least this long between two decreases: the encoder's rate control needs about 1 s, ms; default 2000. */
  decreaseIntervalMs: number;
  /** The paths must be clear this long before each increase, ms; default 4000. */
  increaseIntervalMs: number;
  /** Each increase adds this share of maxBitrateBps; default 0.1. */
  increaseStep: number;
}

/** Defaults for a stream of `maxBitrateBps` video and `audioBitrateBps` audio. */
export function bitrateControllerDefaults(
  maxBitrateBps: number,
  audioBitrateBps: number,
): BitrateControllerOptions {
  return {
    maxBitrateBps,
    minBitrateBps: Math.min(maxBitrateBps, Math.max(maxBitrateBps / 10, 200_000)),
    audioBitrateBps,
    congestedShare: 0.5,
    clearShare: 0.25,
    headroom: 0.8,
    decreaseIntervalMs: 2000,
    increaseIntervalMs: 4000,
    increaseStep: 0.1,
  };
}

/** Throws a ConfigError naming the first bad option. */
export function validateBitrateControllerOptions(o: BitrateControllerOptions): void {
  if (!(o.minBitrateBps >= 50_000 && o.minBitrateBps <= o.maxBitrateBps)) {
    throw new ConfigError(
      'minBitrateBps',
      o.minBitrateBps,
      `use 50k up to the video bitrate (${o.maxBitrateBps})`,
    );
  }
  if (!(o.headroom > 0 && o.headroom <= 1))
    throw new ConfigError('headroom', o.headroom, 'use a share in (0, 1]');
  if (!(o.increaseStep > 0 && o.increaseStep <= 1)) {
    throw new ConfigError('increaseStep', o.increaseStep, 'use a share in (0, 1]');
  }
  if (!(o.clearShare > 0 && o.clearShare <= o.congestedShare)) {
    throw new ConfigError(
      'clearShare/congestedShare',
      `${o.clearShare}/${o.congestedShare}`,
      'use shares of maxLatencyMs with 0 < clearShare ≤ congestedShare',
    );
  }
  for (const field of ['decreaseIntervalMs', 'increaseIntervalMs'] as const) {
    if (!(o[field] > 0)) throw new ConfigError(field, o[field], 'use a positive number of milliseconds');
  }
}

/** What one live output reports to the controller. */
export interface PathReport {
  /** The output's drop policy is dropping video. */
  readonly dropping: boolean;
  /** Its current end-to-end latency, ms. */
  readonly latencyMs: number;
  /** Its drop threshold, ms: the thresholds here are shares of it. */
  readonly maxLatencyMs: number;
  /** What its path delivered lately, bits per second (0: not known). */
  readonly deliveryRateBps: number;
  /** What the encoders handed it lately, bits per second (the stream it is offered); absent: not known. */
  readonly offeredRateBps?: number;
}

/** A bitrate change and why. */
export interface BitrateChange {
  readonly bitrateBps: number;
  readonly reason: 'congested' | 'clear';
}

/**
 * Adaptive video bitrate for sustained congestion: drops bound the latency, this makes them rare.
 * When any output is congested (latency over `congestedShare` of its maxLatencyMs, or dropping while
 * over `clearShare`) the bitrate goes down to `headroom` × what that path delivered (minus audio), and
 * by at least 1 − headroom, at most every `decreaseIntervalMs`, and within one episode only while the
 * latency is not falling; after `increaseIntervalMs` with every output under `clearShare` it goes back
 * up by `increaseStep` of the configured bitrate at a time (additive increase, multiplicative
 * decrease); in between it holds. One encoder feeds every output, so
 * the slowest path sets the rate. Pure: the caller feeds reports and applies the changes.
 */
export class BitrateController {
  /** The resolved, validated options. */
  options: Readonly<BitrateControllerOptions>;
  readonly #clock: Clock;
  #bitrateBps: number;
  #lastDecreaseUs = -Infinity;
  #clearSinceUs: number | null = null;
  #congested = false;
  #previousWorst = 0;
  #lowestBps: number;
  #decreases = 0;

  constructor(clock: Clock, options: BitrateControllerOptions) {
    validateBitrateControllerOptions(options);
    this.options = Object.freeze({ ...options });
    this.#clock = clock;
    this.#bitrateBps = options.maxBitrateBps;
    this.#lowestBps = options.maxBitrateBps;
  }

  /** The video bitrate it asks for now, bits per second. */
  get bitrateBps(): number {
    return this.#bitrateBps;
  }

  /** The lowest bitrate it asked for so far, bits per second. */
  get lowestBitrateBps(): number {
    return this.#lowestBps;
  }

  /** How many times it lowered the bitrate. */
  get decreases(): number {
    return this.#decreases;
  }

  /**
   * A new configured bitrate (the app changed its quality): the ceiling moves, and the bitrate
   * with it where it was at the old ceiling or is above the new one. Returns the bitrate to use now.
   */
  setMaxBitrate(maxBitrateBps: number): number {
    const o = this.options;
    const next = { ...o, maxBitrateBps, minBitrateBps: Math.min(o.minBitrateBps, maxBitrateBps) };
    validateBitrateControllerOptions(next);
    const atCeiling = this.#bitrateBps >= o.maxBitrateBps;
    this.options = Object.freeze(next);
    if (atCeiling || this.#bitrateBps > maxBitrateBps) this.#bitrateBps = maxBitrateBps;
    this.#lowestBps = Math.min(this.#lowestBps, this.#bitrateBps);
    return this.#bitrateBps;
  }

  /** Takes the live outputs' reports; returns a change to apply, or null. No outputs: no change. */
  update(paths: readonly PathReport[]): BitrateChange | null {
    if (paths.length === 0) return null;
    const o = this.options;
    const nowUs = this.#clock.nowUs();
    const share = (p: PathReport): number => p.latencyMs / Math.max(1, p.maxLatencyMs);
    // Dropping goes on until a keyframe after the latency fell: once under the clear share it is over.
    const congested = paths.filter(
      (p) => share(p) > o.congestedShare || (p.dropping && share(p) >= o.clearShare),
    );
    const worst = Math.max(...paths.map(share));
    const previousWorst = this.#previousWorst;
    this.#previousWorst = worst;
    if (congested.length > 0) {
      this.#clearSinceUs = null;
      const episodeStart = !this.#congested;
      this.#congested = true;
      if (nowUs - this.#lastDecreaseUs < o.decreaseIntervalMs * 1000) return null;
      // Within an episode, cut again only while latency is not falling: a falling queue means the
      // last cut already fits the path, and it drains by itself.
      if (!episodeStart && worst < previousWorst) return null;
      // No measured rate: Math.min() is Infinity, and the headroom cut below applies alone.
      const rates = congested.map((p) => p.deliveryRateBps).filter((r) => r > 0);
      const videoShare = Math.min(...rates) * o.headroom - o.audioBitrateBps;
      const next = Math.round(Math.max(o.minBitrateBps, Math.min(videoShare, this.#bitrateBps * o.headroom)));
      if (next >= this.#bitrateBps) return null;
      this.#lastDecreaseUs = nowUs;
      this.#decreases++;
      this.#lowestBps = Math.min(this.#lowestBps, next);
      return this.#set(next, 'congested');
    }
    this.#congested = false;
    if (worst >= o.clearShare) {
      this.#clearSinceUs = null;
      return null;
    }
    this.#clearSinceUs ??= nowUs;
    if (this.#bitrateBps >= o.maxBitrateBps) return null;
    if (nowUs - this.#clearSinceUs < o.increaseIntervalMs * 1000) return null;
    this.#clearSinceUs = nowUs;
    return this.#set(
      Math.min(o.maxBitrateBps, Math.round(this.#bitrateBps + o.increaseStep * o.maxBitrateBps)),
      'clear',
    );
  }

  #set(bitrateBps: number, reason: BitrateChange['reason']): BitrateChange {
    this.#bitrateBps = bitrateBps;
    return { bitrateBps, reason };
  }
}
