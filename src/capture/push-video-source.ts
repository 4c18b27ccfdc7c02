import type { Clock } from '../core/clock.js';
import type { RawVideoFrame } from '../media/frames.js';
import { checkPushedFrame, checkTimestamp } from './push-checks.js';
import type { VideoSource } from './source.js';

/** Bytes of pictures held waiting for their timestamps (32 1080p BGRA pictures would be 265 MB). */
export const MAX_HELD_BYTES = 128 * 1024 * 1024;

/** Pictures held waiting for their timestamps; more are refused (counted as replaced). */
export const MAX_HELD_PICTURES = 32;

// Frame deadlines are fractional microseconds; a stamp equal to a frame's rounded pts is due at it.
const DEADLINE_SLACK_US = 1;

/** When a pushed picture may be shown. */
export interface PushedVideoTiming {
  /**
   * Capture time, microseconds on the session clock (`Streamer.sessionTimeUs()`): the picture is
   * shown at the first frame deadline at or after it. Default: arrival, i.e. the next deadline.
   */
  timestampUs?: number;
}

interface HeldPicture {
  readonly frame: RawVideoFrame;
  /** Earliest deadline that may show it, µs on the session clock; -Infinity: the next one. */
  readonly dueUs: number;
}

/**
 * Pictures pushed by an app with its own capture. A picture is due at its timestamp (or, without
 * one, at the next frame deadline); each deadline takes the most recently pushed picture that is
 * due and drops the other due ones (counted as replaced), so an app that pushes faster than the
 * frame rate never queues pictures. Pictures stamped ahead wait, at most `MAX_HELD_PICTURES` of
 * them. `pushVideoFrame()` never blocks; conversion to the encoder's size and format happens on
 * the encoder's side (node-av's scaler, on the threadpool).
 */
export class PushVideoSource implements VideoSource {
  readonly name = 'push video';
  readonly #clock: Clock;
  /** Pictures not taken yet, in push order. */
  #held: HeldPicture[] = [];
  #lastDeadlineUs = -Infinity;
  #pushed = 0;
  #replaced = 0;
  #closed = false;

  /** @param clock - the session clock, the time base of pushed timestamps */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Pictures pushed so far. */
  get framesPushed(): number {
    return this.#pushed;
  }

  /**
   * Pictures no deadline showed: replaced by a newer one that was due by the same deadline, or
   * refused because `MAX_HELD_PICTURES` (or MAX_HELD_BYTES) were already waiting.
   */
  get framesReplaced(): number {
    return this.#replaced;
  }

  /**
   * Hands a picture to the session; checked (a bad one is a ConfigError here, never an error per
   * frame later), then held until a deadline at or after its timestamp.
   */
  pushVideoFrame(pushed: RawVideoFrame, timing: PushedVideoTiming = {}): void {
    if (this.#closed) return;
    const frame = checkPushedFrame(pushed);
    const { timestampUs } = timing;
    if (timestampUs !== undefined) checkTimestamp(this.#clock, timestampUs);
    const dueUs = timestampUs ?? -Infinity;
    this.#pushed++;
    // Due by the next deadline: every held picture also due by then can no longer be shown.
    if (this.#isDue(dueUs, this.#lastDeadlineUs)) this.#dropDue(this.#lastDeadlineUs);
    // Full: the new picture is refused. Dropping the one due first instead would starve the stream:
    // a steady flow of pictures stamped too far ahead would evict each one just before its deadline.
    const heldBytes = this.#held.reduce((sum, p) => sum + p.frame.data.length, 0);
    if (this.#held.length >= MAX_HELD_PICTURES || heldBytes + frame.data.length > MAX_HELD_BYTES) {
      this.#replaced++;
      return;
    }
    this.#held.push({ frame, dueUs });
  }

  grab(_frameIndex: number, deadlineUs: number): RawVideoFrame | null {
    this.#lastDeadlineUs = deadlineUs;
    const due = this.#held.filter((p) => this.#isDue(p.dueUs, deadlineUs));
    const taken = due.at(-1);
    if (!taken) return null;
    this.#held = this.#held.filter((p) => !this.#isDue(p.dueUs, deadlineUs));
    this.#replaced += due.length - 1;
    return taken.frame;
  }

  close(): void {
    this.#closed = true;
    this.#held = [];
  }

  #isDue(dueUs: number, deadlineUs: number): boolean {
    return dueUs <= deadlineUs + DEADLINE_SLACK_US;
  }

  /** Drops every held picture due by `deadlineUs`, counting them as replaced. */
  #dropDue(deadlineUs: number): void {
    const kept = this.#held.filter((p) => !this.#isDue(p.dueUs, deadlineUs));
    this.#replaced += this.#held.length - kept.length;
    this.#held = kept;
  }
}
