import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Timer } from '../core/clock.js';
import { ConfigError, SteadycastError } from '../core/errors.js';
import { contentTypeOf, readAsset, type AssetName } from './assets.js';
import type { DashboardFeed, FeedMessage } from './feed.js';
import { exposureWarning, isLoopback, urlOf } from './listen-address.js';

/** Options of `serveDashboard()`. */
export interface DashboardOptions {
  /** Address to listen on; default 127.0.0.1 (this machine only). */
  host?: string;
  /** TCP port; default 0 (a free port: read it from `url`). */
  port?: number;
  /** When set, the page and the feed require it (`?token=…` once, then a cookie). Default none. */
  token?: string;
  /** Where the warning for a non-loopback address goes; default stderr. */
  warn?: (line: string) => void;
}

/** A running dashboard. */
export interface DashboardHandle {
  /** The page's address (with `?token=…` when a token is required). Never contains a stream key. */
  readonly url: string;
  /** Stops the server and ends every open feed. Idempotent. */
  close(): Promise<void>;
}

/** How often an idle feed gets a comment, so proxies and browsers keep it open, ms. */
const KEEPALIVE_MS = 15_000;
const COOKIE = 'steadycast_dashboard';

const ASSETS: Readonly<Record<string, AssetName>> = {
  '/': 'dashboard.html',
  '/dashboard.js': 'dashboard.js',
  '/chart-kit.js': 'chart-kit.js',
  '/charts.js': 'charts.js',
  '/style.css': 'style.css',
  '/uplot.js': 'uplot.js',
  '/uplot.css': 'uplot.css',
};

/**
 * Serves the live dashboard: one page (its script, styles and uPlot, all from the package: no network)
 * and a Server-Sent Events feed at `/feed` (`snapshot`, then `sample` and `event` messages).
 */
export async function serveDashboard(
  feed: DashboardFeed,
  options: DashboardOptions = {},
): Promise<DashboardHandle> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? null;
  if (token !== null && token.length < 8) {
    throw new ConfigError('dashboard token', '(hidden)', 'use at least 8 characters');
  }
  const feeds = new Set<ServerResponse>();
  const server = createServer((req, res) => handle(req, res));
  await listen(server, host, options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  const warning = exposureWarning('dashboard', host, port, token !== null);
  if (warning) (options.warn ?? ((line) => void process.stderr.write(`${line}\n`)))(warning);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'only GET');
    // A page elsewhere that resolves its own name to 127.0.0.1 (DNS rebinding) sends its name as Host.
    if (isLoopback(host) && !loopbackHostHeader(req.headers.host)) return end(res, 421, 'wrong Host');
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (token !== null && !authorised(req, url, token)) {
      return end(res, 401, 'this dashboard needs its token: open the URL steadycast printed (…?token=…)');
    }
    if (token !== null && url.searchParams.get('token') === token) {
      res.setHeader(
        'Set-Cookie',
        `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      );
    }
    if (url.pathname === '/feed') return openFeed(res);
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    const asset = ASSETS[url.pathname];
    if (!asset) return end(res, 404, 'not found');
    res.writeHead(200, {
      'Content-Type': contentTypeOf(asset),
      'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
    });
    res.end(req.method === 'HEAD' ? undefined : readAsset(asset));
  }

  function openFeed(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    send(res, 'snapshot', feed.snapshot());
    const unsubscribe = feed.subscribe((message: FeedMessage) =>
      send(res, message.type, message.type === 'sample' ? message.sample : message.event),
    );
    let keepalive: Timer = feed.clock.setTimer(function beat() {
      res.write(': keepalive\n\n');
      keepalive = feed.clock.setTimer(beat, KEEPALIVE_MS);
    }, KEEPALIVE_MS);
    feeds.add(res);
    res.on('close', () => {
      keepalive.cancel();
      unsubscribe();
      feeds.delete(res);
    });
  }

  let closing: Promise<void> | null = null;
  return {
    url: urlOf(host, port, token === null ? '/' : `/?token=${encodeURIComponent(token)}`),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const res of feeds) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

function authorised(req: IncomingMessage, url: URL, token: string): boolean {
  const given = [url.searchParams.get('token'), cookieValue(req.headers.cookie, COOKIE)];
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) given.push(auth.slice('Bearer '.length));
  return given.some((value) => value !== null && sameSecret(value, token));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

function loopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : (header.split(':')[0] ?? '');
  return isLoopback(name);
}

/** A server could not listen where it was told (port in use, not an address of this machine): a setting to fix. */
export class ListenError extends SteadycastError {
  constructor(message: string, cause: unknown) {
    super('ERR_CONFIG', message, false, { cause });
  }
}

/** Listens, turning "address in use" and friends into one clear error. */
export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${port} is in use; choose another`
          : error.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine`
            : error.code === 'EACCES'
              ? `no permission to listen on port ${port} (ports under 1024 need root)`
              : error.message;
      reject(new ListenError(`cannot listen on ${host}:${port}: ${why}`, error));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
