import type { Clock, Timer } from './clock.js';

/** The real session clock: one start time, `process.hrtime.bigint()` underneath. */
export class MonotonicClock implements Clock {
  readonly #startNs: bigint;

  constructor() {
    this.#startNs = process.hrtime.bigint();
  }

  nowUs(): number {
    return Number(process.hrtime.bigint() - this.#startNs) / 1000;
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  }
}
