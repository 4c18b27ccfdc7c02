import type { Clock, Timer } from './clock.js';

/**
 * Longest delay one `setTimeout` takes, ms (2^31 − 1). Node turns anything longer into 1 ms, so
 * longer timers are chained: `--duration 2592000` (30 days) must not end after one frame.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The real session clock: one start time, `process.hrtime.bigint()` underneath. */
export class MonotonicClock implements Clock {
  readonly #startNs: bigint;

  constructor() {
    this.#startNs = process.hrtime.bigint();
  }

  nowUs(): number {
    return Number(process.hrtime.bigint() - this.#startNs) / 1000;
  }

  /** Any delay works: ≤ 0 or NaN runs as soon as possible, Infinity never runs (but stays pending). */
  setTimer(callback: () => void, delayMs: number): Timer {
    const delay = Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
    if (delay <= MAX_TIMEOUT_MS) {
      const handle = setTimeout(callback, delay);
      return { cancel: () => clearTimeout(handle) };
    }
    // Chain timeouts towards an absolute deadline, so the pieces add up to the delay asked for.
    const deadlineUs = this.nowUs() + delay * 1000;
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const leftMs = (deadlineUs - this.nowUs()) / 1000;
      if (leftMs <= 0) {
        callback();
        return;
      }
      handle = setTimeout(arm, Math.min(leftMs, MAX_TIMEOUT_MS));
    };
    handle = setTimeout(arm, MAX_TIMEOUT_MS);
    return { cancel: () => clearTimeout(handle) };
  }
}
