/**
 * Netns scenario of test/integration/dashboard.test.ts (run by runScenarioInNetns): the real
 * `steadycast stream --dashboard` CLI → nginx-rtmp, the server's port throttled with tc; Debian's
 * chromium (playwright-core, the system browser, in the same namespace: only loopback) watches the
 * dashboard through a clean lead, a throttle and the recovery. Prints a DashboardScenarioResult as the
 * LAST stdout line; the screenshots go to `args.artifacts`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { readStatsFile } from '../helpers/cli.js';
import { setRate, setupLoopback, shapePort } from '../helpers/netns.js';
import { startNginxRtmp } from '../helpers/nginx-rtmp.js';
import { freePort, makeTempDir, sleep, spawnTracked, stopProcess } from '../helpers/process.js';

/** What the test asks for. */
export interface DashboardScenarioArgs {
  readonly leadS: number;
  readonly throttleS: number;
  readonly recoverS: number;
  readonly rateKbit: number;
  readonly artifacts: string;
  readonly cli: string;
}

/** What the page showed, read from its DOM, and what the CLI wrote. */
export interface DashboardPageReading {
  readonly state: string;
  readonly latencyPoints: number;
  readonly congestedEvents: number;
  readonly timeline: string[];
  readonly sentence: string;
  readonly html: string;
}

/** The scenario's result. */
export interface DashboardScenarioResult {
  readonly exitCode: number | string;
  readonly dashboardUrl: string | null;
  readonly during: DashboardPageReading | null;
  readonly after: DashboardPageReading | null;
  readonly feedRequests: string[];
  readonly pageErrors: string[];
  readonly finalStats: Record<string, unknown> | null;
  readonly stderr: string;
  readonly screenshots: string[];
}

// The page's own DOM, read in the page (a string: this project's TypeScript has no DOM types).
const READ_PAGE = `(() => {
  const chart = document.querySelector('#latency-chart');
  return {
    state: document.querySelector('#state')?.textContent ?? '',
    latencyPoints: Number(chart?.dataset.points ?? 0),
    congestedEvents: document.querySelectorAll('#timeline .kind-congested').length,
    timeline: [...document.querySelectorAll('#timeline li')].map((li) => li.textContent ?? ''),
    sentence: document.querySelector('#sentence')?.textContent ?? '',
    html: document.documentElement.outerHTML,
  };
})()`;

const args = JSON.parse(process.argv[2] ?? '{}') as DashboardScenarioArgs;
const UNLIMITED_KBIT = 10_000_000;
const KEY = 'dashsecretkey';

setupLoopback();
const dir = makeTempDir('dashboard');
const nginx = await startNginxRtmp();
shapePort(nginx.port);
const port = await freePort();
const statsFile = join(dir, 'stats.jsonl');
const cli = spawnTracked(
  process.execPath,
  [
    args.cli,
    'stream',
    nginx.url('live', KEY),
    '--dashboard',
    `127.0.0.1:${port}`,
    '--stats-file',
    statsFile,
    '--quiet',
  ],
  { env: { ...process.env, UV_THREADPOOL_SIZE: '8' } },
);

const dashboardUrl = await waitFor(() => /dashboard: (http\S+)/.exec(cli.stderr())?.[1], 20_000);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
const pageErrors: string[] = [];
const feedRequests: string[] = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(m.text());
});
page.on('request', (r) => feedRequests.push(r.url()));

const screenshots: string[] = [];
let during: DashboardPageReading | null = null;
let after: DashboardPageReading | null = null;
if (dashboardUrl) {
  await page.goto(dashboardUrl);
  await waitFor(
    () => (existsSync(statsFile) && readStatsFile(statsFile).length > 0 ? true : undefined),
    30_000,
  );
  await sleep(args.leadS * 1000);
  setRate(nginx.port, args.rateKbit);
  await sleep(args.throttleS * 1000);
  during = await read();
  screenshots.push(await shot('dashboard-congested.png'));
  setRate(nginx.port, UNLIMITED_KBIT);
  await sleep(Math.max(1, args.recoverS - 4) * 1000);
  after = await read();
  screenshots.push(await shot('dashboard.png'));
}
// The page is read while the stream runs; then the browser closes and the stream ends with Ctrl-C (exit 0),
// so nothing depends on how long the machine took to get here.
await browser.close();
cli.child.kill('SIGINT');
const exitCode = await Promise.race([cli.exited, sleep(20_000).then(() => 'timeout' as const)]);
if (exitCode === 'timeout') await stopProcess(cli, 'SIGKILL');
await nginx.stop();
const stats = existsSync(statsFile) ? readStatsFile(statsFile) : [];

const result: DashboardScenarioResult = {
  exitCode,
  dashboardUrl: dashboardUrl ?? null,
  during,
  after,
  feedRequests,
  pageErrors,
  finalStats: stats[stats.length - 1] ?? null,
  stderr: cli.stderr().slice(-3000),
  screenshots,
};
console.log(JSON.stringify(result));
process.exit(0);

async function read(): Promise<DashboardPageReading> {
  return (await page.evaluate(READ_PAGE)) as DashboardPageReading;
}

async function shot(name: string): Promise<string> {
  const path = join(args.artifacts, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function waitFor<T>(get: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(100);
  }
}
