/**
 * bench:destinations — two destinations from one publisher, B throttled with tc to 40 % of the stream's
 * rate (2.66 Mbit/s) for 30 s after 5 s clean and before 15 s clean; A never throttled. Each through a
 * wire tap to its own nginx-rtmp application, in a private network namespace. Compares:
 * - steadycast with per-output quality (--adaptive-quality),
 * - steadycast with the shared adaptive bitrate (--adaptive-bitrate),
 * - Debian's ffmpeg with the tee muxer (same encode settings),
 * and, for CPU, steadycast to A and B both clean against steadycast to A alone. Prints markdown tables
 * of what each RECEIVER got. Needs root (unshare -n, tc), nginx with the RTMP module, ffmpeg and ffprobe.
 * About 5 minutes. BENCH_SHARE changes B's share (default 0.4).
 */
import { join } from 'node:path';
import { runInNetns } from '../test/helpers/netns.js';
import { missingTools } from '../test/helpers/process.js';
import {
  backOnTopMs,
  type DestinationReport,
  type DestinationsResult,
  type DestinationsScenarioArgs,
} from '../test/helpers/scenarios/destinations-analysis.js';

const STREAM_KBIT = 2660;
const SCENARIO = join(import.meta.dirname, '..', 'test', 'helpers', 'scenarios', 'destinations.js');

if (process.getuid?.() !== 0) {
  console.error('bench:destinations must run as root: it shapes traffic with tc inside `unshare -n`.');
  process.exit(2);
}
const missing = missingTools(['unshare', 'tc', 'ip', 'nginx', 'ffmpeg', 'ffprobe']);
if (missing.length > 0) {
  console.error(`bench:destinations needs ${missing.join(', ')} (install them with .ci/run)`);
  process.exit(2);
}

const share = Number(process.env.BENCH_SHARE ?? '0.4');
const rateKbit = Math.round(STREAM_KBIT * share);

async function run(args: DestinationsScenarioArgs, what: string): Promise<DestinationsResult> {
  process.stderr.write(`${what}… `);
  const result = await runInNetns<DestinationsResult>(process.execPath, [SCENARIO, JSON.stringify(args)], {
    timeoutMs: 300_000,
    env: { ...process.env, UV_THREADPOOL_SIZE: '8' },
  });
  if (result.json === undefined) {
    console.error(`failed (${result.code}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    process.exit(1);
  }
  process.stderr.write('done\n');
  return result.json;
}

const throttled = (publisher: DestinationsScenarioArgs['publisher']): DestinationsScenarioArgs => ({
  publisher,
  outputs: 2,
  rateKbit,
  leadS: 5,
  throttleS: 30,
  recoverS: 15,
});
const clean = (outputs: 1 | 2): DestinationsScenarioArgs => ({
  publisher: 'fixed',
  outputs,
  rateKbit: STREAM_KBIT,
  leadS: 50,
  throttleS: 0,
  recoverS: 0,
});

const rows: [string, DestinationsResult][] = [];
rows.push(['steadycast, per-output quality', await run(throttled('quality'), 'per-output quality')]);
rows.push(['steadycast, shared adaptive bitrate', await run(throttled('abr'), 'shared adaptive bitrate')]);
rows.push(['ffmpeg tee', await run(throttled('ffmpeg-tee'), 'ffmpeg tee')]);
// CPU: the same 50 s (as long as a throttled run) of clean streaming to one destination and to two,
// in alternating pairs (a shared machine drifts between runs), compared by their medians.
const CPU_PAIRS = Number(process.env.BENCH_CPU_PAIRS ?? '3');
const singles: number[] = [];
const doubles: number[] = [];
for (let i = 1; i <= CPU_PAIRS; i++) {
  singles.push((await run(clean(1), `CPU ${i}/${CPU_PAIRS}: one clean destination`)).cpuS ?? Number.NaN);
  doubles.push((await run(clean(2), `CPU ${i}/${CPU_PAIRS}: two clean destinations`)).cpuS ?? Number.NaN);
}
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const single = { cpuS: median(singles) };
const double = { cpuS: median(doubles) };

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
const cell = (d: DestinationReport | undefined, r: DestinationsResult): string => {
  if (!d) return '–';
  const l = d.latency.throttled.count > 0 ? d.latency.throttled : d.latency.all;
  const frames = `${d.videoFramesInThrottle} of ${d.framesDueInThrottle}`;
  const back = d.steadycast ? backOnTopMs(d.steadycast.quality, 'main', r.marks.throttleEndMs) : null;
  const switches = d.steadycast
    ? `${d.steadycast.renditionSwitches.down}↓ ${d.steadycast.renditionSwitches.up}↑`
    : '–';
  return (
    `${l.p50} / ${l.p95} | ${frames} | ${d.videoFramesAtTap} | ${d.recording?.videoKbps ?? '–'} | ` +
    `${d.recording?.widths.join('→') ?? '–'} | ${switches} | ${back === null ? '–' : `${fmt(back / 1000, 1)} s`} | ` +
    `${d.recording?.decodeErrors ?? '–'} | ${d.recording?.audioGaps.length ?? '–'}`
  );
};

console.log(
  `\nB throttled to ${Math.round(share * 100)} % (${rateKbit} kbit/s) for 30 s; A clean. Per destination: ` +
    'receiver latency p50 / p95 over the throttle + 3 s (ms), video frames of the throttle delivered, ' +
    'video frames at the receiver over the run, recorded video bitrate (kbit/s), coded widths in order, ' +
    'rendition switches, back on the full-quality encode after the link recovered, decode errors, audio gaps.\n',
);
console.log(
  '| publisher | dest | latency p50 / p95 | throttle frames | frames | kbit/s | widths | switches | back on top | decode errors | audio gaps | CPU s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [label, r] of rows) {
  for (const key of ['a', 'b']) {
    const d = r.destinations.find((x) => x.key === key);
    console.log(`| ${label} | ${key.toUpperCase()} | ${cell(d, r)} | ${key === 'a' ? fmt(r.cpuS, 1) : ''} |`);
  }
}
const ratio = single.cpuS && double.cpuS ? double.cpuS / single.cpuS : NaN;
const extra = (r: DestinationsResult | undefined): string =>
  r?.cpuS && double.cpuS ? `${fmt(r.cpuS - double.cpuS, 1)} s` : '–';
console.log(
  `\nCPU, 50 s, steadycast, median of ${CPU_PAIRS} alternating pairs: one clean destination ` +
    `${fmt(single.cpuS, 1)} s (${singles.map((v) => fmt(v, 1)).join(', ')}), two ${fmt(double.cpuS, 1)} s ` +
    `(${doubles.map((v) => fmt(v, 1)).join(', ')}); ratio ${fmt(ratio, 3)} (one encoder while every path ` +
    `keeps up). The extra encoder during the ` +
    `throttle (per-output run − two clean): ${extra(rows[0]?.[1])}.`,
);
const quality = rows[0]?.[1];
if (quality?.extraEncoderNote)
  console.log(`Renditions at the end of the per-output run: ${quality.extraEncoderNote}`);
