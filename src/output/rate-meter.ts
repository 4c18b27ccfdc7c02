/** Options of a RateMeter. */
export interface RateMeterOptions {
  /** The rate is measured over about this span, ms; default 3000. */
  windowMs: number;
  /** Samples closer together than this are not kept, ms; default 250. */
  resolutionMs: number;
}

/**
 * A byte counter's rate over the last few seconds, from samples the caller takes whenever it likes
 * (time passed in, no timer): the send bitrate of an output.
 */
export class RateMeter {
  /** The options. */
  readonly options: Readonly<RateMeterOptions>;
  #samples: { atUs: number; bytes: number }[] = [];

  constructor(options: Partial<RateMeterOptions> = {}) {
    this.options = Object.freeze({ windowMs: 3000, resolutionMs: 250, ...options });
  }

  /** Records the counter's value `bytes` at `nowUs`. */
  sample(nowUs: number, bytes: number): void {
    const last = this.#samples[this.#samples.length - 1];
    if (last && nowUs - last.atUs < this.options.resolutionMs * 1000) return;
    this.#samples.push({ atUs: nowUs, bytes });
    const cutoffUs = nowUs - this.options.windowMs * 1000;
    while (this.#samples.length > 2 && this.#samples[1]!.atUs <= cutoffUs) this.#samples.shift();
  }

  /** Bits per second from the oldest sample in the window to `bytes` at `nowUs`; 0 before two points. */
  rateBps(nowUs: number, bytes: number): number {
    const first = this.#samples[0];
    if (!first || nowUs <= first.atUs) return 0;
    return ((bytes - first.bytes) * 8 * 1e6) / (nowUs - first.atUs);
  }
}
