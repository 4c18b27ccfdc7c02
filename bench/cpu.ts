/**
 * bench:cpu — what the same live stream costs with ffmpeg and with steadycast, side by side in one run.
 *
 * Kinds of work, each streamed for BENCH_SECONDS (default 40) to a fresh local nginx-rtmp behind a
 * wire tap, by ffmpeg and by steadycast one after the other, with the same settings (720p30, x264 veryfast zerolatency,
 * CBR 2500k, keyframe every 2 s, no B-frames, AAC 160k 48 kHz stereo):
 * - `pattern`: steadycast's moving test pattern and a tone, the same pictures on both sides (ffmpeg
 *   reads 10 s of them, rendered here, as raw video in a loop / `--video test --audio tone`);
 * - `testsrc2` (not run by default): each side's own generator (`testsrc2` + `sine` / `--video test`).
 *   x264 spends about twice as much on steadycast's picture, so this row compares pictures, not engines;
 * - `file`: restreaming a 720p30 H.264 6 Mbit/s file with AAC, made here with ffmpeg, looped
 *   (`-re -stream_loop -1 -i f.mp4` / `--video file:f.mp4 --audio file --loop`).
 *
 * Per run it measures, with GNU time around the publisher: CPU seconds (user + system, the process and
 * every child it waited for) and max RSS; at the tap: time from spawning the publisher to the first
 * media message at the server (and to its `publish` command), and the wire delay of each kind —
 * arrival − RTMP timestamp, relative to the connection's best message ('min' reference) — p50 and p95.
 * The whole process's CPU time of the same 40 s job varies by ±10 % on a shared VM, so one pair of runs
 * gives a ratio ±14 %. The bench runs BENCH_ROUNDS pairs per kind (default 3), alternating which
 * publisher goes first, and reports every pair's ratios and their median.
 *
 * Prints a markdown table with the ratios steadycast / ffmpeg (delays and start as differences), and one
 * JSON line per run (prefix `json `) for tables over several runs.
 *
 * Env: BENCH_SECONDS (40), BENCH_ROUNDS (3), BENCH_KINDS (`pattern,file`), BENCH_STEADYCAST_ARGS (extra
 * CLI arguments, e.g. `--audio-encoder aac`), BENCH_PUBLISHERS (`ffmpeg,steadycast`). Run it under the
 * heavy lock.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { TestPatternSource } from '../src/capture/test-pattern.js';
import { startNginxRtmp } from '../test/helpers/nginx-rtmp.js';
import {
  cleanupAll,
  makeTempDir,
  missingTools,
  runCommand,
  spawnTracked,
  stopProcess,
} from '../test/helpers/process.js';
import { isFrame, percentile, startWireTap } from '../test/helpers/wire-tap.js';

type Kind = 'pattern' | 'testsrc2' | 'file';
type Publisher = 'ffmpeg' | 'steadycast';

/** What one publisher run measured. */
interface RunResult {
  kind: Kind;
  /** Which pair of runs this is (1-based). */
  round: number;
  publisher: Publisher;
  exit: number | string;
  cpuS: number;
  userS: number;
  systemS: number;
  maxRssMb: number;
  /** Spawn → `publish` command at the tap, ms. */
  publishMs: number;
  /** Spawn → first audio or video frame at the tap, ms. */
  firstMediaMs: number;
  /** Spawn → first video keyframe at the tap, ms. */
  firstKeyframeMs: number;
  /** RTMP timestamp of the first frame, ms (what was captured before it was sent). */
  firstTimestampMs: number;
  audio: { p50: number; p95: number; count: number };
  video: { p50: number; p95: number; count: number };
}

const seconds = Number(process.env.BENCH_SECONDS ?? 40);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const kinds = (process.env.BENCH_KINDS ?? 'pattern,file').split(',') as Kind[];
const publishers = (process.env.BENCH_PUBLISHERS ?? 'ffmpeg,steadycast').split(',') as Publisher[];
const extraArgs = (process.env.BENCH_STEADYCAST_ARGS ?? '').split(' ').filter((a) => a !== '');
const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/bench: bin/ is two levels up.
const cli = [join(here, '..', '..', 'bin', 'steadycast.js'), join(here, '..', 'bin', 'steadycast.js')].find(
  (file) => existsSync(file),
);

/** The encode settings both publishers use, ffmpeg's spelling. */
const FFMPEG_ENCODE = [
  ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-bf', '0'],
  ['-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-g', '60', '-sc_threshold', '0'],
  ['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '160k', '-ar', '48000', '-ac', '2'],
].flat();

/** Inputs made once per run of the bench. */
interface BenchFiles {
  /** The restream file (`file`). */
  readonly restream: string;
  /** steadycast's test pattern, 10 s of raw I420 frames (`pattern`). */
  readonly pattern: string;
}

function ffmpegArgs(kind: Kind, url: string, files: BenchFiles): string[] {
  const tone = [
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-map',
    '0:v',
    '-map',
    '1:a',
  ];
  const inputs: Record<Kind, string[]> = {
    pattern: ['-re', '-stream_loop', '-1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', '1280x720']
      .concat(['-framerate', '30', '-i', files.pattern])
      .concat(tone),
    testsrc2: ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', ...tone],
    file: ['-re', '-stream_loop', '-1', '-i', files.restream],
  };
  const input = inputs[kind];
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', ...input, '-t', String(seconds)].concat(
    FFMPEG_ENCODE,
    ['-f', 'flv', url],
  );
}

function steadycastArgs(kind: Kind, url: string, files: BenchFiles): string[] {
  const sources =
    kind === 'file'
      ? ['--video', `file:${files.restream}`, '--audio', 'file', '--loop']
      : ['--video', 'test', '--audio', 'tone'];
  return [cli ?? 'bin/steadycast.js', 'stream', url, ...sources, '--duration', String(seconds)].concat(
    ['--size', '1280x720', '--fps', '30', '--video-bitrate', '2500k', '--keyint', '2'],
    ['--audio-bitrate', '160k', '--quiet', ...extraArgs],
  );
}

/** A 720p30 H.264 6 Mbit/s + AAC 160k file of 20 s, made once per run of the bench. */
async function makeRestreamFile(dir: string): Promise<string> {
  const file = join(dir, 'restream-720p30-6M.mp4');
  const made = await runCommand(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-loglevel', 'error']
      .concat(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t'])
      .concat(['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '20'])
      .concat(['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '12M'])
      .concat(['-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '160k', '-movflags', '+faststart'])
      .concat([file]),
    { timeoutMs: 300_000 },
  );
  if (made.code !== 0) throw new Error(`making the restream file failed: ${made.stderr}`);
  return file;
}

/**
 * steadycast's test pattern as ffmpeg reads it: 10 s of raw 720p I420 frames, looped. x264 spends
 * about twice as much on this picture (a luma ramp sliding every frame) as on testsrc2's, so the
 * `pattern` row gives both publishers the same pictures; `testsrc2` keeps the two generators.
 */
async function makePatternFile(dir: string): Promise<string> {
  const file = join(dir, 'pattern-720p30.yuv');
  const source = new TestPatternSource(1280, 720, 2);
  const out = createWriteStream(file);
  for (let index = 0; index < 300; index++) {
    const { data } = source.grab(index, (index * 1e6) / 30);
    if (!out.write(Buffer.from(data))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

async function runOnce(
  kind: Kind,
  round: number,
  publisher: Publisher,
  files: BenchFiles,
): Promise<RunResult> {
  const nginx = await startNginxRtmp();
  const tap = await startWireTap({ targetPort: nginx.port });
  const url = tap.url('live', `${kind}-${publisher}`);
  const command =
    publisher === 'ffmpeg'
      ? ['ffmpeg', ...ffmpegArgs(kind, url, files)]
      : [process.execPath, ...steadycastArgs(kind, url, files)];
  const startedMs = performance.now();
  const proc = spawnTracked('/usr/bin/time', ['-f', 'BENCHTIME %U %S %M', ...command], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '8' },
  });
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    proc.exited,
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), (seconds + 60) * 1000))),
  ]);
  clearTimeout(timer);
  if (exited === 'timeout') await stopProcess(proc, 'SIGINT', 5000);
  await tap.stop();
  await nginx.stop();
  const timing = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)/.exec(proc.stderr());
  if (!timing) throw new Error(`${publisher} ${kind}: no timing (exit ${exited}):\n${proc.stderr()}`);
  const conn = tap.connections[0];
  const media = conn?.media ?? [];
  const frames = media.filter(isFrame);
  const publish = conn?.fromClient.find((m) => m.command === 'publish');
  const keyframe = frames.find((m) => m.type === 9 && m.keyframe);
  const since = (ms: number | undefined): number => (ms === undefined ? NaN : ms - startedMs);
  const delays = (type: 8 | 9): RunResult['audio'] => {
    const values = conn ? tap.latenciesMs(conn, 'min', type) : [];
    return { p50: percentile(values, 50), p95: percentile(values, 95), count: values.length };
  };
  const userS = Number(timing[1]);
  const systemS = Number(timing[2]);
  return {
    kind,
    round,
    publisher,
    exit: exited,
    cpuS: userS + systemS,
    userS,
    systemS,
    maxRssMb: Number(timing[3]) / 1024,
    publishMs: since(publish?.arrivalMs),
    firstMediaMs: since(frames[0]?.arrivalMs),
    firstKeyframeMs: since(keyframe?.arrivalMs),
    firstTimestampMs: frames[0]?.timestampMs ?? NaN,
    audio: delays(8),
    video: delays(9),
  };
}

const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** steadycast against ffmpeg in one pair of runs. */
interface Comparison {
  cpu: number;
  rss: number;
  firstMedia: number;
  audioP50: number;
  videoP50: number;
}

function compare(a: RunResult, b: RunResult): Comparison {
  return {
    cpu: b.cpuS / a.cpuS,
    rss: b.maxRssMb / a.maxRssMb,
    firstMedia: b.firstMediaMs - a.firstMediaMs,
    audioP50: b.audio.p50 - a.audio.p50,
    videoP50: b.video.p50 - a.video.p50,
  };
}

function table(results: RunResult[]): string {
  const lines = [
    '| work | round | publisher | CPU s (user+sys) | max RSS MB | publish at ms | first media at ms (its timestamp) | audio delay p50 / p95 ms | video delay p50 / p95 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.kind} | ${r.round} | ${r.publisher} | ${f(r.cpuS)} (${f(r.userS)}+${f(r.systemS)}) | ${f(r.maxRssMb, 0)} | ` +
        `${f(r.publishMs, 0)} | ${f(r.firstMediaMs, 0)} (${f(r.firstTimestampMs, 0)}) | ` +
        `${f(r.audio.p50)} / ${f(r.audio.p95)} | ${f(r.video.p50)} / ${f(r.video.p95)} |`,
    );
  }
  lines.push(
    '',
    '| work | round | CPU ratio | RSS ratio | first media Δ ms | audio p50 Δ ms | video p50 Δ ms |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  const row = (kind: string, round: string, c: Comparison, bold = false): string => {
    const cell = (text: string): string => (bold ? `**${text}**` : text);
    return (
      `| ${kind} | ${round} | ${cell(`${f(c.cpu, 2)}×`)} | ${cell(`${f(c.rss, 2)}×`)} | ` +
      `${cell(f(c.firstMedia, 0))} | ${cell(f(c.audioP50))} | ${cell(f(c.videoP50))} |`
    );
  };
  for (const kind of kinds) {
    const pairs: Comparison[] = [];
    for (let round = 1; round <= rounds; round++) {
      const a = results.find((r) => r.kind === kind && r.round === round && r.publisher === 'ffmpeg');
      const b = results.find((r) => r.kind === kind && r.round === round && r.publisher === 'steadycast');
      if (!a || !b) continue;
      const pair = compare(a, b);
      // A publisher that did not exit cleanly did not do the same work: shown, but not in the median.
      const clean = a.exit === 0 && b.exit === 0;
      if (clean) pairs.push(pair);
      lines.push(
        row(kind, clean ? String(round) : `${round} (exit ${a.exit} / ${b.exit}: not counted)`, pair),
      );
    }
    if (pairs.length < 2) continue;
    const mid = (pick: (c: Comparison) => number): number => median(pairs.map(pick));
    const summary: Comparison = {
      cpu: mid((c) => c.cpu),
      rss: mid((c) => c.rss),
      firstMedia: mid((c) => c.firstMedia),
      audioP50: mid((c) => c.audioP50),
      videoP50: mid((c) => c.videoP50),
    };
    lines.push(row(kind, `median of ${pairs.length}`, summary, true));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const missing = missingTools(['nginx', 'ffmpeg', '/usr/bin/time', 'ss']);
  if (missing.length > 0)
    throw new Error(`bench:cpu needs ${missing.join(', ')} (install them with .ci/run)`);
  if (!cli) throw new Error('bin/steadycast.js not found: run npm run build first');
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`BENCH_ROUNDS=${process.env.BENCH_ROUNDS}: give a whole number of rounds, 1 or more`);
  if (!(seconds > 0))
    throw new Error(`BENCH_SECONDS=${process.env.BENCH_SECONDS}: give a number of seconds above 0`);
  const dir = makeTempDir('bench-cpu');
  const files: BenchFiles = {
    restream: kinds.includes('file') ? await makeRestreamFile(dir) : '',
    pattern: kinds.includes('pattern') ? await makePatternFile(dir) : '',
  };
  const results: RunResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Whoever goes first alternates (ffmpeg in odd rounds), so a drift in the machine's speed does not
    // always favour the same side; with an odd number of rounds ffmpeg goes first once more.
    const order = round % 2 === 1 ? publishers : [...publishers].reverse();
    for (const kind of kinds) {
      for (const publisher of order) {
        process.stderr.write(`round ${round}/${rounds}: ${kind} / ${publisher}, ${seconds} s… `);
        const result = await runOnce(kind, round, publisher, files);
        process.stderr.write(`exit ${result.exit}, ${f(result.cpuS)} CPU s\n`);
        console.log(`json ${JSON.stringify(result)}`);
        results.push(result);
      }
    }
  }
  console.log(`\n${table(results)}`);
  console.log(
    '\nDelay: arrival at the tap − RTMP timestamp, relative to the connection\'s best message. "first media": ' +
      'from spawning the publisher to its first audio or video frame at the server.',
  );
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
