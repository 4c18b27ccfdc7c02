/**
 * Each H.264 encoder steadycast names is set up for live streaming: the options are ones the encoder
 * really has (set on an allocated, unopened context: no GPU needed), and a requested keyframe is an IDR.
 */
import { Codec, CodecContext, type FFEncoderCodec } from 'node-av';
import { describe, expect, it } from 'vitest';
import { parseMediaOptions, type MediaOptionValues } from '../../../src/cli/media-options.js';
import { ConfigError } from '../../../src/core/errors.js';
import {
  audioEncoderDefaults,
  chooseAacEncoder,
  validateAudioEncoderOptions,
} from '../../../src/encode/audio-encoder.js';
import {
  encoderSettings,
  validateVideoEncoderOptions,
  videoEncoderDefaults,
} from '../../../src/encode/video-encoder.js';

const ENCODERS = ['libx264', 'h264_nvenc', 'h264_qsv', 'h264_amf'];

describe('encoderSettings', () => {
  it.each(ENCODERS)(
    '%s: every setting is an option the encoder has, and keyframes on request are IDR',
    (name) => {
      const settings = encoderSettings({ ...videoEncoderDefaults(), encoder: name });
      const forcedIdr = Object.entries(settings).filter(([key]) => /^forced[-_]idr$/.test(key));
      expect(forcedIdr).toEqual([[expect.any(String), '1']]);
      const codec = Codec.findEncoderByName(name as FFEncoderCodec);
      if (!codec) {
        // libx264 is in every build steadycast supports; the others depend on how FFmpeg was built.
        expect(name).not.toBe('libx264');
        return;
      }
      const context = new CodecContext();
      context.allocContext3(codec);
      try {
        const rejected = Object.entries(settings).filter(([key, value]) => context.setOption(key, value) < 0);
        expect(rejected).toEqual([]);
      } finally {
        context.freeContext();
      }
    },
  );

  it('encoderOptions override the built-in settings', () => {
    const settings = encoderSettings({
      ...videoEncoderDefaults(),
      encoder: 'h264_nvenc',
      encoderOptions: { preset: 'p1', rc: 'cbr' },
    });
    expect(settings).toMatchObject({ preset: 'p1', rc: 'cbr', 'forced-idr': '1' });
  });

  it('libx264 rejects a preset x264 does not have, naming the valid ones', () => {
    expect(() => validateVideoEncoderOptions({ ...videoEncoderDefaults(), preset: 'fastest' })).toThrow(
      /invalid video\.preset: "fastest" — use one of ultrafast, .*veryfast/,
    );
  });
});

/** Command-line values as parseArgs gives them, with `extra` changed. */
const values = (extra: Partial<MediaOptionValues>): MediaOptionValues => ({
  video: 'test',
  audio: ['tone'],
  loop: false,
  size: '1280x720',
  fps: '30',
  'video-bitrate': '2500k',
  'audio-bitrate': '160k',
  keyint: '2',
  encoder: 'libx264',
  'audio-encoder': 'libfdk_aac',
  ...extra,
});

describe('--preset on the command line', () => {
  it('defaults to veryfast for libx264', () => {
    expect(parseMediaOptions(values({})).preset).toBe('veryfast');
    expect(parseMediaOptions(values({ preset: 'faster' })).preset).toBe('faster');
  });

  it('is an error with another encoder rather than silently ignored', () => {
    expect(() => parseMediaOptions(values({ encoder: 'h264_nvenc', preset: 'fast' }))).toThrow(ConfigError);
    expect(() => parseMediaOptions(values({ encoder: 'h264_nvenc', preset: 'fast' }))).toThrow(
      /drop --preset/,
    );
  });
});

describe('the AAC encoder choice', () => {
  it('keeps the encoder asked for when this FFmpeg build has it', () => {
    expect(chooseAacEncoder('libfdk_aac', () => true)).toEqual({ name: 'libfdk_aac', note: null });
    expect(chooseAacEncoder('aac', () => true)).toEqual({ name: 'aac', note: null });
  });

  it('falls back to aac with a note when libfdk_aac is missing from the build', () => {
    expect(chooseAacEncoder('libfdk_aac', (name) => name === 'aac')).toEqual({
      name: 'aac',
      note: 'libfdk_aac is not in this FFmpeg build; using aac',
    });
  });

  it('names the option when no AAC encoder is there at all', () => {
    expect(() => chooseAacEncoder('libfdk_aac', () => false)).toThrow(/audio\.encoder/);
  });

  it('rejects an encoder that is not AAC, naming the valid ones', () => {
    expect(() => validateAudioEncoderOptions({ ...audioEncoderDefaults(), encoder: 'libopus' })).toThrow(
      /audio\.encoder.*libfdk_aac or aac/,
    );
  });

  it('rejects --audio-encoder with a name it cannot use', () => {
    expect(() => parseMediaOptions(values({ 'audio-encoder': 'mp3' }))).toThrow(/--audio-encoder/);
  });
});
