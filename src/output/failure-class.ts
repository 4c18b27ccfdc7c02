import { ConfigError } from '../core/errors.js';
import type { FailureKind } from './backoff.js';

/** A connection failure as the classifier sees it: the error's stable code and, for rejections, the server's status. */
export interface ConnectionFailure {
  /** Stable error code, e.g. `ERR_RTMP_CONNECTION_REFUSED`. */
  readonly code: string;
  /** The server's status code for `ERR_RTMP_REJECTED`, e.g. `NetStream.Publish.BadName`. */
  readonly statusCode?: string;
}

/** Failures retrying cannot fix: a configuration the user must change. */
const PERMANENT_CODES = new Set(['ERR_RTMP_TLS_CERTIFICATE', 'ERR_RTMP_URL']);

/** Rejections meaning "this stream name is being published": after a drop, most likely by our own dead session. */
const NAME_HELD_STATUS_CODES = new Set(['NetStream.Publish.BadName']);

/** Failures worth retrying with backoff (an allow-list, as undici does; unknown codes are transient too). */
const TRANSIENT_CODES = new Set([
  'ERR_RTMP_CONNECTION_RESET',
  'ERR_RTMP_CONNECT_TIMEOUT',
  'ERR_RTMP_HANDSHAKE_TIMEOUT',
  // A name that does not resolve may be a typo, but also a network switching over: back off, never give up.
  'ERR_RTMP_DNS',
  'ERR_RTMP_STALLED',
  'ERR_RTMP_PROTOCOL',
]);

/**
 * The kind of a failure from its code alone; rejections are `transient` here, since whether they are
 * permanent depends on history (see FailureClassifier). Unknown codes are transient: a retry with
 * backoff costs little, silence forever costs the stream.
 */
export function classifyFailureCode(failure: ConnectionFailure): FailureKind {
  if (failure.code === 'ERR_RTMP_CONNECTION_REFUSED') return 'refused';
  if (PERMANENT_CODES.has(failure.code)) return 'permanent';
  if (TRANSIENT_CODES.has(failure.code)) return 'transient';
  return 'transient';
}

/** Options of the rejection rule. */
export interface FailureClassifierOptions {
  /** Rejections are retried this many times to confirm them before they become permanent. Default 3. */
  rejectionConfirmAttempts: number;
  /**
   * After a drop, rejections stay transient at least this long from the first one, ms: the server may
   * still hold our dead session (`NetStream.Publish.BadName`) until its own timeout (nginx-rtmp: 60 s).
   * Default 60000.
   */
  rejectionGraceAfterDropMs: number;
  /**
   * The same for a rejection saying the stream name is still taken (`NetStream.Publish.BadName`), ms.
   * After a dead path (NAT mapping lost, half-open connection) the server holds our old session until it
   * notices: nginx-rtmp still answered BadName 125 s after the path died with its defaults (it drops idle
   * publishers only with `drop_idle_publisher`), and a server whose pings go unanswered may wait for TCP to
   * give up (Linux: ≈ 15 min of retransmissions). The key worked a moment ago, so waiting beats giving up;
   * the state and `lastDisconnectReason` say what is going on meanwhile. Default 1200000 (20 min).
   */
  nameHeldGraceAfterDropMs: number;
}

/** Default FailureClassifier options. */
export function defaultFailureClassifierOptions(): FailureClassifierOptions {
  return {
    rejectionConfirmAttempts: 3,
    rejectionGraceAfterDropMs: 60000,
    nameHeldGraceAfterDropMs: 1_200_000,
  };
}

/** Throws a ConfigError naming the first bad FailureClassifier option. */
export function validateFailureClassifierOptions(options: FailureClassifierOptions): void {
  if (!Number.isInteger(options.rejectionConfirmAttempts) || options.rejectionConfirmAttempts < 0) {
    throw new ConfigError(
      'rejectionConfirmAttempts',
      options.rejectionConfirmAttempts,
      'use a whole number ≥ 0',
    );
  }
  for (const field of ['rejectionGraceAfterDropMs', 'nameHeldGraceAfterDropMs'] as const) {
    const value = options[field];
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(field, value, 'use a number of ms ≥ 0');
  }
}

/**
 * Classifies failures with the memory the rejection rule needs. A server rejection (wrong stream key,
 * or a name still held by our dead session right after a drop) is retried `rejectionConfirmAttempts`
 * times, and after a drop for at least `rejectionGraceAfterDropMs` (`nameHeldGraceAfterDropMs` for a name
 * still taken), then declared permanent. On the very first connect of a session only the confirming
 * attempts apply: a wrong key fails fast.
 */
export class FailureClassifier {
  /** The validated options. */
  readonly options: Readonly<FailureClassifierOptions>;
  #hasPublished = false;
  #rejections = 0;
  #firstRejectionMs: number | undefined;

  constructor(options: Partial<FailureClassifierOptions> = {}) {
    const resolved = { ...defaultFailureClassifierOptions(), ...options };
    validateFailureClassifierOptions(resolved);
    this.options = Object.freeze(resolved);
  }

  /** Rejections in a row since the last successful publish. */
  get consecutiveRejections(): number {
    return this.#rejections;
  }

  /** The kind of `failure` at `nowMs`, counting it toward the rejection rule. */
  classify(failure: ConnectionFailure, nowMs: number): FailureKind {
    if (failure.code !== 'ERR_RTMP_REJECTED') return classifyFailureCode(failure);
    this.#rejections++;
    this.#firstRejectionMs ??= nowMs;
    if (this.#rejections <= this.options.rejectionConfirmAttempts) return 'transient';
    const graceMs = NAME_HELD_STATUS_CODES.has(failure.statusCode ?? '')
      ? this.options.nameHeldGraceAfterDropMs
      : this.options.rejectionGraceAfterDropMs;
    if (this.#hasPublished && nowMs - this.#firstRejectionMs < graceMs) return 'transient';
    return 'permanent';
  }

  /** The stream was published: rejections start counting again, and later ones follow a drop. */
  onPublished(): void {
    this.#hasPublished = true;
    this.#rejections = 0;
    this.#firstRejectionMs = undefined;
  }
}
