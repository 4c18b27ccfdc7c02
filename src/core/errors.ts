/** Options common to every steadycast error. */
export interface SteadycastErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Whether trying the same thing again can help (a reset: yes; a rejected stream key: no). */
  retryable?: boolean;
}

/** Base of every error steadycast raises: a stable `code`, a `cause`, and whether retrying helps. */
export class SteadycastError extends Error {
  /** Stable machine-readable code, e.g. `ERR_RTMP_HANDSHAKE_TIMEOUT`. */
  readonly code: string;
  /** Whether retrying the same operation can succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: SteadycastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A bad option: names the field, the value and the fix. */
export class ConfigError extends SteadycastError {
  /** The option that is wrong, e.g. `video.fps`. */
  readonly field: string;

  constructor(field: string, value: unknown, fix: string) {
    super('ERR_CONFIG', `invalid ${field}: ${describe(value)} — ${fix}`);
    this.field = field;
  }
}

/** A call that the object's current state does not allow, e.g. `start()` after `close()`. */
export class InvalidStateError extends SteadycastError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message);
  }
}

/** A failure inside FFmpeg (node-av), with the operation that failed. */
export class MediaError extends SteadycastError {
  constructor(operation: string, detail: string, options: SteadycastErrorOptions = {}) {
    super('ERR_MEDIA', `${operation} failed: ${detail}`, options);
  }
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
