import { ConfigError } from '../core/errors.js';
import type { VideoCodec } from '../media/packet.js';

/**
 * FFmpeg's encoders for each codec: the software one first (the default, present in every node-av
 * build), then the hardware ones (NVIDIA NVENC, Intel Quick Sync, AMD AMF, Apple VideoToolbox), used
 * when asked for by name. hevc_videotoolbox exists only in macOS builds; none exists for AV1.
 */
export const VIDEO_ENCODERS: Readonly<Record<VideoCodec, readonly string[]>> = {
  h264: ['libx264', 'h264_nvenc', 'h264_qsv', 'h264_amf', 'h264_videotoolbox'],
  hevc: ['libx265', 'hevc_nvenc', 'hevc_qsv', 'hevc_amf', 'hevc_videotoolbox'],
  av1: ['libsvtav1', 'av1_nvenc', 'av1_qsv', 'av1_amf'],
};

/** Each codec's software encoder (libx264, libx265, libsvtav1): speed is given to them as an x264 preset. */
export const SOFTWARE_ENCODERS: readonly string[] = Object.values(VIDEO_ENCODERS).flatMap((names) =>
  names.slice(0, 1),
);

/** The codec an encoder produces, or undefined for an encoder not in the table. */
export function codecOfEncoder(encoder: string): VideoCodec | undefined {
  const entry = Object.entries(VIDEO_ENCODERS).find(([, names]) => names.includes(encoder));
  return entry?.[0] as VideoCodec | undefined;
}

/** The encoder to use: the one named, checked against the codec, or the codec's software encoder. */
export function encoderFor(codec: VideoCodec, encoder: string | undefined): string {
  if (encoder === undefined) return VIDEO_ENCODERS[codec][0] ?? 'libx264';
  const produces = codecOfEncoder(encoder);
  if (produces !== undefined && produces !== codec) {
    throw new ConfigError(
      'video.encoder',
      encoder,
      `${encoder} makes ${produces}, not ${codec}; use one of ${VIDEO_ENCODERS[codec].join(', ')}`,
    );
  }
  return encoder;
}

/** x264's preset names, fastest first: the scale every encoder's speed setting is given on. */
export const X264_PRESETS: readonly string[] = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
  'placebo',
];

/**
 * SVT-AV1's numeric preset for an x264 preset name: veryfast → 10, about the speed x264 veryfast has
 * on the same machine at 720p30 (ultrafast 12 … veryslow 4).
 */
export function svtAv1Preset(x264Preset: string): string {
  const index = X264_PRESETS.indexOf(x264Preset);
  return String(index < 0 ? 10 : 12 - index);
}

/**
 * The x265 preset for an x264 preset name: two steps faster (veryfast → ultrafast). x265 is several
 * times slower than x264 at the same name: measured on a 2-core VM at 640x360, x265 veryfast took
 * 17–27 ms a frame, ultrafast about 7 ms — only the latter keeps up with 30 fps live.
 */
export function x265Preset(x264Preset: string): string {
  const index = X264_PRESETS.indexOf(x264Preset);
  return X264_PRESETS[Math.max(0, (index < 0 ? 2 : index) - 2)] ?? 'ultrafast';
}

/** What the live settings depend on. */
export interface LiveSettingsInput {
  /** FFmpeg encoder name. */
  readonly encoder: string;
  /** Speed as an x264 preset name (x265 gets the name two steps faster, SVT-AV1 its number). */
  readonly preset: string;
  /** x264/x265 tune; default zerolatency. */
  readonly tune: string;
}

/**
 * Each encoder's private options for live streaming: low latency, no scene-cut keyframes (GOPs stay
 * fixed), and a requested keyframe (pict_type I) coded as a point a decoder can start from — an IDR
 * (H.264, HEVC: `forced-idr`; x265 with closed GOPs, since an open-GOP CRA with leading pictures breaks
 * a stream joined there) or an AV1 key frame. SVT-AV1 runs its low-delay structure with CBR
 * (`pred-struct=1:rc=2`; its random-access structure refuses CBR).
 */
export function liveEncoderSettings(input: LiveSettingsInput): Record<string, string> {
  const nvenc = { preset: 'p4', tune: 'll', zerolatency: '1', 'no-scenecut': '1', 'forced-idr': '1' };
  const amf = { usage: 'lowlatency', forced_idr: '1' };
  const perEncoder: Record<string, Record<string, string>> = {
    libx264: { preset: input.preset, tune: input.tune, sc_threshold: '0', 'forced-idr': '1' },
    libx265: {
      preset: x265Preset(input.preset),
      tune: input.tune,
      'forced-idr': '1',
      'x265-params': 'scenecut=0:open-gop=0:log-level=error',
    },
    libsvtav1: { preset: svtAv1Preset(input.preset), 'svtav1-params': 'pred-struct=1:rc=2:scd=0' },
    h264_nvenc: nvenc,
    hevc_nvenc: nvenc,
    av1_nvenc: nvenc,
    h264_qsv: { scenario: 'livestreaming', forced_idr: '1' },
    hevc_qsv: { scenario: 'livestreaming', forced_idr: '1' },
    av1_qsv: { forced_idr: '1' },
    h264_amf: amf,
    hevc_amf: amf,
    av1_amf: amf,
    hevc_videotoolbox: { realtime: '1' },
  };
  return { ...perEncoder[input.encoder] };
}

/** The rate control fields of the encoder context for a target bitrate. */
export interface RateControl {
  /** AVCodecContext.bit_rate, bit/s. */
  readonly bitRate: number;
  /** AVCodecContext.rc_max_rate, bit/s; 0 leaves it unset. */
  readonly maxRate: number;
  /** AVCodecContext.rc_buffer_size, bits. */
  readonly bufferSize: number;
}

/**
 * CBR as ingests want it: max rate = target, one second of VBV buffer. SVT-AV1 takes a max rate only
 * in CRF mode (it refuses to open otherwise), so it gets the target and the buffer only.
 */
export function rateControl(encoder: string, bitrateBps: number): RateControl {
  return { bitRate: bitrateBps, maxRate: encoder === 'libsvtav1' ? 0 : bitrateBps, bufferSize: bitrateBps };
}

/**
 * Whether the encoder follows a new bitrate set on its context between frames. Measured through
 * node-av's FFmpeg 8.1 (640x360, 2000 → 300 kbit/s): libx264 went to 394 kbit/s; libx265 stayed at
 * 1883 and libsvtav1 at 1914 — their FFmpeg wrappers never reconfigure. Hardware encoders are not
 * listed: unmeasured here.
 */
export function followsLiveBitrate(encoder: string): boolean {
  return encoder === 'libx264';
}
