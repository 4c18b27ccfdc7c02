/**
 * Seeing a stream (issue 12), with real components: the live dashboard in Debian's chromium while the
 * stream goes through a tc throttle to nginx-rtmp; the report of a stream that lived through a server
 * crash, opened in the same browser with no network; and /metrics scraped during a stream and parsed
 * by a strict Prometheus text parser. Screenshots are kept in test-artifacts/ (ignored by git).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/observe/metrics.js';
import { Streamer } from '../../src/streamer.js';
import { CLI, readStatsFile, runCli } from '../helpers/cli.js';
import { runScenarioInNetns } from '../helpers/netns.js';
import { NGINX_RTMP_MODULE, startNginxRtmp, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { makeTempDir, requirementSkipReason, sleep } from '../helpers/process.js';
import type { DashboardScenarioArgs, DashboardScenarioResult } from './dashboard-scenario.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(here, 'dashboard-scenario.ts');
const ARTIFACTS = join(here, '..', '..', 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const missingServer = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const missingBrowser = requirementSkipReason({ files: [CHROMIUM] });
const missingNetns = requirementSkipReason({ tools: ['unshare', 'tc', 'ip'], root: true });
mkdirSync(ARTIFACTS, { recursive: true });
const dir = makeTempDir('dashboard-test');

describe.skipIf(missingServer || missingBrowser || missingNetns)('live dashboard in chromium', () => {
  it('through a tc throttle to nginx-rtmp: ≥ 20 latency points, the congestion episode in the timeline, state live, no key anywhere', async () => {
    const args: DashboardScenarioArgs = {
      leadS: 12,
      throttleS: 12,
      recoverS: 10,
      rateKbit: 700, // about a quarter of the stream's 2.66 Mbit/s
      artifacts: ARTIFACTS,
      cli: CLI,
    };
    const run = await runScenarioInNetns<DashboardScenarioResult>(SCENARIO, [JSON.stringify(args)], {
      timeoutMs: 150_000,
    });
    const r = run.json;
    if (run.code !== 0 || !r)
      throw new Error(
        `scenario failed (${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
      );
    const why = JSON.stringify({
      during: r.during?.timeline,
      after: r.after?.timeline,
      stderr: r.stderr,
      errors: r.pageErrors,
    });
    expect(r.exitCode, why).toBe(0);
    expect(r.pageErrors, why).toEqual([]);
    expect(r.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const after = r.after;
    if (!after || !r.during) throw new Error(`the page was never read: ${why}`);
    expect(after.latencyPoints, why).toBeGreaterThanOrEqual(20);
    expect(r.during.congestedEvents + after.congestedEvents, why).toBeGreaterThan(0);
    expect(
      after.timeline.some((line) => /congested at \d+ ms: dropping video/.test(line)),
      why,
    ).toBe(true);
    expect(after.state, why).toBe('live');
    // The stream key: not in the page, not in any URL the page asked for, not in the stats.
    for (const text of [r.during.html, after.html, ...r.feedRequests, JSON.stringify(r.finalStats)]) {
      expect(text).not.toContain('dashsecretkey');
    }
    // Everything the page loaded came from the dashboard itself.
    for (const url of r.feedRequests) expect(url.startsWith(r.dashboardUrl ?? '-')).toBe(true);
    const final = r.finalStats as { videoPacketsDropped: number; outputs: { congestionEvents: number }[] };
    expect(final.videoPacketsDropped, why).toBeGreaterThan(0);
    expect(final.outputs[0]?.congestionEvents, why).toBeGreaterThan(0);
    console.log(`dashboard screenshots: ${r.screenshots.join(', ')}; page said "${after.sentence}"`);
  }, 180_000);
});

describe.skipIf(missingServer)('metrics and the report against nginx-rtmp', () => {
  let nginx: NginxRtmpHandle;
  beforeAll(async () => {
    nginx = await startNginxRtmp({ dropIdlePublisherS: 2 });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('/metrics scraped during a stream parses strictly, its counters equal the final stats, no label holds the key', async () => {
    const key = 'metricssecretkey';
    const streamer = new Streamer({ outputs: [nginx.url('live', key)], video: { width: 640, height: 360 } });
    const metrics = await serveMetrics(streamer.metricsRegistry());
    try {
      await streamer.start();
      await sleep(4000);
      const during = await (await fetch(metrics.url)).text();
      const parsedDuring = parsePrometheusTextFormat(during) as Family[];
      expect(counter(parsedDuring, 'steadycast_frames_captured_total')).toBeGreaterThan(60);
      await sleep(2000);
      await streamer.stop();
      const text = await (await fetch(metrics.url)).text();
      const families = parsePrometheusTextFormat(text) as Family[];
      const stats = streamer.stats;
      expect(text.toLowerCase()).not.toContain(key);
      expect(during.toLowerCase()).not.toContain(key);
      for (const family of [...parsedDuring, ...families]) {
        for (const m of family.metrics) expect(JSON.stringify(m.labels ?? {})).not.toContain(key);
      }
      const output = stats.outputs[0];
      if (!output) throw new Error('no output stats');
      expect(counter(families, 'steadycast_frames_captured_total')).toBe(stats.framesCaptured);
      expect(counter(families, 'steadycast_frames_duplicated_total')).toBe(stats.framesDuplicated);
      expect(counter(families, 'steadycast_frames_lagged_total')).toBe(stats.framesLagged);
      expect(counter(families, 'steadycast_sent_bytes_total')).toBe(stats.bytesSent);
      expect(counter(families, 'steadycast_reconnects_total')).toBe(stats.reconnectCount);
      expect(
        counter(families, 'steadycast_packets_dropped_total', { kind: 'video', reason: 'disconnected' }),
      ).toBe(stats.packetsDroppedWhileDisconnected.video);
      const congestion = ['congestion-latency', 'congestion-packets', 'congestion-bytes', 'gop-broken']
        .map((reason) => counter(families, 'steadycast_packets_dropped_total', { kind: 'video', reason }))
        .reduce((a, b) => a + b, 0);
      expect(congestion).toBe(stats.videoPacketsDropped);
      expect(
        counter(families, 'steadycast_packets_dropped_total', { kind: 'audio', reason: 'congestion' }),
      ).toBe(0);
      expect(counter(families, 'steadycast_sent_bytes_total')).toBeGreaterThan(
        counter(parsedDuring, 'steadycast_sent_bytes_total'),
      );
    } finally {
      await streamer.stop();
      await metrics.close();
    }
  }, 60_000);

  it.skipIf(missingBrowser)(
    'the report of a stream through a server crash opens offline in chromium and shows the outage as a gap with its duration',
    async () => {
      const statsFile = join(dir, 'reconnect-stats.jsonl');
      const running = runCli(
        ['stream', nginx.url('live', 'reportkey'), '--duration', '24', '--stats-file', statsFile],
        90_000,
      );
      await waitForLines(statsFile, 6);
      await nginx.kill();
      await sleep(5000);
      await nginx.restart();
      const run = await running;
      expect(run.code, run.stderr).toBe(0);
      const reportFile = join(dir, 'reconnect-stats.html');
      expect(run.stderr).toContain(`report: ${reportFile} — open it in a browser:`);
      expect(run.stderr).toContain(`stats file: ${statsFile}`);
      expect(run.stderr).toMatch(/state: live -> reconnecting \(.+\)/);
      const stats = readStatsFile(statsFile);
      const final = stats[stats.length - 1] as { reconnectCount: number; outputs: { downtimeMs: number }[] };
      expect(final.reconnectCount).toBe(1);
      const downtimeMs = final.outputs[0]?.downtimeMs ?? 0;
      // The timeline made it into the stats file: the disconnect, with its reason.
      const events = stats.flatMap((s) => (s.events as { kind: string; text: string }[] | undefined) ?? []);
      expect(events.some((e) => e.kind === 'disconnected')).toBe(true);

      const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
      try {
        const context = await browser.newContext({ offline: true, viewport: { width: 1440, height: 1000 } });
        const requests: string[] = [];
        await context.route('**/*', (route) => {
          requests.push(route.request().url());
          return route.request().url().startsWith('file:') ? route.continue() : route.abort();
        });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`file://${reportFile}`);
        await page.waitForSelector('#outages .outage');
        const reading = (await page.evaluate(`(() => ({
          durations: [...document.querySelectorAll('#outages .outage-duration')].map((td) => td.textContent),
          points: Number(document.querySelector('#latency-chart')?.dataset.points ?? 0),
          summary: document.querySelector('#summary')?.textContent ?? '',
          html: document.documentElement.outerHTML,
        }))()`)) as { durations: string[]; points: number; summary: string; html: string };
        await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
        expect(errors).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
        // One outage, its length as the output counted it (shown to a tenth of a second).
        expect(reading.durations).toEqual([`${(downtimeMs / 1000).toFixed(1)} s`]);
        expect(downtimeMs).toBeGreaterThan(4000);
        expect(downtimeMs).toBeLessThan(12_000);
        // A gap: fewer latency points than seconds of stream, by about the outage.
        expect(stats.length - reading.points).toBeGreaterThanOrEqual(Math.floor(downtimeMs / 1000) - 1);
        expect(reading.html).not.toContain('reportkey');
        expect(readFileSync(reportFile, 'utf8')).not.toContain('reportkey');
      } finally {
        await browser.close();
      }
    },
    120_000,
  );
});

describe.skipIf(!existsSync('/dev/full'))('a stats file on a full disk', () => {
  it('is one line naming the path and "disk full"; the recording goes on and the run exits 0', async () => {
    const out = join(dir, 'full-disk.flv');
    const run = await runCli(['encode', out, '--duration', '3', '--stats-file', '/dev/full'], 60_000);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.includes('/dev/full'));
    expect(lines).toEqual([
      'stats file /dev/full: disk full — no more lines are written to it; the stream goes on',
      '  stats file: /dev/full (incomplete: disk full)',
    ]);
    expect(run.stderr).not.toContain('    at ');
    expect(statSync(out).size).toBeGreaterThan(100_000);
  }, 60_000);
});

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

function counter(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  if (!family) throw new Error(`no ${name}`);
  return family.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value), 0);
}

async function waitForLines(file: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if (readStatsFile(file).length >= count) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`${file} has fewer than ${count} lines after 30 s`);
    await sleep(200);
  }
}
