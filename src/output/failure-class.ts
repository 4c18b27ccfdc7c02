import { ConfigError, SteadycastError } from '../core/errors.js';
import type { FailureKind } from './backoff.js';

/** Options of the rules that depend on history. */
export interface FailureClassifierOptions {
  /** Connection attempts before the first accepted publish, then any failure is permanent. Default 3. */
  initialAttempts: number;
  /** Rejections are retried this many times to confirm them before they become permanent. Default 3. */
  rejectionConfirmAttempts: number;
  /**
   * After a drop, rejections stay transient at least this long from the first one, ms: the server may
   * still hold our dead session until its own timeout (nginx-rtmp: 60 s). Default 60000.
   */
  rejectionGraceAfterDropMs: number;
  /**
   * The same for a "not now" rejection (the stream name is still taken, the app is restarting), ms.
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
    initialAttempts: 3,
    rejectionConfirmAttempts: 3,
    rejectionGraceAfterDropMs: 60000,
    nameHeldGraceAfterDropMs: 1_200_000,
  };
}

/** Throws a ConfigError naming the first bad FailureClassifier option. */
export function validateFailureClassifierOptions(options: FailureClassifierOptions): void {
  if (!Number.isInteger(options.initialAttempts) || options.initialAttempts < 1) {
    throw new ConfigError('initialAttempts', options.initialAttempts, 'use 1 or more');
  }
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

/** The phases in which a close or reset means "nothing is serving yet" once the destination has worked. */
const NOT_READY_PHASES: ReadonlySet<unknown> = new Set(['connecting', 'handshaking']);

/**
 * What a failure says by itself: `not-ready` when nothing is serving (refused), `transient` when the
 * error says retrying can help, `permanent` when it says it cannot. Errors that are not ours (a bug,
 * a thrown string) count as transient: a retry with backoff costs little, silence forever costs the stream.
 */
export function failureKindOf(error: Error): FailureKind {
  if (!(error instanceof SteadycastError)) return 'transient';
  if (error.code === 'ERR_RTMP_CONNECTION_REFUSED') return 'not-ready';
  return error.retryable ? 'transient' : 'permanent';
}

/**
 * The one classification of connection failures: the error's own verdict (`failureKindOf`: its code,
 * `retryable`, and for rejections the server's status), with the rules that depend on history on top:
 * - before the first accepted publish, `initialAttempts` failures in a row end it (a wrong URL fails fast);
 * - once the destination has worked: a close or reset before the RTMP handshake completed is a server
 *   not ready yet (restarting behind a proxy), probed as fast as a refused connection; a name that does
 *   not resolve is a network switching over, not a typo; only TLS certificate errors and confirmed
 *   rejections end it;
 * - a rejection (wrong key, or a name still held by our dead session) is retried
 *   `rejectionConfirmAttempts` times, and after a drop for a grace period (longer for "not now"
 *   statuses), then it is permanent.
 */
export class FailureClassifier {
  /** The validated options. */
  readonly options: Readonly<FailureClassifierOptions>;
  #published = false;
  #failuresBeforePublish = 0;
  #rejections = 0;
  #firstRejectionMs: number | undefined;

  constructor(options: Partial<FailureClassifierOptions> = {}) {
    const resolved = { ...defaultFailureClassifierOptions(), ...options };
    validateFailureClassifierOptions(resolved);
    this.options = Object.freeze(resolved);
  }

  /** Whether a publish has been accepted (outlived its probation) on this destination. */
  get hasPublished(): boolean {
    return this.#published;
  }

  /** Rejections in a row since the last accepted publish. */
  get consecutiveRejections(): number {
    return this.#rejections;
  }

  /** The kind of `failure` at `nowMs`, counting it toward the history rules. */
  classify(failure: Error, nowMs: number): FailureKind {
    const kind = this.#kindAfterPublish(failure, nowMs);
    if (this.#published) return kind;
    return ++this.#failuresBeforePublish >= this.options.initialAttempts ? 'permanent' : kind;
  }

  /** The publish was accepted: the history starts over, and later failures follow a drop. */
  onPublished(): void {
    this.#published = true;
    this.#rejections = 0;
    this.#firstRejectionMs = undefined;
  }

  #kindAfterPublish(failure: Error, nowMs: number): FailureKind {
    const code = failure instanceof SteadycastError ? failure.code : undefined;
    if (code === 'ERR_RTMP_REJECTED') return this.#rejection(failure as SteadycastError, nowMs);
    const kind = failureKindOf(failure);
    if (!this.#published) return kind;
    const phase = (failure as { phase?: unknown }).phase;
    if (
      (code === 'ERR_RTMP_CLOSED_BY_SERVER' || code === 'ERR_RTMP_CONNECTION_RESET') &&
      NOT_READY_PHASES.has(phase)
    ) {
      return 'not-ready';
    }
    // No ERR_RTMP_URL here: the URL is parsed before the first attempt, and this destination published.
    if (kind === 'permanent' && code !== 'ERR_RTMP_TLS_CERTIFICATE') return 'transient';
    return kind;
  }

  #rejection(failure: SteadycastError, nowMs: number): FailureKind {
    this.#rejections++;
    this.#firstRejectionMs ??= nowMs;
    if (this.#rejections <= this.options.rejectionConfirmAttempts) return 'transient';
    // A "not now" status (`retryable`) gets the long grace; a plain refusal the short one.
    const graceMs = failure.retryable
      ? this.options.nameHeldGraceAfterDropMs
      : this.options.rejectionGraceAfterDropMs;
    if (this.#published && nowMs - this.#firstRejectionMs < graceMs) return 'transient';
    return 'permanent';
  }
}
