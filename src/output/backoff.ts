import { backoffDelayMs, validateBackoffCurve, type BackoffCurve } from '../core/backoff.js';
import { ConfigError } from '../core/errors.js';

/**
 * How a connection attempt failed, as far as retrying is concerned (see failure-class.ts):
 * `not-ready` — nothing is serving yet (refused, or closed before the handshake by a proxy whose
 * server restarts): probe fast; `transient` — back off; `permanent` — stop.
 */
export type FailureKind = 'not-ready' | 'transient' | 'permanent';

/** Reconnect backoff options: the project's one backoff curve (core/backoff.ts) plus when to stop and probe. */
export interface BackoffOptions extends BackoffCurve {
  /** Delay before the second retry, ms (the first is immediate). Default 1000. */
  baseMs: number;
  /** Growth per retry. Default 2. */
  factor: number;
  /** Cap before jitter, ms. Default 30000. */
  maxMs: number;
  /** Relative jitter in [0, 1). Default 0.2. */
  jitter: number;
  /** Retries before giving up; Infinity retries forever. Default Infinity. */
  maxRetries: number;
  /** While the server is not ready (refused, or closed during the handshake), probe this often, ms. Default 500. */
  refusedProbeIntervalMs: number;
  /** Fast probing lasts this long from the start of the outage, ms; then the exponential schedule. Default 60000. */
  refusedProbeWindowMs: number;
  /**
   * After the fast-probe window, a server still not ready is retried on the exponential schedule but
   * capped at this, ms (the general cap `maxMs` applies when lower). Default 5000: a refused connection
   * costs the server nothing, and a server back after a long outage is found within seconds.
   */
  refusedProbeMaxMs: number;
  /**
   * A connection that lived this long, ms, resets the schedule when it drops. Default 10000: longer than
   * a server that accepts then kicks us (publish rejected, idle timeout), short enough that a real
   * outage after minutes of streaming starts over with an immediate retry.
   */
  stableAfterMs: number;
}

/** Fresh default backoff options (a function, so no caller mutates shared defaults). */
export function defaultBackoffOptions(): BackoffOptions {
  return {
    baseMs: 1000,
    factor: 2,
    maxMs: 30000,
    jitter: 0.2,
    maxRetries: Infinity,
    refusedProbeIntervalMs: 500,
    refusedProbeWindowMs: 60000,
    refusedProbeMaxMs: 5000,
    stableAfterMs: 10000,
  };
}

/** Throws a ConfigError naming the first bad backoff option. */
export function validateBackoffOptions(options: BackoffOptions): void {
  validateBackoffCurve(options);
  for (const field of ['refusedProbeWindowMs', 'stableAfterMs'] as const) {
    const value = options[field];
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(field, value, 'use a number of ms ≥ 0');
  }
  // A refused connection fails at once: with no wait between attempts, retrying would spin.
  for (const [field, example] of [
    ['refusedProbeIntervalMs', 500],
    ['refusedProbeMaxMs', 5000],
  ] as const) {
    const value = options[field];
    if (!Number.isFinite(value) || value <= 0) {
      throw new ConfigError(field, value, `use a number of ms > 0, e.g. ${example}`);
    }
  }
  const retries = options.maxRetries;
  if (Number.isNaN(retries) || retries < 0 || (Number.isFinite(retries) && !Number.isInteger(retries))) {
    throw new ConfigError('maxRetries', retries, 'use a whole number ≥ 0, or Infinity');
  }
}

/**
 * The retry state of one output: which delay comes next, given how the last attempt failed.
 * A server not ready (nothing listening, or a proxy closing for it: a server restarting) is probed
 * fast for a while, then on the exponential schedule capped at `refusedProbeMaxMs`; other failures back
 * off exponentially up to `maxMs`; a permanent failure or maxRetries ends it (`exhausted`).
 */
export class ReconnectSchedule {
  /** The validated options. */
  readonly options: Readonly<BackoffOptions>;
  readonly #random: () => number;
  #retries = 0;
  #exponentialAttempt = 0;
  #outageStartMs: number | undefined;
  #connectedAtMs: number | undefined;
  #permanent = false;

  constructor(options: Partial<BackoffOptions> = {}, random: () => number = Math.random) {
    const resolved = { ...defaultBackoffOptions(), ...options };
    validateBackoffOptions(resolved);
    this.options = Object.freeze(resolved);
    this.#random = random;
  }

  /** Retries scheduled since the schedule last reset. */
  get retries(): number {
    return this.#retries;
  }

  /** True once a permanent failure was seen or maxRetries retries were used: stop retrying. */
  get exhausted(): boolean {
    return this.#permanent || this.#retries >= this.options.maxRetries;
  }

  /** The connection is up (published) at `nowMs`. */
  onConnected(nowMs: number): void {
    this.#connectedAtMs = nowMs;
  }

  /** The connection dropped at `nowMs`: a stable connection resets the schedule; a flapping one does not. */
  onDisconnected(nowMs: number): void {
    const connectedAt = this.#connectedAtMs;
    this.#connectedAtMs = undefined;
    if (connectedAt !== undefined && nowMs - connectedAt >= this.options.stableAfterMs) this.#reset();
    this.#outageStartMs ??= nowMs;
  }

  /**
   * Delay before the next attempt after a failure of `kind` at `nowMs`, ms; null when retrying must
   * stop (permanent failure, or maxRetries used). The first retry of an outage is immediate.
   */
  nextDelayMs(kind: FailureKind, nowMs: number): number | null {
    if (kind === 'permanent') this.#permanent = true;
    if (this.exhausted) return null;
    this.#outageStartMs ??= nowMs;
    const retry = this.#retries++;
    if (retry === 0) return 0;
    if (kind === 'not-ready' && nowMs - this.#outageStartMs < this.options.refusedProbeWindowMs) {
      return this.options.refusedProbeIntervalMs;
    }
    this.#exponentialAttempt++;
    const { maxMs, refusedProbeMaxMs } = this.options;
    const curve =
      kind === 'not-ready' ? { ...this.options, maxMs: Math.min(maxMs, refusedProbeMaxMs) } : this.options;
    return backoffDelayMs(this.#exponentialAttempt, curve, this.#random);
  }

  #reset(): void {
    this.#retries = 0;
    this.#exponentialAttempt = 0;
    this.#outageStartMs = undefined;
    this.#permanent = false;
  }
}
