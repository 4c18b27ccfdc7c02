import { afterEach, describe, expect, it } from 'vitest';
import { Amf0EcmaArray, decodeAmf0 } from '../../../src/amf0/amf0.js';
import { fourCcNumber } from '../../../src/flv/enhanced-tags.js';
import type { EncodedPacket, StreamConfig, VideoConfig } from '../../../src/media/packet.js';
import { RtmpOutput } from '../../../src/output/rtmp-output.js';
import { RtmpTransport } from '../../../src/output/rtmp-transport.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { CapsExMask } from '../../../src/rtmp/enhanced-negotiation.js';
import * as msg from '../../../src/rtmp/messages.js';
import { connectionFor } from '../../../src/streamer-media.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer } from '../../helpers/fake-rtmp-server.js';
import { untilTrue } from '../../helpers/memory-socket.js';

// A multitrack output on the wire (Output → RtmpTransport → RtmpConnection, in memory): one onMetaData
// with videoTrackIdInfoMap, a SequenceStart per track, every video message a OneTrack of its track,
// audio as ever.

const video = (width: number, height: number, bitrateBps: number, record: string): VideoConfig => ({
  codec: 'h264',
  decoderConfigurationRecord: Buffer.from(record, 'hex'),
  width,
  height,
  fps: 30,
  bitrateBps,
  encoderName: 'libx264',
});

// The main encode is the top rung (640x360); "mid" and "low" run beside it.
const config: StreamConfig = {
  video: video(640, 360, 800_000, '01640001'),
  renditions: new Map([
    ['mid', video(426, 240, 400_000, '01640002')],
    ['low', video(256, 144, 150_000, '01640003')],
  ]),
  audio: {
    audioSpecificConfig: Buffer.from('1190', 'hex'),
    sampleRate: 48000,
    channels: 2,
    bitrateBps: 128_000,
  },
};

const frame = (rendition: string | undefined, atMs: number, keyframe: boolean): EncodedPacket => ({
  kind: 'video',
  data: Buffer.from('c0ffee', 'hex'),
  dtsUs: atMs * 1000,
  ptsUs: atMs * 1000,
  keyframe,
  reference: true,
  byteLength: 3,
  ...(rendition === undefined ? {} : { rendition }),
});

const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

let output: RtmpOutput | undefined;
afterEach(async () => {
  await output?.stop();
  output = undefined;
});

describe('the connect of a multitrack output', () => {
  it('asks the server with the Multitrack capsEx bit, the codec list as it was', () => {
    expect(connectionFor(['h264'], undefined, true)).toEqual({
      negotiation: { videoCodecs: ['h264'], capsEx: CapsExMask.Reconnect | CapsExMask.Multitrack },
    });
    expect(connectionFor(['hevc'], { negotiation: { videoCodecs: ['hevc'], capsEx: 0 } }, true)).toEqual({
      negotiation: { videoCodecs: ['hevc'], capsEx: CapsExMask.Multitrack },
    });
    expect(connectionFor(['h264'], undefined)).toBeUndefined();
  });
});

describe('RtmpTransport with three video tracks', () => {
  it('sends onMetaData with videoTrackIdInfoMap, a SequenceStart per track, then OneTrack frames', async () => {
    const server = FakeRtmpServer.inMemory();
    const out = (output = new RtmpOutput(new FakeClock(), () => config, {
      url: server.url('live', 'key'),
      connection: {
        connect: server.connector(),
        negotiation: { videoCodecs: ['h264'], capsEx: CapsExMask.Multitrack },
      },
      videoTracks: ['low', 'mid', undefined],
    }));
    out.start();
    out.writePacket(frame(undefined, 0, true));
    out.writePacket(frame('low', 0, true));
    out.writePacket(frame('mid', 0, true));
    out.writePacket({
      ...frame(undefined, 0, true),
      kind: 'audio',
      data: Buffer.from('aa', 'hex'),
      byteLength: 1,
      reference: false,
    });
    out.writePacket(frame('low', 33, false));
    out.writePacket(frame('other', 33, false)); // not a track here: not sent
    await untilTrue(
      () =>
        (server.sessions[0]?.messages ?? []).filter((m) => m.messageTypeId === MessageType.VIDEO).length ===
        7,
      'seven video messages',
    );
    const messages = server.sessions[0]?.messages ?? [];
    const connect = msg.parseCommand(messages.find((m) => m.messageTypeId === MessageType.COMMAND_AMF0)!);
    expect(connect.commandObject).toMatchObject({ capsEx: CapsExMask.Multitrack });

    const data = messages.filter((m) => m.messageTypeId === MessageType.DATA_AMF0);
    expect(data).toHaveLength(1);
    const metadata = decodeAmf0(data[0]!.payload)[2];
    const avc1 = fourCcNumber('avc1');
    expect(metadata instanceof Amf0EcmaArray ? metadata.properties : null).toMatchObject({
      width: 256,
      height: 144,
      videodatarate: 150,
      videocodecid: avc1,
      videoTrackIdInfoMap: {
        '1': { width: 426, height: 240, videodatarate: 400, videocodecid: avc1 },
        '2': { width: 640, height: 360, videodatarate: 800, videocodecid: avc1 },
      },
    });
    const videoTags = messages
      .filter((m) => m.messageTypeId === MessageType.VIDEO)
      .map((m) => m.payload.toString('hex'));
    const avc = ascii('avc1');
    expect(videoTags).toEqual([
      '96' + '00' + avc + '02' + '01640001', // track 2 (the main encode): SequenceStart
      '96' + '03' + avc + '02' + 'c0ffee', // its keyframe, CodedFramesX
      '96' + '00' + avc + '00' + '01640003',
      '96' + '03' + avc + '00' + 'c0ffee',
      '96' + '00' + avc + '01' + '01640002',
      '96' + '03' + avc + '01' + 'c0ffee',
      'a6' + '03' + avc + '00' + 'c0ffee',
    ]);
    const audio = messages
      .filter((m) => m.messageTypeId === MessageType.AUDIO)
      .map((m) => m.payload.toString('hex'));
    expect(audio).toEqual(['af001190', 'af01aa']);
    expect(out.stats.videoTracks.map((t) => [t.id, t.rendition, t.sent, t.dropped])).toEqual([
      [0, 'low', 2, 0],
      [1, 'mid', 1, 0],
      [2, 'main', 1, 0],
    ]);
  });

  it('starts each track at its own keyframe on a connection: a frame before it is not sent', async () => {
    // The muxer starts every track at a keyframe too; this guard is for a server-requested move, which
    // switches connections at one track's keyframe.
    const server = FakeRtmpServer.inMemory();
    const transport = new RtmpTransport(new FakeClock(), {
      url: server.url('live', 'key'),
      connection: { connect: server.connector() },
      streamConfig: () => config,
      videoTracks: ['low', 'mid', undefined],
    });
    const connection = await transport.open(new AbortController().signal, false);
    try {
      connection.write(frame('low', 0, true), 0);
      const skipped = connection.write(frame('mid', 0, false), 0);
      expect(skipped).toEqual({ endOffset: connection.bytesWritten, ok: true });
      connection.write(frame('mid', 33, true), 33);
      const video = () =>
        (server.sessions[0]?.messages ?? []).filter((m) => m.messageTypeId === MessageType.VIDEO);
      await untilTrue(() => video().length >= 4, 'four video messages');
      await new Promise((resolve) => setTimeout(resolve, 50)); // and nothing after them
      // Frame type and packet type, track id: SequenceStart and keyframe of track 0, then of track 1.
      expect(video().map((m) => m.payload.subarray(0, 2).toString('hex') + '/' + m.payload[6])).toEqual([
        '9600/0',
        '9603/0',
        '9600/1',
        '9603/1',
      ]);
    } finally {
      await connection.close();
    }
  });
});
