import type { AudioSource } from './source.js';

/** A sine tone generator; its phase follows the samples read, so it is exactly continuous. */
export class ToneSource implements AudioSource {
  readonly name = 'tone';
  gain = 1;
  muted = false;
  readonly bufferedFrames = 0;
  readonly #step: number;
  readonly #amplitude: number;
  readonly #channels: number;
  #sample = 0;

  /**
   * @param sampleRate - session rate, Hz
   * @param channels - session channel count
   * @param frequencyHz - tone frequency; default 440
   * @param amplitude - peak amplitude, 0..1; default 0.25 (−12 dBFS)
   */
  constructor(sampleRate: number, channels: number, frequencyHz = 440, amplitude = 0.25) {
    this.#step = (2 * Math.PI * frequencyHz) / sampleRate;
    this.#amplitude = amplitude;
    this.#channels = channels;
  }

  read(out: Float32Array, frames: number): number {
    for (let i = 0; i < frames; i++) {
      const v = this.#amplitude * Math.sin(this.#step * (this.#sample + i));
      for (let c = 0; c < this.#channels; c++) out[i * this.#channels + c] = v;
    }
    this.#sample += frames;
    return frames;
  }

  discard(): void {}

  close(): void {}
}

/** Digital silence, always exactly as much as asked for. */
export class SilenceSource implements AudioSource {
  readonly name = 'silence';
  gain = 1;
  muted = false;
  readonly bufferedFrames = 0;
  readonly #channels: number;

  constructor(channels: number) {
    this.#channels = channels;
  }

  read(out: Float32Array, frames: number): number {
    out.fill(0, 0, frames * this.#channels);
    return frames;
  }

  discard(): void {}

  close(): void {}
}
