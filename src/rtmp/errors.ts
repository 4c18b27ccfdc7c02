import { SteadycastError, type SteadycastErrorOptions } from '../core/errors.js';

/** Base of every RTMP error; `code` is stable, `retryable` says whether a reconnect can help. */
export class RtmpError extends SteadycastError {}

/** Bytes from the peer that break RTMP framing or AMF0 (`ERR_RTMP_PROTOCOL`). */
export class RtmpProtocolError extends RtmpError {
  constructor(message: string, options: SteadycastErrorOptions = {}) {
    // Garbage can come from a glitching proxy or a restarting server: a reconnect may help.
    super('ERR_RTMP_PROTOCOL', message, true, options);
  }
}

/** The RTMP handshake failed (`ERR_RTMP_HANDSHAKE`): the peer answered, but not as an RTMP server. */
export class RtmpHandshakeError extends RtmpError {
  constructor(message: string, options: SteadycastErrorOptions = {}) {
    super('ERR_RTMP_HANDSHAKE', message, false, options);
  }
}

/** A bad RTMP URL (`ERR_RTMP_URL`): names the problem and the fix; never retryable. */
export class RtmpUrlError extends RtmpError {
  /** Always `url`: the option that is wrong. */
  readonly field = 'url';

  constructor(problem: string, fix: string) {
    super('ERR_RTMP_URL', `invalid RTMP URL: ${problem} — ${fix}`, false, {});
  }
}

/**
 * Status codes meaning "not now" rather than "no": the stream name is still held by our previous
 * session (nginx-rtmp answers `NetStream.Publish.BadName` "Already publishing" until it notices the
 * old connection died), or the application is going away for a moment. Waiting and retrying fixes
 * these, unlike a wrong key. The one place this list is written.
 */
const NOT_NOW_STATUS_CODES: ReadonlySet<string> = new Set([
  'NetStream.Publish.BadName',
  'NetConnection.Connect.AppShutdown',
  'NetConnection.Connect.IdleTimeout',
]);

/** The server refused a command (`_error`) or sent an error-level `onStatus` (`ERR_RTMP_REJECTED`). */
export class RtmpServerError extends RtmpError {
  /** The server's status code, e.g. `NetStream.Publish.BadName`, or `''` when it sent none. */
  readonly statusCode: string;
  /** The server's description, stream key redacted, or `''`. */
  readonly description: string;
  /** The command that failed, e.g. `connect`, `publish`, or `onStatus` for an unsolicited status. */
  readonly command: string;

  /** `where` is `host:port` (never the stream key). */
  constructor(command: string, statusCode: string, description: string, where: string) {
    const detail = [statusCode, description].filter((s) => s !== '').join(': ') || 'no reason given';
    super(
      'ERR_RTMP_REJECTED',
      `${where} rejected ${command}: ${detail}`,
      NOT_NOW_STATUS_CODES.has(statusCode),
      {},
    );
    this.statusCode = statusCode;
    this.description = description;
    this.command = command;
  }
}

/**
 * The server's connect `_result` says it takes none of the video codecs this session may send
 * (`ERR_RTMP_CODEC_REFUSED`, Enhanced RTMP v2 negotiation). Retrying cannot change its mind.
 */
export class RtmpCodecRefusedError extends RtmpError {
  /** The codecs asked for, e.g. `['hevc']`. */
  readonly refused: readonly string[];
  /** The video FourCCs the server said it takes. */
  readonly serverTakes: readonly string[];

  /** `where` is `host:port` (never the stream key). */
  constructor(where: string, refused: readonly string[], serverTakes: readonly string[]) {
    const takes = serverTakes.length > 0 ? serverTakes.join(', ') : 'no enhanced codec';
    super(
      'ERR_RTMP_CODEC_REFUSED',
      `${where} cannot take ${refused.join(' or ')} video (it takes ${takes}): stream H.264 there ` +
        `(--codec h264), or allow the fallback (--codec ${refused[0] ?? 'hevc'},h264)`,
      false,
      {},
    );
    this.refused = refused;
    this.serverTakes = serverTakes;
  }
}

/** A publish the server accepted and then dropped at once: a rejection in disguise (`ERR_RTMP_REJECTED`). */
export class RtmpRejectedAfterStartError extends RtmpError {
  /** Stands in for the server's status code, which it never sent. */
  readonly statusCode = 'steadycast.Publish.ClosedAfterStart';

  constructor(where: string, cause: Error) {
    super(
      'ERR_RTMP_REJECTED',
      `${where} closed the connection right after accepting the publish (${cause.message}): ` +
        'publishing is probably denied for this app or stream key',
      false,
      { cause },
    );
  }
}

/** Codes of network-level failures, and whether each is worth retrying. */
const CONNECTION_ERROR_RETRYABLE = {
  ERR_RTMP_DNS: true, // EAI_AGAIN; a name that does not exist is constructed with `retryable: false`
  ERR_RTMP_UNREACHABLE: true,
  ERR_RTMP_CONNECTION_REFUSED: true,
  ERR_RTMP_CONNECT_TIMEOUT: true,
  ERR_RTMP_TLS_HANDSHAKE_TIMEOUT: true,
  ERR_RTMP_TLS_CERTIFICATE: false,
  ERR_RTMP_HANDSHAKE_TIMEOUT: true,
  ERR_RTMP_PUBLISH_TIMEOUT: true,
  ERR_RTMP_CONNECTION_RESET: true,
  ERR_RTMP_CLOSED_BY_SERVER: true,
  ERR_RTMP_SOCKET: true,
} as const;

/** The codes an RtmpConnectionError may carry. */
export type RtmpConnectionErrorCode = keyof typeof CONNECTION_ERROR_RETRYABLE;

/** How far a connection got before it failed. */
export type ConnectionPhase = 'connecting' | 'handshaking' | 'negotiating' | 'publishing';

/** Extra facts of a connection failure. */
export interface RtmpConnectionErrorOptions extends SteadycastErrorOptions {
  /** How far the connection got. */
  phase?: ConnectionPhase;
  /** Overrides the code's verdict (a DNS name that does not exist: not retryable). */
  retryable?: boolean;
}

/** A network-level failure: connect, DNS, reset, timeout, TLS, a close by the server. */
export class RtmpConnectionError extends RtmpError {
  /** How far the connection got before it failed, when known. */
  readonly phase: ConnectionPhase | undefined;

  constructor(code: RtmpConnectionErrorCode, message: string, options: RtmpConnectionErrorOptions = {}) {
    super(code, message, options.retryable ?? CONNECTION_ERROR_RETRYABLE[code], options);
    this.phase = options.phase;
  }
}

/** Node error codes of a TLS certificate that retrying cannot fix. */
const TLS_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Maps a socket error to a typed, classified error. `where` is `host:port` (never the stream key).
 * DNS: ENOTFOUND is "this name does not exist" (a typo: not retryable by itself); EAI_AGAIN is a
 * resolver that could not answer now (network down: retryable).
 */
export function mapSocketError(error: unknown, where: string, phase?: ConnectionPhase): RtmpError {
  if (error instanceof RtmpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const fail = (c: RtmpConnectionErrorCode, text: string, retryable?: boolean): RtmpConnectionError =>
    new RtmpConnectionError(c, text, {
      cause: error,
      ...(phase === undefined ? {} : { phase }),
      ...(retryable === undefined ? {} : { retryable }),
    });
  switch (code) {
    case 'ECONNREFUSED':
      return fail(
        'ERR_RTMP_CONNECTION_REFUSED',
        `connection to ${where} refused: is the server running and the port right?`,
      );
    case 'ENOTFOUND':
      return fail('ERR_RTMP_DNS', `host of ${where} not found: check the host name in the URL`, false);
    case 'EAI_AGAIN':
      return fail('ERR_RTMP_DNS', `could not resolve ${where} now (DNS temporarily unavailable)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return fail(
        'ERR_RTMP_UNREACHABLE',
        `no route to ${where} (${code}): check the host in the URL and this machine's network`,
      );
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return fail('ERR_RTMP_CONNECTION_RESET', `connection to ${where} reset (${String(code)})`);
    default:
      break;
  }
  if (typeof code === 'string' && TLS_CERTIFICATE_CODES.has(code)) {
    return fail(
      'ERR_RTMP_TLS_CERTIFICATE',
      `TLS certificate of ${where} rejected (${code}: ${message}): fix the server's certificate ` +
        `or host name, or pass its CA in the tls.ca option`,
    );
  }
  return fail(
    'ERR_RTMP_SOCKET',
    `socket error on ${where}: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
  );
}
