import { ConfigError } from '../core/errors.js';

/** Why a packet was dropped; the muxer keeps one counter per reason. */
export type DropReason =
  'congestion-latency' | 'congestion-packets' | 'congestion-bytes' | 'gop-broken' | 'disconnected';

/** The reasons that start a drop episode (the first dropped frame carries one of these). */
export type CongestionReason = 'congestion-latency' | 'congestion-packets' | 'congestion-bytes';

/** `normal`: video flows. `dropping`: every video frame is dropped until latency is low AND a keyframe arrives. */
export type DropState = 'normal' | 'dropping';

/** Options of the GOP-aware drop policy (modelled on OBS's rtmp-stream.c: decide on buffered duration). */
export interface DropPolicyOptions {
  /** Drop threshold, ms: end-to-end latency above it is congestion. Default 2000. */
  maxLatencyMs: number;
  /** Hysteresis, ms: dropping ends only below it, at a keyframe. Default maxLatencyMs / 2. */
  lowWatermarkMs: number;
  /**
   * Mild congestion, ms: above it (and under maxLatencyMs) non-reference video frames are dropped alone,
   * which leaves the GOP decodable; `Infinity` turns it off. Default 0.75 × maxLatencyMs (OBS drops
   * disposable frames before reference frames the same way).
   */
  disposableDropLatencyMs: number;
  /** Raise a keyframe request as soon as latency is back under the low watermark while dropping. Default true. */
  requestKeyframeOnRecovery: boolean;
}

/** Default drop-policy options; the derived thresholds follow `maxLatencyMs`. */
export function defaultDropPolicyOptions(maxLatencyMs = 2000): DropPolicyOptions {
  return {
    maxLatencyMs,
    lowWatermarkMs: maxLatencyMs / 2,
    disposableDropLatencyMs: maxLatencyMs * 0.75,
    requestKeyframeOnRecovery: true,
  };
}

/** Fills unset options; thresholds derived from `maxLatencyMs` follow a custom `maxLatencyMs`. */
export function resolveDropPolicyOptions(partial: Partial<DropPolicyOptions> = {}): DropPolicyOptions {
  const defaults = defaultDropPolicyOptions(partial.maxLatencyMs ?? 2000);
  return { ...defaults, ...stripUndefined(partial) };
}

/** Throws a ConfigError naming the first bad drop-policy option. */
export function validateDropPolicyOptions(options: DropPolicyOptions): void {
  const { maxLatencyMs, lowWatermarkMs, disposableDropLatencyMs } = options;
  if (!Number.isFinite(maxLatencyMs) || maxLatencyMs <= 0) {
    throw new ConfigError('maxLatencyMs', maxLatencyMs, 'use a positive number of milliseconds, e.g. 2000');
  }
  if (!Number.isFinite(lowWatermarkMs) || lowWatermarkMs < 0 || lowWatermarkMs > maxLatencyMs) {
    throw new ConfigError(
      'lowWatermarkMs',
      lowWatermarkMs,
      `use 0..maxLatencyMs (${maxLatencyMs}), e.g. half of it`,
    );
  }
  if (Number.isNaN(disposableDropLatencyMs) || disposableDropLatencyMs < 0) {
    throw new ConfigError(
      'disposableDropLatencyMs',
      disposableDropLatencyMs,
      'use ≥ 0 ms, or Infinity to disable',
    );
  }
  if (typeof options.requestKeyframeOnRecovery !== 'boolean') {
    throw new ConfigError(
      'requestKeyframeOnRecovery',
      options.requestKeyframeOnRecovery,
      'use true or false',
    );
  }
}

/**
 * The options of track `track` of `trackCount` in a multitrack output (track 0 the base, the lowest
 * rendition; higher ids better ones): every threshold scaled by (trackCount − track) / trackCount. The
 * highest track so starts dropping first (at a third of maxLatencyMs of three tracks) and comes back
 * last, and track 0 keeps the options as given: it drops only when latency passes maxLatencyMs with
 * every other track already dropping. One track: the options unchanged.
 */
export function trackDropPolicyOptions(
  options: DropPolicyOptions,
  track: number,
  trackCount: number,
): DropPolicyOptions {
  if (
    !Number.isInteger(trackCount) ||
    trackCount < 1 ||
    !Number.isInteger(track) ||
    track < 0 ||
    track >= trackCount
  ) {
    throw new RangeError(`track ${track} of ${trackCount}`);
  }
  const share = (trackCount - track) / trackCount;
  return {
    ...options,
    maxLatencyMs: options.maxLatencyMs * share,
    lowWatermarkMs: options.lowWatermarkMs * share,
    disposableDropLatencyMs: options.disposableDropLatencyMs * share,
  };
}

/** What the policy sees of the output when a video frame arrives. */
export interface QueueLoad {
  /** max(buffer latency, end-to-end latency), ms: the age of the oldest media the server has not received. */
  readonly latencyMs: number;
  /** Queuing the frame would exceed the buffer's packet cap. */
  readonly packetsFull: boolean;
  /** Queuing the frame would exceed the buffer's byte cap. */
  readonly bytesFull: boolean;
}

/** The flags of a video frame that matter to the policy. */
export interface VideoFrameFlags {
  /** An IDR frame: decoding can start here. */
  readonly keyframe: boolean;
  /** Later frames may reference it; a non-reference frame can be dropped alone. */
  readonly reference: boolean;
}

/** The policy's verdict on one video frame. */
export interface VideoDecision {
  /** Queue the frame (true) or drop it (false). */
  readonly keep: boolean;
  /** Why it is dropped; null when kept. */
  readonly reason: DropReason | null;
  /** The state after this frame. */
  readonly next: DropState;
  /** Purge the queued, unsent video of the GOP this drop breaks (only on entering `dropping`). */
  readonly purge: boolean;
}

/** The congestion the load shows, latency first (the primary measure), or null. */
export function congestionOf(load: QueueLoad, options: DropPolicyOptions): CongestionReason | null {
  if (load.latencyMs > options.maxLatencyMs) return 'congestion-latency';
  if (load.packetsFull) return 'congestion-packets';
  if (load.bytesFull) return 'congestion-bytes';
  return null;
}

/**
 * The drop decision for one video frame, pure. In `normal`, congestion drops the frame and enters
 * `dropping` (purging the broken GOP's queued tail); mild congestion drops a non-reference frame alone.
 * In `dropping`, every frame is dropped until a keyframe arrives with latency under the low watermark
 * and room in the buffer.
 */
export function decideVideoFrame(
  state: DropState,
  frame: VideoFrameFlags,
  load: QueueLoad,
  options: DropPolicyOptions,
): VideoDecision {
  const congestion = congestionOf(load, options);
  if (state === 'dropping') {
    if (frame.keyframe && congestion === null && load.latencyMs < options.lowWatermarkMs) {
      return { keep: true, reason: null, next: 'normal', purge: false };
    }
    return { keep: false, reason: 'gop-broken', next: 'dropping', purge: false };
  }
  // Under hard congestion any frame breaks the GOP: the next reference frame would be dropped anyway.
  if (congestion !== null) return { keep: false, reason: congestion, next: 'dropping', purge: true };
  if (!frame.keyframe && !frame.reference && load.latencyMs > options.disposableDropLatencyMs) {
    return { keep: false, reason: 'congestion-latency', next: 'normal', purge: false };
  }
  return { keep: true, reason: null, next: 'normal', purge: false };
}

/**
 * The policy's state: the drop state plus the keyframe-request latch, so that one recovery raises
 * one request (re-armed when a keyframe has been dropped since, i.e. the request was answered too early).
 */
export class DropPolicy {
  /** The resolved, validated options. */
  readonly options: Readonly<DropPolicyOptions>;
  #state: DropState = 'normal';
  #requestArmed = true;

  constructor(options: Partial<DropPolicyOptions> = {}) {
    const resolved = resolveDropPolicyOptions(options);
    validateDropPolicyOptions(resolved);
    this.options = Object.freeze(resolved);
  }

  /** The current drop state. */
  get state(): DropState {
    return this.#state;
  }

  /** Decides on one video frame and moves to the decision's state. */
  decideVideo(frame: VideoFrameFlags, load: QueueLoad): VideoDecision {
    const decision = decideVideoFrame(this.#state, frame, load, this.options);
    if (this.#state === 'normal' && decision.next === 'dropping') this.#requestArmed = true;
    if (!decision.keep && frame.keyframe) this.#requestArmed = true;
    this.#state = decision.next;
    return decision;
  }

  /** Enters `dropping` without a frame (the muxer purged video to make room for audio). */
  enterDropping(): void {
    if (this.#state === 'normal') this.#requestArmed = true;
    this.#state = 'dropping';
  }

  /** True once per arming when, while dropping, latency has fallen under the low watermark. */
  takeKeyframeRequest(latencyMs: number): boolean {
    if (this.#state !== 'dropping' || !this.options.requestKeyframeOnRecovery || !this.#requestArmed)
      return false;
    if (latencyMs >= this.options.lowWatermarkMs) return false;
    this.#requestArmed = false;
    return true;
  }

  /** Back to `normal` (a new connection starts clean). */
  reset(): void {
    this.#state = 'normal';
    this.#requestArmed = true;
  }
}

function stripUndefined<T extends object>(partial: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}
