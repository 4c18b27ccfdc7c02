import { describe, expect, it } from 'vitest';
import { parseQualityOptions, parseRendition, parseRenditions } from '../../../src/cli/quality-options.js';
import { ConfigError } from '../../../src/core/errors.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected it to throw');
}

describe('--rendition NAME=WxH@BITRATE', () => {
  it.each([
    ['high=1280x720@2500k', { name: 'high', width: 1280, height: 720, bitrateBps: 2_500_000 }],
    ['720p.top=1280x720@2.5M', { name: '720p.top', width: 1280, height: 720, bitrateBps: 2_500_000 }],
    ['low_1=640x360@800000', { name: 'low_1', width: 640, height: 360, bitrateBps: 800_000 }],
  ])('reads %s', (text, spec) => {
    expect(parseRendition(text)).toEqual(spec);
  });

  it.each([
    [
      'high',
      'invalid --rendition: "high" — write NAME=WIDTHxHEIGHT@BITRATE, e.g. --rendition low=640x360@800k',
    ],
    [
      '1280x720@2500k',
      'invalid --rendition: "1280x720@2500k" — write NAME=WIDTHxHEIGHT@BITRATE, e.g. --rendition low=640x360@800k',
    ],
    ['high=1280x720', 'invalid --rendition: "high=1280x720" — write NAME=WIDTHxHEIGHT@BITRATE'],
    ['=1280x720@2500k', 'invalid --rendition: "=1280x720@2500k" — name it with letters, digits'],
    ['my low=640x360@800k', 'invalid --rendition: "my low=640x360@800k" — name it with letters, digits'],
    [
      'low=640*360@800k',
      'invalid --rendition: "low=640*360@800k" — the size after "=" is WIDTHxHEIGHT, e.g. low=640x360@800k',
    ],
    [
      'low=640x360@fast',
      'invalid --rendition: "low=640x360@fast" — the bitrate after "@" is written like 800k, 2.5M or 800000',
    ],
    ['low=641x360@800k', 'invalid --rendition: "low=641x360@800k" — use an even width between 16 and 7680'],
    ['low=640x361@800k', 'invalid --rendition: "low=640x361@800k" — use an even height between 16 and 4320'],
    ['low=640x360@10k', 'invalid --rendition: "low=640x360@10k" — use 50k to 100M bits per second'],
  ])('refuses %j, naming --rendition, the value and the fix', (text, message) => {
    expect(messageOf(() => parseRendition(text))).toContain(message);
  });
});

describe('the --rendition ladder', () => {
  it('keeps the order given: the first is the main encode', () => {
    expect(parseRenditions(['high=1280x720@2500k', 'mid=960x540@1500k', 'low=640x360@800k'])).toEqual([
      { name: 'high', width: 1280, height: 720, bitrateBps: 2_500_000 },
      { name: 'mid', width: 960, height: 540, bitrateBps: 1_500_000 },
      { name: 'low', width: 640, height: 360, bitrateBps: 800_000 },
    ]);
  });

  it('refuses a name given twice', () => {
    expect(messageOf(() => parseRenditions(['high=1280x720@2500k', 'high=640x360@800k']))).toBe(
      'invalid --rendition: "high=640x360@800k" — "high" is taken; give each --rendition its own name',
    );
  });

  it('refuses a rung that does not lower the bitrate: the ladder is best first', () => {
    expect(messageOf(() => parseRenditions(['low=640x360@800k', 'high=1280x720@2500k']))).toBe(
      'invalid --rendition: "high=1280x720@2500k" — list the renditions best first: each needs a lower bitrate than the one before (low: 800k)',
    );
  });

  it('keeps "main" for the first rung (the main encode)', () => {
    expect(parseRenditions(['main=1280x720@2500k'])[0]?.name).toBe('main');
    expect(messageOf(() => parseRenditions(['high=1280x720@2500k', 'main=640x360@800k']))).toContain(
      '"main" names the main encode, which is the first --rendition',
    );
  });
});

describe('--adaptive-quality, --rendition and the options they meet', () => {
  it('--rendition implies --adaptive-quality', () => {
    expect(parseQualityOptions({ rendition: ['high=1280x720@2500k', 'low=640x360@800k'] }, true)).toEqual({
      renditions: [
        { name: 'high', width: 1280, height: 720, bitrateBps: 2_500_000 },
        { name: 'low', width: 640, height: 360, bitrateBps: 800_000 },
      ],
      adaptiveQuality: true,
      adaptiveBitrate: false,
      multitrack: false,
    });
  });

  it('nothing given: no adaptation, as before', () => {
    expect(parseQualityOptions({}, true)).toEqual({
      renditions: [],
      adaptiveQuality: false,
      adaptiveBitrate: false,
      multitrack: false,
    });
    expect(parseQualityOptions({ 'adaptive-bitrate': true }, true).adaptiveBitrate).toBe(true);
    expect(parseQualityOptions({ 'adaptive-quality': true }, true).adaptiveQuality).toBe(true);
  });

  it.each([
    [
      { rendition: ['high=1280x720@2500k'], size: '1920x1080' },
      'invalid --size: "1920x1080" — the first --rendition (high=1280x720@2500k) sets the main encode\'s size; drop --size, or change that --rendition',
    ],
    [
      { rendition: ['high=1280x720@2500k'], 'video-bitrate': '4M' },
      'invalid --video-bitrate: "4M" — the first --rendition (high=1280x720@2500k) sets the main encode\'s bitrate; drop --video-bitrate, or change that --rendition',
    ],
  ])('a ladder with %j is a conflict, not a silent override', (values, message) => {
    expect(messageOf(() => parseQualityOptions(values, true))).toBe(message);
  });

  it.each([
    [
      { 'adaptive-quality': true, 'adaptive-bitrate': true },
      'invalid --adaptive-bitrate: true — --adaptive-quality already adapts the video, per destination (with one destination it moves the bitrate as --adaptive-bitrate does); give only one of them',
    ],
    [
      { rendition: ['high=1280x720@2500k'], 'adaptive-bitrate': true },
      'invalid --adaptive-bitrate: true — --rendition already adapts the video',
    ],
  ])('%j: refused, since per-destination quality supersedes the shared bitrate', (values, message) => {
    expect(messageOf(() => parseQualityOptions(values, true))).toContain(message);
  });

  it('--multitrack sends the ladder as tracks instead of switching (no --adaptive-quality implied)', () => {
    const ladder = ['high=640x360@800k', 'low=256x144@150k'];
    expect(parseQualityOptions({ rendition: ladder, multitrack: true }, true)).toMatchObject({
      adaptiveQuality: false,
      multitrack: true,
    });
    expect(
      messageOf(() => parseQualityOptions({ rendition: ladder.slice(0, 1), multitrack: true }, true)),
    ).toContain('invalid --multitrack: true — give two or more --rendition (each is sent as a track)');
    expect(
      messageOf(() =>
        parseQualityOptions({ rendition: ladder, multitrack: true, 'adaptive-quality': true }, true),
      ),
    ).toContain(
      'invalid --adaptive-quality: true — --multitrack sends every rendition to each destination at once',
    );
    expect(
      messageOf(() =>
        parseQualityOptions({ rendition: ladder, multitrack: true, 'adaptive-bitrate': true }, true),
      ),
    ).toContain('invalid --adaptive-bitrate: true — --multitrack drops its top track under congestion');
  });

  it('refuses to adapt a video there is not (--video none)', () => {
    expect(messageOf(() => parseQualityOptions({ 'adaptive-quality': true }, false))).toBe(
      'invalid --adaptive-quality: true — there is no video to adapt (--video none); drop --adaptive-quality',
    );
    expect(messageOf(() => parseQualityOptions({ rendition: ['low=640x360@800k'] }, false))).toContain(
      'invalid --rendition: "low=640x360@800k" — there is no video to adapt',
    );
  });
});
