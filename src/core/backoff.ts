import { ConfigError } from './errors.js';

/**
 * The shape of an exponential backoff (shaka-player's: min(baseMs·factor^n, maxMs)·(1 ± jitter)).
 * The one backoff of the project: reconnecting an output and reopening a lost device both use it.
 */
export interface BackoffCurve {
  /** Delay of the first backed-off retry, ms. */
  baseMs: number;
  /** Growth per retry (≥ 1). */
  factor: number;
  /** Cap before jitter, ms (≥ baseMs). */
  maxMs: number;
  /** Relative jitter in [0, 1): the delay is scaled by a uniform factor in [1 − jitter, 1 + jitter). */
  jitter: number;
}

/** Throws a ConfigError naming the first bad field of `curve`; `prefix` names where it sits, e.g. `retry.`. */
export function validateBackoffCurve(curve: BackoffCurve, prefix = ''): void {
  for (const field of ['baseMs', 'maxMs'] as const) {
    const value = curve[field];
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigError(prefix + field, value, 'use a number of ms ≥ 0');
    }
  }
  if (curve.maxMs < curve.baseMs) {
    throw new ConfigError(prefix + 'maxMs', curve.maxMs, `use a cap ≥ baseMs (${curve.baseMs})`);
  }
  if (!Number.isFinite(curve.factor) || curve.factor < 1) {
    throw new ConfigError(prefix + 'factor', curve.factor, 'use a growth factor ≥ 1, e.g. 2');
  }
  if (!Number.isFinite(curve.jitter) || curve.jitter < 0 || curve.jitter >= 1) {
    throw new ConfigError(prefix + 'jitter', curve.jitter, 'use a fraction in [0, 1), e.g. 0.2');
  }
}

/**
 * Delay before retry number `attempt` (0-based), ms: 0 for the first, then
 * min(baseMs·factor^(attempt−1), maxMs) scaled by a uniform factor in [1 − jitter, 1 + jitter).
 * `random` returns [0, 1) like Math.random; inject it in tests.
 */
export function backoffDelayMs(
  attempt: number,
  curve: BackoffCurve,
  random: () => number = Math.random,
): number {
  if (attempt <= 0) return 0;
  // factor^n reaches Infinity after enough retries; 0·Infinity would be NaN.
  const grown = curve.baseMs === 0 ? 0 : curve.baseMs * curve.factor ** (attempt - 1);
  const capped = Math.min(grown, curve.maxMs);
  return capped * (1 + curve.jitter * (2 * random() - 1));
}
