import type { AudioSourceChoice, VideoSourceChoice } from '../capture/source-choice.js';
import { ConfigError } from '../core/errors.js';
import { AAC_ENCODERS, audioEncoderDefaults } from '../encode/audio-encoder.js';
import { codecOfEncoder, encoderFor, SOFTWARE_ENCODERS } from '../encode/codec-encoders.js';
import { checkVideoCodec } from '../encode/video-encoder.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import type { VideoCodec } from '../media/packet.js';
import type { StreamerOptions, StreamerVideoOptions } from '../streamer-options.js';
import type { MEDIA_OPTION_SPECS, OptionValues } from './options.js';
import { parseBitrate, parsePositive, parseSize } from './parse.js';
import { parseAudioChoices, parseVideoChoice, toAudioSourceChoices, toVideoSourceChoice } from './sources.js';

/** The values the command line gives for MEDIA_OPTION_SPECS (defaults applied by parseMediaOptions). */
export type MediaOptionValues = OptionValues<typeof MEDIA_OPTION_SPECS>;

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
  /** Video codecs in order of preference (`--codec hevc,h264`): one, unless a list was given. */
  readonly codecs: VideoCodec[];
  /** FFmpeg encoder name: one of the first codec's, or of the codec in the list that it makes. */
  readonly encoder: string;
  /** Speed as an x264 preset name. */
  readonly preset: string;
  /** FFmpeg AAC encoder name. */
  readonly audioEncoder: string;
}

/** Checks every shared option; throws a ConfigError naming the first bad one. */
export function parseMediaOptions(values: MediaOptionValues): MediaSettings {
  const V = MEDIA_DEFAULTS.video;
  const loop = values.loop ?? false;
  const audioChoices = parseAudioChoices(values.audio ?? ['tone']);
  const codecs = parseCodecs(values.codec ?? V.codec);
  const encoder = parseEncoder(codecs, values.encoder);
  return {
    video: toVideoSourceChoice(parseVideoChoice(values.video ?? 'test'), loop),
    audio: audioChoices.length === 0 ? [] : toAudioSourceChoices(audioChoices, loop),
    ...parseSize('--size', values.size ?? `${V.width}x${V.height}`),
    fps: parsePositive('--fps', values.fps ?? String(V.fps), 'frames per second'),
    videoBitrateBps: parseBitrate('--video-bitrate', values['video-bitrate'] ?? String(V.bitrateBps)),
    audioBitrateBps: parseBitrate(
      '--audio-bitrate',
      values['audio-bitrate'] ?? String(MEDIA_DEFAULTS.audio.bitrateBps),
    ),
    keyframeIntervalS: parsePositive('--keyint', values.keyint ?? String(V.keyframeIntervalS), 'seconds'),
    codecs,
    encoder,
    preset: parsePreset(encoder, values.preset),
    audioEncoder: parseAudioEncoder(values['audio-encoder'] ?? audioEncoderDefaults().encoder),
  };
}

/**
 * A Streamer's `video` and `audio` for these settings (null for `--video none` / `--audio none`);
 * `video` adds to or replaces the video fields (the stream command's quality options).
 */
export function streamerMedia(
  media: MediaSettings,
  video: Partial<StreamerVideoOptions> = {},
): Pick<StreamerOptions, 'video' | 'audio'> {
  return {
    video:
      media.video === null
        ? null
        : {
            source: media.video,
            width: media.width,
            height: media.height,
            fps: media.fps,
            bitrateBps: media.videoBitrateBps,
            keyframeIntervalS: media.keyframeIntervalS,
            codec: media.codecs.length === 1 ? (media.codecs[0] ?? 'h264') : media.codecs,
            encoder: media.encoder,
            preset: media.preset,
            ...video,
          },
    audio:
      media.audio.length === 0
        ? null
        : { sources: media.audio, bitrateBps: media.audioBitrateBps, encoder: media.audioEncoder },
  };
}

/** The flag a user typed for each library option field that a ConfigError may name. */
const FLAG_BY_FIELD: Readonly<Record<string, string>> = {
  'video.fps': '--fps',
  'video.width': '--size',
  'video.height': '--size',
  'video.bitrateBps': '--video-bitrate',
  'video.keyframeIntervalS': '--keyint',
  'video.preset': '--preset',
  'video.codec': '--codec',
  'video.encoder': '--encoder',
  'video.adaptiveBitrate': '--adaptive-bitrate',
  'audio.bitrateBps': '--audio-bitrate',
  'audio.encoder': '--audio-encoder',
  'video.renditions': '--rendition',
  video: '--video',
  audio: '--audio',
  maxLatencyMs: '--max-latency',
};

/**
 * A ConfigError from the library names its option field (`video.fps`); on the command line the user
 * typed a flag (`--fps`): say that, with the value as typed. Other errors pass through unchanged.
 */
export function inFlagTerms(error: unknown, typed: Readonly<Record<string, unknown>>): unknown {
  if (!(error instanceof ConfigError)) return error;
  const field = error.field.startsWith('video.encoderOptions.') ? 'video.encoder' : error.field;
  const flag = FLAG_BY_FIELD[field];
  if (!flag) return error;
  const fix = fixOf(error);
  const value = typed[flag.slice(2)];
  const shown = Array.isArray(value) ? value.join(' ') : value;
  return new ConfigError(flag, shown ?? '(the default)', fix);
}

/** What a ConfigError says to do: its message after the dash (all of it when there is none). */
export function fixOf(error: ConfigError): string {
  const dash = error.message.indexOf(' — ');
  return dash < 0 ? error.message : error.message.slice(dash + ' — '.length);
}

/** `h264`, or a comma-separated list in order of preference (`hevc,h264`): known codecs, each once. */
function parseCodecs(typed: string): VideoCodec[] {
  const names = typed.split(',').map((name) => name.trim());
  const codecs: VideoCodec[] = [];
  for (const name of names) {
    try {
      checkVideoCodec(name);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const fix =
        names.length > 1 ? `${fixOf(error)} (not "${name}"), each once, e.g. hevc,h264` : fixOf(error);
      throw new ConfigError('--codec', typed, fix);
    }
    if (codecs.includes(name)) {
      throw new ConfigError(
        '--codec',
        typed,
        `name each codec once, e.g. ${name === 'h264' ? 'hevc' : name},h264`,
      );
    }
    codecs.push(name);
  }
  return codecs;
}

/** The encoder named (one of the first codec's, or of the codec in the list it makes), or the first codec's software encoder. */
function parseEncoder(codecs: readonly VideoCodec[], encoder: string | undefined): string {
  const produced = encoder === undefined ? undefined : codecOfEncoder(encoder);
  const codec = produced !== undefined && codecs.includes(produced) ? produced : (codecs[0] ?? 'h264');
  try {
    return encoderFor(codec, encoder);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError('--encoder', encoder, `${fixOf(error)}, or change --codec`);
  }
}

/**
 * Presets are x264 names, for the software encoders (libx265 and libsvtav1 get their equivalent);
 * the hardware encoders are set up for live streaming by themselves.
 */
function parsePreset(encoder: string, preset: string | undefined): string {
  if (preset === undefined) return MEDIA_DEFAULTS.video.preset;
  if (!SOFTWARE_ENCODERS.includes(encoder)) {
    throw new ConfigError(
      '--preset',
      preset,
      `presets are for ${SOFTWARE_ENCODERS.join(', ')}; ${encoder} is set up for low-latency streaming without one — drop --preset`,
    );
  }
  return preset;
}

function parseAudioEncoder(name: string): string {
  if (!(AAC_ENCODERS as readonly string[]).includes(name)) {
    throw new ConfigError('--audio-encoder', name, `use ${AAC_ENCODERS.join(' or ')}`);
  }
  return name;
}
