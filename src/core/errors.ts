/**
 * Every stable error code steadycast raises: one union, so a table keyed by it (the CLI's exit
 * codes) is checked for exhaustiveness by the compiler. Each error class fixes its code (or, for a
 * family such as connection errors, the subset it may carry).
 */
export type ErrorCode =
  // A bad option or call.
  | 'ERR_CONFIG'
  | 'ERR_INVALID_STATE'
  | 'ERR_ABORTED'
  // Media and devices.
  | 'ERR_MEDIA'
  | 'ERR_DEVICE'
  // A recording that stopped early (disk full, unwritable, I/O error).
  | 'ERR_RECORDING'
  // Malformed AMF0 (RTMP turns it into ERR_RTMP_PROTOCOL).
  | 'ERR_AMF0'
  // Any transport: no progress at all while data was pending.
  | 'ERR_STALLED'
  // RTMP: the URL, then the connection's phases in order, then what the server did.
  | 'ERR_RTMP_URL'
  | 'ERR_RTMP_DNS'
  | 'ERR_RTMP_UNREACHABLE'
  | 'ERR_RTMP_CONNECTION_REFUSED'
  | 'ERR_RTMP_CONNECT_TIMEOUT'
  | 'ERR_RTMP_TLS_HANDSHAKE_TIMEOUT'
  | 'ERR_RTMP_TLS_CERTIFICATE'
  | 'ERR_RTMP_HANDSHAKE'
  | 'ERR_RTMP_HANDSHAKE_TIMEOUT'
  | 'ERR_RTMP_PUBLISH_TIMEOUT'
  | 'ERR_RTMP_REJECTED'
  | 'ERR_RTMP_CODEC_REFUSED'
  | 'ERR_RTMP_PROTOCOL'
  | 'ERR_RTMP_CONNECTION_RESET'
  | 'ERR_RTMP_CLOSED_BY_SERVER'
  | 'ERR_RTMP_SOCKET';

/** Options common to every steadycast error. */
export interface SteadycastErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base of every error steadycast raises: a stable `code`, a `cause`, and whether retrying helps.
 * `retryable` is the error's own verdict ("trying the same thing again can succeed"); whether an
 * output retries also depends on its history (see FailureClassifier).
 */
export class SteadycastError extends Error {
  /** Stable machine-readable code, e.g. `ERR_RTMP_HANDSHAKE_TIMEOUT`. */
  readonly code: ErrorCode;
  /** Whether retrying the same operation can succeed. */
  readonly retryable: boolean;

  protected constructor(
    code: ErrorCode,
    message: string,
    retryable: boolean,
    options: SteadycastErrorOptions,
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** A bad option (`ERR_CONFIG`): names the field, the value and the fix. */
export class ConfigError extends SteadycastError {
  /** The option that is wrong, e.g. `video.fps`. */
  readonly field: string;

  constructor(field: string, value: unknown, fix: string) {
    super('ERR_CONFIG', `invalid ${field}: ${describe(value)} — ${fix}`, false, {});
    this.field = field;
  }
}

/** A call that the object's current state does not allow, e.g. `start()` after `stop()` (`ERR_INVALID_STATE`). */
export class InvalidStateError extends SteadycastError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message, false, {});
  }
}

/** Work given up because the caller asked: `stop()` during `start()`, an aborted signal (`ERR_ABORTED`). */
export class AbortError extends SteadycastError {
  constructor(message: string, options: SteadycastErrorOptions = {}) {
    super('ERR_ABORTED', message, false, options);
  }
}

/** A failure inside FFmpeg (node-av), with the operation that failed (`ERR_MEDIA`). */
export class MediaError extends SteadycastError {
  constructor(operation: string, detail: string, options: SteadycastErrorOptions = {}) {
    super('ERR_MEDIA', `${operation} failed: ${detail}`, false, options);
  }
}

/** A capture device that is missing, busy or failed (`ERR_DEVICE`); `retryable` when reopening may help. */
export class DeviceError extends SteadycastError {
  constructor(message: string, options: SteadycastErrorOptions & { retryable?: boolean } = {}) {
    super('ERR_DEVICE', message, options.retryable ?? false, options);
  }
}

/** A connection that made no progress at all while data was pending (`ERR_STALLED`): dead, not slow. */
export class StallError extends SteadycastError {
  constructor(message: string) {
    super('ERR_STALLED', message, true, {});
  }
}

/** `error` if it is one, else an Error carrying its text. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
