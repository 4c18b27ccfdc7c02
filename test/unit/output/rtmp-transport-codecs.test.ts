import { afterEach, describe, expect, it } from 'vitest';
import { Amf0EcmaArray, decodeAmf0 } from '../../../src/amf0/amf0.js';
import { fourCcNumber } from '../../../src/flv/enhanced-tags.js';
import type { EncodedPacket, StreamConfig, VideoCodec } from '../../../src/media/packet.js';
import { RtmpOutput } from '../../../src/output/rtmp-output.js';
import type { RtmpMessage } from '../../../src/rtmp/chunk-writer.js';
import type { Amf0Object } from '../../../src/amf0/amf0.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { FourCcInfoMask } from '../../../src/rtmp/enhanced-negotiation.js';
import * as msg from '../../../src/rtmp/messages.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer, type FakeRtmpServerOptions } from '../../helpers/fake-rtmp-server.js';
import { untilTrue } from '../../helpers/memory-socket.js';

// What an HEVC or AV1 session puts on the wire through Output → RtmpTransport → RtmpConnection, in
// memory: Enhanced RTMP video tags and metadata, AAC unchanged; and a refused codec ends the output.

const RECORD: Record<VideoCodec, Buffer> = {
  h264: Buffer.from('01640028ffe1', 'hex'),
  hevc: Buffer.from('0101600000009000000000003c', 'hex'),
  av1: Buffer.from('81000c000a0b', 'hex'),
};

const config = (codec: VideoCodec): StreamConfig => ({
  video: {
    codec,
    decoderConfigurationRecord: RECORD[codec],
    width: 640,
    height: 360,
    fps: 30,
    bitrateBps: 1_000_000,
    encoderName: codec,
  },
  audio: {
    audioSpecificConfig: Buffer.from('1190', 'hex'),
    sampleRate: 48000,
    channels: 2,
    bitrateBps: 128_000,
  },
});

const packet = (kind: 'video' | 'audio', atMs: number, keyframe: boolean, ctsMs = 0): EncodedPacket => ({
  kind,
  data: Buffer.from(kind === 'video' ? 'c0ffee' : 'aa', 'hex'),
  dtsUs: atMs * 1000,
  ptsUs: (atMs + ctsMs) * 1000,
  keyframe,
  reference: kind === 'video',
  byteLength: kind === 'video' ? 3 : 1,
});

let output: RtmpOutput | undefined;
afterEach(async () => {
  await output?.stop();
  output = undefined;
});

function start(codec: VideoCodec, serverOptions: FakeRtmpServerOptions = {}) {
  const server = FakeRtmpServer.inMemory(serverOptions);
  const out = (output = new RtmpOutput(new FakeClock(), () => config(codec), {
    url: server.url('live', 'key'),
    connection: { connect: server.connector(), negotiation: { videoCodecs: [codec], capsEx: 0 } },
  }));
  out.start();
  return { server, out };
}

const media = (messages: readonly RtmpMessage[], type: number) =>
  messages.filter((m) => m.messageTypeId === type);
const hex = (b: Buffer, n: number) => b.subarray(0, n).toString('hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

describe('RtmpTransport per codec', () => {
  it.each([
    ['hevc', 'hvc1'],
    ['av1', 'av01'],
  ] as const)(
    '%s: SequenceStart with the record, then enhanced coded frames; metadata names the FourCC',
    async (codec, fourCc) => {
      const { server, out } = start(codec);
      out.writePacket(packet('video', 0, true));
      out.writePacket(packet('audio', 0, true));
      out.writePacket(packet('video', 33, false));
      await untilTrue(
        () => media(server.sessions[0]?.messages ?? [], MessageType.VIDEO).length === 3,
        'three video messages',
      );
      const messages = server.sessions[0]?.messages ?? [];
      const video = media(messages, MessageType.VIDEO).map((m) => m.payload);
      expect(video[0]?.toString('hex')).toBe('90' + ascii(fourCc) + RECORD[codec].toString('hex'));
      // HEVC frames without composition time go as CodedFramesX (3); AV1 as CodedFrames (1).
      const type = codec === 'hevc' ? '3' : '1';
      expect(hex(video[1] ?? Buffer.alloc(0), 5)).toBe('9' + type + ascii(fourCc));
      expect(hex(video[2] ?? Buffer.alloc(0), 5)).toBe('a' + type + ascii(fourCc));
      expect(video[2]?.subarray(5).toString('hex')).toBe('c0ffee');
      const audio = media(messages, MessageType.AUDIO).map((m) => hex(m.payload, 2));
      expect(audio).toEqual(['af00', 'af01']);
      const data = messages.find((m) => m.messageTypeId === MessageType.DATA_AMF0);
      const metadata = data ? decodeAmf0(data.payload)[2] : undefined;
      expect(metadata instanceof Amf0EcmaArray ? metadata.properties.videocodecid : undefined).toBe(
        fourCcNumber(fourCc),
      );
    },
  );

  it('h264: classic AVC tags and videocodecid 7, as before', async () => {
    const { server, out } = start('h264');
    out.writePacket(packet('video', 0, true, 33));
    await untilTrue(
      () => media(server.sessions[0]?.messages ?? [], MessageType.VIDEO).length === 2,
      'two video messages',
    );
    const video = media(server.sessions[0]?.messages ?? [], MessageType.VIDEO).map((m) => m.payload);
    expect(video.map((v) => hex(v, 5))).toEqual(['1700000000', '1701000021']);
    expect(out.stats.codecNegotiation).toEqual({
      videoCodec: 'h264',
      state: 'not-asked',
      accepted: ['h264'],
    });
  });

  it('a server that cannot take HEVC ends the output at once with ERR_RTMP_CODEC_REFUSED, without retrying', async () => {
    const { server, out } = start('hevc', {
      connectResult: { properties: { videoFourCcInfoMap: { avc1: 1 } } },
    });
    const errors: Error[] = [];
    out.on('error', (e) => errors.push(e));
    await untilTrue(() => out.state === 'failed', 'the output to fail');
    expect(errors.map((e) => (e as Error & { code: string }).code)).toEqual(['ERR_RTMP_CODEC_REFUSED']);
    expect(server.sessions).toHaveLength(1);
    expect(out.stats.connectAttempts).toBe(1);
  });

  describe('once the session settles on one codec of a list (settleVideoCodec)', () => {
    const connectObject = (server: FakeRtmpServer, session: number): Amf0Object => {
      const message = server.sessions[session]?.messages.find(
        (m) => m.messageTypeId === MessageType.COMMAND_AMF0,
      );
      if (!message) throw new Error(`session ${session} sent no connect`);
      return msg.parseCommand(message).commandObject as Amf0Object;
    };
    function startList(codecs: VideoCodec[], settled: VideoCodec, properties: Amf0Object) {
      const clock = new FakeClock();
      const server = FakeRtmpServer.inMemory({ connectResult: { properties } });
      const out = (output = new RtmpOutput(clock, () => config(settled), {
        url: server.url('live', 'key'),
        connection: { connect: server.connector(), negotiation: { videoCodecs: codecs, capsEx: 0 } },
      }));
      out.start();
      return { clock, server, out };
    }

    it('says the codec sent, and asks for it alone on the next connection', async () => {
      const { clock, server, out } = startList(['hevc', 'h264'], 'h264', {
        videoFourCcInfoMap: { hvc1: FourCcInfoMask.CanDecode, avc1: FourCcInfoMask.CanDecode },
      });
      await untilTrue(() => out.state === 'live', 'the publish');
      expect(connectObject(server, 0).fourCcList).toEqual(['hvc1', 'avc1', 'mp4a']);
      expect(out.codecNegotiation).toMatchObject({ videoCodec: 'hevc', accepted: ['hevc', 'h264'] });
      out.settleVideoCodec('h264'); // the server takes it: the publish goes on
      expect(out.codecNegotiation).toEqual({
        videoCodec: 'h264',
        state: 'confirmed',
        accepted: ['hevc', 'h264'],
      });
      clock.advance(5000); // past probation
      server.sessions[0]?.socket.destroy();
      await untilTrue(() => server.sessions.length === 2 && out.state === 'live', 'the reconnect');
      expect(connectObject(server, 1).fourCcList).toBeUndefined(); // H.264 alone: the legacy connect
      expect(out.codecNegotiation).toEqual({ videoCodec: 'h264', state: 'not-asked', accepted: ['h264'] });
    });

    it('ends a publish whose server did not take the codec settled on, and the next connect is refused', async () => {
      const { out, server } = startList(['hevc', 'av1'], 'hevc', {
        videoFourCcInfoMap: { av01: FourCcInfoMask.CanDecode },
      });
      const errors: Error[] = [];
      out.on('error', (e) => errors.push(e));
      await untilTrue(() => out.state === 'live', 'the publish');
      expect(out.codecNegotiation).toMatchObject({ videoCodec: 'av1', accepted: ['av1'] });
      out.settleVideoCodec('hevc'); // another output's server decided
      await untilTrue(() => out.state === 'failed', 'the output to fail');
      expect(errors.map((e) => (e as Error & { code: string }).code)).toEqual(['ERR_RTMP_CODEC_REFUSED']);
      expect(server.sessions).toHaveLength(2);
      expect(connectObject(server, 1).fourCcList).toEqual(['hvc1', 'mp4a']);
      expect(
        media(
          server.sessions.flatMap((session) => session.messages),
          MessageType.VIDEO,
        ),
      ).toEqual([]);
    });
  });
});
