import type { Frame } from 'node-av/lib';
import { AV_PIX_FMT_YUV420P, type AVPixelFormat } from 'node-av/constants';
import type { RawVideoFrame } from '../media/frames.js';

/**
 * A picture as sources deliver it: packed bytes, or (a file's decoder) the decoded frame itself,
 * passed by reference so that it is never copied on its way to the encoder.
 */
export type VideoPicture = RawVideoFrame | SharedPicture;

/**
 * A decoded picture passed on by reference instead of copied: the decoder's frame, whose pixels
 * stay in the buffers FFmpeg decoded them into. A file restream used to copy every picture out of
 * the decoder (`toBuffer()`, 1.4 MB at 720p) and back into a frame for the encoder (`fromBuffer()`):
 * two copies and a fresh allocation per frame, a third of the main thread's time.
 *
 * Ownership: the source that made it holds it and `release()`s it once the picture is no longer
 * shown. Anyone who keeps the picture past the call that handed it over (an encoder queueing it)
 * takes a reference of its own with `reference()`: FFmpeg counts references to the pixel buffers, so
 * that costs no copy, and the pixels live until the last reference is freed.
 */
export class SharedPicture {
  /** FFmpeg pixel format of the picture. */
  readonly pixelFormat: AVPixelFormat;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  #frame: Frame | null;

  /** Takes over `frame` (a reference of its own, e.g. from `Frame.clone()`). */
  constructor(frame: Frame) {
    this.#frame = frame;
    this.pixelFormat = frame.format as AVPixelFormat;
    this.width = frame.width;
    this.height = frame.height;
  }

  /** True when the encoder can take the picture as it is at `width`×`height` (I420, same size). */
  fits(width: number, height: number): boolean {
    return this.pixelFormat === AV_PIX_FMT_YUV420P && this.width === width && this.height === height;
  }

  /**
   * A new frame referencing the same pixels (no copy), which the caller frees; null once the
   * picture has been released.
   */
  reference(): Frame | null {
    return this.#frame?.clone() ?? null;
  }

  /** Drops this holder's reference; the pixels go when the last reference does. Idempotent. */
  release(): void {
    this.#frame?.free();
    this.#frame = null;
  }
}
