/**
 * A server-requested reconnect (Enhanced RTMP v2, "Reconnect Request") against two real nginx-rtmp
 * servers, driving the built `steadycast stream` CLI: a few seconds in, the first server "asks" the
 * publisher to move to the second (a relay in front of it writes the onStatus
 * NetConnection.Connect.ReconnectRequest with the second server's tcUrl into the server → client
 * stream). The move must be made before the old connection breaks: together the two recordings hold
 * every encoded frame, the second starts at a keyframe with both sequence headers, audio and video
 * timestamps go on across the seam (on the wire: nginx rebases each recording to its first frame), and
 * the old connection is closed within 2 s of the switch.
 *
 * Topology: CLI → request relay → wire tap A → nginx A; after the move, CLI → wire tap B → nginx B.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatsFile, runCli } from '../helpers/cli.js';
import { checkRecordingStart, readFlvTags } from '../helpers/flv-tags.js';
import { probeMedia } from '../helpers/media-probe.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { makeTempDir, requirementSkipReason, sleep } from '../helpers/process.js';
import {
  startReconnectRequestProxy,
  type ReconnectRequestProxy,
} from '../helpers/reconnect-request-proxy.js';
import { expectCleanRecording, framesFromStats } from '../helpers/recording-checks.js';
import { isFrame, startWireTap, type MediaArrival, type WireTap } from '../helpers/wire-tap.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const dir = makeTempDir('reconnect-request-test');
const KEY = 'rr_4711_notInLogs';
const SECONDS = 12;

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Frames of one type that reached a tap, over all its connections, in arrival order. */
function frames(tap: WireTap, type: 8 | 9): MediaArrival[] {
  return tap.connections.flatMap((c) => c.media.filter((m) => m.type === type && isFrame(m)));
}

describe.skipIf(missing)('a server-requested reconnect to a second nginx-rtmp', () => {
  let nginxA: NginxRtmpHandle;
  let nginxB: NginxRtmpHandle;
  let tapA: WireTap;
  let tapB: WireTap;
  let relay: ReconnectRequestProxy;
  beforeAll(async () => {
    [nginxA, nginxB] = await Promise.all([startNginxRtmp(), startNginxRtmp()]);
    [tapA, tapB] = await Promise.all([
      startWireTap({ targetPort: nginxA.port }),
      startWireTap({ targetPort: nginxB.port }),
    ]);
    relay = await startReconnectRequestProxy(tapA.port);
  });
  afterAll(async () => {
    await relay?.stop();
    await Promise.all([tapA?.stop(), tapB?.stop()]);
    await Promise.all([nginxA?.stop(), nginxB?.stop()]);
  });

  it('moves make before break: every frame in one of the two recordings, the second from a keyframe, timestamps and audio continuous across the seam, the old connection closed within 2 s', async () => {
    const statsFile = join(dir, 'move.jsonl');
    const run = runCli(
      ['stream', relay.url('live', KEY), '--duration', String(SECONDS), '--stats-file', statsFile],
      60_000,
    );
    await waitFor('media on the first server', () => frames(tapA, 9).length > 0, 20_000);
    await sleep(4000);
    await relay.requestReconnect({
      tcUrl: `rtmp://127.0.0.1:${tapB.port}/live`,
      description: `moving ${KEY} for maintenance`,
    });
    await waitFor('a keyframe on the second server', () => frames(tapB, 9).length > 0, 10_000);
    const switchedAtMs = frames(tapB, 9)[0]?.arrivalMs ?? 0;
    const result = await run;
    expect(result.code, result.stderr).toBe(0);

    // The key never shows, though the server's description carried it.
    expect(result.stderr + result.stdout).not.toContain(KEY);
    expect(result.stderr).toMatch(/moved to rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\*\* at a keyframe/);

    const final = readStatsFile(statsFile).at(-1) ?? {};
    expect(final).toMatchObject({ final: true, reconnectCount: 0, serverRequestedReconnects: 1 });
    const output = (final.outputs as Record<string, unknown>[])[0];
    expect(output).toMatchObject({
      serverRequestedReconnects: 1,
      serverReconnectFailures: 0,
      reconnectCount: 0,
    });
    const encoded = framesFromStats(final, SECONDS);

    // The old connection (from the relay's view) closed within 2 s of the first keyframe on the new one.
    const old = relay.connections[0];
    expect(relay.connections).toHaveLength(1);
    expect(old?.clientClosedAtMs, 'the old connection was closed').toBeDefined();
    const closedAfterSwitchMs = (old?.clientClosedAtMs ?? Infinity) - switchedAtMs;
    console.log(`switch → old connection closed: ${closedAfterSwitchMs.toFixed(0)} ms`);
    expect(closedAfterSwitchMs).toBeLessThan(2000);

    // On the wire: every frame went to exactly one server; timestamps go on across the seam.
    const [videoA, videoB, audioA, audioB] = [
      frames(tapA, 9),
      frames(tapB, 9),
      frames(tapA, 8),
      frames(tapB, 8),
    ];
    expect(videoA.length + videoB.length).toBe(encoded);
    expect(videoB[0]?.keyframe).toBe(true);
    const videoSeamMs = (videoB[0]?.timestampMs ?? 0) - (videoA.at(-1)?.timestampMs ?? 0);
    // Around the seam (20 AAC frames each side; each recording is checked whole below).
    const audioTimes = [...audioA.slice(-20), ...audioB.slice(0, 20)].map((m) => m.timestampMs);
    const audioSteps = audioTimes.slice(1).map((t, i) => t - (audioTimes[i] ?? 0));
    console.log(
      `seam: video +${videoSeamMs} ms, audio +${(audioB[0]?.timestampMs ?? 0) - (audioA.at(-1)?.timestampMs ?? 0)} ms; ` +
        `${videoA.length} + ${videoB.length} video frames of ${encoded} encoded`,
    );
    expect(videoSeamMs).toBeGreaterThan(0);
    expect(videoSeamMs).toBeLessThanOrEqual(67); // a frame or two at 30 fps
    // AAC frames are 1024 samples (21.33 ms at 48 kHz): no gap, no overlap, no duplicate at the seam.
    expect(audioSteps.filter((d) => d < 21 || d > 22)).toEqual([]);

    // Each server recorded one clean connection: the second from a keyframe with both headers; together every frame.
    const [filesA, filesB] = await Promise.all([
      nginxA.waitForRecordingsClosed(10_000),
      nginxB.waitForRecordingsClosed(10_000),
    ]);
    expect(filesA).toHaveLength(1);
    expect(filesB).toHaveLength(1);
    const fileA = filesA[0] as string;
    const fileB = filesB[0] as string;
    expect(checkRecordingStart(readFlvTags(fileB)).problems).toEqual([]);
    const [reportA, reportB] = await Promise.all([probeMedia(fileA), probeMedia(fileB)]);
    expectCleanRecording(reportA);
    expectCleanRecording(reportB);
    expect((reportA.video?.frameCount ?? 0) + (reportB.video?.frameCount ?? 0)).toBe(encoded);
    const audioS = (reportA.audio?.durationS ?? 0) + (reportB.audio?.durationS ?? 0);
    expect(Math.abs(audioS - (audioA.length + audioB.length) * (1024 / 48000))).toBeLessThan(0.1);
  }, 45_000);

  it('stays on the old connection when the new one is refused: a request to the same nginx, which takes no second publisher of a live key', async () => {
    const key = `${KEY}_same`;
    const statsFile = join(dir, 'same.jsonl');
    const from = relay.connections.length;
    const framesBefore = frames(tapA, 9).length;
    const run = runCli(
      ['stream', relay.url('live', key), '--duration', '8', '--stats-file', statsFile],
      60_000,
    );
    await waitFor('media on the server', () => frames(tapA, 9).length > framesBefore, 20_000);
    await sleep(3000);
    await relay.requestReconnect({}, from); // no tcUrl: the same server
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/could not move to .*\*\*\*\*.*staying on the current connection/);
    expect(result.stderr + result.stdout).not.toContain(key);
    console.log(result.stderr.match(/could not move.*$/m)?.[0]);

    const final = readStatsFile(statsFile).at(-1) ?? {};
    const output = (final.outputs as Record<string, unknown>[])[0];
    expect(output).toMatchObject({
      serverRequestedReconnects: 0,
      serverReconnectFailures: 1,
      reconnectCount: 0,
    });
    const encoded = framesFromStats(final, 8);
    // The refused attempt went through the relay too; the stream never left the first connection.
    expect(relay.connections.length - from).toBe(2);
    const files = (await nginxA.waitForRecordingsClosed(10_000)).filter((f) => f.includes(`/${key}-`));
    // nginx opens a recording for the refused publish too, and leaves it empty.
    const withMedia = files.filter((f) => statSync(f).size > 0);
    expect(withMedia).toHaveLength(1);
    const report = await probeMedia(withMedia[0] as string);
    expectCleanRecording(report);
    expect(report.video?.frameCount).toBe(encoded);
  }, 40_000);
});
