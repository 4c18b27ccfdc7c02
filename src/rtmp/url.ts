import { RtmpUrlError } from './errors.js';

/** An RTMP publish URL, split the way servers expect. */
export interface RtmpUrl {
  /** `rtmp` or `rtmps` (TLS). */
  readonly protocol: 'rtmp' | 'rtmps';
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port: the URL's, else 1935 for rtmp and 443 for rtmps. */
  readonly port: number;
  /** Application: every path segment but the last, e.g. `live` or `app/instance`. */
  readonly app: string;
  /** Stream key: the last path segment plus the query (`key?token=…`). A secret. */
  readonly streamKey: string;
  /** `protocol://host[:port]/app`, as written in the URL (the key is not part of it). */
  readonly tcUrl: string;
}

const DEFAULT_PORTS = { rtmp: 1935, rtmps: 443 } as const;
const EXAMPLE = 'expected rtmp[s]://host[:port]/app[/instance]/STREAM_KEY';

/**
 * Parses `rtmp[s]://host[:port]/app[/instance]/streamKey[?query]`. The last path segment is the
 * key and everything before it the app, so `rtmp://h/app/inst/key` gives app `app/inst`. The query
 * belongs to the key (`key?pwd=x`): servers such as nginx-rtmp read it from the publish name.
 * Throws `RtmpUrlError` naming the problem and the fix; the message never contains the key.
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  if (typeof url !== 'string' || url.trim() === '') throw new RtmpUrlError('the URL is empty', EXAMPLE);
  const trimmed = url.trim();
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?]*)(\?.*)?$/s.exec(trimmed);
  if (!match) {
    throw new RtmpUrlError(`"${redactUrl(trimmed)}" is not a URL`, EXAMPLE);
  }
  const scheme = (match[1] as string).toLowerCase();
  const authority = match[2] as string;
  const path = match[3] as string;
  const query = match[4] ?? '';
  if (scheme !== 'rtmp' && scheme !== 'rtmps') {
    throw new RtmpUrlError(
      `scheme "${scheme}" is not supported`,
      'use rtmp:// or rtmps:// (RTMPT/RTMPE are not supported)',
    );
  }
  const protocol = scheme;
  if (authority.includes('@')) {
    throw new RtmpUrlError(
      'credentials in the URL (user:password@host) are not supported',
      'remove them; services that need a password put it in the stream key or its query',
    );
  }
  const { host, port, explicitPort } = parseAuthority(authority, protocol);

  const segments = path.split('/').slice(1); // path starts with "/" (or is empty)
  if (segments.length < 2 || segments.some((s) => s === '')) {
    const problem =
      segments.length === 0 || segments.every((s) => s === '')
        ? 'the URL has no application and no stream key'
        : segments.length < 2 || segments[segments.length - 1] === ''
          ? 'the URL has no stream key (or no application)'
          : 'the URL path has an empty segment ("//")';
    throw new RtmpUrlError(problem, EXAMPLE);
  }
  const app = segments.slice(0, -1).join('/');
  const streamKey = (segments[segments.length - 1] as string) + query;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const tcUrl = `${protocol}://${hostPart}${explicitPort ? `:${port}` : ''}/${app}`;
  return { protocol, host, port, app, streamKey, tcUrl };
}

function parseAuthority(
  authority: string,
  protocol: 'rtmp' | 'rtmps',
): { host: string; port: number; explicitPort: boolean } {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new RtmpUrlError('unclosed "[" in an IPv6 host', 'write it as [::1]:1935');
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new RtmpUrlError('unexpected text after the IPv6 host', 'write it as [::1]:1935');
    }
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }
  if (host === '' || /[\s<>"{}|\\^`]/.test(host)) {
    throw new RtmpUrlError(host === '' ? 'the URL has no host' : `invalid host "${host}"`, EXAMPLE);
  }
  if (portText === undefined) return { host, port: DEFAULT_PORTS[protocol], explicitPort: false };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new RtmpUrlError(`invalid port "${portText}"`, 'use a number from 1 to 65535, or omit it');
  }
  return { host, port, explicitPort: true };
}

/** Query values shorter than this are not treated as secrets on their own (`?v=1` would garble text). */
const MIN_QUERY_VALUE_SECRET = 4;

/**
 * What must never be printed for this URL: the key, the key without its query, the query, each
 * `name=value` pair of it and each value of 4 characters or more. `redact()` also finds their
 * percent-encoded and decoded forms, in any letter case.
 */
export function secretsOf(url: RtmpUrl | string): string[] {
  let key: string;
  if (typeof url === 'string') {
    try {
      key = parseRtmpUrl(url).streamKey;
    } catch {
      return [];
    }
  } else {
    key = url.streamKey;
  }
  const secrets = [key];
  const q = key.indexOf('?');
  if (q >= 0) {
    const query = key.slice(q + 1);
    secrets.push(key.slice(0, q), query);
    for (const pair of query.split('&')) {
      secrets.push(pair);
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value.length >= MIN_QUERY_VALUE_SECRET) secrets.push(value);
    }
  }
  return [...new Set(secrets.filter((s) => s !== ''))];
}

/** A secret as a server may echo it: as given, percent-decoded, percent-encoded (spaces as %20 or +). */
function spellings(secret: string): string[] {
  const decoded = decodeQuietly(secret);
  const out = [secret, decoded];
  for (const plain of [secret, decoded]) {
    const encoded = encodeURIComponent(plain);
    out.push(encoded, encoded.replace(/%20/g, '+'), encodeURI(plain));
  }
  return out;
}

function decodeQuietly(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text; // a lone "%" is not an escape; the text as given is already a spelling
  }
}

/**
 * Replaces every occurrence of every secret in `text` with `****`: in any letter case (a server may
 * echo the key lowercased) and in percent-encoded or decoded form; longest match first.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const all = [...new Set(secrets.filter((s) => s !== '').flatMap(spellings))];
  if (all.length === 0) return text;
  all.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(all.map(escapeRegExp).join('|'), 'gi');
  return text.replace(pattern, '****');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The URL with the stream key fully replaced by `****`: `rtmp://host/live/****`. Never throws;
 * for an unparsable URL everything after the host is hidden. Full redaction, because even the
 * last characters of a key help guess it and "which key" is not needed to debug a connection.
 */
export function redactUrl(url: string): string {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?([^/?#]*)(.*)$/s.exec(url.trim());
  if (!match) return '****';
  const [, scheme = '', authority = '', rest = ''] = match;
  const safeAuthority = authority.includes('@')
    ? `****@${authority.slice(authority.lastIndexOf('@') + 1)}`
    : authority;
  if (rest === '') return `${scheme}${safeAuthority}`;
  const path = rest.split('?')[0] as string;
  const segments = path.split('/');
  if (segments.length >= 3 && segments.slice(1, -1).every((s) => s !== '')) {
    return `${scheme}${safeAuthority}${segments.slice(0, -1).join('/')}/****`;
  }
  return `${scheme}${safeAuthority}/****`;
}

/**
 * The publish URL a `NetConnection.Connect.ReconnectRequest` points at (Enhanced RTMP v2, "Reconnect
 * Request"): its `tcUrl` — absolute (`rtmp://host/app`), scheme-relative (`//host/app`) or
 * host-relative (`/app`) — resolved against the current URL, with the current stream key; without a
 * `tcUrl`, the current URL. The result is parsed as any publish URL (the last segment is the key), so
 * the app follows the same rules. Throws `RtmpUrlError` for a `tcUrl` that is no RTMP server URL, and
 * for a move from rtmps:// to rtmp://, which would send the key in the clear.
 */
export function reconnectUrl(currentUrl: string, tcUrl: string | undefined): string {
  const current = parseRtmpUrl(currentUrl);
  if (tcUrl === undefined) return currentUrl;
  const fix = 'the server should send an rtmp[s]://host[:port]/app tcUrl';
  if (/[?#\s]/.test(tcUrl) || tcUrl === '') {
    throw new RtmpUrlError(`reconnect tcUrl "${redactUrl(tcUrl)}" is not a server URL`, fix);
  }
  let resolved: string;
  try {
    // WHATWG URL resolution treats rtmp:// as a URL with a host, so `//h/app` and `/app` resolve
    // against the current tcUrl as RFC 3986 §5.2 says.
    resolved = new URL(tcUrl, current.tcUrl).href;
  } catch {
    throw new RtmpUrlError(`reconnect tcUrl "${redactUrl(tcUrl)}" is not a URL`, fix);
  }
  const next = parseRtmpUrl(`${resolved.replace(/\/+$/, '')}/${current.streamKey}`);
  if (current.protocol === 'rtmps' && next.protocol === 'rtmp') {
    throw new RtmpUrlError(
      'the server asked to move from rtmps:// to rtmp://',
      'the key would travel in the clear; staying on rtmps://',
    );
  }
  return `${next.tcUrl}/${next.streamKey}`;
}
