import { SteadycastError, type SteadycastErrorOptions } from '../core/errors.js';

/** Base of every RTMP error; `code` is stable, `retryable` says whether a reconnect can help. */
export class RtmpError extends SteadycastError {}

/** Bytes from the peer that break RTMP framing or AMF0 (`ERR_RTMP_PROTOCOL`). */
export class RtmpProtocolError extends RtmpError {
  constructor(message: string, options: SteadycastErrorOptions = {}) {
    // Garbage can come from a glitching proxy or a restarting server: a reconnect may help.
    super('ERR_RTMP_PROTOCOL', message, { retryable: true, ...options });
  }
}

/** The RTMP handshake failed (`ERR_RTMP_HANDSHAKE`). */
export class RtmpHandshakeError extends RtmpError {
  constructor(message: string, options: SteadycastErrorOptions = {}) {
    super('ERR_RTMP_HANDSHAKE', message, { retryable: true, ...options });
  }
}

/** A bad RTMP URL (`ERR_RTMP_URL`): names the problem and the fix; never retryable. */
export class RtmpUrlError extends RtmpError {
  /** Always `url`: the option that is wrong. */
  readonly field = 'url';

  constructor(problem: string, fix: string) {
    super('ERR_RTMP_URL', `invalid RTMP URL: ${problem} — ${fix}`, { retryable: false });
  }
}

/**
 * Status codes a server uses when the stream name is still held by our previous session
 * (nginx-rtmp answers `NetStream.Publish.BadName` "Already publishing" until it notices the
 * old connection died): waiting and retrying fixes these, unlike a wrong key.
 */
const RETRYABLE_STATUS_CODES: ReadonlySet<string> = new Set([
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

  constructor(command: string, statusCode: string, description: string) {
    const detail = [statusCode, description].filter((s) => s !== '').join(': ') || 'no reason given';
    super('ERR_RTMP_REJECTED', `server rejected ${command}: ${detail}`, {
      retryable: RETRYABLE_STATUS_CODES.has(statusCode),
    });
    this.statusCode = statusCode;
    this.description = description;
    this.command = command;
  }
}

/** A network-level failure: connect, DNS, reset, timeout, TLS (codes below). */
export class RtmpConnectionError extends RtmpError {}

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
 * DNS: ENOTFOUND is "this name does not exist" (a typo: not retryable); EAI_AGAIN is a resolver
 * that could not answer now (network down: retryable).
 */
export function mapSocketError(error: unknown, where: string): RtmpError {
  if (error instanceof RtmpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const options = (retryable: boolean): SteadycastErrorOptions => ({ cause: error, retryable });
  switch (code) {
    case 'ECONNREFUSED':
      return new RtmpConnectionError(
        'ERR_RTMP_CONNECTION_REFUSED',
        `connection to ${where} refused: is the server running and the port right?`,
        options(true),
      );
    case 'ENOTFOUND':
      return new RtmpConnectionError(
        'ERR_RTMP_DNS',
        `host of ${where} not found: check the host name in the URL`,
        options(false),
      );
    case 'EAI_AGAIN':
      return new RtmpConnectionError(
        'ERR_RTMP_DNS',
        `could not resolve ${where} now (DNS temporarily unavailable)`,
        options(true),
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return new RtmpConnectionError(
        'ERR_RTMP_UNREACHABLE',
        `no route to ${where} (${code}): check the host in the URL and this machine's network`,
        options(true),
      );
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return new RtmpConnectionError(
        'ERR_RTMP_CONNECTION_RESET',
        `connection to ${where} reset (${String(code)})`,
        options(true),
      );
    default:
      break;
  }
  if (typeof code === 'string' && TLS_CERTIFICATE_CODES.has(code)) {
    return new RtmpConnectionError(
      'ERR_RTMP_TLS_CERTIFICATE',
      `TLS certificate of ${where} rejected (${code}: ${message}): fix the server's certificate ` +
        `or host name, or pass its CA in the tls.ca option`,
      options(false),
    );
  }
  return new RtmpConnectionError(
    'ERR_RTMP_SOCKET',
    `socket error on ${where}: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    options(true),
  );
}
