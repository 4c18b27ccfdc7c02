import { describe, expect, it } from 'vitest';
import { parseBitrate, parsePositive, parseSize } from '../../../src/cli/parse.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('CLI option parsing', () => {
  it.each([
    ['2500k', 2_500_000],
    ['2.5M', 2_500_000],
    ['800000', 800_000],
    ['160K', 160_000],
  ])('reads the bitrate %s as %d bit/s', (text, bps) => {
    expect(parseBitrate('--video-bitrate', text)).toBe(bps);
  });

  it.each(['fast', '-1k', '2500kb', ''])('rejects the bitrate %j, naming the option and the form', (text) => {
    expect(() => parseBitrate('--video-bitrate', text)).toThrow(ConfigError);
    expect(() => parseBitrate('--video-bitrate', text)).toThrow(/--video-bitrate.*2500k/);
  });

  it('reads WxH sizes and rejects anything else', () => {
    expect(parseSize('--size', '1920x1080')).toEqual({ width: 1920, height: 1080 });
    expect(() => parseSize('--size', '1920*1080')).toThrow(/WIDTHxHEIGHT/);
  });

  it('accepts positive numbers only', () => {
    expect(parsePositive('--duration', '2.5', 'seconds')).toBe(2.5);
    expect(() => parsePositive('--duration', '0', 'seconds')).toThrow(/positive number of seconds/);
    expect(() => parsePositive('--duration', 'ten', 'seconds')).toThrow(ConfigError);
  });
});
