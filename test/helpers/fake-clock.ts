import type { Clock, Timer } from '../../src/core/clock.js';

interface Pending {
  readonly atUs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A clock that only moves when a test calls `advance()`; timers fire in time order. */
export class FakeClock implements Clock {
  #nowUs = 0;
  #seq = 0;
  #pending: Pending[] = [];
  /** When set, each timer fires this many ms after its due time (a loaded event loop's jitter). */
  timerLatenessMs: (() => number) | null = null;

  nowUs(): number {
    return this.#nowUs;
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const entry: Pending = {
      // Same contract as MonotonicClock: NaN runs at once, any length works, Infinity never runs.
      atUs:
        this.#nowUs +
        ((Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs)) + (this.timerLatenessMs?.() ?? 0)) * 1000,
      seq: this.#seq++,
      callback,
      cancelled: false,
    };
    this.#pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers that have neither fired nor been cancelled. */
  get pendingTimers(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, each at its own time. */
  advance(ms: number): void {
    const targetUs = this.#nowUs + ms * 1000;
    for (;;) {
      this.#pending = this.#pending.filter((p) => !p.cancelled);
      const next = this.#pending
        .filter((p) => p.atUs <= targetUs)
        .sort((a, b) => a.atUs - b.atUs || a.seq - b.seq)[0];
      if (!next) break;
      this.#pending.splice(this.#pending.indexOf(next), 1);
      this.#nowUs = Math.max(this.#nowUs, next.atUs);
      next.callback();
    }
    this.#nowUs = targetUs;
  }

  /** Jumps time forward without firing anything: a blocked event loop. */
  block(ms: number): void {
    this.#nowUs += ms * 1000;
  }
}
