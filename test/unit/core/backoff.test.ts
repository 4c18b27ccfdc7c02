import { describe, expect, it } from 'vitest';
import { backoffDelayMs, validateBackoffCurve, type BackoffCurve } from '../../../src/core/backoff.js';
import { ConfigError } from '../../../src/core/errors.js';

const middle = (): number => 0.5; // no jitter
/** The reconnect schedule's curve (architecture defaults). */
const defaultBackoffOptions = (): BackoffCurve => ({ baseMs: 1000, factor: 2, maxMs: 30000, jitter: 0.2 });

describe('backoffDelayMs', () => {
  it.each([
    [0, 0],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16000],
    [6, 30000],
    [20, 30000],
    [1000, 30000],
  ])('retry %i waits %i ms without jitter', (attempt, expected) => {
    expect(backoffDelayMs(attempt, defaultBackoffOptions(), middle)).toBe(expected);
  });

  it.each([
    [0, 800],
    [0.25, 900],
    [0.5, 1000],
    [0.75, 1100],
    [0.999999, 1200],
  ])('jitter scales the delay by 1 ± 0.2 (random %f → %i ms)', (r, expected) => {
    expect(backoffDelayMs(1, defaultBackoffOptions(), () => r)).toBeCloseTo(expected, 2);
  });

  it('keeps jittered delays within ±20 % of the capped value', () => {
    for (let i = 0; i < 1000; i++) {
      const delay = backoffDelayMs(10, defaultBackoffOptions());
      expect(delay).toBeGreaterThanOrEqual(24000);
      expect(delay).toBeLessThan(36000);
    }
  });

  it('never jitters the immediate first retry', () => {
    expect(backoffDelayMs(0, defaultBackoffOptions(), () => 0.99)).toBe(0);
  });

  it('stays at zero with a zero base, however many retries (no NaN from 0·Infinity)', () => {
    const curve: BackoffCurve = { baseMs: 0, factor: 2, maxMs: 1000, jitter: 0 };
    expect(backoffDelayMs(5000, curve, middle)).toBe(0);
  });

  it('reaches the cap and stays there once factor^n overflows to Infinity', () => {
    const curve: BackoffCurve = { baseMs: 500, factor: 2, maxMs: 5000, jitter: 0 };
    expect(backoffDelayMs(5000, curve, middle)).toBe(5000);
  });
});

describe('validateBackoffCurve', () => {
  it.each<[Partial<BackoffCurve>, string]>([
    [{ baseMs: -1 }, 'retry.baseMs'],
    [{ baseMs: Number.NaN }, 'retry.baseMs'],
    [{ maxMs: Infinity }, 'retry.maxMs'],
    [{ maxMs: 10 }, 'retry.maxMs'],
    [{ factor: 0.9 }, 'retry.factor'],
    [{ jitter: 1 }, 'retry.jitter'],
    [{ jitter: -0.1 }, 'retry.jitter'],
    [{ jitter: Number.NaN }, 'retry.jitter'],
    [{ factor: Infinity }, 'retry.factor'],
  ])('rejects %o naming %s', (partial, field) => {
    const curve = { baseMs: 100, factor: 2, maxMs: 1000, jitter: 0, ...partial };
    expect(() => validateBackoffCurve(curve, 'retry.')).toThrow(ConfigError);
    expect(() => validateBackoffCurve(curve, 'retry.')).toThrow(field);
  });

  it('accepts the edges: no base, a cap equal to the base, a factor of 1, no jitter', () => {
    expect(() => validateBackoffCurve({ baseMs: 0, factor: 1, maxMs: 0, jitter: 0 })).not.toThrow();
    expect(() => validateBackoffCurve({ baseMs: 500, factor: 1, maxMs: 500, jitter: 0.99 })).not.toThrow();
  });

  it('names the bare field when no prefix is given', () => {
    expect(() => validateBackoffCurve({ baseMs: 100, factor: 2, maxMs: 1000, jitter: 1 })).toThrow(
      expect.objectContaining({ field: 'jitter' }),
    );
  });
});
