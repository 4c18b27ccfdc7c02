/**
 * The dashboard server on loopback with a fake stream (an emitter with stats): the page and its files
 * come from the package, the feed sends the window then each second, the token guards both, a Host that
 * is not loopback is refused, and a non-loopback address prints a warning.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../src/core/typed-emitter.js';
import { serveDashboard, type DashboardHandle } from '../../../src/observe/dashboard-server.js';
import { DashboardFeed } from '../../../src/observe/feed.js';
import { exposureWarning, parseListenAddress } from '../../../src/observe/listen-address.js';
import type { StreamerEvents } from '../../../src/streamer.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { outputStats, streamStats } from './fixtures.js';

const URL_WITH_KEY = 'rtmp://127.0.0.1:1935/live/unitsecretkey';
let handles: DashboardHandle[] = [];
let feeds: DashboardFeed[] = [];

afterEach(async () => {
  await Promise.all(handles.map((h) => h.close()));
  for (const f of feeds) f.close();
  handles = [];
  feeds = [];
});

function setup(): {
  source: TypedEmitter<StreamerEvents> & { stats: ReturnType<typeof streamStats> };
  feed: DashboardFeed;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  const source = Object.assign(new TypedEmitter<StreamerEvents>(), { stats: streamStats() });
  const feed = new DashboardFeed(source, {
    clock,
    outputUrls: [URL_WITH_KEY],
    now: () => 1_800_000_000_000 + clock.nowUs() / 1000,
  });
  feeds.push(feed);
  return { source, feed, clock };
}

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads the SSE feed until `count` events arrived. */
function readFeed(
  url: string,
  count: number,
  onOpen: () => void,
): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = request(url, (res) => {
      let buffer = '';
      onOpen();
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as unknown });
          if (events.length >= count) {
            req.destroy();
            resolve(events);
          }
        }
      });
    });
    req.on('error', (e) => (events.length >= count ? undefined : reject(e)));
    req.end();
  });
}

describe('dashboard server', () => {
  it('serves the page, its script and uPlot from the package, with no outside address in them', async () => {
    const { feed } = setup();
    const handle = await serveDashboard(feed);
    handles.push(handle);
    expect(handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(handle.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="uplot.js"></script>');
    for (const file of ['uplot.js', 'uplot.css', 'chart-kit.js', 'charts.js', 'dashboard.js', 'style.css']) {
      const res = await get(new URL(file, handle.url).toString());
      expect(res.status, file).toBe(200);
    }
    expect((await get(new URL('nothing', handle.url).toString())).status).toBe(404);
  });

  it('the feed sends the window so far, then each sample and event, with the key hidden everywhere', async () => {
    const { source, feed, clock } = setup();
    source.emit('stats', source.stats);
    const handle = await serveDashboard(feed);
    handles.push(handle);
    const events = await readFeed(new URL('feed', handle.url).toString(), 3, () => {
      setTimeout(() => {
        clock.advance(1000);
        source.stats = streamStats({ outputs: [outputStats({ dropState: 'dropping' })] });
        source.emit('dropstate', 'rtmp://127.0.0.1:1935/live/****', 'normal', 'dropping');
        source.emit('stats', source.stats);
      }, 50);
    });
    expect(events.map((e) => e.event)).toEqual(['snapshot', 'event', 'sample']);
    expect((events[0]?.data as { samples: unknown[] }).samples).toHaveLength(1);
    expect((events[1]?.data as { kind: string }).kind).toBe('congested');
    expect(JSON.stringify(events)).not.toContain('unitsecretkey');
  });

  it('with a token: refused without it, served with it once, then by cookie', async () => {
    const { feed } = setup();
    const handle = await serveDashboard(feed, { token: 'a-long-token' });
    handles.push(handle);
    expect(handle.url).toMatch(/\/\?token=a-long-token$/);
    const base = handle.url.replace(/\?.*$/, '');
    expect((await get(base)).status).toBe(401);
    expect((await get(`${base}feed`)).status).toBe(401);
    expect((await get(`${base}?token=wrong-token!`)).status).toBe(401);
    const ok = await get(handle.url);
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']).split(';')[0] ?? '';
    expect((await get(`${base}charts.js`, { Cookie: cookie })).status).toBe(200);
    await expect(serveDashboard(feed, { token: 'short' })).rejects.toThrow(/at least 8 characters/);
  });

  it('refuses a Host header that is not loopback (DNS rebinding)', async () => {
    const { feed } = setup();
    const handle = await serveDashboard(feed);
    handles.push(handle);
    expect((await get(handle.url, { Host: 'evil.example:80' })).status).toBe(421);
  });

  it('warns when listening beyond loopback (the words; tests listen on loopback only), and not on loopback', async () => {
    const { feed } = setup();
    const warnings: string[] = [];
    handles.push(await serveDashboard(feed, { host: '127.0.0.1', warn: (l) => warnings.push(l) }));
    expect(warnings).toEqual([]);
    expect(exposureWarning('dashboard', '0.0.0.0', 8080, false)).toBe(
      'warning: the dashboard listens on 0.0.0.0:8080, beyond this machine: anyone who can reach this machine can watch the stream statistics — add a token, or listen on 127.0.0.1',
    );
    expect(exposureWarning('dashboard', '192.0.2.7', 8080, true)).toMatch(/has the token/);
    expect(exposureWarning('dashboard', '127.0.0.5', 8080, false)).toBeNull();
    expect(exposureWarning('metrics endpoint', '::1', 9090, false)).toBeNull();
  });

  it('a port in use is one clear error', async () => {
    const { feed } = setup();
    const first = await serveDashboard(feed);
    handles.push(first);
    const port = Number(new URL(first.url).port);
    await expect(serveDashboard(feed, { port })).rejects.toThrow(
      `cannot listen on 127.0.0.1:${port}: port ${port} is in use; choose another`,
    );
  });
});

describe('listen addresses', () => {
  it.each([
    ['8080', { host: '127.0.0.1', port: 8080 }],
    ['0.0.0.0:9090', { host: '0.0.0.0', port: 9090 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
  ])('%s → %j', (text, address) => {
    expect(parseListenAddress('--dashboard', text)).toEqual(address);
  });

  it.each(['', 'host:', ':99999', 'abc'])('%j is a ConfigError naming the option', (text) => {
    expect(() => parseListenAddress('--metrics', text)).toThrow(
      /^invalid --metrics: .* — give PORT or HOST:PORT/,
    );
  });
});
