import type { Clock } from '../core/clock.js';
import { routeFfmpegLog } from '../observe/ffmpeg-log.js';

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

/**
 * FFmpeg's errors go to `write` (stderr), each repeated message at most once a minute, for the whole
 * process; the CLI's Streamers take their `log` event and print nothing more (see `silenceStreamerLog`).
 */
export function quietFfmpegLog(clock: Clock, write: (line: string) => void): () => void {
  const filter = new RepeatFilter(clock);
  return routeFfmpegLog('error', (record) => {
    if (filter.accept(record.message)) write(`${record.message}\n`);
  });
}

/** A Streamer of the CLI: its FFmpeg lines are printed once, by the process-wide route above. */
export function silenceStreamerLog(streamer: { on(event: 'log', listener: () => void): unknown }): void {
  streamer.on('log', () => {});
}
