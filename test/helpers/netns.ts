/**
 * Real bandwidth limits and loss with Linux tc and nftables, inside a private network namespace.
 *
 * The test process stays where it is and spawns a scenario with `runScenarioInNetns()`
 * (`unshare -n node --import ts-hooks.mjs scenario.ts`); the scenario — which starts the server, the
 * publisher and the shaping itself, since only loopback exists in there — calls `setupLoopback()`,
 * `shapePort()`, `setRate()`, `setLoss()` and prints its JSON result as the LAST line of stdout.
 *
 * Shaping follows the recipe in docs/architecture.md (this kernel: htb, tbf, u32, nftables; no netem, no
 * prio): an htb root whose default class is unshaped, one htb class per shaped destination port with a
 * tbf under it, selected by a u32 match on the destination port — so only publisher → server is
 * limited, never the server's acknowledgements.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type RunResult } from './process.js';

/** The loader that lets `node` run TypeScript scenarios (`node --import TS_HOOKS file.ts`). */
export const TS_HOOKS = join(dirname(fileURLToPath(import.meta.url)), 'ts-hooks.mjs');

/** tbf parameters used for every shaped port (the docs/architecture.md recipe). */
export const TBF_BURST = '32kb';
/** tbf queueing limit, expressed as latency. */
export const TBF_LATENCY = '400ms';

const PARENT_NETNS_ENV = 'STEADYCAST_PARENT_NETNS';

function netnsInode(pid: string): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

/**
 * Whether this process runs in a private network namespace (never shape the host's lo): its namespace
 * differs from the one `runInNetns()` was called from (or PID 1's); without either, only `lo` exists.
 */
export function isPrivateNetns(): boolean {
  const own = netnsInode('self');
  const parent = Number(process.env[PARENT_NETNS_ENV] ?? NaN) || netnsInode('1');
  if (own !== undefined && parent !== undefined) return own !== parent;
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
  return links.length === 1 && /^\d+: lo:/.test(links[0] ?? '');
}

function assertPrivateNetns(): void {
  if (!isPrivateNetns()) {
    throw new Error(
      'refusing to change tc/nftables outside a private network namespace (use runScenarioInNetns)',
    );
  }
}

function sh(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

/** Inside the namespace: `lo` up with MTU 1500 (tbf needs packets smaller than its burst). */
export function setupLoopback(): void {
  assertPrivateNetns();
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('ip', ['link', 'set', 'lo', 'mtu', '1500']);
}

const shapedPorts = new Map<number, number>(); // port → htb class minor (0x10, 0x11, …)
let rootInstalled = false;

function tbfArgs(verb: 'add' | 'change', minor: number, rate: string): string[] {
  const hex = minor.toString(16);
  return ['qdisc', verb, 'dev', 'lo', 'parent', `1:${hex}`, 'handle', `${hex}:`].concat([
    'tbf',
    'rate',
    rate,
    'burst',
    TBF_BURST,
    'latency',
    TBF_LATENCY,
  ]);
}

/**
 * Inside the namespace: limits traffic TO `port` on lo to `rateKbit` (default: 10 gbit, i.e. installed
 * but not limiting yet). Call `setupLoopback()` first.
 */
export function shapePort(port: number, rateKbit?: number): void {
  assertPrivateNetns();
  if (!rootInstalled) {
    sh('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '20']);
    sh('tc', ['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit']);
    rootInstalled = true;
  }
  if (shapedPorts.has(port)) {
    if (rateKbit !== undefined) setRate(port, rateKbit);
    return;
  }
  const minor = 0x10 + shapedPorts.size;
  if (minor >= 0x20) throw new Error('at most 16 shaped ports per namespace');
  const hex = minor.toString(16);
  sh('tc', ['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', `1:${hex}`, 'htb', 'rate', '10gbit']);
  sh(
    'tc',
    ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1'].concat([
      'u32',
      'match',
      'ip',
      'dport',
      String(port),
      '0xffff',
      'flowid',
      `1:${hex}`,
    ]),
  );
  sh('tc', tbfArgs('add', minor, rateKbit === undefined ? '10gbit' : `${rateKbit}kbit`));
  shapedPorts.set(port, minor);
}

/** Inside the namespace: changes the rate of a port shaped by `shapePort()` at runtime, kbit/s. */
export function setRate(port: number, rateKbit: number): void {
  assertPrivateNetns();
  const minor = shapedPorts.get(port);
  if (minor === undefined) throw new Error(`port ${port} is not shaped: call shapePort(${port}) first`);
  sh('tc', tbfArgs('change', minor, `${rateKbit}kbit`));
}

const lossByPort = new Map<number, number>();

/** Inside the namespace: drops `percent` % of packets TO `port` at random (nftables numgen); 0 removes it. */
export function setLoss(port: number, percent: number): void {
  assertPrivateNetns();
  if (percent > 0) lossByPort.set(port, Math.min(100, Math.round(percent)));
  else lossByPort.delete(port);
  sh('nft', ['add', 'table', 'inet', 'steadycast']);
  sh('nft', ['add chain inet steadycast output { type filter hook output priority 0; policy accept; }']);
  sh('nft', ['flush', 'chain', 'inet', 'steadycast', 'output']);
  for (const [p, pct] of lossByPort) {
    sh('nft', [`add rule inet steadycast output tcp dport ${p} numgen random mod 100 < ${pct} drop`]);
  }
}

/** Inside the namespace: the tc statistics of lo (sent bytes, drops, overlimits), for diagnostics. */
export function tcStats(): string {
  return execFileSync('tc', ['-s', 'qdisc', 'show', 'dev', 'lo'], { encoding: 'utf8' });
}

/** Result of a namespaced run: the command's output plus its last stdout line parsed as JSON. */
export interface NetnsRunResult<T> extends RunResult {
  /** The last non-empty stdout line, parsed as JSON (undefined if it is not JSON). */
  json: T | undefined;
}

/** Runs any command in a fresh private network namespace (`unshare -n`; needs root). */
export async function runInNetns<T = unknown>(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<NetnsRunResult<T>> {
  const run = await runCommand('unshare', ['--net', '--', command, ...args], {
    timeoutMs: options.timeoutMs ?? 120_000,
    env: { ...scenarioEnv(options.env ?? process.env), [PARENT_NETNS_ENV]: String(netnsInode('self') ?? '') },
    cwd: options.cwd,
  });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let json: T | undefined;
  try {
    json = JSON.parse(last) as T;
  } catch {
    json = undefined;
  }
  return { ...run, json };
}

// A scenario is plain node, not a vitest worker: vitest's variables would make helpers act as in one.
function scenarioEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('VITEST')));
}

/** Runs a TypeScript scenario with `node` in a fresh private network namespace; see the file comment. */
export function runScenarioInNetns<T = unknown>(
  scenarioFile: string,
  args: readonly string[] = [],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<NetnsRunResult<T>> {
  return runInNetns<T>(process.execPath, ['--import', TS_HOOKS, scenarioFile, ...args], options);
}
