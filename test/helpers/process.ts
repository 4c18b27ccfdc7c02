import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A child process started by a helper, with the tail of its output kept for error messages. */
export interface TrackedProcess {
  /** The underlying child process. */
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Last ~64 KB of stdout. */
  stdout(): string;
  /** Last ~64 KB of stderr. */
  stderr(): string;
  /** Whether the process has exited. */
  hasExited(): boolean;
}

const OUTPUT_TAIL_CHARS = 64 * 1024;
const tracked = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Kills every process the helpers started that is still running and removes their temp dirs. */
export function cleanupAll(): void {
  for (const child of tracked) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  tracked.clear();
  if (process.env.KEEP_TEST_TMP !== '1') {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

// Last line of defence: a test that throws before its cleanup must not orphan servers. Vitest workers
// may end without running 'exit' handlers, so under vitest the same cleanup also runs after each file.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanupAll);
}

if (process.env.VITEST_WORKER_ID !== undefined) {
  try {
    const { afterAll } = await import('vitest');
    afterAll(cleanupAll);
  } catch {
    // Imported outside a test file's collection (e.g. a setup file): the 'exit' hook still applies.
  }
}

/** Creates a fresh temp dir, removed at process exit (set KEEP_TEST_TMP=1 to keep it). */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `steadycast-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Spawns a process that is SIGKILLed at process exit if still running; output tails are kept. */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): TrackedProcess {
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  tracked.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out = (out + s).slice(-OUTPUT_TAIL_CHARS);
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-OUTPUT_TAIL_CHARS);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', (e) => {
      err += `\nspawn error: ${e.message}`;
      tracked.delete(child);
      resolve('spawn-error');
    });
    child.on('exit', (code, signal) => {
      tracked.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    hasExited: () => child.exitCode !== null || child.signalCode !== null || !tracked.has(child),
  };
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs; resolves once the process is gone. */
export async function stopProcess(
  proc: TrackedProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Result of a finished command. */
export interface RunResult {
  /** Exit code, or the signal name if killed. */
  code: number | string;
  /** Complete stdout. */
  stdout: string;
  /** Complete stderr. */
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`), collecting all of its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  const { timeoutMs = 60_000, ...spawnOptions } = options;
  installExitHook();
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    tracked.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      tracked.delete(child);
      resolve({ code: 'spawn-error', stdout, stderr: `${stderr}\n${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      tracked.delete(child);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

/** Asks the kernel for a free loopback TCP port (released before returning, so reuse it quickly). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a TCP socket is in LISTEN state on `port`, per `ss -ltn` (no connection is made). */
export function isListening(port: number): boolean {
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  return out.trim().length > 0;
}

/**
 * Polls `ss -ltn` until something listens on `port`. A bare TCP connect is not used on purpose:
 * it counts as a client for one-shot servers such as `ffmpeg -listen 1`.
 */
export async function waitForListening(
  port: number,
  options: { timeoutMs?: number; what?: string; diagnostics?: () => string; failed?: () => boolean } = {},
): Promise<void> {
  const { timeoutMs = 10_000, what = 'server', diagnostics = () => '', failed = () => false } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isListening(port)) return;
    const gaveUp = failed();
    if (gaveUp || Date.now() > deadline) {
      const why = gaveUp ? 'exited before listening' : `not listening after ${timeoutMs} ms`;
      throw new Error(`${what} on 127.0.0.1:${port} ${why}\n--- diagnostics ---\n${diagnostics()}`);
    }
    await sleep(50);
  }
}

/** Resolves after `ms` milliseconds (real time). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Names of the commands in `tools` that are not on PATH. */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v "${tool}"`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Returns a skip reason when a requirement is missing (for `describe.skipIf`), or undefined when all is
 * there. Under `CI=true` a missing requirement throws instead, so the suite FAILS rather than skips.
 */
export function requirementSkipReason(requirements: {
  tools?: readonly string[];
  files?: readonly string[];
  root?: boolean;
}): string | undefined {
  const problems: string[] = [];
  const tools = missingTools(requirements.tools ?? []);
  if (tools.length > 0) problems.push(`missing tools: ${tools.join(', ')}`);
  for (const file of requirements.files ?? []) {
    try {
      execFileSync('test', ['-e', file]);
    } catch {
      problems.push(`missing file: ${file}`);
    }
  }
  if (requirements.root === true && process.getuid?.() !== 0) problems.push('must run as root');
  if (problems.length === 0) return undefined;
  const reason = `${problems.join('; ')} (install them with .ci/run)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and a test requirement is missing: ${reason}`);
  return reason;
}
