import { afterEach, describe, expect, it } from 'vitest';
import type { Amf0Object } from '../../../src/amf0/amf0.js';
import type { VideoCodec } from '../../../src/media/packet.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { CapsExMask, FourCcInfoMask } from '../../../src/rtmp/enhanced-negotiation.js';
import { RtmpCodecRefusedError } from '../../../src/rtmp/errors.js';
import * as msg from '../../../src/rtmp/messages.js';
import { RtmpConnection, type ServerInfo } from '../../../src/rtmp/rtmp-connection.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer, type FakeRtmpServerOptions } from '../../helpers/fake-rtmp-server.js';

// Enhanced RTMP negotiation end to end over the in-memory socket: what our connect carries, and what
// each kind of connect `_result` makes of the publish.

let server: FakeRtmpServer | undefined;
const connections: RtmpConnection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

function open(options: FakeRtmpServerOptions, videoCodecs: VideoCodec[]): RtmpConnection {
  server = FakeRtmpServer.inMemory(options);
  const connection = new RtmpConnection(
    {
      url: server.url('live', 'secret-key'),
      connect: server.connector(),
      negotiation: { videoCodecs, capsEx: 0 },
    },
    new FakeClock(),
  );
  connections.push(connection);
  return connection;
}

async function publish(connection: RtmpConnection): Promise<ServerInfo> {
  let info: ServerInfo | undefined;
  connection.on('publishing', (i) => (info = i));
  await connection.connect();
  if (!info) throw new Error('no publishing event');
  return info;
}

function connectObject(): Amf0Object {
  const message = server?.sessions[0]?.messages.find((m) => m.messageTypeId === MessageType.COMMAND_AMF0);
  if (!message) throw new Error('no connect');
  const command = msg.parseCommand(message);
  expect(command.name).toBe('connect');
  return command.commandObject as Amf0Object;
}

const takes = (map: Amf0Object): FakeRtmpServerOptions => ({
  connectResult: { properties: { videoFourCcInfoMap: map } },
});

describe('connect negotiation against a server’s _result', () => {
  // Since this client follows ReconnectRequest, an H.264 session's default connect says so (capsEx 1);
  // with capsEx 0 it is the legacy connect, unchanged.
  it('an H.264 session with capsEx 0 sends the legacy connect and reports nothing asked', async () => {
    const info = await publish(open({}, ['h264']));
    expect(Object.keys(connectObject()).sort()).toEqual(['app', 'flashVer', 'tcUrl', 'type']);
    expect(info.negotiation).toEqual({
      videoCodec: 'h264',
      state: 'not-asked',
      accepted: ['h264'],
      serverCapsEx: 0,
    });
  });

  it('an H.264 session by default adds capsEx Reconnect to the legacy connect, and nothing else', async () => {
    server = FakeRtmpServer.inMemory();
    const connection = new RtmpConnection(
      { url: server.url('live', 'secret-key'), connect: server.connector() },
      new FakeClock(),
    );
    connections.push(connection);
    const info = await publish(connection);
    expect(connectObject()).toEqual({
      app: 'live',
      type: 'nonprivate',
      flashVer: 'FMLE/3.0 (compatible; steadycast)',
      tcUrl: server.url('live', 'secret-key').replace(/\/secret-key$/, ''),
      capsEx: CapsExMask.Reconnect,
    });
    expect(info.negotiation).toEqual({
      videoCodec: 'h264',
      state: 'not-asked',
      accepted: ['h264'],
      serverCapsEx: 0,
    });
  });

  it('an HEVC session announces hvc1 and mp4a; a server that takes hvc1 confirms it', async () => {
    const info = await publish(open(takes({ hvc1: FourCcInfoMask.CanForward, avc1: 1 }), ['hevc']));
    expect(connectObject()).toMatchObject({
      fourCcList: ['hvc1', 'mp4a'],
      videoFourCcInfoMap: { hvc1: FourCcInfoMask.CanEncode },
      audioFourCcInfoMap: { mp4a: FourCcInfoMask.CanEncode },
    });
    expect(info.negotiation).toMatchObject({ videoCodec: 'hevc', state: 'confirmed' });
  });

  it('a legacy server that says nothing gets what was asked, marked unconfirmed', async () => {
    const info = await publish(open({}, ['av1', 'h264']));
    expect(info.negotiation).toMatchObject({ videoCodec: 'av1', state: 'unconfirmed' });
  });

  it('falls back to H.264 when allowed and the server cannot take HEVC', async () => {
    const info = await publish(open(takes({ avc1: FourCcInfoMask.CanDecode }), ['hevc', 'h264']));
    expect(info.negotiation).toMatchObject({ videoCodec: 'h264', state: 'confirmed' });
  });

  it('fails fast with ERR_RTMP_CODEC_REFUSED (not retryable) when HEVC alone is asked and refused', async () => {
    const connection = open({ connectResult: { info: { fourCcList: ['avc1', 'av01'] } } }, ['hevc']);
    const error = await connection.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RtmpCodecRefusedError);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_CODEC_REFUSED',
      retryable: false,
      serverTakes: ['avc1', 'av01'],
    });
    expect((error as Error).message).toMatch(
      /cannot take hevc video \(it takes avc1, av01\).*--codec hevc,h264/,
    );
    expect((error as Error).message).not.toContain('secret-key');
    // Nothing more was sent after the connect: no createStream, no publish.
    const names = (server?.sessions[0]?.messages ?? [])
      .filter((m) => m.messageTypeId === MessageType.COMMAND_AMF0)
      .map((m) => msg.parseCommand(m).name);
    expect(names).toEqual(['connect']);
  });

  it('refuses a bad codec list before connecting, naming the option', () => {
    expect(() => open({}, ['hevc', 'hevc'])).toThrow(/video.codec/);
  });
});
