/**
 * Connection loss against a real nginx-rtmp (issue 5): a crashed server, a reset, a black hole, a
 * denied publish, and the engines' timing during a long outage — each driving the real
 * `steadycast stream` CLI and asserting on what the wire and the server actually got.
 *
 * A dead path (only the existing connection black-holed) shows nginx holding the old session and
 * answering Publish.BadName until it drops the idle publisher: the output must keep retrying.
 *
 * Topology: CLI → [fault proxy] → wire tap → nginx. The tap stops listening while nginx is down
 * (`suspend()`), so the publisher sees "refused", as it would talking to nginx directly.
 * Rejections on the first connect (exit 5) and an untrusted TLS certificate (exit 6, within 15 s)
 * are covered by test/integration/stream.test.ts; this file adds the attempt count seen by the server.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatsFile, runCli, type CliRun } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { checkRecordingStart, readFlvTags } from '../helpers/flv-tags.js';
import { probeMedia } from '../helpers/media-probe.js';
import { expectCleanRecording } from '../helpers/recording-checks.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { makeTempDir, requirementSkipReason, sleep } from '../helpers/process.js';
import {
  isFrame,
  startWireTap,
  type MediaArrival,
  type TapConnection,
  type WireTap,
} from '../helpers/wire-tap.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const dir = makeTempDir('reconnect-test');

/** Polls `condition` every 10 ms; the time (performance.now()) it first held, or throws after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now();
}

function firstKeyframe(conn: TapConnection): MediaArrival | undefined {
  return conn.media.find((m) => m.type === 9 && m.keyframe && isFrame(m));
}

/** Connections that carried media, in accept order. */
/** Starts `steadycast stream URL` with a stats file and waits until its first keyframe has passed `viaTap`. */
async function streamUntilKeyframe(
  viaTap: WireTap,
  url: string,
  durationS: number,
  statsFile: string,
): Promise<{ run: Promise<CliRun>; from: number }> {
  const from = viaTap.connections.length;
  const run = runCli(
    ['stream', url, '--duration', String(durationS), '--stats-file', statsFile, '--quiet'],
    60_000,
  );
  await waitFor(
    'the first keyframe',
    () => viaTap.connections.slice(from).some((c) => firstKeyframe(c)),
    20_000,
  );
  return { run, from };
}

function mediaConnections(tap: WireTap): TapConnection[] {
  return tap.connections.filter((c) => c.media.some(isFrame));
}

/** Arrival of the first keyframe on a connection opened after `sinceMs`, or undefined. */
function keyframeAfter(tap: WireTap, sinceMs: number): number | undefined {
  for (const conn of tap.connections) {
    if (conn.openedAtMs < sinceMs) continue;
    const keyframe = firstKeyframe(conn);
    if (keyframe) return keyframe.arrivalMs;
  }
  return undefined;
}

/** Frame timestamps never go backwards within a connection (per type) nor from one connection to the next. */
function expectTimestampsForward(connections: readonly TapConnection[]): void {
  let previousLastMs = -Infinity;
  for (const conn of connections) {
    const frames = conn.media.filter(isFrame);
    for (const type of [8, 9] as const) {
      // Sequence headers included: one stamped later than the frames after it steps time backwards.
      const ts = conn.media.filter((m) => m.type === type).map((m) => m.timestampMs);
      const backwards = ts.filter((t, i) => i > 0 && t < (ts[i - 1] ?? 0));
      expect(backwards, `connection ${conn.id}, type ${type}`).toEqual([]);
    }
    const first = Math.min(...frames.map((m) => m.timestampMs));
    expect(first, `connection ${conn.id} starts before the previous one ended`).toBeGreaterThanOrEqual(
      previousLastMs,
    );
    previousLastMs = Math.max(...frames.map((m) => m.timestampMs));
  }
}

/** Each connection's recording: both sequence headers then a keyframe, no audio gap, no decode error. */
async function expectCleanRecordings(files: readonly string[]): Promise<void> {
  for (const file of files) {
    expect(checkRecordingStart(readFlvTags(file)).problems, file).toEqual([]);
    expectCleanRecording(await probeMedia(file));
  }
}

/** Waits until `count` recordings of stream `key` are finished (moved to done/); the killed server's stay open. */
async function finishedRecordings(nginx: NginxRtmpHandle, key: string, count: number): Promise<string[]> {
  const done = (): string[] =>
    nginx.recordings().filter((f) => f.includes('/done/') && f.includes(`/${key}-`));
  await waitFor(`${count} finished recordings of ${key}`, () => done().length >= count, 10_000);
  return done();
}

function finalStats(file: string): Record<string, unknown> & { outputs: Record<string, unknown>[] } {
  const lines = readStatsFile(file);
  const final = lines[lines.length - 1] as Record<string, unknown> & { outputs: Record<string, unknown>[] };
  expect(final.final).toBe(true);
  return final;
}

function expectExitOk(run: CliRun): void {
  expect(run.code, run.stderr).toBe(0);
}

describe.skipIf(missing)('reconnect against a real nginx-rtmp', () => {
  let nginx: NginxRtmpHandle;
  let tap: WireTap;
  beforeAll(async () => {
    nginx = await startNginxRtmp();
    tap = await startWireTap({ targetPort: nginx.port });
  });
  afterAll(async () => {
    await tap?.stop();
    await nginx?.stop();
  });

  it('comes back by itself after the server is killed for 5 s: first keyframe within 1 s of the server returning, clean recordings, timestamps forward', async () => {
    const statsFile = join(dir, 'kill.jsonl');
    const { run } = await streamUntilKeyframe(tap, tap.url('live', 'crash'), 18, statsFile);
    await sleep(4000);
    await tap.suspend();
    await nginx.kill();
    const killedAtMs = performance.now();
    // The killed server never finishes its recording: it stays open. Listed now, before the restarted
    // server's recording exists: listed later, that one could show up twice, open and then again
    // once nginx's exec_record_done has moved it to done/ (three recordings instead of two).
    const killedRecordings = nginx.recordings().filter((f) => !f.includes('/done/') && f.includes('/crash-'));
    await sleep(5000);
    await nginx.restart();
    await tap.resume();
    const upAtMs = performance.now();
    const keyframeAtMs = await waitFor(
      'a keyframe after the restart',
      () => keyframeAfter(tap, upAtMs) !== undefined,
      10_000,
    );
    const firstKeyframeMs = (keyframeAfter(tap, upAtMs) ?? keyframeAtMs) - upAtMs;
    console.log(`server up → first keyframe at the server: ${firstKeyframeMs.toFixed(0)} ms`);
    expect(firstKeyframeMs).toBeLessThan(1000);
    expectExitOk(await run);

    const connections = mediaConnections(tap);
    expect(connections).toHaveLength(2);
    expectTimestampsForward(connections);
    // Resumed at the live edge: the new connection's timeline skips the outage, it does not replay it.
    const [before, after] = connections as [TapConnection, TapConnection];
    const lastBeforeMs = Math.max(...before.media.filter(isFrame).map((m) => m.timestampMs));
    const firstAfterMs = Math.min(...after.media.filter(isFrame).map((m) => m.timestampMs));
    expect(firstAfterMs - lastBeforeMs).toBeGreaterThan(upAtMs - killedAtMs - 500);

    // The killed server never finished its recording; the restarted one did. Both must be clean.
    expect(killedRecordings).toHaveLength(1);
    const files = [...killedRecordings, ...(await finishedRecordings(nginx, 'crash', 1))];
    expect(files).toHaveLength(2);
    await expectCleanRecordings(files);

    const final = finalStats(statsFile);
    expect(final).toMatchObject({ state: 'stopped', reconnectCount: 1, audioPacketsDropped: 0 });
    const output = final.outputs[0] ?? {};
    expect(output.lastDisconnectReason).toEqual(expect.any(String));
    expect(output.lastReconnectMs).toBeGreaterThan(4500);
    expect((output.packetsDroppedWhileDisconnected as { video: number }).video).toBeGreaterThan(100);
  }, 60_000);

  describe('behind a fault proxy', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy({ targetPort: tap.port });
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('comes back within 1 s of the server returning when a proxy in front of it accepts and closes meanwhile (a load balancer)', async () => {
      const statsFile = join(dir, 'proxied-kill.jsonl');
      const { run, from } = await streamUntilKeyframe(tap, proxy.url('live', 'proxied'), 16, statsFile);
      await sleep(3000);
      const acceptedBefore = proxy.stats().accepted;
      await tap.suspend(); // the proxy keeps accepting; its upstream is refused, so it closes each client
      await nginx.kill();
      await sleep(5000);
      const attemptsWhileDown = proxy.stats().accepted - acceptedBefore;
      await nginx.restart();
      await tap.resume();
      const upAtMs = performance.now();
      await waitFor('a keyframe after the restart', () => keyframeAfter(tap, upAtMs) !== undefined, 10_000);
      const backMs = (keyframeAfter(tap, upAtMs) ?? Infinity) - upAtMs;
      console.log(
        `behind a proxy: server up → first keyframe ${backMs.toFixed(0)} ms; ${attemptsWhileDown} attempts in the 5 s outage`,
      );
      expect(backMs).toBeLessThan(1000);
      // Probed as fast as a refused connection (every 500 ms), not backed off: 1, 2, 4 s would be 3 attempts.
      expect(attemptsWhileDown).toBeGreaterThanOrEqual(8);
      expectExitOk(await run);
      const connections = mediaConnections(tap).filter((c) => c.id >= from);
      expect(connections).toHaveLength(2);
      expectTimestampsForward(connections);
      const final = finalStats(statsFile);
      expect(final).toMatchObject({ state: 'stopped', reconnectCount: 1, audioPacketsDropped: 0 });
      // It was an RTMP server a moment ago: the reason says "not ready", not "is this an RTMP server?".
      expect(String(final.outputs[0]?.lastDisconnectReason)).not.toMatch(/is this an RTMP server/);
    }, 60_000);

    it('is back within 1 s of a connection reset', async () => {
      const statsFile = join(dir, 'reset.jsonl');
      const { run, from } = await streamUntilKeyframe(tap, proxy.url('live', 'reset'), 10, statsFile);
      await sleep(4000);
      proxy.reset();
      const resetAtMs = performance.now();
      await waitFor('a keyframe after the reset', () => keyframeAfter(tap, resetAtMs) !== undefined, 10_000);
      const backMs = (keyframeAfter(tap, resetAtMs) ?? Infinity) - resetAtMs;
      console.log(`reset → first keyframe at the server: ${backMs.toFixed(0)} ms`);
      expect(backMs).toBeLessThan(1000);
      expectExitOk(await run);
      const connections = mediaConnections(tap).filter((c) => c.id >= from);
      expect(connections).toHaveLength(2);
      expectTimestampsForward(connections);
      await expectCleanRecordings(await finishedRecordings(nginx, 'reset', 2));
      expect(finalStats(statsFile)).toMatchObject({ state: 'stopped', reconnectCount: 1 });
    }, 40_000);

    it('detects a black hole within the dead-peer timeout and resumes on a new connection', async () => {
      const statsFile = join(dir, 'blackhole.jsonl');
      const { run, from } = await streamUntilKeyframe(tap, proxy.url('live', 'hole'), 16, statsFile);
      await sleep(3000);
      const accepted = proxy.stats().accepted;
      proxy.blackHole();
      const holeAtMs = performance.now();
      // The first retry is immediate, so the next accept at the proxy is when the publisher gave up on the old one.
      const detectedAtMs = await waitFor('a new connection', () => proxy.stats().accepted > accepted, 15_000);
      proxy.heal();
      const detectionMs = detectedAtMs - holeAtMs;
      await waitFor('a keyframe after the heal', () => keyframeAfter(tap, holeAtMs) !== undefined, 10_000);
      const resumeMs = (keyframeAfter(tap, holeAtMs) ?? Infinity) - detectedAtMs;
      console.log(
        `black hole detected after ${detectionMs.toFixed(0)} ms; resumed ${resumeMs.toFixed(0)} ms later`,
      );
      // ackStallTimeoutMs (5 s) counts from when an acknowledgement is overdue (two windows unacknowledged),
      // checked by a 250 ms monitor tick (a 1 s tick put it past 7 s once: onset and timeout each waited for a tick).
      expect(detectionMs).toBeGreaterThan(4500);
      expect(detectionMs).toBeLessThan(7000);
      expect(resumeMs).toBeLessThan(2000);
      expectExitOk(await run);
      const connections = mediaConnections(tap).filter((c) => c.id >= from);
      expect(connections.length).toBeGreaterThanOrEqual(2);
      expectTimestampsForward(connections);
      const final = finalStats(statsFile);
      expect(final).toMatchObject({ state: 'stopped', audioPacketsDropped: 0 });
      expect(final.reconnectCount).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(final.outputs[0]?.lastDisconnectReason ?? '')).toMatch(
        /no progress|stopped answering/,
      );
    }, 60_000);
  });

  it('resumes after a dead path while the server still holds the old session and answers Publish.BadName', async () => {
    // A NAT mapping lost: the old connection is a black hole, new ones get through. nginx keeps the
    // stream name until it drops the idle publisher (here after 10 s; by default it takes minutes).
    const holding = await startNginxRtmp({ dropIdlePublisherS: 10 });
    const holdingTap = await startWireTap({ targetPort: holding.port });
    const proxy = await startFaultProxy({ targetPort: holdingTap.port });
    try {
      const statsFile = join(dir, 'held.jsonl');
      const { run } = await streamUntilKeyframe(holdingTap, proxy.url('live', 'held'), 28, statsFile);
      await sleep(3000);
      proxy.blackHole({ existingOnly: true });
      const holeAtMs = performance.now();
      await waitFor(
        'a keyframe on a new connection',
        () => keyframeAfter(holdingTap, holeAtMs) !== undefined,
        30_000,
      );
      const backMs = (keyframeAfter(holdingTap, holeAtMs) ?? Infinity) - holeAtMs;
      const badNames = holdingTap.connections.filter((c) =>
        c.fromServer.some((m) => m.statusCode === 'NetStream.Publish.BadName'),
      ).length;
      console.log(
        `dead path → first keyframe on a new connection: ${backMs.toFixed(0)} ms, after ${badNames} BadName rejections`,
      );
      expect(badNames).toBeGreaterThanOrEqual(1);
      expectExitOk(await run);
      expectTimestampsForward(mediaConnections(holdingTap));
      expect(finalStats(statsFile)).toMatchObject({
        state: 'stopped',
        reconnectCount: 1,
        audioPacketsDropped: 0,
      });
    } finally {
      await proxy.stop();
      await holdingTap.stop();
      await holding.stop();
    }
  }, 70_000);

  it('stops after the confirming attempts when publishing is denied: exit 5, three publishes, no silent retry', async () => {
    const denying = await startNginxRtmp({ denyPublish: true });
    const denyTap = await startWireTap({ targetPort: denying.port });
    try {
      const started = performance.now();
      const run = await runCli(
        ['stream', denyTap.url('live', 'denied'), '--duration', '20', '--quiet'],
        30_000,
      );
      expect(run.code).toBe(5);
      expect(run.stderr).toMatch(/denied|rejected/i);
      expect(performance.now() - started).toBeLessThan(10_000);
      const publishes = denyTap.connections.filter((c) => c.fromClient.some((m) => m.command === 'publish'));
      expect(publishes).toHaveLength(3);
    } finally {
      await denyTap.stop();
      await denying.stop();
    }
  }, 40_000);

  it('keeps the engines on time during a 30 s outage: tick lateness p99 as on a clean run', async () => {
    const other = await startNginxRtmp();
    try {
      const args = ['--duration', '36', '--size', '640x360', '--video-bitrate', '1000k', '--quiet'];
      const cleanFile = join(dir, 'clean.jsonl');
      const outageFile = join(dir, 'outage.jsonl');
      // Both at once, so that they share the machine's load alike.
      const clean = runCli(
        ['stream', nginx.url('live', 'clean'), ...args, '--stats-file', cleanFile],
        60_000,
      );
      const outage = runCli(
        ['stream', other.url('live', 'outage'), ...args, '--stats-file', outageFile],
        60_000,
      );
      await waitFor(
        'both publishing',
        () => nginx.recordings().some((f) => f.includes('clean')) && other.recordings().length > 0,
        20_000,
      );
      await sleep(2000);
      await other.kill();
      await sleep(30_000);
      await other.restart();
      expectExitOk(await clean);
      expectExitOk(await outage);
      const a = finalStats(cleanFile);
      const b = finalStats(outageFile);
      expect(b.reconnectCount).toBe(1);
      type Lateness = { p99Ms: number; maxMs: number; count: number };
      const capture = [a.captureTickLateness, b.captureTickLateness] as [Lateness, Lateness];
      const audio = [a.audioTickLateness, b.audioTickLateness] as [Lateness, Lateness];
      console.log(
        `tick lateness p99 clean/outage: capture ${capture[0].p99Ms.toFixed(2)}/${capture[1].p99Ms.toFixed(2)} ms, ` +
          `audio ${audio[0].p99Ms.toFixed(2)}/${audio[1].p99Ms.toFixed(2)} ms; frames lagged ${String(a.framesLagged)}/${String(b.framesLagged)}`,
      );
      // "What it is on a clean run": within 50 % plus a few ms of scheduler noise.
      expect(capture[1].p99Ms).toBeLessThan(capture[0].p99Ms * 1.5 + 5);
      expect(audio[1].p99Ms).toBeLessThan(audio[0].p99Ms * 1.5 + 5);
      expect(b.framesLagged as number).toBeLessThanOrEqual((a.framesLagged as number) + 5);
    } finally {
      await other.stop();
    }
  }, 90_000);
});
