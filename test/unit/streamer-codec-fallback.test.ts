/**
 * `video.codec: ['hevc', 'h264']` through a real Streamer (test pattern, libx265/libx264 at 320x180,
 * no audio) to fake RTMP servers in memory, each answering the connect's codec negotiation its own
 * way: the first video tag each server receives is of the codec settled on, before any frame.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Amf0Object } from '../../src/amf0/amf0.js';
import type { VideoCodec } from '../../src/media/packet.js';
import { MessageType } from '../../src/rtmp/constants.js';
import { FourCcInfoMask } from '../../src/rtmp/enhanced-negotiation.js';
import { Streamer, type CodecFallback } from '../../src/streamer.js';
import { FakeRtmpServer } from '../helpers/fake-rtmp-server.js';
import { sleep } from '../helpers/process.js';

const { CanDecode, CanEncode } = FourCcInfoMask;

let streamer: Streamer | undefined;
afterEach(async () => {
  await streamer?.stop();
  streamer = undefined;
});

/** A server that answers connect with these `_result` properties (none: a legacy server, silent on codecs). */
const server = (properties?: Amf0Object): FakeRtmpServer =>
  FakeRtmpServer.inMemory(properties ? { connectResult: { properties } } : {});

/** Streams `codec` to `servers` until each has its first video tags; the Streamer and its fallbacks. */
async function stream(codec: VideoCodec[], servers: FakeRtmpServer[]) {
  const fallbacks: CodecFallback[] = [];
  const s = (streamer = new Streamer({
    outputs: servers.map((srv, i) => ({
      url: srv.url('live', `key${i}`),
      connection: { connect: srv.connector() },
    })),
    video: { codec, width: 320, height: 180, bitrateBps: 300_000 },
    audio: null,
  }));
  s.on('codecfallback', (fallback) => fallbacks.push(fallback));
  const started = s.start();
  await until(() => servers.every((srv) => videoTags(srv).length >= 2), 'two video tags at every server');
  await started;
  return { s, fallbacks };
}

function videoTags(srv: FakeRtmpServer): Buffer[] {
  const messages = srv.sessions[0]?.messages ?? [];
  return messages.filter((m) => m.messageTypeId === MessageType.VIDEO).map((m) => m.payload);
}

/** What the first video tags say: an enhanced SequenceStart's FourCC, or `avc` for classic AVC tags. */
function firstTagCodec(srv: FakeRtmpServer): string {
  const [header, frame] = videoTags(srv);
  if (!header || !frame) return 'none';
  if (header[0] === 0x17 && header[1] === 0x00) return frame[0] === 0x17 ? 'avc' : 'avc, then not';
  if (header[0] === 0x90) return header.subarray(1, 5).toString('latin1'); // ex header, SequenceStart
  return header.subarray(0, 2).toString('hex');
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 10) {
    if (predicate()) return;
    await sleep(10);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

describe('video.codec: a list in order of preference', () => {
  it('a server that takes HEVC gets HEVC from the first tag; no fallback', async () => {
    const srv = server({ videoFourCcInfoMap: { hvc1: CanDecode, avc1: CanDecode } });
    const { s, fallbacks } = await stream(['hevc', 'h264'], [srv]);
    expect(firstTagCodec(srv)).toBe('hvc1');
    const stats = s.stats;
    expect(stats.videoCodec).toBe('hevc');
    expect(stats.videoCodecFallback).toBeNull();
    expect(stats.outputs[0]?.codecNegotiation).toEqual({
      videoCodec: 'hevc',
      state: 'confirmed',
      accepted: ['hevc', 'h264'],
    });
    expect(fallbacks).toEqual([]);
  });

  it('a server that answers without HEVC but with AVC gets H.264 from the first tag, and the fallback is reported', async () => {
    const srv = server({ videoFourCcInfoMap: { hvc1: CanEncode, avc1: CanDecode } });
    const { s, fallbacks } = await stream(['hevc', 'h264'], [srv]);
    expect(firstTagCodec(srv)).toBe('avc');
    const stats = s.stats;
    const fallback = { from: 'hevc', to: 'h264', refusedBy: ['rtmp://127.0.0.1:1935/live/****'] };
    expect(stats.videoCodec).toBe('h264');
    expect(stats.videoCodecFallback).toEqual(fallback);
    expect(fallbacks).toEqual([fallback]);
    expect(stats.outputs[0]?.codecNegotiation).toEqual({
      videoCodec: 'h264',
      state: 'confirmed',
      accepted: ['h264'],
    });
  });

  it('a server that takes none of the codecs listed: start() rejects with ERR_RTMP_CODEC_REFUSED, without retrying', async () => {
    const srv = server({ videoFourCcInfoMap: { avc1: CanDecode } });
    streamer = new Streamer({
      outputs: [{ url: srv.url(), connection: { connect: srv.connector() } }],
      video: { codec: ['hevc', 'av1'], width: 320, height: 180 },
      audio: null,
    });
    await expect(streamer.start()).rejects.toMatchObject({
      code: 'ERR_RTMP_CODEC_REFUSED',
      message: expect.stringMatching(/cannot take hevc or av1 video \(it takes avc1\)/),
    });
    expect(srv.sessions).toHaveLength(1);
    expect(videoTags(srv)).toEqual([]);
    expect(streamer.stats.videoCodec).toBeNull(); // no encoder was opened
  });

  it('a server that says nothing about codecs (legacy) gets the first codec, unconfirmed', async () => {
    const srv = server();
    const { s, fallbacks } = await stream(['hevc', 'h264'], [srv]);
    expect(firstTagCodec(srv)).toBe('hvc1');
    expect(s.stats.videoCodec).toBe('hevc');
    expect(s.stats.outputs[0]?.codecNegotiation).toEqual({
      videoCodec: 'hevc',
      state: 'unconfirmed',
      accepted: ['hevc', 'h264'],
    });
    expect(fallbacks).toEqual([]);
  });

  it('with two outputs, the one encode uses the first codec both take: H.264 to both when one refuses HEVC', async () => {
    const hevc = server({ videoFourCcInfoMap: { hvc1: CanDecode } });
    const avcOnly = server({ videoFourCcInfoMap: { avc1: CanDecode } });
    const { s, fallbacks } = await stream(['hevc', 'h264'], [hevc, avcOnly]);
    expect([firstTagCodec(hevc), firstTagCodec(avcOnly)]).toEqual(['avc', 'avc']);
    expect(fallbacks).toEqual([{ from: 'hevc', to: 'h264', refusedBy: ['rtmp://127.0.0.1:1935/live/****'] }]);
    // Each output says what it sends (the session's codec) and what its server takes.
    expect(s.stats.outputs.map((o) => o.codecNegotiation)).toEqual([
      { videoCodec: 'h264', state: 'confirmed', accepted: ['hevc', 'h264'] },
      { videoCodec: 'h264', state: 'confirmed', accepted: ['h264'] },
    ]);
  });
});
