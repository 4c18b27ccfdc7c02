import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';

/** Where a server listens. */
export interface ListenAddress {
  /** Host name or IP address; default 127.0.0.1. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
}

/** Parses `[HOST:]PORT` (`8080`, `0.0.0.0:8080`, `[::1]:8080`); `field` names the option in errors. */
export function parseListenAddress(field: string, text: string): ListenAddress {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new ConfigError(field, text, 'give PORT or HOST:PORT, e.g. 8080 or 127.0.0.1:8080');
  }
  const host = (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  return { host, port };
}

/** Whether `host` is this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** The warning printed when a server listens beyond loopback, or null for loopback. */
export function exposureWarning(
  what: string,
  host: string,
  port: number,
  tokenRequired: boolean,
): string | null {
  if (isLoopback(host)) return null;
  const access = tokenRequired
    ? 'anyone who can reach it and has the token can watch the stream statistics'
    : 'anyone who can reach this machine can watch the stream statistics — add a token, or listen on 127.0.0.1';
  return `warning: the ${what} listens on ${host}:${port}, beyond this machine: ${access}`;
}

/** An http(s) URL for a listening address (IPv6 in brackets; the any-address shown as loopback). */
export function urlOf(host: string, port: number, path = '/'): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const h = isIP(shown) === 6 ? `[${shown}]` : shown;
  return `http://${h}:${port}${path}`;
}
