import { afterEach, describe, expect, it } from 'vitest';
import { RtmpOutput, type RtmpOutputOptions } from '../../../src/output/rtmp-output.js';
import type { RtmpMessage } from '../../../src/rtmp/chunk-writer.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer, type FakeSession } from '../../helpers/fake-rtmp-server.js';
import { audio, h264Config, interFrame, keyframe } from './packets.js';

// The reconnect loop of RtmpOutput on a fake clock against a scripted server reached in memory (no
// socket): what a new connection starts with, where its timestamps resume, and how stop() ends a wait.

const config = h264Config();

let server: FakeRtmpServer | undefined;
let output: RtmpOutput | undefined;

afterEach(async () => {
  await output?.stop();
  output = undefined;
  await server?.stop();
  server = undefined;
});

/** Lets in-memory I/O happen while fake time stands still (or moves by `stepMs` per turn) until `predicate` holds. */
async function until(clock: FakeClock, predicate: () => boolean, stepMs = 0, maxTurns = 5000): Promise<void> {
  for (let turn = 0; !predicate(); turn++) {
    if (turn >= maxTurns) throw new Error(`condition not met within ${maxTurns} event-loop turns`);
    clock.advance(stepMs);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function startOutput(
  options: Partial<RtmpOutputOptions> = {},
): Promise<{ clock: FakeClock; out: RtmpOutput; keyframeRequests: () => number; server: FakeRtmpServer }> {
  const s = (server = FakeRtmpServer.inMemory());
  const clock = new FakeClock();
  const out = (output = new RtmpOutput(clock, config, {
    url: s.url(),
    publishProbationMs: 100,
    ...options,
    connection: { connect: s.connector() },
  }));
  let requests = 0;
  out.on('keyframeRequest', () => requests++);
  out.start();
  await until(clock, () => out.state === 'live');
  clock.advance(200); // past probation: established
  return { clock, out, keyframeRequests: () => requests, server: s };
}

const isMedia = (m: RtmpMessage): boolean =>
  m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.AUDIO;
const isSequenceHeader = (m: RtmpMessage): boolean => isMedia(m) && m.payload[1] === 0;

/** What a session received after the publish: data and media messages, in order. */
function streamOf(session: FakeSession | undefined): RtmpMessage[] {
  return (session?.messages ?? []).filter((m) => isMedia(m) || m.messageTypeId === MessageType.DATA_AMF0);
}

describe('RtmpOutput reconnect loop', () => {
  it('after a drop, retries at once and starts the new connection at the live edge: metadata, each sequence header before its first frame, video at a keyframe', async () => {
    const { clock, out, keyframeRequests, server: s } = await startOutput();
    out.writePacket(keyframe({ atMs: 200 }));
    out.writePacket(audio({ atMs: 200 }));
    await until(clock, () => (s.sessions[0]?.messages.filter(isMedia).length ?? 0) >= 4);

    clock.advance(4800); // t = 5000 ms
    s.sessions[0]?.socket.destroy();
    await until(clock, () => out.state === 'reconnecting');
    const requestsBefore = keyframeRequests();
    // Written while down: dropped and counted apart.
    out.writePacket(interFrame({ atMs: 5010 }));
    out.writePacket(audio({ atMs: 5010 }));
    expect(out.stats.packetsDroppedWhileDisconnected).toEqual({ video: 1, audio: 1 });

    await until(clock, () => out.state === 'live'); // the first retry is immediate: no fake time passes
    expect(clock.nowUs()).toBe(5_000_000);
    expect(keyframeRequests()).toBeGreaterThan(requestsBefore);
    // Not a keyframe: dropped until the requested one comes; audio flows at once.
    out.writePacket(interFrame({ atMs: 5033 }));
    out.writePacket(audio({ atMs: 5033 }));
    out.writePacket(keyframe({ atMs: 5066 }));
    await until(clock, () => streamOf(s.sessions[1]).filter((m) => !isSequenceHeader(m)).length >= 3);

    // Metadata first, then each stream's sequence header right before its first frame, at that frame's
    // timestamp: no backlog, and no timestamp of either stream ever goes backwards.
    const second = streamOf(s.sessions[1]);
    expect(second.map((m) => [m.messageTypeId, isSequenceHeader(m), m.timestamp])).toEqual([
      [MessageType.DATA_AMF0, false, 5033],
      [MessageType.AUDIO, true, 5033],
      [MessageType.AUDIO, false, 5033],
      [MessageType.VIDEO, true, 5066],
      [MessageType.VIDEO, false, 5066],
    ]);
    const frames = second.filter((m) => isMedia(m) && !isSequenceHeader(m));
    expect((frames[1]?.payload[0] ?? 0) >> 4).toBe(1); // FLV frame type 1: keyframe
    const firstFrames = streamOf(s.sessions[0]).filter((m) => !isSequenceHeader(m));
    expect(Math.max(...firstFrames.map((m) => m.timestamp))).toBeLessThanOrEqual(frames[0]?.timestamp ?? 0);

    const stats = out.stats;
    expect(stats.reconnectCount).toBe(1);
    expect(stats.connectAttempts).toBe(2);
    expect(stats.lastReconnectMs).toBe(0);
    expect(stats.lastDisconnectReason).toMatch(/closed/);
  });

  it('treats a first connection that ends in the same read as its Publish.Start as lost, not as a broken output: media held since start goes out on the next one', async () => {
    const s = (server = FakeRtmpServer.inMemory({ publishStartThen: (i) => (i === 0 ? 'close' : null) }));
    const clock = new FakeClock();
    const out = (output = new RtmpOutput(clock, config, {
      url: s.url(),
      publishProbationMs: 100,
      connection: { connect: s.connector() },
    }));
    const errors: Error[] = [];
    out.on('error', (error) => errors.push(error));
    // Media captured while the first connection is being made: the sender pumps as soon as it publishes.
    out.start();
    out.writePacket(keyframe({ atMs: 0 }));
    out.writePacket(audio({ atMs: 0 }));
    await until(clock, () => s.sessions.length >= 2 && out.state === 'live', 10);
    expect(errors).toEqual([]);
    expect(out.stats.connectAttempts).toBe(2);
    out.writePacket(keyframe({ atMs: 400 }));
    await until(clock, () => streamOf(s.sessions[1]).some((m) => isMedia(m) && !isSequenceHeader(m)));
  });

  it('restarts timestamps at 0 on each connection when restartTimestampsPerConnection is set', async () => {
    const { clock, out, server: s } = await startOutput({ restartTimestampsPerConnection: true });
    clock.advance(2800); // t = 3000 ms
    s.sessions[0]?.socket.destroy();
    await until(clock, () => out.state === 'reconnecting');
    await until(clock, () => out.state === 'live');
    out.writePacket(keyframe({ atMs: 3040 }));
    await until(clock, () => streamOf(s.sessions[1]).length >= 3);
    // Metadata and the sequence header carry the first frame's timestamp, counted from the new connection.
    expect(streamOf(s.sessions[1]).map((m) => m.timestamp)).toEqual([40, 40, 40]);
  });

  it('retries a drop at once, then probes a refused server every 500 ms; stop() ends the wait at once', async () => {
    const { clock, out, server: s } = await startOutput();
    const retries: [string, number][] = [];
    out.on('retry', (_error, delayMs, kind) => retries.push([kind, delayMs]));
    await s.stop(); // closes the session and the listener: every attempt is now refused
    await until(clock, () => retries.length >= 4, 50);
    expect(retries.slice(0, 4)).toEqual([
      ['transient', 0],
      ['not-ready', 500],
      ['not-ready', 500],
      ['not-ready', 500],
    ]);
    expect(out.state).toBe('reconnecting');
    const stopping = out.stop();
    await until(clock, () => out.state === 'stopped');
    await stopping;
  });
});
