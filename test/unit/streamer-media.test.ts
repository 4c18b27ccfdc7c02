import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { VideoCodec } from '../../src/media/packet.js';
import { Streamer } from '../../src/streamer.js';
import { connectionFor, mediaSessionOptions, streamerVideoCodec } from '../../src/streamer-media.js';
import { streamerDefaults, type StreamerOptions } from '../../src/streamer-options.js';

const options = (video: StreamerOptions['video']): StreamerOptions => ({
  ...streamerDefaults(),
  outputs: ['rtmp://127.0.0.1/live/key'],
  video,
  clock: undefined as never,
});

describe('video.codec of a Streamer', () => {
  it('is H.264 unless set, and null for audio only', () => {
    expect(streamerVideoCodec(options({}))).toBe('h264');
    expect(streamerVideoCodec(options({ codec: 'av1' }))).toBe('av1');
    expect(streamerVideoCodec(options({ codec: 'hevc', encoder: 'hevc_nvenc' }))).toBe('hevc');
    expect(streamerVideoCodec(options(null))).toBeNull();
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
    expect(() => streamerVideoCodec(options({ codec: 'hevc', adaptiveBitrate: true }))).toThrow(
      /invalid video\.adaptiveBitrate: true — libx265 cannot change its bitrate while it runs; use adaptiveQuality/,
    );
    expect(streamerVideoCodec(options({ codec: 'av1', adaptiveQuality: true }))).toBe('av1');
    expect(streamerVideoCodec(options({ adaptiveBitrate: true }))).toBe('h264');
  });

  it('reaches the encoders (renditions open with the same options)', () => {
    const session = mediaSessionOptions(options({ codec: 'hevc', renditions: [] }), {
      video: {} as never,
      audio: [],
    } as never);
    expect(session.video?.encoder.codec).toBe('hevc');
  });
});

describe('the connection options of each output', () => {
  it('ask the server for HEVC or AV1 alone, keeping the rest of the connection options and capsEx (Reconnect by default)', () => {
    expect(connectionFor('hevc', undefined)).toEqual({ negotiation: { videoCodecs: ['hevc'], capsEx: 1 } });
    expect(connectionFor('hevc', { negotiation: { videoCodecs: ['hevc'], capsEx: 0 } })).toEqual({
      negotiation: { videoCodecs: ['hevc'], capsEx: 0 },
    });
    expect(
      connectionFor('av1', {
        connectTimeoutMs: 5000,
        negotiation: { videoCodecs: ['hevc', 'h264'], capsEx: 1 },
      }),
    ).toEqual({ connectTimeoutMs: 5000, negotiation: { videoCodecs: ['av1'], capsEx: 1 } });
  });

  it('stay as given for H.264 and audio only (the legacy connect)', () => {
    const given = { connectTimeoutMs: 5000 };
    expect(connectionFor('h264', given)).toBe(given);
    expect(connectionFor(null, undefined)).toBeUndefined();
  });
});
