/** Raw pixel layouts a video source may deliver. */
export type PixelFormat = 'i420' | 'nv12' | 'bgra';

/** One uncompressed picture, planes packed one after another without padding. */
export interface RawVideoFrame {
  /** Pixel layout of `data`. */
  readonly format: PixelFormat;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The planes, packed (I420: Y, U, V; NV12: Y, UV; BGRA: one plane). */
  readonly data: Buffer;
}

/** Bytes of one packed picture of `format` at `width`×`height`. */
export function frameByteLength(format: PixelFormat, width: number, height: number): number {
  if (format === 'bgra') return width * height * 4;
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height + 2 * chroma;
}

/**
 * One picture the CaptureLoop hands to the video encoder. Inside the engine `Picture` is a
 * `VideoPicture` (src/ffmpeg/shared-picture.ts): packed bytes, or a decoder's frame by reference.
 */
export interface CapturedFrame<Picture = RawVideoFrame> {
  /**
   * The picture (the previous one again when `duplicate`). Valid during the call that hands it over:
   * a consumer that keeps a shared picture longer takes its own reference.
   */
  readonly frame: Picture;
  /** Frame index since the loop started; its deadline is `startUs + index·interval`. */
  readonly index: number;
  /** Presentation time, microseconds on the session clock: the frame's own deadline. */
  readonly ptsUs: number;
  /** True when the source had nothing new and the last picture is repeated. */
  readonly duplicate: boolean;
  /**
   * Encode this one as a keyframe (IDR): set by the session so that every rendition's keyframes fall
   * on the same frames, and an output can switch between renditions at any of them.
   */
  readonly keyframe?: boolean;
}

/** One block of mixed PCM the AudioEngine hands to the audio encoder. */
export interface MixedAudioFrame {
  /** Interleaved float samples, `frameSize × channels` long. */
  readonly samples: Float32Array;
  /** Index of the block's first sample since the engine started. */
  readonly sampleIndex: number;
  /** Presentation time of the first sample, microseconds on the session clock. */
  readonly ptsUs: number;
}
