import { AV_CHANNEL_LAYOUT_MONO, AV_CHANNEL_LAYOUT_STEREO, AV_SAMPLE_FMT_FLT } from 'node-av/constants';
import { AudioResampler } from '../ffmpeg/resampler.js';

/** Converts interleaved float PCM at the session's channel count from any rate to the session's. */
export interface PcmRateConverter {
  /** Converts `samples` at `inRate`, Hz; rejects with an error when the conversion fails. */
  convert(samples: Float32Array, inRate: number): Promise<Float32Array>;
  /**
   * Output frames the converter holds back (its filter delay): they come out with the next input.
   * Call it when no conversion is under way. Default: 0.
   */
  delayFrames?(): number;
  /** Frees the converter; call it when no conversion is under way. Idempotent. */
  close(): void;
}

/**
 * The project's AudioResampler (libswresample, on the threadpool) for pushed PCM, which arrives
 * already interleaved float at the session's channel count. It keeps the filter's state between
 * calls, so consecutive pushes join without clicks; a new input rate makes a new context.
 */
export class SwrRateConverter implements PcmRateConverter {
  readonly #channels: number;
  readonly #resampler: AudioResampler;

  /** Converts to `outRate` Hz with `channels` interleaved channels (1 or 2). */
  constructor(outRate: number, channels: number) {
    this.#channels = channels;
    this.#resampler = new AudioResampler(outRate, channels);
  }

  convert(samples: Float32Array, inRate: number): Promise<Float32Array> {
    const input = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const layout = this.#channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
    return this.#resampler.convert([input], samples.length / this.#channels, {
      format: AV_SAMPLE_FMT_FLT,
      sampleRate: inRate,
      layout,
    });
  }

  delayFrames(): number {
    return this.#resampler.delayFrames();
  }

  close(): void {
    this.#resampler.free();
  }
}
