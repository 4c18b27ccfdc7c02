import { SoftwareResampleContext, type ChannelLayout } from 'node-av/lib';
import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_CHANNEL_LAYOUT_STEREO,
  AV_SAMPLE_FMT_FLT,
  type AVSampleFormat,
} from 'node-av/constants';
import { MediaError } from '../core/errors.js';

/** The layout of PCM handed to the resampler. */
export interface PcmLayout {
  /** FFmpeg sample format of the input planes. */
  readonly format: AVSampleFormat;
  /** Input rate, Hz. */
  readonly sampleRate: number;
  /** Input channel layout. */
  readonly layout: ChannelLayout;
}

/**
 * Converts PCM of any format, rate and channel layout to the session's: interleaved 32-bit float
 * at `sampleRate` with `channels` channels (FFmpeg's swresample, on the libuv threadpool, or on the
 * calling thread for a decoder's frame). The FFmpeg context is made again only when the input's
 * layout changes.
 */
export class AudioResampler {
  readonly #sampleRate: number;
  readonly #channels: number;
  #context: SoftwareResampleContext | null = null;
  #key = '';

  /**
   * @param sampleRate - session rate, Hz
   * @param channels - session channel count (1 or 2)
   */
  constructor(sampleRate: number, channels: number) {
    this.#sampleRate = sampleRate;
    this.#channels = channels;
  }

  /** Session-format samples for `frames` input frames in `planes` (one buffer, or one per plane). */
  async convert(planes: Buffer[], frames: number, input: PcmLayout): Promise<Float32Array> {
    const { context, out, capacity } = this.#prepare(frames, input);
    return this.#result(out, await context.convert([out], capacity, planes, frames));
  }

  /**
   * `convert` on the calling thread. For a decoder's frame (about a thousand samples: a few
   * microseconds of work, less than a threadpool round trip costs), not for pushes of any size.
   */
  convertSync(planes: Buffer[], frames: number, input: PcmLayout): Float32Array {
    const { context, out, capacity } = this.#prepare(frames, input);
    return this.#result(out, context.convertSync([out], capacity, planes, frames));
  }

  /** Output frames the resampler holds back (its filter delay) until more input; call it between conversions. */
  delayFrames(): number {
    return this.#context ? Number(this.#context.getDelay(BigInt(this.#sampleRate))) : 0;
  }

  /** Frees the FFmpeg context (a later `convert()` makes a new one); idempotent. */
  free(): void {
    this.#context?.free();
    this.#context = null;
    this.#key = '';
  }

  #prepare(
    frames: number,
    input: PcmLayout,
  ): { context: SoftwareResampleContext; out: Buffer; capacity: number } {
    const context = this.#contextFor(input);
    // The resampler may hand out a few frames more than the ratio says (its filter delay).
    const capacity = context.getOutSamples(frames) + 64;
    return { context, out: Buffer.alloc(capacity * this.#channels * 4), capacity };
  }

  #result(out: Buffer, produced: number): Float32Array {
    if (produced < 0) throw new MediaError('resampling audio', `error ${produced}`);
    return new Float32Array(out.buffer, out.byteOffset, produced * this.#channels);
  }

  #contextFor(input: PcmLayout): SoftwareResampleContext {
    const key = `${input.format}:${input.sampleRate}:${input.layout.nbChannels}:${input.layout.mask}`;
    if (this.#context && this.#key === key) return this.#context;
    this.free();
    const context = new SoftwareResampleContext();
    const out = this.#channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
    const ret = context.allocSetOpts2(
      out,
      AV_SAMPLE_FMT_FLT,
      this.#sampleRate,
      input.layout,
      input.format,
      input.sampleRate,
    );
    if (ret < 0 || context.init() < 0) {
      context.free();
      throw new MediaError('opening the audio resampler', key);
    }
    this.#context = context;
    this.#key = key;
    return context;
  }
}
