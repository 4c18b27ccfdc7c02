import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  ReconnectSchedule,
  defaultBackoffOptions,
  validateBackoffOptions,
  type BackoffOptions,
  type FailureKind,
} from '../../../src/output/backoff.js';

const noJitter = { ...defaultBackoffOptions(), jitter: 0 };

describe('defaultBackoffOptions', () => {
  it('has the architecture defaults, in a fresh object each time', () => {
    expect(defaultBackoffOptions()).toEqual({
      baseMs: 1000,
      factor: 2,
      maxMs: 30000,
      jitter: 0.2,
      maxRetries: Infinity,
      refusedProbeIntervalMs: 500,
      refusedProbeWindowMs: 60000,
      refusedProbeMaxMs: 5000,
      stableAfterMs: 10000,
    });
    expect(defaultBackoffOptions()).not.toBe(defaultBackoffOptions());
  });
});

describe('validateBackoffOptions', () => {
  it.each<[Partial<BackoffOptions>, string]>([
    [{ baseMs: -1 }, 'baseMs'],
    [{ maxMs: Number.NaN }, 'maxMs'],
    [{ maxMs: 500 }, 'maxMs'],
    [{ factor: 0.5 }, 'factor'],
    [{ jitter: 1 }, 'jitter'],
    [{ jitter: -0.1 }, 'jitter'],
    [{ maxRetries: -1 }, 'maxRetries'],
    [{ maxRetries: 2.5 }, 'maxRetries'],
    [{ refusedProbeIntervalMs: 0 }, 'refusedProbeIntervalMs'],
    [{ refusedProbeWindowMs: -5 }, 'refusedProbeWindowMs'],
    [{ stableAfterMs: Infinity }, 'stableAfterMs'],
    [{ maxRetries: Number.NaN }, 'maxRetries'],
    [{ refusedProbeIntervalMs: Infinity }, 'refusedProbeIntervalMs'],
    [{ refusedProbeWindowMs: Number.NaN }, 'refusedProbeWindowMs'],
    [{ refusedProbeMaxMs: -1 }, 'refusedProbeMaxMs'],
    [{ refusedProbeMaxMs: 0 }, 'refusedProbeMaxMs'],
    [{ refusedProbeMaxMs: Infinity }, 'refusedProbeMaxMs'],
  ])('rejects %o naming %s', (partial, field) => {
    const options = { ...defaultBackoffOptions(), ...partial };
    expect(() => validateBackoffOptions(options)).toThrow(ConfigError);
    expect(() => validateBackoffOptions(options)).toThrow(field);
  });

  it('accepts the defaults and a finite maxRetries', () => {
    expect(() => validateBackoffOptions(defaultBackoffOptions())).not.toThrow();
    expect(() => validateBackoffOptions({ ...defaultBackoffOptions(), maxRetries: 3 })).not.toThrow();
  });

  it('accepts the edges: no retries, no fast-probe window, every connection stable, a 1 ms probe', () => {
    const edges = { maxRetries: 0, refusedProbeWindowMs: 0, stableAfterMs: 0, refusedProbeIntervalMs: 1 };
    expect(() => validateBackoffOptions({ ...defaultBackoffOptions(), ...edges })).not.toThrow();
  });
});

/** Runs failures at the times the schedule asks for; returns the delays. */
function run(schedule: ReconnectSchedule, kinds: FailureKind[], startMs = 0): (number | null)[] {
  let nowMs = startMs;
  return kinds.map((kind) => {
    const delay = schedule.nextDelayMs(kind, nowMs);
    nowMs += delay ?? 0;
    return delay;
  });
}

describe('ReconnectSchedule', () => {
  it('retries at once, then backs off exponentially up to the cap', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    expect(run(schedule, Array<FailureKind>(9).fill('transient'))).toEqual([
      0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('probes a refused server every 500 ms for 60 s from the start of the outage, then backs off to 5 s', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    const delays = run(schedule, Array<FailureKind>(127).fill('not-ready'));
    expect(delays[0]).toBe(0);
    expect(delays.slice(1, 121).every((d) => d === 500)).toBe(true); // 120 probes fill 60 s
    expect(delays.slice(121)).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('keeps the general cap for other failures in a long outage, and the lower of the two caps', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    run(schedule, Array<FailureKind>(121).fill('not-ready')); // the fast-probe window, 60 s
    expect(
      run(schedule, ['transient', 'transient', 'transient', 'transient', 'transient', 'transient'], 60_000),
    ).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
    expect(run(schedule, ['not-ready'], 200_000)).toEqual([5000]);
    const lowCap = new ReconnectSchedule({ ...noJitter, maxMs: 3000 });
    lowCap.onDisconnected(0);
    expect(run(lowCap, ['not-ready', 'not-ready', 'not-ready', 'not-ready'], 0).slice(1)).toEqual([
      500, 500, 500,
    ]);
    expect(lowCap.nextDelayMs('not-ready', 60_000)).toBe(1000);
    expect(lowCap.nextDelayMs('not-ready', 61_000)).toBe(2000);
    expect(lowCap.nextDelayMs('not-ready', 63_000)).toBe(3000);
  });

  it('switches between the fast probe and the exponential schedule with the failure kind', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    expect(run(schedule, ['transient', 'not-ready', 'transient', 'not-ready', 'transient'])).toEqual([
      0, 500, 1000, 500, 2000,
    ]);
  });

  it('resets after a connection that stayed up stableAfterMs', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    run(schedule, ['transient', 'transient', 'transient']);
    schedule.onConnected(10_000);
    schedule.onDisconnected(20_000);
    expect(schedule.retries).toBe(0);
    expect(run(schedule, ['transient', 'transient'], 20_000)).toEqual([0, 1000]);
  });

  it('keeps backing off when the connection flaps (up for less than stableAfterMs)', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    run(schedule, ['transient', 'transient', 'transient']); // 0, 1000, 2000
    schedule.onConnected(3000);
    schedule.onDisconnected(5000);
    expect(run(schedule, ['transient'], 5000)).toEqual([4000]);
  });

  it('measures how long a connection stayed up from when it came up, late in a session too', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    run(schedule, ['transient', 'transient', 'transient']); // 0, 1000, 2000
    schedule.onConnected(100_000);
    schedule.onDisconnected(101_000); // up 1 s: a flap, whatever the clock reads
    expect(run(schedule, ['transient'], 101_000)).toEqual([4000]);
  });

  it('measures the refused probe window from the start of a flapping outage', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    run(schedule, ['transient']);
    schedule.onConnected(1000);
    schedule.onDisconnected(2000);
    expect(schedule.nextDelayMs('not-ready', 59_999)).toBe(500);
    expect(schedule.nextDelayMs('not-ready', 60_000)).toBe(1000);
  });

  it('measures the fast-probe window from the disconnect, however long the first attempt took to fail', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(100_000);
    expect(schedule.nextDelayMs('not-ready', 130_000)).toBe(0); // the first attempt timed out after 30 s
    expect(schedule.nextDelayMs('not-ready', 159_999)).toBe(500);
    expect(schedule.nextDelayMs('not-ready', 160_000)).toBe(1000);
  });

  it('stops after maxRetries, counting probes too', () => {
    const schedule = new ReconnectSchedule({ ...noJitter, maxRetries: 3 });
    schedule.onDisconnected(0);
    expect(run(schedule, ['transient', 'not-ready', 'transient', 'transient'])).toEqual([0, 500, 1000, null]);
    expect(schedule.exhausted).toBe(true);
  });

  it('stops at once on a permanent failure', () => {
    const schedule = new ReconnectSchedule(noJitter);
    schedule.onDisconnected(0);
    expect(run(schedule, ['transient', 'permanent', 'transient'])).toEqual([0, null, null]);
    expect(schedule.exhausted).toBe(true);
  });

  it('applies the injected jitter', () => {
    const schedule = new ReconnectSchedule(defaultBackoffOptions(), () => 0);
    schedule.onDisconnected(0);
    expect(run(schedule, ['transient', 'transient', 'transient'])).toEqual([0, 800, 1600]);
  });

  it('works for a first connection that never succeeded (no onDisconnected)', () => {
    const schedule = new ReconnectSchedule(noJitter);
    expect(run(schedule, ['not-ready', 'not-ready', 'transient'])).toEqual([0, 500, 1000]);
  });

  it('rejects bad options at construction', () => {
    expect(() => new ReconnectSchedule({ jitter: 2 })).toThrow(ConfigError);
  });
});
