import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { VideoCodec } from '../../src/media/packet.js';
import { Streamer } from '../../src/streamer.js';
import {
  connectionFor,
  mediaSessionOptions,
  outputPlan,
  streamerVideoCodecs,
} from '../../src/streamer-media.js';
import { streamerDefaults, type StreamerOptions } from '../../src/streamer-options.js';

const options = (video: StreamerOptions['video']): StreamerOptions => ({
  ...streamerDefaults(),
  outputs: ['rtmp://127.0.0.1/live/key'],
  video,
  clock: undefined as never,
});

describe('video.codec of a Streamer', () => {
  it('is H.264 unless set, and null for audio only', () => {
    expect(streamerVideoCodecs(options({}))).toEqual(['h264']);
    expect(streamerVideoCodecs(options({ codec: 'av1' }))).toEqual(['av1']);
    expect(streamerVideoCodecs(options({ codec: 'hevc', encoder: 'hevc_nvenc' }))).toEqual(['hevc']);
    expect(streamerVideoCodecs(options(null))).toBeNull();
  });

  it('takes codecs in order of preference as an array', () => {
    expect(streamerVideoCodecs(options({ codec: ['hevc', 'h264'] }))).toEqual(['hevc', 'h264']);
    expect(streamerVideoCodecs(options({ codec: ['av1', 'hevc', 'h264'], encoder: 'hevc_nvenc' }))).toEqual([
      'av1',
      'hevc',
      'h264',
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['an empty list', [], /invalid video\.codec: \[\] — give a codec, or codecs in order of preference/],
    [
      'a codec twice',
      ['hevc', 'h264', 'hevc'],
      /invalid video\.codec: "hevc,h264,hevc" — name each codec once/,
    ],
    [
      'an unknown codec in the list',
      ['hevc', 'vp9'],
      /invalid video\.codec: "vp9" — use one of h264, hevc, av1/,
    ],
    [
      'a comma-separated string',
      'hevc,h264',
      /invalid video\.codec: "hevc,h264" — give a list as an array, e\.g\. \['hevc', 'h264'\]/,
    ],
  ])('refuses %s, saying what to give', (_what, codec, message) => {
    expect(() => streamerVideoCodecs(options({ codec: codec as VideoCodec }))).toThrow(message);
  });

  it('refuses an encoder that makes none of the codecs listed', () => {
    expect(() => streamerVideoCodecs(options({ codec: ['hevc', 'h264'], encoder: 'libsvtav1' }))).toThrow(
      /invalid video\.encoder: "libsvtav1" — libsvtav1 makes av1, not hevc/,
    );
  });

  it('refuses a shared adaptive bitrate when any codec of the list has an encoder that cannot follow it', () => {
    expect(() => streamerVideoCodecs(options({ codec: ['h264', 'hevc'], adaptiveBitrate: true }))).toThrow(
      /libx265 cannot change its bitrate/,
    );
  });

  it('fails in the constructor, before anything connects, for an unknown codec or an encoder of another codec', () => {
    const url = 'rtmp://127.0.0.1/live/key';
    expect(() => new Streamer({ outputs: [url], video: { codec: 'vp8' as VideoCodec } })).toThrow(
      /invalid video\.codec: "vp8" — use one of h264, hevc, av1/,
    );
    expect(() => new Streamer({ outputs: [url], video: { codec: 'av1', encoder: 'libx265' } })).toThrow(
      ConfigError,
    );
    expect(() => new Streamer({ outputs: [url], video: { codec: 'av1', encoder: 'libx265' } })).toThrow(
      /libx265 makes hevc, not av1; use one of libsvtav1/,
    );
  });

  it('refuses a shared adaptive bitrate on an encoder that cannot change its bitrate while it runs', () => {
    expect(() => streamerVideoCodecs(options({ codec: 'hevc', adaptiveBitrate: true }))).toThrow(
      /invalid video\.adaptiveBitrate: true — libx265 cannot change its bitrate while it runs; use adaptiveQuality/,
    );
    expect(streamerVideoCodecs(options({ codec: 'av1', adaptiveQuality: true }))).toEqual(['av1']);
    expect(streamerVideoCodecs(options({ adaptiveBitrate: true }))).toEqual(['h264']);
  });

  it('reaches the encoders (renditions open with the same options)', () => {
    const sources = { video: {} as never, audio: [] } as never;
    const session = mediaSessionOptions(options({ codec: 'hevc', renditions: [] }), sources, 'hevc');
    expect(session.video?.encoder.codec).toBe('hevc');
  });

  it('with a list, the encoders make the codec settled on, with --encoder only when it makes that codec', () => {
    const sources = { video: {} as never, audio: [] } as never;
    const video = { codec: ['hevc', 'h264'] as VideoCodec[], encoder: 'hevc_nvenc' };
    expect(mediaSessionOptions(options(video), sources, 'hevc').video?.encoder).toMatchObject({
      codec: 'hevc',
      encoder: 'hevc_nvenc',
    });
    const fallback = mediaSessionOptions(options(video), sources, 'h264').video?.encoder;
    expect(fallback?.codec).toBe('h264');
    expect(fallback?.encoder).toBeUndefined(); // libx264, the codec's software encoder
  });
});

describe('the connection options of each output', () => {
  it('ask the server for the codecs allowed, keeping the rest of the connection options and capsEx (Reconnect by default)', () => {
    expect(connectionFor(['hevc'], undefined)).toEqual({ negotiation: { videoCodecs: ['hevc'], capsEx: 1 } });
    expect(connectionFor(['hevc', 'h264'], undefined)).toEqual({
      negotiation: { videoCodecs: ['hevc', 'h264'], capsEx: 1 },
    });
    expect(connectionFor(['hevc'], { negotiation: { videoCodecs: ['hevc'], capsEx: 0 } })).toEqual({
      negotiation: { videoCodecs: ['hevc'], capsEx: 0 },
    });
    expect(
      connectionFor(['av1'], {
        connectTimeoutMs: 5000,
        negotiation: { videoCodecs: ['hevc', 'h264'], capsEx: 1 },
      }),
    ).toEqual({ connectTimeoutMs: 5000, negotiation: { videoCodecs: ['av1'], capsEx: 1 } });
  });

  it('stay as given for H.264 and audio only (the legacy connect)', () => {
    const given = { connectTimeoutMs: 5000 };
    expect(connectionFor(['h264'], given)).toBe(given);
    expect(connectionFor(null, undefined)).toBeUndefined();
  });
});

describe('the plan of each output', () => {
  const ladder = [
    { name: 'main', width: 1280, height: 720, bitrateBps: 2_500_000 },
    { name: '480p', width: 854, height: 480, bitrateBps: 1_000_000 },
  ];

  it("takes the Streamer's maxLatencyMs unless the output sets its own, and carries video plus audio", () => {
    const streamer = { ...options({ bitrateBps: 3_000_000 }), maxLatencyMs: 1500 };
    const plain = outputPlan('rtmp://h/live/a', streamer, ['h264']);
    expect(plain.options).toEqual({ url: 'rtmp://h/live/a', maxLatencyMs: 1500, videoTracks: [] });
    expect(plain.nominalBps).toBe(3_000_000 + 160_000);
    const own = outputPlan({ url: 'rtmp://h/live/b', maxLatencyMs: 800, rendition: '480p' }, streamer, [
      'h264',
    ]);
    expect(own.options).toEqual({ url: 'rtmp://h/live/b', maxLatencyMs: 800, videoTracks: [] });
  });

  it('carries every rung for a multitrack output, announced as tracks, and the default bitrates when unset', () => {
    const streamer = options({ renditions: ladder });
    const plan = outputPlan({ url: 'rtmp://h/live/m', multitrack: true }, streamer, ['h264']);
    expect(plan.nominalBps).toBe(3_500_000 + 160_000);
    expect(plan.options.videoTracks).toEqual(['480p', undefined]);
    expect(plan.options.connection?.negotiation?.capsEx).toBeDefined();
    expect(outputPlan('rtmp://h/live/d', options({}), ['h264']).nominalBps).toBe(2_500_000 + 160_000);
    expect(outputPlan('rtmp://h/live/n', { ...options(null), audio: null }, null).nominalBps).toBe(0);
  });
});
