import { afterEach, describe, expect, it } from 'vitest';
import { decodeAmf0, Amf0EcmaArray } from '../../../src/amf0/amf0.js';
import type { StreamConfig } from '../../../src/media/packet.js';
import type { OutputState } from '../../../src/output/reconnector.js';
import { RtmpOutput, type RtmpOutputOptions } from '../../../src/output/rtmp-output.js';
import type { RtmpMessage } from '../../../src/rtmp/chunk-writer.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import {
  FakeRtmpServer,
  type FakeRtmpServerOptions,
  type FakeSession,
} from '../../helpers/fake-rtmp-server.js';
import { ioTurns, untilTrue, type MemorySocket } from '../../helpers/memory-socket.js';
import {
  audio,
  h264Config,
  interFrame as emptyInterFrame,
  keyframe as emptyKeyframe,
  type FakePacketOptions,
} from './packets.js';
import type { EncodedPacket } from '../../../src/media/packet.js';

// Video with payloads of their real size: what reaches the socket is what the byte counts say.
const sized = (packet: EncodedPacket): EncodedPacket => ({
  ...packet,
  data: Buffer.alloc(packet.byteLength, 1),
});
const keyframe = (options: FakePacketOptions = {}): EncodedPacket => sized(emptyKeyframe(options));
const interFrame = (options: FakePacketOptions = {}): EncodedPacket => sized(emptyInterFrame(options));

// The output's state machine end to end (Output → RtmpTransport → RtmpConnection) against the scripted
// server in memory, on the fake clock: what it holds before the first publish, how every way a
// connection ends is seen, what each new connection announces, and what stop() flushes.

const config = h264Config;

let output: RtmpOutput | undefined;
let outputClock: FakeClock | undefined;
afterEach(async () => {
  // stop() flushes on the fake clock: move it along until the stop is done.
  let stopped = false;
  void output?.stop().then(() => (stopped = true));
  for (let i = 0; output && !stopped && i < 1000; i++) {
    outputClock?.advance(50);
    await ioTurns(5);
  }
  output = undefined;
});

interface Rig {
  clock: FakeClock;
  out: RtmpOutput;
  server: FakeRtmpServer;
  states: OutputState[];
}

function rig(
  serverOptions: FakeRtmpServerOptions = {},
  options: Partial<RtmpOutputOptions> = {},
  streamConfig: () => StreamConfig = () => config(),
): Rig {
  const server = FakeRtmpServer.inMemory(serverOptions);
  const clock = (outputClock = new FakeClock());
  const out = (output = new RtmpOutput(clock, streamConfig, {
    url: server.url(),
    publishProbationMs: 1000,
    reconnect: { jitter: 0 },
    ...options,
    connection: { connect: server.connector(), ...options.connection },
  }));
  const states: OutputState[] = [];
  out.on('statechange', (_prev, next) => states.push(next));
  return { clock, out, server, states };
}

/** Fake time passes in steps, with I/O between. */
async function pass(clock: FakeClock, totalMs: number, stepMs = 50): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    clock.advance(Math.min(stepMs, totalMs - t));
    await ioTurns(20);
  }
}

/** Fake time passes in steps, with I/O between, until `predicate` holds (at most `maxMs`). */
async function passUntil(
  clock: FakeClock,
  predicate: () => boolean,
  what: string,
  maxMs = 60_000,
): Promise<void> {
  for (let t = 0; !predicate(); t += 50) {
    if (t > maxMs) throw new Error(`${what} did not happen within ${maxMs} ms of fake time`);
    await pass(clock, 50);
  }
}

/** One frame of a 30 fps stream with a keyframe a second (5000 and 2000 bytes), then 33 ms pass. */
async function frameAt(out: RtmpOutput, clock: FakeClock, t: number): Promise<void> {
  out.writePacket(t % 1000 === 0 ? keyframe({ atMs: t, bytes: 5000 }) : interFrame({ atMs: t, bytes: 2000 }));
  await pass(clock, 33, 33);
}

/** Starts `out` and streams 2 s: live, and the server's acknowledgements seen. */
async function liveAndAcknowledging(out: RtmpOutput, clock: FakeClock): Promise<void> {
  out.start();
  await untilTrue(() => out.state === 'live', 'live');
  for (let t = 0; t < 2000; t += 33) await frameAt(out, clock, t);
  expect(out.stats.ackState).toBe('acknowledging');
}

const isMedia = (m: RtmpMessage): boolean =>
  m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.AUDIO;
const isFrame = (m: RtmpMessage): boolean => isMedia(m) && m.payload[1] === 1;
const frames = (session: FakeSession | undefined): RtmpMessage[] => (session?.messages ?? []).filter(isFrame);
const metadataOf = (session: FakeSession | undefined): Record<string, unknown> => {
  const data = (session?.messages ?? []).find((m) => m.messageTypeId === MessageType.DATA_AMF0);
  const value = data ? decodeAmf0(data.payload)[2] : undefined;
  return value instanceof Amf0EcmaArray ? value.properties : {};
};

describe('RtmpOutput before the first publish', () => {
  it('holds what the encoders produce while connecting and sends it, from the first keyframe, once the publish starts', async () => {
    const { out, server } = rig();
    out.start();
    // The encoders are faster than the handshake: these arrive before Publish.Start.
    out.writePacket(keyframe({ atMs: 0 }));
    out.writePacket(audio({ atMs: 0 }));
    out.writePacket(interFrame({ atMs: 33 }));
    expect(out.state).toBe('connecting');
    await untilTrue(() => frames(server.sessions[0]).length === 3, 'the held frames at the server');
    expect(frames(server.sessions[0]).map((m) => [m.messageTypeId, m.timestamp])).toEqual([
      [MessageType.VIDEO, 0],
      [MessageType.AUDIO, 0],
      [MessageType.VIDEO, 33],
    ]);
    expect(out.stats.packetsDroppedWhileDisconnected).toEqual({ video: 0, audio: 0 });
  });

  it('stops holding once the first connection takes longer than maxLatencyMs, then resumes at the live edge', async () => {
    const { clock, out, server } = rig(
      { silentHandshake: true },
      { maxLatencyMs: 1000, connection: { handshakeTimeoutMs: 3000 } },
    );
    const keyframeRequests: number[] = [];
    out.on('keyframeRequest', () => keyframeRequests.push(clock.nowUs() / 1000));
    out.start();
    for (let t = 0; t <= 1500; t += 100) {
      out.writePacket(t % 1000 === 0 ? keyframe({ atMs: t }) : interFrame({ atMs: t }));
      out.writePacket(audio({ atMs: t }));
      await pass(clock, 100);
    }
    const dropped = out.stats.packetsDroppedWhileDisconnected;
    expect(dropped.video + dropped.audio).toBeGreaterThan(10); // the stale backlog, counted
    expect(out.state).toBe('connecting');
    expect(server.sessions).toHaveLength(1);
  });

  it('drops what it held when the first attempt fails, counted as dropped while disconnected', async () => {
    const { clock, out, server } = rig();
    server.refuse = true;
    let retries = 0;
    out.on('retry', () => retries++);
    out.start();
    out.writePacket(keyframe({ atMs: 0 }));
    out.writePacket(audio({ atMs: 0 }));
    await untilTrue(() => retries > 0, 'the first attempt to fail');
    expect(out.state).toBe('connecting'); // still connecting: it never was live
    expect(out.stats.packetsDroppedWhileDisconnected).toEqual({ video: 1, audio: 1 });
    server.refuse = false;
    await passUntil(clock, () => out.state === 'live', 'the server back', 1000);
  });
});

describe('RtmpOutput sees every way a connection ends', () => {
  it.each(['error-status', 'close'] as const)(
    'a server that starts the publish and sends %s in the same read, on the first connection: no hang, it retries, and stop() ends it',
    async (then) => {
      const { clock, out, server, states } = rig({ publishStartThen: (n) => (n === 0 ? then : null) });
      out.start();
      await untilTrue(() => server.sessions.length >= 2, 'a second connection');
      await pass(clock, 1200);
      expect(out.state).toBe('live');
      expect(states.slice(0, 3)).toEqual(['connecting', 'live', 'reconnecting']);
      expect(out.stats.lastDisconnectReason).toMatch(
        then === 'close' ? /sent "close"/ : /NetStream\.Publish\.Failed/,
      );
      await out.stop();
      expect(out.state).toBe('stopped');
    },
  );

  it.each(['error-status', 'close'] as const)(
    'the same on a reconnection (%s): the output goes on to the next connection instead of staying "live" on a dead socket',
    async (then) => {
      const { clock, out, server } = rig({ publishStartThen: (n) => (n === 1 ? then : null) });
      out.start();
      await untilTrue(() => out.state === 'live', 'live');
      await pass(clock, 1500); // past probation
      server.sessions[0]?.socket.destroy();
      await passUntil(clock, () => server.sessions.length >= 3, 'a third connection');
      await pass(clock, 100);
      expect(out.state).toBe('live');
      expect(server.sessions[1]?.closed).toBe(true);
      out.writePacket(keyframe({ atMs: clock.nowUs() / 1000 }));
      await untilTrue(() => frames(server.sessions[2]).length === 1, 'the keyframe on the third connection');
    },
  );

  it('hands a keyframe larger than the in-flight bound to the socket in pieces, as acknowledgements come back', async () => {
    const { clock, out, server } = rig({}, { connection: { windowAckSizeBytes: 1024 } });
    await liveAndAcknowledging(out, clock);
    const session = server.sessions[0]!;
    const client = (session.socket as MemorySocket).peer!;
    await untilTrue(() => client.writableLength === 0, 'everything delivered');
    client.hold(); // the path stalls: nothing more arrives, no acknowledgement comes back
    out.writePacket(keyframe({ atMs: 2000, bytes: 200_000 }));
    // The stream goes on: each packet is a pass of the sender, and none may grant the room again (the
    // socket here, like a TLS socket, empties its own buffer only on a later turn).
    for (let t = 2033; t < 2300; t += 33) await frameAt(out, clock, t);
    // What the output gave its socket since: stuck there, as in a kernel behind a stalled path.
    const inFlight = client.writableLength;
    // The bound, 500 ms of the ~490 kbit/s delivered (above 2 acknowledgement windows + 16 KiB), is about
    // 31 KB here: a piece of the keyframe went, the rest waits for acknowledgements (all of it: 200 KB).
    expect(inFlight).toBeGreaterThan(0);
    expect(inFlight).toBeLessThan(40_000);
    client.release();
    await passUntil(clock, () => frames(session).some((m) => m.timestamp === 2000), 'the keyframe');
    const big = frames(session).find((m) => m.timestamp === 2000)!;
    expect(big.payload.length).toBe(200_000 + 5); // whole, after its FLV video tag header
  });

  it('declares a path that stops delivering dead after ackStallTimeoutMs and reconnects', async () => {
    const { clock, out, server } = rig(
      {},
      { ackStallTimeoutMs: 5000, connection: { windowAckSizeBytes: 1024 } },
    );
    await liveAndAcknowledging(out, clock);
    (server.sessions[0]?.socket as MemorySocket).peer?.hold(); // the path dies: nothing reaches the server
    for (let t = 2000; t < 9000 && server.sessions.length < 2; t += 33) await frameAt(out, clock, t);
    expect(server.sessions.length).toBeGreaterThanOrEqual(2);
    expect(out.stats.lastDisconnectReason).toMatch(/no progress for 5 s/);
  });
});

describe('RtmpOutput on each new connection', () => {
  it('announces the bitrate in use now, not the one configured at start (adaptive bitrate moved it)', async () => {
    let bitrateBps = 2_500_000;
    const { clock, out, server } = rig({}, {}, () => config(bitrateBps));
    out.start();
    out.writePacket(keyframe({ atMs: 0 }));
    await untilTrue(() => frames(server.sessions[0]).length === 1, 'the first frame');
    expect(metadataOf(server.sessions[0]).videodatarate).toBe(2500);
    await pass(clock, 1500);
    bitrateBps = 800_000;
    server.sessions[0]?.socket.destroy();
    await untilTrue(() => out.state === 'reconnecting', 'the drop');
    await untilTrue(() => out.state === 'live', 'the reconnection');
    out.writePacket(keyframe({ atMs: 1600 }));
    await untilTrue(() => frames(server.sessions[1]).length === 1, 'the first frame after the reconnection');
    expect(metadataOf(server.sessions[1]).videodatarate).toBe(800);
  });
});

describe('RtmpOutput moving between renditions', () => {
  it('announces the new rendition (onMetaData, then its sequence header) right before its keyframe, and never mixes renditions', async () => {
    const low = {
      ...config().video!,
      width: 640,
      height: 360,
      bitrateBps: 600_000,
      decoderConfigurationRecord: Buffer.from([1, 0x42, 0, 0x1e, 0xff, 0xe1]),
    };
    const streamConfig = (): StreamConfig => ({ ...config(), renditions: new Map([['low', low]]) });
    const { out, server } = rig({}, {}, streamConfig);
    const renditionChanges: unknown[] = [];
    out.on('renditionchange', (change) => renditionChanges.push(change));
    out.start();
    await untilTrue(() => out.state === 'live', 'live');
    const lowFrame = (p: EncodedPacket): EncodedPacket => ({ ...p, rendition: 'low' });
    out.writePacket(keyframe({ atMs: 0 }));
    out.writePacket(lowFrame(keyframe({ atMs: 0 })));
    out.moveToRendition('low', 'congested');
    out.writePacket(interFrame({ atMs: 33 })); // still main: low's next keyframe has not come
    out.writePacket(lowFrame(interFrame({ atMs: 33 })));
    out.writePacket(keyframe({ atMs: 66 }));
    out.writePacket(lowFrame(keyframe({ atMs: 66 })));
    out.writePacket(interFrame({ atMs: 100 }));
    out.writePacket(lowFrame(interFrame({ atMs: 100 })));
    await untilTrue(() => frames(server.sessions[0]).length === 4, 'four frames');
    const stream = (server.sessions[0]?.messages ?? []).filter(
      (m) => m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.DATA_AMF0,
    );
    const widthOf = (m: RtmpMessage): unknown => (decodeAmf0(m.payload)[2] as Amf0EcmaArray).properties.width;
    expect(
      stream.map((m) =>
        m.messageTypeId === MessageType.DATA_AMF0
          ? `meta ${String(widthOf(m))}`
          : `${m.payload[1] === 0 ? 'header' : 'frame'} ${m.timestamp}`,
      ),
    ).toEqual([
      'meta 1280',
      'header 0',
      'frame 0',
      'frame 33',
      'meta 640',
      'header 66',
      'frame 66',
      'frame 100',
    ]);
    // The second sequence header is the low rendition's record.
    const headers = stream.filter((m) => m.messageTypeId === MessageType.VIDEO && m.payload[1] === 0);
    expect(headers[1]?.payload.subarray(5)).toEqual(low.decoderConfigurationRecord);
    expect(renditionChanges).toEqual([{ from: undefined, to: 'low', reason: 'congested' }]);
    expect(out.stats).toMatchObject({ rendition: 'low', renditionSwitches: { down: 1, up: 0 } });
  });
});

describe('RtmpOutput stop()', () => {
  it('sends what is queued, then unpublishes and closes', async () => {
    const { clock, out, server } = rig();
    out.start();
    await untilTrue(() => out.state === 'live', 'live');
    (server.sessions[0]?.socket as MemorySocket).peer?.hold();
    for (let i = 0; i < 30; i++)
      out.writePacket(i === 0 ? keyframe({ atMs: i * 33 }) : interFrame({ atMs: i * 33 }));
    expect(out.stats.queuedPackets).toBeGreaterThan(0);
    (server.sessions[0]?.socket as MemorySocket).peer?.release();
    let stopped = false;
    void out.stop().then(() => (stopped = true));
    await passUntil(clock, () => stopped, 'the stop');
    expect(frames(server.sessions[0])).toHaveLength(30);
    expect(server.commands().slice(-2)).toEqual(['FCUnpublish', 'deleteStream']);
    expect(out.state).toBe('stopped');
  });
});
