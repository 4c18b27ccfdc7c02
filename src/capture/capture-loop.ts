import type { Clock, Timer } from '../core/clock.js';
import { ConfigError, InvalidStateError } from '../core/errors.js';
import { LatenessRecorder, type LatenessSummary } from '../core/lateness.js';
import type { VideoPicture } from '../ffmpeg/shared-picture.js';
import type { CapturedFrame, RawVideoFrame } from '../media/frames.js';
import type { VideoSource } from './source.js';

/** CaptureLoop options. */
export interface CaptureLoopOptions {
  /** Frames per second (may be fractional, e.g. 29.97); default 30. */
  fps: number;
  /** Picture to emit (as a duplicate) until the source delivers its first one; default none. */
  placeholder?: RawVideoFrame;
}

/** Counters of the CaptureLoop. */
export interface CaptureLoopStats {
  /** Frames emitted (new and duplicated). */
  readonly framesCaptured: number;
  /** Frames emitted as a repeat of the previous picture. */
  readonly framesDuplicated: number;
  /** Deadlines missed because the loop itself ran late by whole intervals. */
  readonly framesLagged: number;
  /** Deadlines that passed before the source's first picture, with no placeholder to show. */
  readonly framesMissing: number;
  /** How late the loop's ticks ran against their deadlines. */
  readonly tickLateness: LatenessSummary;
}

/** Default CaptureLoop options. */
export function captureLoopDefaults(): CaptureLoopOptions {
  return { fps: 30 };
}

/** Throws ConfigError when an option is out of range. */
export function validateCaptureLoopOptions(options: CaptureLoopOptions): void {
  if (!Number.isFinite(options.fps) || options.fps < 1 || options.fps > 240) {
    throw new ConfigError('video.fps', options.fps, 'use a frame rate between 1 and 240');
  }
}

/**
 * Emits pictures at a constant frame rate from absolute deadlines (`start + n·interval`), so
 * timer jitter never accumulates: a new picture when the source has one, the last one again
 * when it has none, and missed deadlines counted as lagged rather than emitted late.
 */
export class CaptureLoop {
  /** Nanoseconds between frames. */
  readonly frameIntervalNs: number;
  readonly #clock: Clock;
  readonly #source: VideoSource;
  readonly #onFrame: (frame: CapturedFrame<VideoPicture>) => void;
  readonly #lateness = new LatenessRecorder();
  #startUs = 0;
  /** Session time at which the media ends: no deadline at or after it is captured. */
  #endUs = Infinity;
  #expectedFrame = 0;
  #last: VideoPicture | null = null;
  #timer: Timer | null = null;
  #running = false;
  #closed = false;
  #captured = 0;
  #duplicated = 0;
  #lagged = 0;
  #missing = 0;

  constructor(
    clock: Clock,
    source: VideoSource,
    onFrame: (frame: CapturedFrame<VideoPicture>) => void,
    options: CaptureLoopOptions = captureLoopDefaults(),
  ) {
    validateCaptureLoopOptions(options);
    this.#clock = clock;
    this.#source = source;
    this.#onFrame = onFrame;
    this.frameIntervalNs = 1e9 / options.fps;
    this.#last = options.placeholder ?? null;
  }

  /** Index of the next deadline the loop will serve. */
  get expectedFrame(): number {
    return this.#expectedFrame;
  }

  /** Snapshot of the loop's counters. */
  get stats(): CaptureLoopStats {
    return {
      framesCaptured: this.#captured,
      framesDuplicated: this.#duplicated,
      framesLagged: this.#lagged,
      framesMissing: this.#missing,
      tickLateness: this.#lateness.summary(),
    };
  }

  /** Starts the loop; frame 0 is emitted at once, on the current clock time. */
  start(): void {
    if (this.#closed) throw new InvalidStateError('CaptureLoop is closed');
    if (this.#running) return;
    this.#running = true;
    this.#startUs = this.#clock.nowUs();
    this.#tick();
  }

  /**
   * Ends the media at `sessionTimeUs`: no frame due at or after it is captured (nor counted), and the
   * loop idles from there until `stop()`.
   */
  endAt(sessionTimeUs: number): void {
    this.#endUs = sessionTimeUs;
  }

  /** Stops the loop; idempotent. The source is not closed (its owner closes it). */
  stop(): void {
    this.#running = false;
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** The last frame index due before the media's end (Infinity without one). */
  #lastIndexBeforeEnd(): number {
    if (this.#endUs === Infinity) return Infinity;
    return Math.ceil(((this.#endUs - this.#startUs) * 1000) / this.frameIntervalNs - 1e-9) - 1;
  }

  #deadlineUs(index: number): number {
    return this.#startUs + (index * this.frameIntervalNs) / 1000;
  }

  #tick(): void {
    if (!this.#running) return;
    const nowUs = this.#clock.nowUs();
    // The newest deadline that has passed; anything between the expected one and it was missed.
    const last = this.#lastIndexBeforeEnd();
    if (this.#expectedFrame > last) return; // the media ended: nothing more is due
    const due = Math.min(
      last,
      Math.max(
        this.#expectedFrame,
        Math.floor(((nowUs - this.#startUs) * 1000) / this.frameIntervalNs + 1e-9),
      ),
    );
    if (due > this.#expectedFrame) this.#lagged += due - this.#expectedFrame;
    this.#lateness.record((nowUs - this.#deadlineUs(due)) / 1000);
    this.#emit(due);
    this.#expectedFrame = due + 1;
    const delayMs = (this.#deadlineUs(this.#expectedFrame) - this.#clock.nowUs()) / 1000;
    this.#timer = this.#clock.setTimer(() => this.#tick(), delayMs);
  }

  #emit(index: number): void {
    const ptsUs = this.#deadlineUs(index);
    const fresh = this.#source.grab(index, ptsUs);
    if (fresh) this.#last = fresh;
    const frame = this.#last;
    if (!frame) {
      // Nothing ever arrived and no placeholder: there is no picture to show for this deadline.
      this.#missing++;
      return;
    }
    if (!fresh) this.#duplicated++;
    this.#captured++;
    this.#onFrame({ frame, index, ptsUs: Math.round(ptsUs), duplicate: !fresh });
  }
}
