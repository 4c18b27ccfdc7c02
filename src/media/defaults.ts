import type { VideoCodec } from './packet.js';

/**
 * The stream's defaults, in one place: what ingest services recommend for 720p30 (Twitch, YouTube),
 * and AAC-LC at 48 kHz stereo. Every component that needs one of these numbers reads it here, so a
 * change is made once; options objects still come from `…Defaults()` functions (fresh copies).
 */
export const MEDIA_DEFAULTS = Object.freeze({
  video: Object.freeze({
    /** Video codec. */
    codec: 'h264' as VideoCodec,
    /** Pixels. */
    width: 1280,
    /** Pixels. */
    height: 720,
    /** Frames per second. */
    fps: 30,
    /** Bits per second, CBR. */
    bitrateBps: 2_500_000,
    /** Seconds between keyframes (ingests ask for 2). */
    keyframeIntervalS: 2,
    /** FFmpeg H.264 encoder. */
    encoder: 'libx264',
    /** x264 preset. */
    preset: 'veryfast',
  }),
  audio: Object.freeze({
    /** Samples per second. */
    sampleRate: 48_000,
    /** Stereo. */
    channels: 2,
    /** Bits per second. */
    bitrateBps: 160_000,
  }),
  /** Drop threshold of every output, ms: video is dropped above this end-to-end latency. */
  maxLatencyMs: 2000,
});
