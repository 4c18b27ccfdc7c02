import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The CLI entry (it runs the build in dist/: `npm test` builds first); found from test/ or dist/test/. */
export const CLI = [
  join(here, '..', '..', 'bin', 'steadycast.js'),
  join(here, '..', '..', '..', 'bin', 'steadycast.js'),
].find((path) => existsSync(path)) as string;

/** What a CLI run printed and how it ended. */
export interface CliRun {
  /** Exit code (null when killed by a signal). */
  readonly code: number | null;
  /** Everything written to stdout. */
  readonly stdout: string;
  /** Everything written to stderr. */
  readonly stderr: string;
}

/** Runs `steadycast ARGS` to completion (SIGKILL after `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Reads a `--stats-file` (one JSON object per line). */
export function readStatsFile(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
