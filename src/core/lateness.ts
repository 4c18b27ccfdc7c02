/** Percentiles of how late a periodic tick ran, in milliseconds. */
export interface LatenessSummary {
  /** Ticks recorded. */
  readonly count: number;
  /** Median lateness, ms. */
  readonly p50Ms: number;
  /** 99th percentile lateness, ms. */
  readonly p99Ms: number;
  /** Worst lateness, ms. */
  readonly maxMs: number;
}

/**
 * Records how late each tick of a timer-driven engine ran against its deadline, keeping the last
 * `capacity` samples (a ring) plus an all-time maximum, so memory stays flat in long sessions.
 */
export class LatenessRecorder {
  readonly #samples: Float64Array;
  #count = 0;
  #maxMs = 0;

  constructor(capacity = 4096) {
    this.#samples = new Float64Array(capacity);
  }

  /** Records one tick that ran `latenessMs` after its deadline. */
  record(latenessMs: number): void {
    const value = Math.max(0, latenessMs);
    this.#samples[this.#count % this.#samples.length] = value;
    this.#count++;
    if (value > this.#maxMs) this.#maxMs = value;
  }

  /** Forgets everything recorded so far. */
  reset(): void {
    this.#count = 0;
    this.#maxMs = 0;
  }

  /** Percentiles over the retained window; max over the whole run. */
  summary(): LatenessSummary {
    const n = Math.min(this.#count, this.#samples.length);
    if (n === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    const sorted = Array.from(this.#samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0;
    return { count: this.#count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: this.#maxMs };
  }
}
