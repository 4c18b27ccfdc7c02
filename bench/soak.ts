/**
 * bench:soak — a long run against a real nginx-rtmp that keeps dying: down for 5 s every minute, and
 * once for 3 minutes. Prints RSS and heap every 10 s, each reconnection's times (server accepting
 * again → first keyframe at the server, and → the output `live`), and whether memory stayed flat
 * (first-minute vs last-minute averages and the least-squares slope).
 *
 * Env: SOAK_MINUTES (default 10), SOAK_LONG_OUTAGE_S (default 180, or 30 when SOAK_MINUTES < 10),
 * SOAK_SIZE (default 1280x720). The wire tap in front of nginx stops listening while nginx is down, so
 * the publisher sees "refused" as it would without the tap, and the tap sees when keyframes arrive.
 */
import { performance } from 'node:perf_hooks';
import { Log } from 'node-av';
import { AV_LOG_ERROR } from 'node-av/constants';
import { MonotonicClock } from '../src/core/monotonic-clock.js';
import { Streamer, type StreamerState } from '../src/streamer.js';
import { startNginxRtmp } from '../test/helpers/nginx-rtmp.js';
import { cleanupAll, sleep } from '../test/helpers/process.js';
import { isFrame, startWireTap, type TapConnection } from '../test/helpers/wire-tap.js';

Log.setLevel(AV_LOG_ERROR);
const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const longOutageS = Number(process.env.SOAK_LONG_OUTAGE_S ?? (minutes >= 10 ? 180 : 30));
const [width, height] = (process.env.SOAK_SIZE ?? '1280x720').split('x').map(Number);
const SHORT_OUTAGE_S = 5;
const SAMPLE_INTERVAL_MS = 10_000;

interface Outage {
  atS: number;
  durationS: number;
}

/** 5 s outages at 30 s into every minute, except where the long outage (from mid-run) covers it. */
function outagePlan(): Outage[] {
  const longAtS = Math.floor(minutes / 2) * 60 + 30;
  const plan: Outage[] = [];
  for (let m = 0; m < minutes; m++) {
    const atS = m * 60 + 30;
    if (atS === longAtS) plan.push({ atS, durationS: longOutageS });
    else if (atS > longAtS && atS < longAtS + longOutageS + 20) continue;
    else if (atS + SHORT_OUTAGE_S < minutes * 60 - 10) plan.push({ atS, durationS: SHORT_OUTAGE_S });
  }
  return plan;
}

interface Sample {
  tS: number;
  rssMb: number;
  heapMb: number;
}

interface Reconnect {
  outageS: number;
  toKeyframeMs: number | null;
  toLiveMs: number | null;
  attempts: number;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const mx = mean(points.map((p) => p.x));
  const my = mean(points.map((p) => p.y));
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const nginx = await startNginxRtmp();
  const tap = await startWireTap({ targetPort: nginx.port });
  const clock = new MonotonicClock();
  const streamer = new Streamer({
    clock,
    outputs: [tap.url('live', 'soak')],
    video: { width: width ?? 1280, height: height ?? 720 },
    audio: {},
  });
  let state = 'idle' as StreamerState;
  let liveAtMs = 0;
  streamer.on('state', (_prev, next) => {
    state = next;
    if (next === 'live') liveAtMs = performance.now();
  });
  streamer.on('error', (error) => console.log(`error: ${error.message}`));
  await streamer.start();
  const t0 = performance.now();
  const elapsedS = (): number => (performance.now() - t0) / 1000;
  console.log(
    `soak: ${minutes} min, ${width}x${height}, 5 s outages every minute, one of ${longOutageS} s; ` +
      `pid ${process.pid}, node ${process.version}`,
  );

  // Cross-connection timestamp check and memory hygiene of the tap (it would otherwise keep every message).
  let lastFrameTsMs = -1;
  let timestampRegressions = 0;
  const regressionExamples: string[] = [];
  const firstKeyframeAtMs = new Map<number, number>();
  const digest = (conn: TapConnection): void => {
    for (const m of conn.media) {
      if (!isFrame(m)) continue;
      if (m.keyframe && m.type === 9 && !firstKeyframeAtMs.has(conn.id))
        firstKeyframeAtMs.set(conn.id, m.arrivalMs);
      // Audio and video interleave within a few tens of ms; "backwards" means beyond that.
      if (m.timestampMs + 100 < lastFrameTsMs) {
        timestampRegressions++;
        if (regressionExamples.length < 8) {
          const kind = m.type === 8 ? 'audio' : m.keyframe ? 'video key' : 'video';
          regressionExamples.push(
            `connection ${conn.id}: ${kind} at ${m.timestampMs} ms after ${lastFrameTsMs} ms`,
          );
        }
      }
      lastFrameTsMs = Math.max(lastFrameTsMs, m.timestampMs);
    }
    conn.media.length = 0;
    conn.fromClient.length = 0;
    conn.fromServer.length = 0;
  };
  const digestAll = (): void => tap.connections.forEach(digest);

  const samples: Sample[] = [];
  const sampler = setInterval(() => {
    digestAll();
    const mem = process.memoryUsage();
    const s: Sample = { tS: elapsedS(), rssMb: mem.rss / 2 ** 20, heapMb: mem.heapUsed / 2 ** 20 };
    samples.push(s);
    const stats = streamer.stats;
    console.log(
      `t=${s.tS.toFixed(0).padStart(4)} s  rss ${s.rssMb.toFixed(1)} MB  heap ${s.heapMb.toFixed(1)} MB  ` +
        `state ${stats.state}  reconnects ${stats.reconnectCount}  ` +
        `dropped while down v/a ${stats.packetsDroppedWhileDisconnected.video}/${stats.packetsDroppedWhileDisconnected.audio}  ` +
        `capture p99 ${stats.captureTickLateness?.p99Ms.toFixed(1) ?? '-'} ms  audio p99 ${stats.audioTickLateness?.p99Ms.toFixed(1) ?? '-'} ms`,
    );
  }, SAMPLE_INTERVAL_MS);

  const reconnects: Reconnect[] = [];
  for (const outage of outagePlan()) {
    const waitMs = (outage.atS - elapsedS()) * 1000;
    if (waitMs > 0) await sleep(waitMs);
    const attemptsBefore = streamer.stats.outputs[0]?.connectAttempts ?? 0;
    await tap.suspend();
    await nginx.kill();
    console.log(`t=${elapsedS().toFixed(0).padStart(4)} s  server killed for ${outage.durationS} s`);
    await sleep(outage.durationS * 1000);
    await nginx.restart();
    await tap.resume();
    const upAtMs = performance.now();
    const connectionsBefore = tap.connections.length;
    // Wait for the first keyframe on a connection opened after the server came back (bounded).
    let toKeyframeMs: number | null = null;
    const deadline = upAtMs + 60_000;
    while (performance.now() < deadline) {
      digestAll(); // in connection order, so the timestamp check compares old before new
      for (const conn of tap.connections.slice(connectionsBefore)) {
        const at = firstKeyframeAtMs.get(conn.id);
        if (at !== undefined) toKeyframeMs = at - upAtMs;
      }
      if (toKeyframeMs !== null && state === 'live') break;
      await sleep(20);
    }
    const toLiveMs = state === 'live' && liveAtMs >= upAtMs ? liveAtMs - upAtMs : null;
    const attempts = (streamer.stats.outputs[0]?.connectAttempts ?? 0) - attemptsBefore;
    reconnects.push({ outageS: outage.durationS, toKeyframeMs, toLiveMs, attempts });
    console.log(
      `t=${elapsedS().toFixed(0).padStart(4)} s  back: server up → live ${toLiveMs?.toFixed(0) ?? 'never'} ms, ` +
        `→ first keyframe at the server ${toKeyframeMs?.toFixed(0) ?? 'never'} ms (${attempts} attempts)`,
    );
  }
  const restMs = (minutes * 60 - elapsedS()) * 1000;
  if (restMs > 0) await sleep(restMs);
  clearInterval(sampler);
  const final = streamer.stats;
  await streamer.stop();
  await tap.stop();
  await nginx.stop();

  const firstMinute = samples.filter((s) => s.tS <= 60);
  const lastMinute = samples.filter((s) => s.tS > minutes * 60 - 60);
  const pointsRss = samples.map((s) => ({ x: s.tS / 60, y: s.rssMb }));
  const pointsHeap = samples.map((s) => ({ x: s.tS / 60, y: s.heapMb }));
  // The slope after the first five minutes (the acceptance measure) and over the second half exclude
  // warm-up (encoder buffers, JIT, allocator arenas reaching their working size) from the trend.
  const secondHalf = (points: { x: number; y: number }[]): { x: number; y: number }[] =>
    points.filter((p) => p.x >= minutes / 2);
  const afterWarmUp = (points: { x: number; y: number }[]): { x: number; y: number }[] =>
    points.filter((p) => p.x >= Math.min(5, minutes / 2));
  console.log('\nsummary');
  console.log(
    `  RSS  first minute ${mean(firstMinute.map((s) => s.rssMb)).toFixed(1)} MB, last minute ` +
      `${mean(lastMinute.map((s) => s.rssMb)).toFixed(1)} MB, slope ${slope(pointsRss).toFixed(2)} MB/min ` +
      `(after the first 5 min ${slope(afterWarmUp(pointsRss)).toFixed(3)} MB/min, ` +
      `second half ${slope(secondHalf(pointsRss)).toFixed(3)} MB/min)`,
  );
  console.log(
    `  heap first minute ${mean(firstMinute.map((s) => s.heapMb)).toFixed(1)} MB, last minute ` +
      `${mean(lastMinute.map((s) => s.heapMb)).toFixed(1)} MB, slope ${slope(pointsHeap).toFixed(2)} MB/min ` +
      `(after the first 5 min ${slope(afterWarmUp(pointsHeap)).toFixed(3)} MB/min, ` +
      `second half ${slope(secondHalf(pointsHeap)).toFixed(3)} MB/min)`,
  );
  for (const r of reconnects) {
    console.log(
      `  outage ${String(r.outageS).padStart(3)} s: up → keyframe ${r.toKeyframeMs?.toFixed(0) ?? 'never'} ms, ` +
        `up → live ${r.toLiveMs?.toFixed(0) ?? 'never'} ms, ${r.attempts} attempts`,
    );
  }
  console.log(
    `  reconnectCount ${final.reconnectCount}, connectAttempts ${final.outputs[0]?.connectAttempts ?? 0}, ` +
      `downtime ${((final.outputs[0]?.downtimeMs ?? 0) / 1000).toFixed(1)} s, ` +
      `dropped while down v/a ${final.packetsDroppedWhileDisconnected.video}/${final.packetsDroppedWhileDisconnected.audio}, ` +
      `congestion drops v/a ${final.videoPacketsDropped}/${final.audioPacketsDropped}, ` +
      `timestamps backwards across connections: ${timestampRegressions}`,
  );
  for (const example of regressionExamples) console.log(`    backwards: ${example}`);
  console.log(
    `  tick lateness p99/max: capture ${final.captureTickLateness?.p99Ms.toFixed(1)}/${final.captureTickLateness?.maxMs.toFixed(1)} ms, ` +
      `audio ${final.audioTickLateness?.p99Ms.toFixed(1)}/${final.audioTickLateness?.maxMs.toFixed(1)} ms`,
  );
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
