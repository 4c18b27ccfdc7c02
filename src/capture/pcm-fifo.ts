/**
 * A FIFO of interleaved float PCM, stored as a list of chunks so pushes and reads never copy more
 * than the samples they move.
 */
export class PcmFifo {
  readonly #channels: number;
  readonly #chunks: Float32Array[] = [];
  #headOffset = 0;
  #frames = 0;

  constructor(channels: number) {
    this.#channels = channels;
  }

  /** Sample frames held. */
  get frames(): number {
    return this.#frames;
  }

  /** Appends interleaved samples (length a multiple of the channel count). */
  push(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.#chunks.push(samples);
    this.#frames += samples.length / this.#channels;
  }

  /** Moves up to `frames` frames into `out` (or drops them when `out` is null); returns the count. */
  take(out: Float32Array | null, frames: number): number {
    let wanted = Math.min(frames, this.#frames) * this.#channels;
    let written = 0;
    while (wanted > 0) {
      const head = this.#chunks[0];
      if (!head) break;
      const n = Math.min(wanted, head.length - this.#headOffset);
      out?.set(head.subarray(this.#headOffset, this.#headOffset + n), written);
      written += n;
      wanted -= n;
      this.#headOffset += n;
      if (this.#headOffset === head.length) {
        this.#chunks.shift();
        this.#headOffset = 0;
      }
    }
    const moved = written / this.#channels;
    this.#frames -= moved;
    return moved;
  }

  /** Empties the FIFO. */
  clear(): void {
    this.#chunks.length = 0;
    this.#headOffset = 0;
    this.#frames = 0;
  }
}
