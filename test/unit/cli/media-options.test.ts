/** `--codec`, `--encoder` and `--preset` on the command line, and what they give the Streamer. */
import { describe, expect, it } from 'vitest';
import {
  inFlagTerms,
  parseMediaOptions,
  streamerMedia,
  type MediaOptionValues,
} from '../../../src/cli/media-options.js';
import { ConfigError } from '../../../src/core/errors.js';
import { streamerVideoCodecs } from '../../../src/streamer-media.js';

/** Command-line values as parseArgs gives them (only what was typed). */
const typed = (values: Partial<MediaOptionValues>): MediaOptionValues => values as MediaOptionValues;

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('it did not throw');
};

describe('--codec', () => {
  it('defaults to h264 with libx264', () => {
    expect(parseMediaOptions(typed({}))).toMatchObject({ codecs: ['h264'], encoder: 'libx264' });
  });

  it.each([
    ['hevc', 'libx265'],
    ['av1', 'libsvtav1'],
  ])('%s picks %s unless --encoder names another of its encoders', (codec, encoder) => {
    expect(parseMediaOptions(typed({ codec }))).toMatchObject({
      codecs: [codec],
      encoder,
      preset: 'veryfast',
    });
    expect(parseMediaOptions(typed({ codec, encoder: `${codec}_nvenc` })).encoder).toBe(`${codec}_nvenc`);
  });

  it('reaches the Streamer’s video options', () => {
    const media = streamerMedia(parseMediaOptions(typed({ codec: 'av1' })));
    expect(media.video).toMatchObject({ codec: 'av1', encoder: 'libsvtav1' });
    expect(streamerVideoCodecs(media)).toEqual(['av1']);
  });

  it('takes a list in order of preference (hevc,h264): the Streamer gets it as an array', () => {
    const settings = parseMediaOptions(typed({ codec: 'hevc,h264' }));
    expect(settings).toMatchObject({ codecs: ['hevc', 'h264'], encoder: 'libx265' });
    const media = streamerMedia(settings);
    expect(media.video).toMatchObject({ codec: ['hevc', 'h264'] });
    expect(streamerVideoCodecs(media)).toEqual(['hevc', 'h264']);
    // --encoder belongs to the codec of the list it makes.
    expect(parseMediaOptions(typed({ codec: 'hevc,h264', encoder: 'h264_nvenc' })).encoder).toBe(
      'h264_nvenc',
    );
  });

  it.each([
    [
      'hevc,vp9',
      'invalid --codec: "hevc,vp9" — use one of h264, hevc, av1 (not "vp9"), each once, e.g. hevc,h264',
    ],
    [
      'hevc,,h264',
      'invalid --codec: "hevc,,h264" — use one of h264, hevc, av1 (not ""), each once, e.g. hevc,h264',
    ],
    ['hevc,h264,hevc', 'invalid --codec: "hevc,h264,hevc" — name each codec once, e.g. hevc,h264'],
    ['h264,h264', 'invalid --codec: "h264,h264" — name each codec once, e.g. hevc,h264'],
    ['', 'invalid --codec: "" — use one of h264, hevc, av1'],
  ])('rejects the list %j, saying what to type', (codec, message) => {
    expect(messageOf(() => parseMediaOptions(typed({ codec })))).toBe(message);
  });

  it('rejects an encoder that makes none of the codecs listed', () => {
    expect(messageOf(() => parseMediaOptions(typed({ codec: 'hevc,h264', encoder: 'libsvtav1' })))).toMatch(
      /^invalid --encoder: "libsvtav1" — libsvtav1 makes av1, not hevc; .* or change --codec$/,
    );
  });

  it('rejects a codec it does not have, naming the ones it has', () => {
    expect(() => parseMediaOptions(typed({ codec: 'vp9' }))).toThrow(ConfigError);
    expect(messageOf(() => parseMediaOptions(typed({ codec: 'vp9' })))).toBe(
      'invalid --codec: "vp9" — use one of h264, hevc, av1',
    );
  });

  it('rejects an encoder of another codec, naming the codec’s encoders', () => {
    expect(messageOf(() => parseMediaOptions(typed({ codec: 'hevc', encoder: 'libx264' })))).toBe(
      'invalid --encoder: "libx264" — libx264 makes h264, not hevc; use one of libx265, hevc_nvenc, hevc_qsv, hevc_amf, hevc_videotoolbox, or change --codec',
    );
    expect(() => parseMediaOptions(typed({ encoder: 'libsvtav1' }))).toThrow(/not h264.*change --codec/);
  });

  it('takes --preset for libx265 and libsvtav1 as for libx264, not for a hardware encoder', () => {
    expect(parseMediaOptions(typed({ codec: 'hevc', preset: 'faster' })).preset).toBe('faster');
    expect(parseMediaOptions(typed({ codec: 'av1', preset: 'medium' })).preset).toBe('medium');
    expect(() => parseMediaOptions(typed({ codec: 'av1', encoder: 'av1_qsv', preset: 'fast' }))).toThrow(
      /presets are for libx264, libx265, libsvtav1; av1_qsv .* drop --preset/,
    );
  });

  it('says a Streamer’s refusal of --adaptive-bitrate with libx265 in flag terms', () => {
    const error = new ConfigError('video.adaptiveBitrate', true, 'libx265 cannot change its bitrate');
    expect(String((inFlagTerms(error, { 'adaptive-bitrate': true }) as Error).message)).toBe(
      'invalid --adaptive-bitrate: true — libx265 cannot change its bitrate',
    );
  });
});
