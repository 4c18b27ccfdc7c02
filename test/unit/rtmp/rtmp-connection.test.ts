import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../src/core/errors.js';
import { decodeAmf0 } from '../../../src/amf0/amf0.js';
import { MessageType, UserControlEvent } from '../../../src/rtmp/constants.js';
import { RtmpServerError, type RtmpError } from '../../../src/rtmp/errors.js';
import * as msg from '../../../src/rtmp/messages.js';
import { RtmpConnection, type ServerInfo } from '../../../src/rtmp/rtmp-connection.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer, sendRaw, type FakeRtmpServerOptions } from '../../helpers/fake-rtmp-server.js';
import { untilTrue as waitFor } from '../../helpers/memory-socket.js';
import type { SocketConnector } from '../../../src/rtmp/rtmp-connection-options.js';

// RtmpConnection against the scripted server, in memory (its `connect` option): no loopback socket,
// no wall clock; timeouts run on the FakeClock.

let server: FakeRtmpServer | undefined;
let connector: SocketConnector | undefined;
const connections: RtmpConnection[] = [];

async function start(options: FakeRtmpServerOptions = {}): Promise<FakeRtmpServer> {
  server = FakeRtmpServer.inMemory(options);
  connector = server.connector();
  return server;
}

function open(url: string, clock = new FakeClock(), extra: object = {}): RtmpConnection {
  const connection = new RtmpConnection({ url, connect: connector, ...extra }, clock);
  connections.push(connection);
  return connection;
}

async function rejection(promise: Promise<unknown>): Promise<RtmpError> {
  try {
    await promise;
  } catch (error) {
    return error as RtmpError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

describe('RtmpConnection publish sequence', () => {
  it('sends Set Chunk Size, our Window Ack Size, connect, releaseStream, FCPublish, createStream, publish', async () => {
    const s = await start();
    const c = open(s.url('live', 'my-key'));
    const states: string[] = [];
    c.on('statechange', (_prev, next) => states.push(next));
    let info: ServerInfo | undefined;
    c.on('publishing', (i) => (info = i));
    await c.connect();

    expect(states).toEqual(['connecting', 'handshaking', 'negotiating', 'publishing']);
    const [first, second] = s.sessions[0]!.messages;
    expect(first!.messageTypeId).toBe(MessageType.SET_CHUNK_SIZE);
    expect(first!.payload.readUInt32BE(0)).toBe(4096);
    expect(second!.messageTypeId).toBe(MessageType.WINDOW_ACK_SIZE);
    expect(second!.payload.readUInt32BE(0)).toBe(16384);
    expect(s.commands()).toEqual(['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish']);
    const commands = s.sessions[0]!.messages.filter((m) => m.messageTypeId === MessageType.COMMAND_AMF0);
    expect(decodeAmf0(commands[0]!.payload)[2]).toMatchObject({
      app: 'live',
      type: 'nonprivate',
      tcUrl: `rtmp://127.0.0.1:${s.port}/live`,
    });
    expect(commands[4]!.messageStreamId).toBe(1);
    expect(decodeAmf0(commands[4]!.payload).slice(3)).toEqual(['my-key', 'live']);
    expect(info).toMatchObject({ streamId: 1, fmsVer: 'FMS/3,0,1,123', handshake: { s2EchoMatched: true } });
    expect(c.serverWindowAckSize).toBe(5_000_000);
    expect(c.peerBandwidthBytes).toBe(5_000_000);
  });

  it('counts bytesWritten like the server counts received bytes (after the handshake)', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    const result = c.writeVideo(0, Buffer.alloc(10_000, 1));
    expect(result.endOffset).toBe(c.bytesWritten);
    await waitFor(() => s.sessions[0]!.bytesReceived === c.bytesWritten);
  });

  it('delivers media messages on the created stream with their timestamps', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    c.writeMetadata({
      audio: { audioSpecificConfig: Buffer.alloc(2), sampleRate: 48000, channels: 2, bitrateBps: 1 },
    });
    c.writeAudio(23, Buffer.from('af01aa', 'hex'));
    c.writeVideo(0x1000005, Buffer.alloc(9000, 7));
    await waitFor(() => s.sessions[0]!.messages.some((m) => m.messageTypeId === MessageType.VIDEO));
    const media = s.sessions[0]!.messages.filter((m) => m.messageStreamId === 1 && m.messageTypeId !== 20);
    expect(media.map((m) => [m.messageTypeId, m.timestamp, m.payload.length])).toEqual([
      [MessageType.DATA_AMF0, 0, media[0]!.payload.length],
      [MessageType.AUDIO, 23, 3],
      [MessageType.VIDEO, 0x1000005, 9000],
    ]);
    expect(decodeAmf0(media[0]!.payload).slice(0, 2)).toEqual(['@setDataFrame', 'onMetaData']);
  });

  it('ignores an _error answer to releaseStream', async () => {
    const s = await start({ errorOnReleaseStream: true });
    await open(s.url()).connect();
  });
});

describe('RtmpConnection rejections', () => {
  it('turns _error on connect into RtmpServerError with the status code, key redacted', async () => {
    const s = await start({
      rejectConnect: { code: 'NetConnection.Connect.Rejected', description: 'bad key sekrit-key' },
    });
    const c = open(s.url('live', 'sekrit-key'));
    let closedWith: unknown;
    c.on('closed', (e) => (closedWith = e));
    const error = await rejection(c.connect());
    expect(error).toBeInstanceOf(RtmpServerError);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_REJECTED',
      statusCode: 'NetConnection.Connect.Rejected',
      description: 'bad key ****',
      command: 'connect',
      retryable: false,
    });
    expect(error.message).not.toContain('sekrit-key');
    expect(closedWith).toBe(error);
    expect(c.state).toBe('closed');
  });

  it('turns an error-level onStatus on publish into RtmpServerError; BadName is retryable', async () => {
    const s = await start({
      rejectPublish: { code: 'NetStream.Publish.BadName', description: 'Already publishing' },
    });
    const error = await rejection(open(s.url()).connect());
    expect(error).toMatchObject({
      statusCode: 'NetStream.Publish.BadName',
      command: 'publish',
      retryable: true,
    });
  });

  it('never puts the key in a status event', async () => {
    const s = await start();
    const c = open(s.url('live', 'topsecret'));
    const descriptions: string[] = [];
    c.on('status', (status) => descriptions.push(status.description));
    await c.connect();
    expect(descriptions).toEqual(['**** is now published.']);
  });

  it('explains a server that closes during the publish sequence', async () => {
    const s = await start({ closeOnConnect: true });
    const error = await rejection(open(s.url()).connect());
    expect(error.code).toBe('ERR_RTMP_CLOSED_BY_SERVER');
    expect(error.message).toMatch(/after connect.*wrong application name/);
  });

  it('maps a refused connection to a retryable ERR_RTMP_CONNECTION_REFUSED', async () => {
    const s = await start();
    const url = s.url();
    await s.stop();
    server = undefined;
    const error = await rejection(open(url).connect());
    expect(error).toMatchObject({ code: 'ERR_RTMP_CONNECTION_REFUSED', retryable: true });
  });

  it('times out a handshake the server never answers with ERR_RTMP_HANDSHAKE_TIMEOUT', async () => {
    const s = await start({ silentHandshake: true });
    const clock = new FakeClock();
    const c = open(s.url(), clock);
    const promise = rejection(c.connect());
    await waitFor(() => c.state === 'handshaking');
    clock.advance(9_999);
    expect(c.state).toBe('handshaking');
    clock.advance(1);
    expect(await promise).toMatchObject({ code: 'ERR_RTMP_HANDSHAKE_TIMEOUT', retryable: true });
  });

  it('rejects with the abort reason when the signal aborts', async () => {
    const s = await start({ silentHandshake: true });
    const controller = new AbortController();
    const c = open(s.url());
    const promise = rejection(c.connect(controller.signal));
    controller.abort(new Error('stop now'));
    expect((await promise).message).toBe('stop now');
    expect(c.state).toBe('closed');
  });
});

describe('RtmpConnection while publishing', () => {
  it('answers PingRequest with PingResponse carrying the same timestamp', async () => {
    const s = await start();
    await open(s.url()).connect();
    s.sessions[0]!.send(msg.userControlMessage(UserControlEvent.PING_REQUEST, 123456));
    await waitFor(() => s.sessions[0]!.messages.some((m) => m.messageTypeId === MessageType.USER_CONTROL));
    const pong = s.sessions[0]!.messages.find((m) => m.messageTypeId === MessageType.USER_CONTROL)!;
    expect(msg.parseUserControl(pong.payload)).toEqual({
      event: UserControlEvent.PING_RESPONSE,
      value: 123456,
    });
  });

  it('emits the server’s acknowledgements, which the server sends per our window', async () => {
    const s = await start();
    const c = open(s.url(), new FakeClock(), { windowAckSizeBytes: 8192 });
    const acks: number[] = [];
    c.on('acknowledgement', (n) => acks.push(n));
    await c.connect();
    const offsets: number[] = [];
    for (let i = 0; i < 20; i++) offsets.push(c.writeVideo(i * 33, Buffer.alloc(3000, i)).endOffset);
    await waitFor(
      () => s.sessions[0]!.bytesReceived === c.bytesWritten && acks.length === s.sessions[0]!.acksSent.length,
    );
    expect(acks.length).toBeGreaterThanOrEqual(5);
    expect(acks).toEqual(s.sessions[0]!.acksSent);
    expect(c.acknowledgementsReceived).toBe(acks.length);
    expect(acks.at(-1)).toBeLessThanOrEqual(offsets.at(-1)!);
  });

  it('acknowledges the server per the server’s window (RTMP §5.4.3)', async () => {
    const s = await start({ windowAckSize: 1000 });
    const c = open(s.url());
    await c.connect();
    for (let i = 0; i < 30; i++) s.sessions[0]!.sendStatus('status', 'NetStream.Info', 'x'.repeat(100));
    await waitFor(() => s.sessions[0]!.messages.some((m) => m.messageTypeId === MessageType.ACKNOWLEDGEMENT));
    const ack = s.sessions[0]!.messages.find((m) => m.messageTypeId === MessageType.ACKNOWLEDGEMENT)!;
    expect(ack.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(1000);
    expect(ack.payload.readUInt32BE(0)).toBeLessThanOrEqual(c.bytesReceived);
  });

  it('closes with RtmpServerError on an error-level onStatus after publishing', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    const closed = new Promise<unknown>((resolve) => c.on('closed', resolve));
    s.sessions[0]!.sendStatus('error', 'NetStream.Publish.Failed', 'disk full');
    expect(await closed).toMatchObject({ code: 'ERR_RTMP_REJECTED', statusCode: 'NetStream.Publish.Failed' });
  });

  it('closes with ERR_RTMP_PROTOCOL on garbage', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    const closed = new Promise<unknown>((resolve) => c.on('closed', resolve));
    sendRaw(s.sessions[0]!, Buffer.from('4f0000000000010800', 'hex'));
    expect(await closed).toMatchObject({ code: 'ERR_RTMP_PROTOCOL' });
  });

  it('reports a server close as a retryable ERR_RTMP_CLOSED_BY_SERVER', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    const closed = new Promise<unknown>((resolve) => c.on('closed', resolve));
    s.sessions[0]!.socket.destroy();
    expect(await closed).toMatchObject({ code: 'ERR_RTMP_CLOSED_BY_SERVER', retryable: true });
  });
});

describe('RtmpConnection pacing (limitHandOver)', () => {
  it('gives the socket at most the allowance, holds the rest in order, and lets it go when allowed', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    const session = s.sessions[0]!;
    await waitFor(() => session.bytesReceived === c.bytesWritten);
    const before = c.bytesWritten;
    c.limitHandOver(4000);
    const video = c.writeVideo(0, Buffer.alloc(10_000, 7));
    const audio = c.writeAudio(1, Buffer.from('af01aa', 'hex'));
    expect(video.endOffset).toBeGreaterThan(before + 10_000); // offsets count held bytes too
    expect(audio.endOffset).toBe(c.bytesWritten);
    await waitFor(() => session.bytesReceived === before + 4000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(session.bytesReceived).toBe(before + 4000); // nothing past the allowance
    expect(c.writableLength).toBe(c.bytesWritten - before - 4000); // the rest is held, and counted
    c.limitHandOver(3000);
    await waitFor(() => session.bytesReceived === before + 7000);
    c.limitHandOver(Infinity);
    await waitFor(() => session.bytesReceived === c.bytesWritten);
    expect(c.writableLength).toBe(0);
    // Cut anywhere, the chunk stream reads back as the same two messages, in order.
    const media = session.messages.filter(
      (m) => m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.AUDIO,
    );
    expect(media.map((m) => [m.messageTypeId, m.timestamp, m.payload.length])).toEqual([
      [MessageType.VIDEO, 0, 10_000],
      [MessageType.AUDIO, 1, 3],
    ]);
    expect(media[0]!.payload.equals(Buffer.alloc(10_000, 7))).toBe(true);
  });

  it('sends what it holds before FCUnpublish when closing', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    c.limitHandOver(0);
    c.writeVideo(5, Buffer.alloc(6000, 3));
    await c.close();
    await waitFor(() => s.sessions[0]!.closed);
    const session = s.sessions[0]!;
    expect(
      session.messages.some((m) => m.messageTypeId === MessageType.VIDEO && m.payload.length === 6000),
    ).toBe(true);
    expect(s.commands().slice(-2)).toEqual(['FCUnpublish', 'deleteStream']);
  });
});

describe('RtmpConnection close', () => {
  it('sends FCUnpublish and deleteStream, ends the socket, and is idempotent', async () => {
    const s = await start();
    const c = open(s.url());
    await c.connect();
    let closedEvents = 0;
    c.on('closed', (e) => {
      closedEvents++;
      expect(e).toBeUndefined();
    });
    const first = c.close();
    expect(c.close()).toBe(first);
    await first;
    await waitFor(() => s.sessions[0]!.closed);
    expect(s.commands().slice(-2)).toEqual(['FCUnpublish', 'deleteStream']);
    expect(c.state).toBe('closed');
    expect(closedEvents).toBe(1);
    expect(() => c.writeVideo(0, Buffer.alloc(1))).toThrow(InvalidStateError);
    await expect(c.connect()).rejects.toThrow(InvalidStateError);
  });

  it('destroys the socket when the graceful close takes longer than closeTimeoutMs', async () => {
    const s = await start();
    const clock = new FakeClock();
    const c = open(s.url(), clock, { closeTimeoutMs: 500 });
    await c.connect();
    s.sessions[0]!.socket.pause(); // the server stops reading: FIN cannot complete the close
    s.sessions[0]!.socket.allowHalfOpen = true;
    const done = c.close();
    clock.advance(500);
    await done;
    expect(c.state).toBe('closed');
  });

  it('rejects a pending connect when closed before publishing', async () => {
    const s = await start({ silentHandshake: true });
    const c = open(s.url());
    const promise = rejection(c.connect());
    await waitFor(() => c.state === 'handshaking');
    await c.close();
    expect(await promise).toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('refuses writes before publishing', () => {
    expect(() => open('rtmp://127.0.0.1/live/k').writeAudio(0, Buffer.alloc(1))).toThrow(InvalidStateError);
  });
});

describe('RtmpConnection over TLS', () => {
  let dir: string;
  let key: string;
  let cert: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'steadycast-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a self-signed certificate by default with a non-retryable ERR_RTMP_TLS_CERTIFICATE', async () => {
    const s = await start({ tls: { key, cert } });
    const error = await rejection(
      open(s.url(), new FakeClock(), { tls: { servername: 'localhost' } }).connect(),
    );
    expect(error).toMatchObject({ code: 'ERR_RTMP_TLS_CERTIFICATE', retryable: false });
    expect(error.message).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT.*tls\.ca/);
  });

  it('publishes over TLS when the CA is given, and checks the host name', async () => {
    const s = await start({ tls: { key, cert } });
    await open(s.url(), new FakeClock(), { tls: { ca: cert, servername: 'localhost' } }).connect();
    const error = await rejection(
      open(s.url(), new FakeClock(), { tls: { ca: cert, servername: 'other.test' } }).connect(),
    );
    expect(error).toMatchObject({ code: 'ERR_RTMP_TLS_CERTIFICATE', retryable: false });
  });
});
