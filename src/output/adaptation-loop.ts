import type { Clock, Timer } from '../core/clock.js';
import type { Output } from './output.js';

/** How often an adaptation looks at the outputs, ms. */
export const ADAPTATION_INTERVAL_MS = 500;

/**
 * When an adaptation looks at its outputs: every 500 ms once started, and at once when one of them
 * starts dropping (the next regular look then counts from there). It owns its timer; `look` reads the
 * outputs and acts.
 */
export class AdaptationLoop {
  readonly #clock: Clock;
  readonly #look: () => void;
  #timer: Timer | null = null;
  #stopped = false;

  constructor(clock: Clock, outputs: readonly Output[], look: () => void) {
    this.#clock = clock;
    this.#look = look;
    for (const output of outputs) {
      output.on('dropstatechange', (_prev, next) => {
        if (next === 'dropping') this.#tick();
      });
    }
  }

  /** Starts looking (once; not after stop()). */
  start(): void {
    if (this.#timer === null && !this.#stopped) this.#tick();
  }

  /** Stops looking for good; idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#stopped) return;
    this.#look();
    this.#timer = this.#clock.setTimer(() => this.#tick(), ADAPTATION_INTERVAL_MS);
  }
}
