import { ConfigError } from '../core/errors.js';
import { validateVideoEncoderOptions, videoEncoderDefaults } from '../encode/video-encoder.js';
import { MAIN_RENDITION, type RenditionSpec } from '../session/video-renditions.js';
import { fixOf, type MediaOptionValues } from './media-options.js';
import type { OptionValues, QUALITY_OPTION_SPECS } from './options.js';
import { parseBitrate, parseSize } from './parse.js';

/** The values the command line gives for QUALITY_OPTION_SPECS, and the options a ladder replaces. */
export type QualityOptionValues = OptionValues<typeof QUALITY_OPTION_SPECS> &
  Pick<MediaOptionValues, 'size' | 'video-bitrate'>;

/** How the video adapts, checked: the Streamer's `video` fields of the same names. */
export interface QualitySettings {
  /** The `--rendition` ladder, main rung first; empty without one. */
  readonly renditions: RenditionSpec[];
  /** Per-destination quality (`--adaptive-quality`, or implied by `--rendition`). */
  readonly adaptiveQuality: boolean;
  /** One bitrate for every destination (`--adaptive-bitrate`). */
  readonly adaptiveBitrate: boolean;
  /** Every rung to every destination as Enhanced RTMP video tracks (`--multitrack`). */
  readonly multitrack: boolean;
}

const FORM = 'write NAME=WIDTHxHEIGHT@BITRATE, e.g. --rendition low=640x360@800k';

/**
 * Checks the quality options together. A ladder's first rung is the main encode, so `--size` and
 * `--video-bitrate` beside it are refused rather than silently overridden; `--adaptive-bitrate` beside
 * per-destination quality is refused because the library would ignore it (adaptive quality supersedes it).
 */
export function parseQualityOptions(values: QualityOptionValues, hasVideo: boolean): QualitySettings {
  const texts = values.rendition ?? [];
  const renditions = parseRenditions(texts);
  const multitrack = values.multitrack ?? false;
  if (multitrack) checkMultitrack(values, renditions.length);
  const adaptiveQuality = !multitrack && ((values['adaptive-quality'] ?? false) || renditions.length > 0);
  const adaptiveBitrate = values['adaptive-bitrate'] ?? false;
  const top = texts[0];
  if (top !== undefined) {
    if (values.size !== undefined) {
      throw new ConfigError('--size', values.size, replacedBy(top, 'size', '--size'));
    }
    if (values['video-bitrate'] !== undefined) {
      throw new ConfigError(
        '--video-bitrate',
        values['video-bitrate'],
        replacedBy(top, 'bitrate', '--video-bitrate'),
      );
    }
  }
  const quality = top === undefined ? '--adaptive-quality' : '--rendition';
  if (adaptiveQuality && !hasVideo) {
    throw new ConfigError(quality, top ?? true, `there is no video to adapt (--video none); drop ${quality}`);
  }
  if (adaptiveQuality && adaptiveBitrate) {
    throw new ConfigError(
      '--adaptive-bitrate',
      true,
      `${quality} already adapts the video, per destination (with one destination it moves the bitrate ` +
        `as --adaptive-bitrate does); give only one of them`,
    );
  }
  return { renditions, adaptiveQuality, adaptiveBitrate, multitrack };
}

/** `--multitrack` needs a ladder of two rungs or more, and replaces per-destination switching. */
function checkMultitrack(values: QualityOptionValues, rungs: number): void {
  if (rungs < 2) {
    throw new ConfigError(
      '--multitrack',
      true,
      'give two or more --rendition (each is sent as a track), e.g. --rendition high=640x360@800k --rendition low=426x240@400k',
    );
  }
  if (values['adaptive-quality'] === true) {
    throw new ConfigError(
      '--adaptive-quality',
      true,
      '--multitrack sends every rendition to each destination at once, so there is nothing to switch; give only one of them',
    );
  }
  if (values['adaptive-bitrate'] === true) {
    throw new ConfigError(
      '--adaptive-bitrate',
      true,
      '--multitrack drops its top track under congestion instead of lowering a bitrate; give only one of them',
    );
  }
}

/**
 * Parses the `--rendition` values into a ladder: names unique, bitrates falling from the first (the
 * main encode) down, each rung within the encoder's limits — checked now, because a lower rung's
 * encoder opens only mid-stream, when a destination needs it.
 */
export function parseRenditions(texts: readonly string[]): RenditionSpec[] {
  const ladder: RenditionSpec[] = [];
  for (const text of texts) {
    const rung = parseRendition(text);
    const above = ladder[ladder.length - 1];
    if (ladder.some((r) => r.name === rung.name)) {
      throw new ConfigError(
        '--rendition',
        text,
        `"${rung.name}" is taken; give each --rendition its own name`,
      );
    }
    if (above && rung.name === MAIN_RENDITION) {
      throw new ConfigError(
        '--rendition',
        text,
        `"${MAIN_RENDITION}" names the main encode, which is the first --rendition; call this one otherwise`,
      );
    }
    if (above && rung.bitrateBps >= above.bitrateBps) {
      throw new ConfigError(
        '--rendition',
        text,
        `list the renditions best first: each needs a lower bitrate than the one before ` +
          `(${above.name}: ${Math.round(above.bitrateBps / 1000)}k)`,
      );
    }
    ladder.push(rung);
  }
  return ladder;
}

/** Parses one `NAME=WxH@BITRATE`; a ConfigError names `--rendition`, the value as typed and the fix. */
export function parseRendition(text: string): RenditionSpec {
  const match = /^([^=@]*)=([^=@]*)@([^=@]*)$/.exec(text.trim());
  if (!match) throw new ConfigError('--rendition', text, FORM);
  const [, name = '', size = '', rate = ''] = match;
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) {
    throw new ConfigError(
      '--rendition',
      text,
      `name it with letters, digits, "-", "_" or "." (the status line shows it); ${FORM}`,
    );
  }
  const { width, height } = inRendition(
    text,
    () => parseSize('--rendition', size),
    `the size after "=" is WIDTHxHEIGHT, e.g. ${name}=640x360@800k`,
  );
  const bitrateBps = inRendition(
    text,
    () => parseBitrate('--rendition', rate),
    'the bitrate after "@" is written like 800k, 2.5M or 800000',
  );
  // The encoder's own limits (even sizes, the bitrate range), where they are kept.
  inRendition(text, () =>
    validateVideoEncoderOptions({ ...videoEncoderDefaults(), width, height, bitrateBps }),
  );
  return { name, width, height, bitrateBps };
}

/** Runs `parse`; a ConfigError it throws is said again about the whole `--rendition` value (with `fix`). */
function inRendition<T>(text: string, parse: () => T, fix?: string): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError('--rendition', text, fix ?? fixOf(error));
  }
}

function replacedBy(top: string, what: string, flag: string): string {
  return `the first --rendition (${top}) sets the main encode's ${what}; drop ${flag}, or change that --rendition`;
}
