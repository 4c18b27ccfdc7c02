/**
 * bench:congestion — steadycast (fixed bitrate, and with --adaptive-bitrate) and Debian's ffmpeg, same settings (720p30 x264 veryfast CBR 2500k,
 * AAC 160k, real time), each through the same tc throttle (60 % and 25 % of 2.66 Mbit/s for 30 s, after
 * 5 s clean and before 10 s clean) to nginx-rtmp behind a wire tap, in a private network namespace.
 * Prints a markdown table of what the RECEIVER got. Needs root (unshare -n, tc), nginx with the RTMP
 * module, ffmpeg and ffprobe. About 5 minutes.
 */
import { join } from 'node:path';
import { runInNetns } from '../test/helpers/netns.js';
import { missingTools } from '../test/helpers/process.js';
import type {
  CongestionResult,
  CongestionScenarioArgs,
} from '../test/helpers/scenarios/congestion-analysis.js';

const STREAM_KBIT = 2660;
const SCENARIO = join(import.meta.dirname, '..', 'test', 'helpers', 'scenarios', 'congestion.js');

if (process.getuid?.() !== 0) {
  console.error('bench:congestion must run as root: it shapes traffic with tc inside `unshare -n`.');
  process.exit(2);
}
const missing = missingTools(['unshare', 'tc', 'ip', 'nginx', 'ffmpeg', 'ffprobe', 'ss']);
if (missing.length > 0) {
  console.error(`bench:congestion needs ${missing.join(', ')} (install them with .ci/run)`);
  process.exit(2);
}

const shares = (process.env.BENCH_SHARES ?? '0.6,0.25').split(',').map(Number);
const rows: CongestionResult[] = [];
for (const share of shares) {
  for (const [publisher, adaptiveBitrate] of [
    ['steadycast', false],
    ['steadycast', true],
    ['ffmpeg', false],
  ] as const) {
    const args: CongestionScenarioArgs = {
      server: 'nginx',
      publisher,
      rateKbit: Math.round(STREAM_KBIT * share),
      leadS: 5,
      throttleS: 30,
      recoverS: 10,
      adaptiveBitrate,
    };
    process.stderr.write(`${label(args)} at ${Math.round(share * 100)} % (${args.rateKbit} kbit/s)… `);
    const run = await runInNetns<CongestionResult>(process.execPath, [SCENARIO, JSON.stringify(args)], {
      timeoutMs: 240_000,
      env: { ...process.env, UV_THREADPOOL_SIZE: '8' },
    });
    if (run.json === undefined) {
      console.error(`failed (${run.code}):\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
      process.exit(1);
    }
    process.stderr.write('done\n');
    rows.push(run.json);
  }
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
console.log(
  '\n| publisher | link | latency p50 / p95 / max (ms), throttled | max over run (ms) | audio gaps | video frames delivered | drop episodes | lowest video bitrate | decode errors | full rate back after | CPU s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const share = Math.round(((r.args.rateKbit ?? STREAM_KBIT) / STREAM_KBIT) * 100);
  const l = r.latency.throttled;
  const recovery = r.recoveryMs === null ? 'never' : `${fmt(r.recoveryMs / 1000, 1)} s`;
  console.log(
    `| ${label(r.args)} | ${share} % (${r.args.rateKbit} kbit/s) | ${l.p50} / ${l.p95} / ${l.max} | ` +
      `${r.latency.all.max} | ${r.recording?.audioGaps.length ?? '–'} | ` +
      `${r.recording?.videoFrames ?? '–'} of ${(r.args.leadS + r.args.throttleS + r.args.recoverS) * 30} | ` +
      `${fmt(r.steadycast?.congestionEvents)} | ` +
      `${r.steadycast ? `${Math.min(...r.steadycast.videoBitrateKbps.filter((k) => k > 0))} kbit/s` : '–'} | ` +
      `${r.recording?.decodeErrors ?? '–'} | ${recovery} | ${fmt(r.cpuS, 1)} |`,
  );
}
console.log(
  '\nLatency: arrival at the receiver − RTMP timestamp, beyond the freshest frame of the run, over the 30 s ' +
    'throttle and the 3 s after it. Frames, gaps and decode errors: the nginx-rtmp recording (ffprobe, ffmpeg).',
);

function label(args: CongestionScenarioArgs): string {
  return args.adaptiveBitrate ? `${args.publisher} --adaptive-bitrate` : args.publisher;
}
