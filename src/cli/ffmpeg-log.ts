import { Log } from 'node-av';
import { AV_LOG_ERROR } from 'node-av/constants';
import type { Clock } from '../core/clock.js';

/** The same FFmpeg message is printed at most once in this long, ms. */
export const REPEAT_WINDOW_MS = 60_000;

/** Distinct messages remembered before the expired ones are forgotten. */
const MAX_REMEMBERED = 256;

/**
 * Decides which FFmpeg log lines reach the terminal: each distinct message (pointer addresses aside)
 * at most once per REPEAT_WINDOW_MS. A device being reopened every few seconds would otherwise print
 * the same "Cannot open display" line for as long as it is gone.
 */
export class RepeatFilter {
  readonly #clock: Clock;
  readonly #lastShownUs = new Map<string, number>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** True when `message` should be shown now. */
  accept(message: string): boolean {
    const key = message.replace(/0x[0-9a-f]+/gi, '0x').trim();
    const nowUs = this.#clock.nowUs();
    const last = this.#lastShownUs.get(key);
    if (last !== undefined && nowUs - last < REPEAT_WINDOW_MS * 1000) return false;
    this.#lastShownUs.set(key, nowUs);
    // Messages with changing numbers (timestamps, sizes) are all distinct: forget the expired ones.
    if (this.#lastShownUs.size > MAX_REMEMBERED) {
      for (const [k, at] of this.#lastShownUs) {
        if (nowUs - at >= REPEAT_WINDOW_MS * 1000) this.#lastShownUs.delete(k);
      }
    }
    return true;
  }
}

/** FFmpeg's errors go to `write` (stderr), each repeated message at most once a minute. */
export function quietFfmpegLog(clock: Clock, write: (line: string) => void): void {
  const filter = new RepeatFilter(clock);
  Log.setLevel(AV_LOG_ERROR);
  Log.setCallback(
    (_level, message) => {
      if (filter.accept(message)) write(message.endsWith('\n') ? message : `${message}\n`);
    },
    { maxLevel: AV_LOG_ERROR },
  );
}
