/**
 * Steps the netns scenarios (congestion, destinations, multitrack) share: starting the publisher,
 * waiting on the timeline, the publisher's CPU, and Debian ffmpeg publishing what `steadycast stream`
 * publishes by default.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { sleep, spawnTracked, type TrackedProcess } from '../process.js';

/** The command line that runs the steadycast CLI (this Node, the repo's bin/steadycast.js) with `args`. */
export function steadycastCommand(args: readonly string[]): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // Source tree (test/helpers/scenarios) or compiled tree (dist/test/helpers/scenarios): bin/ is beside both.
  const cliEntry = [
    join(here, '..', '..', '..', 'bin', 'steadycast.js'),
    join(here, '..', '..', '..', '..', 'bin', 'steadycast.js'),
  ].find((file) => existsSync(file));
  return [process.execPath, cliEntry ?? 'bin/steadycast.js', ...args];
}

/**
 * Starts the publisher's `command` (program, then arguments) under bash, with UV_THREADPOOL_SIZE 8
 * unless the environment sets it. bash's `times` then reports the CPU of the publisher (a waited-for
 * child) exactly, whatever its kind, as the last lines of stderr (read them with childCpuSeconds).
 */
export function spawnPublisher(command: readonly string[]): TrackedProcess {
  return spawnTracked('bash', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'publisher', ...command], {
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  });
}

/** Polls `get` every 20 ms until it returns a value or `timeoutMs` passed (then undefined). */
export async function waitFor<T>(get: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined || performance.now() > deadline) return value;
    await sleep(20);
  }
}

/** Resolves at `atMs` on the performance.now() clock (at once if that has passed). */
export async function sleepUntil(atMs: number): Promise<void> {
  const waitMs = atMs - performance.now();
  if (waitMs > 0) await sleep(waitMs);
}

/** The second line of bash `times` (children's user and system time), in seconds. */
export function childCpuSeconds(stderr: string): number | null {
  const lines = stderr.trim().split('\n');
  const children = lines[lines.length - 1] ?? '';
  const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) return null;
  return parts.reduce((sum, p) => sum + Number(p[1]) * 60 + Number(p[2]), 0);
}

/**
 * Debian ffmpeg's input and encode arguments for steadycast's default stream (720p30 2500k CBR, AAC
 * 160k 48 kHz) for `seconds`, in real time; the caller adds the output (`extra` goes before the codecs).
 */
export function ffmpegDefaultStreamArgs(seconds: number, extra: readonly string[] = []): string[] {
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re'].concat(
    ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30'],
    ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ['-t', String(seconds), ...extra],
    ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency'],
    ['-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-g', '60'],
    ['-c:a', 'aac', '-b:a', '160k', '-ar', '48000', '-ac', '2'],
  );
}
