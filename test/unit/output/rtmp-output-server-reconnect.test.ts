import { afterEach, describe, expect, it } from 'vitest';
import type { Amf0Object } from '../../../src/amf0/amf0.js';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { RtmpOutput, type RtmpOutputOptions } from '../../../src/output/rtmp-output.js';
import type { RtmpMessage } from '../../../src/rtmp/chunk-writer.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import * as msg from '../../../src/rtmp/messages.js';
import type { SocketConnector } from '../../../src/rtmp/rtmp-connection-options.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer, type FakeSession } from '../../helpers/fake-rtmp-server.js';
import { audio, h264Config, interFrame, keyframe } from './packets.js';

// A server's NetConnection.Connect.ReconnectRequest (Enhanced RTMP v2), followed make before break:
// the old connection streams until the new one publishes and a keyframe comes; from that keyframe on,
// media goes to the new one only; then the old one is closed. Two scripted servers reached in memory
// by port, a fake clock.

const KEY = 'live_8472_SeCrEtKeY';

const config = h264Config();

const servers: FakeRtmpServer[] = [];
let output: RtmpOutput | undefined;

afterEach(async () => {
  await output?.stop();
  output = undefined;
  for (const s of servers.splice(0)) await s.stop();
});

async function until(clock: FakeClock, predicate: () => boolean, stepMs = 0, maxTurns = 5000): Promise<void> {
  for (let turn = 0; !predicate(); turn++) {
    if (turn >= maxTurns) throw new Error(`condition not met within ${maxTurns} event-loop turns`);
    clock.advance(stepMs);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Reaches each server by the port of the URL it is given; a port without one is refused. */
function router(routes: Record<number, FakeRtmpServer>): SocketConnector {
  const refused = FakeRtmpServer.inMemory();
  refused.refuse = true;
  servers.push(refused);
  return (target, progress) => (routes[target.port] ?? refused).connector()(target, progress);
}

interface Setup {
  clock: FakeClock;
  out: RtmpOutput;
  a: FakeRtmpServer;
  b: FakeRtmpServer;
  events: [string, string][];
  keyframeRequests: () => number;
}

async function startOnA(options: Partial<RtmpOutputOptions> = {}): Promise<Setup> {
  const a = FakeRtmpServer.inMemory();
  const b = FakeRtmpServer.inMemory();
  servers.push(a, b);
  const clock = new FakeClock();
  const out = (output = new RtmpOutput(clock, config, {
    url: `rtmp://127.0.0.1:1935/live/${KEY}`,
    publishProbationMs: 100,
    ...options,
    connection: { connect: router({ 1935: a, 1936: b }) },
  }));
  const events: [string, string][] = [];
  out.on('serverreconnect', (outcome, detail) => events.push([outcome, detail]));
  let requests = 0;
  out.on('keyframeRequest', () => requests++);
  out.start();
  await until(clock, () => out.state === 'live');
  clock.advance(200);
  return { clock, out, a, b, events, keyframeRequests: () => requests };
}

function sendReconnectRequest(session: FakeSession | undefined, info: Amf0Object): void {
  session?.send(
    msg.commandMessage(0, 'onStatus', 0, null, {
      level: 'status',
      code: 'NetConnection.Connect.ReconnectRequest',
      description: `The server is updating (${KEY}).`,
      ...info,
    }),
  );
}

const isMedia = (m: RtmpMessage): boolean =>
  m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.AUDIO;
const isSequenceHeader = (m: RtmpMessage): boolean => isMedia(m) && m.payload[1] === 0;
const kindOf = (m: RtmpMessage): string => (m.messageTypeId === MessageType.VIDEO ? 'video' : 'audio');

/** The frames a session received (no sequence headers): kind and timestamp, in order. */
function framesOf(session: FakeSession | undefined): string[] {
  return (session?.messages ?? [])
    .filter((m) => isMedia(m) && !isSequenceHeader(m))
    .map((m) => `${kindOf(m)}@${m.timestamp}`);
}

/** The media stream a session received: data, sequence headers and frames, in order. */
function streamOf(session: FakeSession | undefined): string[] {
  return (session?.messages ?? [])
    .filter((m) => isMedia(m) || m.messageTypeId === MessageType.DATA_AMF0)
    .map((m) => {
      if (m.messageTypeId === MessageType.DATA_AMF0) return `metadata@${m.timestamp}`;
      const isKeyframe = m.messageTypeId === MessageType.VIDEO && (m.payload[0] ?? 0) >> 4 === 1; // FLV frame type 1
      const what = isSequenceHeader(m) ? '-header' : isKeyframe ? '-key' : '';
      return `${kindOf(m)}${what}@${m.timestamp}`;
    });
}

const label = (p: EncodedPacket): string => `${p.kind}@${Math.round(p.dtsUs / 1000)}`;

/**
 * 30 fps video from `fromMs` (a keyframe first if `startsWithKeyframe`) and ~21.3 ms AAC frames up to
 * `toMs`, interleaved in time order (audio first at equal times).
 */
function mediaBetween(fromMs: number, toMs: number, startsWithKeyframe = false): EncodedPacket[] {
  const packets: EncodedPacket[] = [];
  for (let t = fromMs; t < toMs; t += 100 / 3) {
    const atMs = Math.round(t);
    packets.push(startsWithKeyframe && t === fromMs ? keyframe({ atMs }) : interFrame({ atMs }));
  }
  for (let t = Math.ceil(fromMs / 21.333) * 21.333; t < toMs; t += 21.333) {
    packets.push(audio({ atMs: Math.round(t) }));
  }
  return packets.sort((x, y) => x.dtsUs - y.dtsUs || (x.kind === 'audio' ? -1 : 1));
}

describe('RtmpOutput: a server-requested reconnect, make before break', () => {
  it('keeps streaming on the old connection until the new one publishes and a keyframe comes, then sends from that keyframe on to the new one only, sequence headers first, timestamps going on; closes the old one within 2 s', async () => {
    const { clock, out, a, b, events, keyframeRequests } = await startOnA();
    const written: EncodedPacket[] = [];
    const write = (packets: EncodedPacket[]): void => {
      for (const p of packets) {
        written.push(p);
        out.writePacket(p);
      }
    };
    write(mediaBetween(200, 1000, true));
    await until(clock, () => framesOf(a.sessions[0]).length === written.length);

    clock.advance(0);
    const requestsBefore = keyframeRequests();
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1936/live' });
    // While the new connection is made, the old one carries everything.
    write(mediaBetween(1000, 1100));
    await until(clock, () => b.sessions[0] !== undefined && keyframeRequests() > requestsBefore);
    expect(framesOf(a.sessions[0])).toEqual(written.map(label));
    expect(framesOf(b.sessions[0])).toEqual([]);
    // Ready, waiting for the keyframe it asked for: inter frames still go to the old connection.
    write(mediaBetween(1100, 1200));
    await until(clock, () => framesOf(a.sessions[0]).length === written.length);
    expect(framesOf(b.sessions[0])).toEqual([]);
    const beforeSwitch = written.length;

    write(mediaBetween(1200, 1500, true));
    await until(
      clock,
      () => framesOf(a.sessions[0]).length + framesOf(b.sessions[0]).length === written.length,
    );

    // Every packet went to exactly one connection, in order: the old one up to the keyframe, the new one from it.
    expect(framesOf(a.sessions[0])).toEqual(written.slice(0, beforeSwitch).map(label));
    expect(framesOf(b.sessions[0])).toEqual(written.slice(beforeSwitch).map(label));
    // The new connection starts with metadata and the video sequence header, then the keyframe; the
    // AAC header right before its first frame. Timestamps are the session's: no restart at 0.
    expect(streamOf(b.sessions[0]).slice(0, 5)).toEqual([
      'metadata@1200',
      'video-header@1200',
      'video-key@1200',
      'audio-header@1216',
      'audio@1216',
    ]);
    const lastOld = a.sessions[0]?.messages.filter(isMedia).at(-1)?.timestamp ?? 0;
    expect(lastOld).toBeLessThanOrEqual(1200);
    expect(1200 - lastOld).toBeLessThan(34);

    // The old connection is unpublished and closed within 2 s of the switch.
    expect(a.commands(a.sessions[0])).toEqual(expect.arrayContaining(['FCUnpublish', 'deleteStream']));
    await until(clock, () => a.sessions[0]?.closed === true, 100, 20);
    expect(a.sessions).toHaveLength(1);

    const stats = out.stats;
    expect(stats.serverRequestedReconnects).toBe(1);
    expect(stats.serverReconnectFailures).toBe(0);
    expect(stats.reconnectCount).toBe(0);
    expect(stats.connectAttempts).toBe(1);
    expect(stats.url).toBe('rtmp://127.0.0.1:1935/live/****'); // the output's name: where it was configured to go
    expect(out.state).toBe('live');
    expect(events.map(([outcome]) => outcome)).toEqual(['opening', 'switched']);
    expect(JSON.stringify({ events, stats })).not.toContain(KEY);

    // The stream goes on on the new connection.
    write(mediaBetween(1500, 1600));
    await until(clock, () => framesOf(b.sessions[0]).length === written.length - beforeSwitch);
    // A later loss reconnects to where the server sent us.
    b.sessions[0]?.socket.destroy();
    await until(clock, () => b.sessions.length === 2 && out.state === 'live');
    expect(a.sessions).toHaveLength(1);
    expect(out.stats.reconnectCount).toBe(1);
  });

  it('reconnects to the same server when the request has no tcUrl', async () => {
    const { clock, out, a, events, keyframeRequests } = await startOnA();
    out.writePacket(keyframe({ atMs: 200 }));
    const requestsBefore = keyframeRequests();
    sendReconnectRequest(a.sessions[0], {});
    await until(clock, () => a.sessions.length === 2 && keyframeRequests() > requestsBefore);
    out.writePacket(keyframe({ atMs: 2200 }));
    await until(clock, () => framesOf(a.sessions[1]).length === 1);
    expect(framesOf(a.sessions[0])).toEqual(['video@200']);
    expect(framesOf(a.sessions[1])).toEqual(['video@2200']);
    expect(events.map(([outcome]) => outcome)).toEqual(['opening', 'switched']);
    expect(out.stats.url).toBe('rtmp://127.0.0.1:1935/live/****');
    expect(out.stats.serverRequestedReconnects).toBe(1);
  });

  it('stays on the old connection when the new one fails: counted and said, no switch, no reconnect', async () => {
    const { clock, out, a, events } = await startOnA();
    out.writePacket(keyframe({ atMs: 200 }));
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1937/live' }); // nobody there
    await until(clock, () => events.length === 2, 10);
    expect(events.map(([outcome]) => outcome)).toEqual(['opening', 'failed']);
    expect(events[1]?.[1]).toMatch(/could not move to rtmp:\/\/127\.0\.0\.1:1937\/live\/\*\*\*\*.*staying/);
    out.writePacket(interFrame({ atMs: 233 }));
    out.writePacket(keyframe({ atMs: 2200 }));
    await until(clock, () => framesOf(a.sessions[0]).length === 3);
    expect(framesOf(a.sessions[0])).toEqual(['video@200', 'video@233', 'video@2200']);
    const stats = out.stats;
    expect(stats).toMatchObject({
      serverRequestedReconnects: 0,
      serverReconnectFailures: 1,
      reconnectCount: 0,
    });
    expect(stats.url).toBe(`rtmp://127.0.0.1:1935/live/****`);
    expect(out.state).toBe('live');
    expect(JSON.stringify(events)).not.toContain(KEY);
  });

  it('ignores a tcUrl it cannot follow, with a warning, and streams on', async () => {
    const { clock, out, a, events } = await startOnA();
    out.writePacket(keyframe({ atMs: 200 }));
    sendReconnectRequest(a.sessions[0], { tcUrl: 'http://127.0.0.1:1936/live' });
    await until(clock, () => events.length === 1);
    expect(events[0]?.[0]).toBe('ignored');
    expect(events[0]?.[1]).toMatch(/scheme "http" is not supported/);
    expect(events[0]?.[1]).not.toContain(KEY);
    out.writePacket(keyframe({ atMs: 2200 }));
    await until(clock, () => framesOf(a.sessions[0]).length === 2);
    expect(a.sessions).toHaveLength(1);
    expect(out.stats).toMatchObject({ serverRequestedReconnects: 0, serverReconnectFailures: 0 });
  });

  it('when the old connection is lost before the switch, gives the move up and reconnects as after any loss', async () => {
    const { clock, out, a, b, events } = await startOnA();
    out.writePacket(keyframe({ atMs: 200 }));
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1936/live' });
    await until(clock, () => b.sessions.length === 1 && events.length === 1);
    a.sessions[0]?.socket.destroy();
    await until(clock, () => out.state === 'reconnecting');
    await until(clock, () => out.state === 'live');
    expect(out.stats).toMatchObject({ reconnectCount: 1, serverRequestedReconnects: 0 });
    // The abandoned new connection is closed; the reconnect goes to the destination as configured.
    await until(clock, () => b.sessions[0]?.closed === true, 100, 30);
    expect(a.sessions).toHaveLength(2);
  });

  it('stop() during a move closes both connections and resolves', async () => {
    const { clock, out, a, b, keyframeRequests } = await startOnA();
    out.writePacket(keyframe({ atMs: 200 }));
    const requestsBefore = keyframeRequests();
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1936/live' });
    await until(clock, () => keyframeRequests() > requestsBefore); // the new one is ready, no keyframe yet
    const stopping = out.stop();
    await until(clock, () => out.state === 'stopped', 100, 50);
    await stopping;
    await until(clock, () => a.sessions[0]?.closed === true && b.sessions[0]?.closed === true, 100, 50);
    expect(out.stats.serverRequestedReconnects).toBe(0);
  });

  it('with restartTimestampsPerConnection, the new connection counts from its first keyframe', async () => {
    const { clock, out, a, b, keyframeRequests } = await startOnA({ restartTimestampsPerConnection: true });
    out.writePacket(keyframe({ atMs: 200 }));
    const requestsBefore = keyframeRequests();
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1936/live' });
    await until(clock, () => keyframeRequests() > requestsBefore);
    out.writePacket(keyframe({ atMs: 1200 }));
    out.writePacket(audio({ atMs: 1210 }));
    await until(clock, () => framesOf(b.sessions[0]).length === 2);
    expect(framesOf(b.sessions[0])).toEqual(['video@0', 'audio@10']);
  });

  it('a stream that has carried no video (audio only) switches at the next packet', async () => {
    const { clock, out, a, b, keyframeRequests } = await startOnA();
    out.writePacket(audio({ atMs: 200 }));
    const requestsBefore = keyframeRequests();
    sendReconnectRequest(a.sessions[0], { tcUrl: 'rtmp://127.0.0.1:1936/live' });
    await until(clock, () => keyframeRequests() > requestsBefore);
    out.writePacket(audio({ atMs: 221 }));
    out.writePacket(audio({ atMs: 243 }));
    await until(clock, () => framesOf(b.sessions[0]).length === 2);
    expect(framesOf(a.sessions[0])).toEqual(['audio@200']);
    expect(framesOf(b.sessions[0])).toEqual(['audio@221', 'audio@243']);
    expect(out.stats.serverRequestedReconnects).toBe(1);
  });
});
