/**
 * Netns scenario (run by runScenarioInNetns, or compiled by bench:destinations): one publisher with two
 * destinations, A and B, each through its own wire tap to its own nginx-rtmp application; only B's tap
 * port is shaped with tc. Timeline, from the first video frame at A's tap: `leadS` clean, `throttleS`
 * with B at `rateKbit`, `recoverS` clean again; then the publisher stops by itself.
 *
 * Publishers: the real `steadycast stream` CLI with both URLs (per-output quality, or the shared
 * adaptive bitrate, or neither), or Debian's ffmpeg with the tee muxer. `outputs: 1` publishes to A
 * alone: the single-destination baseline for CPU.
 *
 * Arg: one JSON object (DestinationsScenarioArgs). Prints a DestinationsResult as the LAST stdout line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readStatsFile } from '../cli.js';
import { probeMedia } from '../media-probe.js';
import { setRate, setupLoopback, shapePort } from '../netns.js';
import { startNginxRtmp } from '../nginx-rtmp.js';
import { makeTempDir, sleep, stopProcess } from '../process.js';
import { isFrame, startWireTap, type MediaArrival, type WireTap } from '../wire-tap.js';
import { latencySummary, videoFramesPerSecond } from './congestion-analysis.js';
import { childCpuSeconds, sleepUntil, spawnPublisher, steadycastCommand, waitFor } from './scenario-steps.js';
import {
  ffmpegTeeArgs,
  qualityTimeline,
  type DestinationReport,
  type DestinationsResult,
  type DestinationsScenarioArgs,
} from './destinations-analysis.js';

const args = JSON.parse(process.argv[2] ?? '{}') as DestinationsScenarioArgs;
const UNLIMITED_KBIT = 10_000_000;
const FPS = 30;

setupLoopback();
const dir = makeTempDir('destinations');
const server = await startNginxRtmp();
const taps = [await startWireTap({ targetPort: server.port })];
if (args.outputs === 2) taps.push(await startWireTap({ targetPort: server.port }));
const throttledTap = taps[1];
if (throttledTap) shapePort(throttledTap.port);

const totalS = args.leadS + args.throttleS + args.recoverS;
const urls = taps.map((tap, i) => tap.url('live', i === 0 ? 'a' : 'b'));
const statsFile = join(dir, 'stats.jsonl');
const flags = { quality: ['--adaptive-quality'], abr: ['--adaptive-bitrate'], fixed: [] };
const publisher = spawnPublisher(
  args.publisher === 'ffmpeg-tee'
    ? ['ffmpeg', ...ffmpegTeeArgs(urls, totalS)]
    : steadycastCommand([
        'stream',
        ...urls,
        '--duration',
        String(totalS),
        '--stats-file',
        statsFile,
        '--quiet',
        ...flags[args.publisher],
      ]),
);

const firstVideo = await waitFor(
  () => taps[0]?.connections[0]?.media.find((m) => m.type === 9 && isFrame(m)),
  30_000,
);
const t0 = firstVideo?.arrivalMs ?? performance.now();
const t0EpochMs = Date.now() - (performance.now() - t0);
const marks = { throttleStartMs: NaN, throttleEndMs: NaN };
await sleepUntil(t0 + args.leadS * 1000);
if (throttledTap) {
  marks.throttleStartMs = performance.now() - t0;
  setRate(throttledTap.port, args.rateKbit);
  await sleepUntil(t0 + (args.leadS + args.throttleS) * 1000);
  setRate(throttledTap.port, UNLIMITED_KBIT);
  marks.throttleEndMs = performance.now() - t0;
}
const exited = await Promise.race([publisher.exited, sleep((totalS + 90) * 1000).then(() => 'timeout')]);
if (exited === 'timeout') await stopProcess(publisher, 'SIGINT', 5000);

const recordings = await server.waitForRecordingsClosed(10_000).catch(() => server.recordings());
for (const tap of taps) await tap.stop();
await server.stop();

const stats = existsSync(statsFile) ? readStatsFile(statsFile) : [];
const final = stats[stats.length - 1];
const stderr = publisher.stderr();
const destinations: DestinationReport[] = [];
for (const [i, tap] of taps.entries()) {
  const key = i === 0 ? 'a' : 'b';
  destinations.push(
    await report(
      tap,
      key,
      recordings.find((file) => file.includes(`/${key}-`)),
    ),
  );
}

const result: DestinationsResult = {
  args,
  exitCode: exited,
  cpuS: childCpuSeconds(stderr),
  marks,
  framesCaptured: final ? Number(final.framesCaptured) : null,
  extraEncoderNote: final ? JSON.stringify(final.renditions ?? null) : null,
  destinations,
  stderrTail: stderr.slice(-2000),
};
console.log(JSON.stringify(result));
process.exit(0);

async function report(tap: WireTap, key: string, recording: string | undefined): Promise<DestinationReport> {
  const media: MediaArrival[] = (tap.connections[0]?.media ?? []).filter(isFrame);
  const relative = media.map((m) => ({ ...m, arrivalMs: m.arrivalMs - t0 }));
  const video = relative.filter((m) => m.type === 9);
  // Frames whose capture time fell in the throttle (media time: the first frame's timestamp is t0).
  const firstTs = video[0]?.timestampMs ?? 0;
  const inThrottle = (m: MediaArrival): boolean =>
    m.timestampMs - firstTs >= marks.throttleStartMs && m.timestampMs - firstTs < marks.throttleEndMs;
  const probe = recording ? await probeMedia(recording) : undefined;
  const index = key === 'a' ? 0 : 1;
  const outputs = (line: Record<string, unknown>): Record<string, unknown> | undefined =>
    (line.outputs as Record<string, unknown>[] | undefined)?.[index];
  const last = final ? outputs(final) : undefined;
  return {
    key,
    tapConnections: tap.connections.length,
    tapParseError: tap.connections[0]?.parseError ?? null,
    latency: latencySummary(relative, marks),
    videoFramesAtTap: video.length,
    videoFramesInThrottle: video.filter(inThrottle).length,
    framesDueInThrottle: Number.isNaN(marks.throttleEndMs)
      ? 0
      : Math.round(((marks.throttleEndMs - marks.throttleStartMs) * FPS) / 1000),
    videoFramesPerSecond: videoFramesPerSecond(relative),
    recording: probe
      ? {
          path: recording ?? '',
          videoFrames: probe.video?.frameCount ?? 0,
          videoKbps: recording ? videoKbps(recording, probe.video?.durationS ?? 0) : 0,
          widths: recording ? codedWidths(recording) : [],
          audioDurationS: probe.audio?.durationS ?? 0,
          audioGaps: probe.audio?.gaps ?? [],
          decodeErrors: probe.decodeErrors.length,
          decodeErrorSample: probe.decodeErrors.slice(0, 5),
        }
      : null,
    steadycast: last
      ? {
          videoPacketsDropped: Number(last.videoPacketsDropped ?? NaN),
          audioPacketsDropped: Number(last.audioPacketsDropped ?? NaN),
          renditionSwitches: (last.renditionSwitches as { down: number; up: number } | undefined) ?? {
            down: 0,
            up: 0,
          },
          belowTopRenditionMs: Number(last.belowTopRenditionMs ?? 0),
          quality: qualityTimeline(stats, index, t0EpochMs),
        }
      : null,
  };
}

/** Video bitrate of a recording: the sum of its video packets over its duration, kbit/s. */
function videoKbps(file: string, durationS: number): number {
  if (durationS <= 0) return 0;
  const sizes = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=size', '-of', 'csv=p=0', file],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // One line per packet ("size", or "size,…" when the packet carries side data: a new SPS at a switch).
  const bytes = sizes
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter(Number.isFinite)
    .reduce((sum, size) => sum + size, 0);
  return Math.round((bytes * 8) / durationS / 1000);
}

/** The distinct coded widths of a recording's frames, in order of first appearance. */
function codedWidths(file: string): number[] {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=width', '-of', 'csv=p=0', file],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const widths: number[] = [];
  for (const line of out.split('\n')) {
    const width = Number(line.replace(/,.*$/, ''));
    if (line && widths[widths.length - 1] !== width) widths.push(width);
  }
  return widths;
}
