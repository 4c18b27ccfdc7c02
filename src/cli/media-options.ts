import type { ParseArgsConfig } from 'node:util';
import type { AudioSourceChoice, VideoSourceChoice } from '../capture/source-choice.js';
import { ConfigError } from '../core/errors.js';
import { parseBitrate, parsePositive, parseSize } from './parse.js';
import { parseAudioChoices, parseVideoChoice, toAudioSourceChoices, toVideoSourceChoice } from './sources.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

const V = MEDIA_DEFAULTS.video;
const kbit = (bps: number): string => `${bps / 1000}k`;

/** Usage lines of the capture and encoding options `stream` and `encode` share. */
export const MEDIA_USAGE = `  --video SOURCE               screen[:DISPLAY_OR_INDEX] | file:PATH | test | none (default test)
  --audio SOURCE               system[:NAME] | mic[:NAME] | file[:PATH] | tone | silence | none
                               (default tone; repeat to mix, e.g. --audio system --audio mic)
  --loop                       with file sources: start again at the end
  --size WxH --fps N           default ${V.width}x${V.height}, ${V.fps}
  --video-bitrate ${kbit(V.bitrateBps)} --audio-bitrate ${kbit(MEDIA_DEFAULTS.audio.bitrateBps)} --keyint ${V.keyframeIntervalS} (seconds)
  --encoder ${V.encoder} --preset ${V.preset} (x264 presets; h264_nvenc, h264_qsv, h264_amf: no --preset)`;

/** The parseArgs spec of those options. */
export const MEDIA_OPTIONS = {
  video: { type: 'string', default: 'test' },
  audio: { type: 'string', multiple: true, default: ['tone'] },
  loop: { type: 'boolean', default: false },
  size: { type: 'string', default: `${V.width}x${V.height}` },
  fps: { type: 'string', default: String(V.fps) },
  'video-bitrate': { type: 'string', default: kbit(V.bitrateBps) },
  'audio-bitrate': { type: 'string', default: kbit(MEDIA_DEFAULTS.audio.bitrateBps) },
  keyint: { type: 'string', default: String(V.keyframeIntervalS) },
  encoder: { type: 'string', default: V.encoder },
  preset: { type: 'string' },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** The values parseArgs gives for MEDIA_OPTIONS. */
export interface MediaOptionValues {
  video: string;
  audio: string[];
  loop: boolean;
  size: string;
  fps: string;
  'video-bitrate': string;
  'audio-bitrate': string;
  keyint: string;
  encoder: string;
  preset?: string | undefined;
}

/** Capture and encoding settings, checked, as both commands use them. */
export interface MediaSettings {
  /** The video source, or null for `--video none`. */
  readonly video: VideoSourceChoice | null;
  /** The audio sources to mix (empty for `--audio none`). */
  readonly audio: AudioSourceChoice[];
  /** Output width, pixels. */
  readonly width: number;
  /** Output height, pixels. */
  readonly height: number;
  /** Frames per second. */
  readonly fps: number;
  /** Video bitrate, bits per second. */
  readonly videoBitrateBps: number;
  /** Audio bitrate, bits per second. */
  readonly audioBitrateBps: number;
  /** Seconds between keyframes. */
  readonly keyframeIntervalS: number;
  /** FFmpeg H.264 encoder name. */
  readonly encoder: string;
  /** x264 preset. */
  readonly preset: string;
}

/** Checks every shared option; throws a ConfigError naming the first bad one. */
export function parseMediaOptions(values: MediaOptionValues): MediaSettings {
  const audioChoices = parseAudioChoices(values.audio);
  return {
    video: toVideoSourceChoice(parseVideoChoice(values.video), values.loop),
    audio: audioChoices.length === 0 ? [] : toAudioSourceChoices(audioChoices, values.loop),
    ...parseSize('--size', values.size),
    fps: parsePositive('--fps', values.fps, 'frames per second'),
    videoBitrateBps: parseBitrate('--video-bitrate', values['video-bitrate']),
    audioBitrateBps: parseBitrate('--audio-bitrate', values['audio-bitrate']),
    keyframeIntervalS: parsePositive('--keyint', values.keyint, 'seconds'),
    encoder: values.encoder,
    preset: parsePreset(values.encoder, values.preset),
  };
}

/** x264's presets name libx264 settings; other encoders are set up for live streaming by themselves. */
function parsePreset(encoder: string, preset: string | undefined): string {
  if (preset === undefined) return V.preset;
  if (encoder !== 'libx264') {
    throw new ConfigError(
      '--preset',
      preset,
      `presets are libx264's; ${encoder} is set up for low-latency streaming without one — drop --preset`,
    );
  }
  return preset;
}
