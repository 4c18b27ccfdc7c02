/**
 * Netns scenario (run by runScenarioInNetns, or compiled by bench:congestion): one publisher (the real
 * `steadycast stream` CLI, or Debian's ffmpeg with the same settings) → wire tap → a real server
 * (nginx-rtmp or node-media-server). The TAP's port is shaped with tc, so the tap sees bytes when a
 * server behind the bottleneck would. Timeline, from the first video frame at the tap:
 * `leadS` clean, `throttleS` at `rateKbit`, `recoverS` clean again; then the publisher stops by itself.
 *
 * Arg: one JSON object (CongestionScenarioArgs). Prints a CongestionResult as the LAST stdout line.
 * Everything measured here is what the RECEIVING side got (tap and recording), plus the publisher's
 * own stats file (steadycast) and its CPU seconds (bash `times`, children's user + system).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LatenessSummary } from '../../../src/core/lateness.js';
import { readStatsFile } from '../cli.js';
import { probeMedia } from '../media-probe.js';
import { probeWithNodeAv } from '../node-av-probe.js';
import { setRate, setupLoopback, shapePort, tcStats } from '../netns.js';
import { startNginxRtmp } from '../nginx-rtmp.js';
import { startNodeMediaServer } from '../node-media-server.js';
import { makeTempDir, sleep, stopProcess } from '../process.js';
import { isFrame, startWireTap, type MediaArrival } from '../wire-tap.js';
import {
  DRAIN_GRACE_MS,
  frameRateRecoveryMs,
  latencySummary,
  longestVideoPauses,
  videoFramesPerSecond,
  latencyMaxPerSecond,
  type CongestionResult,
  type CongestionScenarioArgs,
} from './congestion-analysis.js';
import {
  childCpuSeconds,
  ffmpegDefaultStreamArgs,
  sleepUntil,
  spawnPublisher,
  steadycastCommand,
  waitFor,
} from './scenario-steps.js';

const args = JSON.parse(process.argv[2] ?? '{}') as CongestionScenarioArgs;
const UNLIMITED_KBIT = 10_000_000;

setupLoopback();
const dir = makeTempDir('congestion');
const server =
  args.server === 'nginx' ? await startNginxRtmp() : await startNodeMediaServer({ publishGraceMs: 0 });
const tap = await startWireTap({ targetPort: server.port });
shapePort(tap.port);

const totalS = args.leadS + args.throttleS + args.recoverS;
const url = tap.url('live', 'congestion');
const statsFile = join(dir, 'stats.jsonl');
const publisher = spawnPublisher(
  args.publisher === 'steadycast'
    ? steadycastCommand([
        'stream',
        url,
        '--duration',
        String(totalS),
        '--stats-file',
        statsFile,
        ...(args.adaptiveBitrate ? ['--adaptive-bitrate'] : []),
        ...(args.media
          ? [
              ...['--codec', args.media.codec, '--size', args.media.size],
              ...['--video-bitrate', args.media.videoBitrate, '--audio-bitrate', args.media.audioBitrate],
            ]
          : []),
      ])
    : ['ffmpeg', ...ffmpegDefaultStreamArgs(totalS), '-f', 'flv', url],
);

const firstVideo = await waitFor(
  () => tap.connections[0]?.media.find((m) => m.type === 9 && isFrame(m)),
  30_000,
);
const t0 = firstVideo?.arrivalMs ?? performance.now();
const marks = { throttleStartMs: NaN, throttleEndMs: NaN };
let tc = '';
await sleepUntil(t0 + args.leadS * 1000);
if (args.rateKbit !== null) {
  marks.throttleStartMs = performance.now() - t0;
  setRate(tap.port, args.rateKbit);
  await sleepUntil(t0 + (args.leadS + args.throttleS) * 1000);
  tc = tcStats();
  setRate(tap.port, UNLIMITED_KBIT);
  marks.throttleEndMs = performance.now() - t0;
}
const exited = await Promise.race([publisher.exited, sleep((totalS + 90) * 1000).then(() => 'timeout')]);
if (exited === 'timeout') await stopProcess(publisher, 'SIGINT', 5000);

let recording: string | undefined;
if (args.server === 'nginx' && 'waitForRecordingsClosed' in server) {
  recording = (await server.waitForRecordingsClosed(10_000).catch(() => server.recordings()))[0];
}
await tap.stop();
await server.stop();
recording ??= server.recordings()[0];

const connection = tap.connections[0];
const media: MediaArrival[] = connection ? connection.media.filter(isFrame) : [];
const relative = media.map((m) => ({ ...m, arrivalMs: m.arrivalMs - t0 }));
const enhanced = args.media !== undefined && args.media.codec !== 'h264';
const report = recording ? await (enhanced ? probeWithNodeAv(recording) : probeMedia(recording)) : undefined;
const stats = args.publisher === 'steadycast' && existsSync(statsFile) ? readStatsFile(statsFile) : [];
const final = stats[stats.length - 1];
const output = final ? firstOutput(final) : undefined;
const stderr = publisher.stderr();

const result: CongestionResult = {
  args,
  exitCode: exited,
  cpuS: childCpuSeconds(stderr),
  marks,
  tapConnections: tap.connections.length,
  tapParseError: connection?.parseError ?? null,
  latency: latencySummary(relative, marks),
  videoFramesAtTap: relative.filter((m) => m.type === 9).length,
  audioFramesAtTap: relative.filter((m) => m.type === 8).length,
  videoFramesPerSecond: videoFramesPerSecond(relative),
  latencyMaxPerSecond: latencyMaxPerSecond(relative),
  recoveryMs: Number.isNaN(marks.throttleEndMs) ? null : frameRateRecoveryMs(relative, marks.throttleEndMs),
  videoPausesAfterRestore: Number.isNaN(marks.throttleEndMs)
    ? longestVideoPauses(relative, 0, 3)
    : longestVideoPauses(relative, marks.throttleEndMs + DRAIN_GRACE_MS, 3),
  recording: report
    ? {
        videoCodec: report.video?.codecName ?? 'none',
        videoFrames: report.video?.frameCount ?? 0,
        keyframes: report.video?.keyframeTimesS.length ?? 0,
        audioDurationS: report.audio?.durationS ?? 0,
        audioGaps: report.audio?.gaps ?? [],
        decodeErrors: report.decodeErrors.length,
        decodeErrorSample: report.decodeErrors.slice(0, 5),
      }
    : null,
  steadycast: final
    ? {
        reconnectCount: Number(final.reconnectCount),
        congestionEvents: Number(output?.congestionEvents ?? NaN),
        congestionNotices: (stderr.match(/: congested \(latency \d+ ms\): dropping video/g) ?? []).length,
        videoPacketsDropped: Number(final.videoPacketsDropped),
        audioPacketsDropped: Number(final.audioPacketsDropped),
        framesSkippedEncoder: Number(final.framesSkippedEncoder),
        maxLatencyMs: Number(final.maxLatencyMs),
        latencyMeasure: String(output?.latencyMeasure),
        ackState: String(output?.ackState),
        latencyMeasures: [...new Set(stats.map((s) => String(firstOutput(s)?.latencyMeasure)))],
        ackStates: [...new Set(stats.map((s) => String(firstOutput(s)?.ackState)))],
        maxDeliveryRateBps: Math.max(0, ...stats.map((s) => Number(firstOutput(s)?.deliveryRateBps ?? 0))),
        currentLatencyMs: stats.map((s) => Math.round(Number(s.currentLatencyMs))),
        videoBitrateKbps: stats.map((s) => Math.round(Number(s.videoBitrateBps) / 1000)),
        captureTickLateness: (final.captureTickLateness ?? null) as LatenessSummary | null,
        audioTickLateness: (final.audioTickLateness ?? null) as LatenessSummary | null,
      }
    : null,
  stderrTail: stderr.slice(-2000),
  tcStats: tc,
};
console.log(JSON.stringify(result));
process.exit(0);

function firstOutput(line: Record<string, unknown>): Record<string, unknown> | undefined {
  return (line.outputs as Record<string, unknown>[] | undefined)?.[0];
}
