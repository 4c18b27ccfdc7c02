import { SoftwareScaleContext, type Frame } from 'node-av/lib';
import { SWS_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { MediaError } from '../core/errors.js';

/**
 * Converts pictures between sizes and pixel formats (FFmpeg's swscale) on the libuv threadpool. The
 * FFmpeg context is made for the first geometry seen and made again only when the source or target
 * geometry changes, so a steady stream pays for one.
 */
export class VideoScaler {
  #context: SoftwareScaleContext | null = null;
  #key = '';

  /** Scales `source` into `target`, whose size and format are set and whose buffers are allocated. */
  async scale(target: Frame, source: Frame): Promise<void> {
    const from = source.format as AVPixelFormat;
    const to = target.format as AVPixelFormat;
    const key = `${from}:${source.width}x${source.height}>${to}:${target.width}x${target.height}`;
    if (this.#key !== key || !this.#context) {
      this.free();
      const context = new SoftwareScaleContext();
      context.getContext(source.width, source.height, from, target.width, target.height, to, SWS_BILINEAR);
      if (context.initContext() < 0) {
        context.freeContext();
        throw new MediaError('opening the scaler', key);
      }
      this.#context = context;
      this.#key = key;
    }
    const ret = await this.#context.scaleFrame(target, source);
    if (ret < 0) throw new MediaError('scaling a picture', `error ${ret}`);
  }

  /** Frees the FFmpeg context (a later `scale()` makes a new one); idempotent. */
  free(): void {
    this.#context?.freeContext();
    this.#context = null;
    this.#key = '';
  }
}
