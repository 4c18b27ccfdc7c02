import { SoftwareResampleContext } from 'node-av';
import { AV_CHANNEL_LAYOUT_MONO, AV_CHANNEL_LAYOUT_STEREO, AV_SAMPLE_FMT_FLT } from 'node-av/constants';
import { MediaError } from '../core/errors.js';

/** Converts interleaved float PCM at the session's channel count from any rate to the session's. */
export interface PcmRateConverter {
  /** Converts `samples` at `inRate`, Hz; rejects with an error when the conversion fails. */
  convert(samples: Float32Array, inRate: number): Promise<Float32Array>;
  /** Frees the converter; call it when no conversion is under way. Idempotent. */
  close(): void;
}

/**
 * node-av's resampler (libswresample, on the threadpool), reopened when the input rate changes.
 * Keeps the filter's state between calls, so consecutive pushes join without clicks.
 */
export class SwrRateConverter implements PcmRateConverter {
  readonly #outRate: number;
  readonly #channels: number;
  #resampler: { rate: number; context: SoftwareResampleContext } | null = null;

  /** Converts to `outRate` Hz with `channels` interleaved channels (1 or 2). */
  constructor(outRate: number, channels: number) {
    this.#outRate = outRate;
    this.#channels = channels;
  }

  async convert(samples: Float32Array, inRate: number): Promise<Float32Array> {
    const context = this.#contextFor(inRate);
    const inFrames = samples.length / this.#channels;
    const outCapacity = context.getOutSamples(inFrames) + 32;
    const out = Buffer.alloc(outCapacity * this.#channels * 4);
    const input = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const produced = await context.convert([out], outCapacity, [input], inFrames);
    if (produced < 0) throw new MediaError('resampling pushed audio', `error ${produced}`);
    return new Float32Array(out.buffer, out.byteOffset, produced * this.#channels).slice();
  }

  close(): void {
    this.#resampler?.context.free();
    this.#resampler = null;
  }

  #contextFor(inRate: number): SoftwareResampleContext {
    if (this.#resampler?.rate === inRate) return this.#resampler.context;
    this.close();
    const layout = this.#channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
    const context = new SoftwareResampleContext();
    const ret = context.allocSetOpts2(
      layout,
      AV_SAMPLE_FMT_FLT,
      this.#outRate,
      layout,
      AV_SAMPLE_FMT_FLT,
      inRate,
    );
    if (ret < 0 || context.init() < 0) {
      context.free();
      throw new MediaError('opening the audio resampler', `error ${ret}`);
    }
    this.#resampler = { rate: inRate, context };
    return context;
  }
}
