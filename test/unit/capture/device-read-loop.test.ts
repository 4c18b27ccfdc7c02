import { describe, expect, it } from 'vitest';
import { DeviceError } from '../../../src/capture/device-inputs.js';
import {
  DeviceReadLoop,
  deviceReopenDelayMs,
  deviceRetryDefaults,
  validateDeviceRetryOptions,
} from '../../../src/capture/device-read-loop.js';
import { ConfigError } from '../../../src/core/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeDeviceReader } from '../../helpers/fake-device-reader.js';

/** Lets every pending promise continuation run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A loop over fake readers on a fake clock, recording everything it reports. */
function harness(retry?: { baseMs?: number; maxMs?: number }) {
  const clock = new FakeClock();
  const first = new FakeDeviceReader<number>('first');
  const readers = [first];
  const items: number[] = [];
  const events: string[] = [];
  const failures: Error[] = [];
  /** Session time of each reopen attempt, ms. */
  const attemptsAtMs: number[] = [];
  /** Whether the device is back: reopen then succeeds with a fresh reader. */
  let present = false;
  let reopenGate: Promise<void> | null = null;
  const loop = new DeviceReadLoop<number>(clock, first, {
    name: 'test device',
    reopen: async () => {
      attemptsAtMs.push(clock.nowUs() / 1000);
      if (reopenGate) await reopenGate;
      if (!present) throw new Error(`still missing (attempt ${attemptsAtMs.length})`);
      const reader = new FakeDeviceReader<number>(`reader ${readers.length}`);
      readers.push(reader);
      return reader;
    },
    onItems: (got) => {
      events.push(`items ${got.join(',')}`);
      items.push(...got);
    },
    onFailed: (error) => {
      failures.push(error);
      events.push('failed');
    },
    onRecovered: (outageMs) => events.push(`recovered after ${outageMs} ms`),
    ...(retry ? { retry } : {}),
  });
  /** Moves the fake clock forward in steps, letting the loop react after each. */
  const run = async (ms: number, stepMs = 50): Promise<void> => {
    for (let t = 0; t < ms; t += stepMs) {
      clock.advance(Math.min(stepMs, ms - t));
      await flush();
    }
  };
  return {
    clock,
    loop,
    first,
    readers,
    items,
    events,
    failures,
    attemptsAtMs,
    run,
    /** The newest reader. */
    current: (): FakeDeviceReader<number> => readers[readers.length - 1] ?? first,
    setPresent: (value: boolean) => (present = value),
    holdReopen: (gate: Promise<void> | null) => (reopenGate = gate),
    misuse: (): string[] => readers.flatMap((r) => r.misuse),
  };
}

describe('deviceReopenDelayMs', () => {
  it.each([
    [0, 500],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 5000],
    [5, 5000],
    [100, 5000],
  ])('reopen attempt %i waits %i ms with the defaults', (attempt, expected) => {
    expect(deviceReopenDelayMs(attempt, deviceRetryDefaults())).toBe(expected);
  });

  it('has fresh defaults each time and rejects a cap below the base or a base of zero', () => {
    expect(deviceRetryDefaults()).toEqual({ baseMs: 500, maxMs: 5000 });
    expect(deviceRetryDefaults()).not.toBe(deviceRetryDefaults());
    expect(() => validateDeviceRetryOptions({ baseMs: 0, maxMs: 5000 })).toThrow(ConfigError);
    expect(() => validateDeviceRetryOptions({ baseMs: 500, maxMs: 100 })).toThrow(/retry\.maxMs/);
    expect(() => validateDeviceRetryOptions({ baseMs: Number.NaN, maxMs: 100 })).toThrow(/retry\.baseMs/);
  });
});

describe('DeviceReadLoop', () => {
  it('keeps one read in flight and hands each non-empty read to onItems', async () => {
    const h = harness();
    await flush();
    expect(h.first.reading).toBe(true);
    h.first.deliver([1, 2]);
    await flush();
    h.first.deliver([]);
    await flush();
    h.first.deliver([3]);
    await flush();
    expect(h.events).toEqual(['items 1,2', 'items 3']);
    expect(h.first.reads).toBe(4);
    expect(h.loop.state).toBe('reading');
    expect(h.loop.error).toBeNull();
    expect(h.loop.stats).toEqual({ failures: 0, reopens: 0, downtimeMs: 0, lastError: null });
    expect(h.misuse()).toEqual([]);
  });

  it('reports a read error once, as a retryable DeviceError naming the device, and closes the reader', async () => {
    const h = harness();
    await flush();
    const cause = new Error('I/O error');
    h.first.fail(cause);
    await flush();
    expect(h.events).toEqual(['failed']);
    const error = h.failures[0];
    expect(error).toBeInstanceOf(DeviceError);
    expect(error?.message).toBe('test device failed: I/O error');
    expect(error?.cause).toBe(cause);
    expect((error as DeviceError).retryable).toBe(true);
    expect(h.loop.error).toBe(error);
    expect(h.loop.state).toBe('down');
    expect(h.first.closed).toBe(true);
    await h.run(20_000);
    // Reopen attempts that fail do not count as new failures.
    expect(h.failures).toHaveLength(1);
    expect(h.loop.stats.failures).toBe(1);
    expect(h.misuse()).toEqual([]);
  });

  it('counts the end of the stream as a failure and reopens the device', async () => {
    const h = harness();
    await flush();
    h.first.end();
    await flush();
    expect(h.failures.map((e) => e.message)).toEqual(['test device ended']);
    expect(h.first.closed).toBe(true);
    h.setPresent(true);
    await h.run(500);
    expect(h.current().reading).toBe(true);
    // Reopened, but the outage ends only once a read works.
    expect(h.events).toEqual(['failed']);
    h.current().deliver([9]);
    await flush();
    expect(h.events).toEqual(['failed', 'recovered after 500 ms', 'items 9']);
  });

  it('tries to reopen at 500 ms, then doubling to a 5 s cap, and records the last reopen error', async () => {
    const h = harness();
    await h.run(1000); // the failure happens at 1000 ms
    h.first.fail(new Error('gone'));
    await flush();
    await h.run(30_000);
    const waits = h.attemptsAtMs.map((at, i) => at - (i === 0 ? 1000 : (h.attemptsAtMs[i - 1] ?? 0)));
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    expect(h.loop.stats).toEqual({
      failures: 1,
      reopens: 0,
      downtimeMs: 30_000,
      lastError: 'still missing (attempt 8)',
    });
  });

  it('honours a custom schedule', async () => {
    const h = harness({ baseMs: 100, maxMs: 300 });
    await flush();
    h.first.fail(new Error('gone'));
    await flush();
    await h.run(1500, 10);
    const waits = h.attemptsAtMs.map((at, i) => at - (i === 0 ? 0 : (h.attemptsAtMs[i - 1] ?? 0)));
    expect(waits).toEqual([100, 200, 300, 300, 300, 300]);
  });

  it('recovers once the device is back: reports the outage, reads the new reader, resets the schedule', async () => {
    const h = harness();
    await flush();
    h.first.deliver([1]);
    await flush();
    h.first.fail(new Error('unplugged'));
    await flush();
    await h.run(1600); // attempts at 500 and 1500 fail
    h.setPresent(true);
    await h.run(2000); // the attempt at 3500 opens the device
    expect(h.attemptsAtMs).toEqual([500, 1500, 3500]);
    expect(h.events).toEqual(['items 1', 'failed']);
    expect(h.loop.error).not.toBeNull(); // not back until a read works
    const second = h.current();
    expect(second).not.toBe(h.first);
    expect(second.reading).toBe(true);
    second.deliver([2, 3]);
    await flush();
    expect(h.events).toEqual(['items 1', 'failed', 'recovered after 3600 ms', 'items 2,3']);
    expect(h.loop.state).toBe('reading');
    expect(h.loop.error).toBeNull();
    expect(h.items).toEqual([1, 2, 3]);
    expect(h.loop.stats).toEqual({
      failures: 1,
      reopens: 1,
      downtimeMs: 3600,
      lastError: 'still missing (attempt 2)',
    });

    // A second outage, long after: the schedule starts over and the downtime adds up.
    await h.run(10_000);
    second.deliver([4]);
    await flush();
    second.fail(new Error('unplugged again'));
    await flush();
    await h.run(500);
    expect(h.attemptsAtMs.at(-1)).toBe(14_100);
    h.current().deliver([5]);
    await flush();
    expect(h.events.slice(-3)).toEqual(['failed', 'recovered after 500 ms', 'items 5']);
    expect(h.loop.stats).toMatchObject({ failures: 2, reopens: 2, downtimeMs: 4100 });
    expect(second.closed).toBe(true);
    expect(h.misuse()).toEqual([]);
  });

  it('a device that opens but fails at its first read is one outage that keeps backing off, not a flap', async () => {
    const h = harness();
    await flush();
    h.first.fail(new Error('gone'));
    await flush();
    h.setPresent(true);
    for (let i = 0; i < 4; i++) {
      await h.run(6000);
      h.current().fail(new Error('fails at once'));
      await flush();
    }
    expect(h.events).toEqual(['failed']);
    // Reopened at 500, and failing at 6000, 12000, 18000: the waits grow (1000, 2000, 4000 ms).
    expect(h.attemptsAtMs.slice(0, 4)).toEqual([500, 7000, 14_000, 22_000]);
    expect(h.loop.stats).toMatchObject({ failures: 1, reopens: 0 });
    expect(h.loop.stats.lastError).toMatch(/fails at once$/);
  });

  it('a device that fails again right after coming back continues the backoff', async () => {
    const h = harness();
    await flush();
    h.first.fail(new Error('gone'));
    await flush();
    h.setPresent(true);
    await h.run(500); // reopened at 500
    h.current().deliver([1]);
    await flush();
    h.current().fail(new Error('flaky'));
    await flush();
    await h.run(2000);
    expect(h.attemptsAtMs).toEqual([500, 1500]); // 1000 ms, not 500, after the second failure
    expect(h.events).toEqual(['failed', 'recovered after 500 ms', 'items 1', 'failed']);
  });

  it('close() during the backoff stops the retries, resolves closed() and reports nothing more', async () => {
    const h = harness();
    await flush();
    h.first.fail(new Error('gone'));
    await flush();
    await h.run(1000);
    expect(h.attemptsAtMs).toEqual([500]);
    h.setPresent(true);
    h.loop.close();
    h.loop.close(); // idempotent
    await expect(h.loop.closed()).resolves.toBeUndefined();
    expect(h.clock.pendingTimers).toBe(0);
    await h.run(20_000);
    expect(h.attemptsAtMs).toEqual([500]);
    expect(h.events).toEqual(['failed']);
    expect(h.loop.state).toBe('closed');
    expect(h.loop.stats.downtimeMs).toBe(1000);
  });

  it('close() with a read in flight closes the reader only after that read returns, and drops its items', async () => {
    const h = harness();
    await flush();
    h.loop.close();
    let closed = false;
    void h.loop.closed().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    expect(h.first.closed).toBe(false);
    h.first.deliver([7]);
    await flush();
    expect(closed).toBe(true);
    expect(h.first.closed).toBe(true);
    expect(h.events).toEqual([]);
    expect(h.misuse()).toEqual([]);
  });

  it('a read that fails because of close() is not a failure', async () => {
    const h = harness();
    await flush();
    h.loop.close();
    h.first.fail(new Error('interrupted'));
    await h.loop.closed();
    expect(h.events).toEqual([]);
    expect(h.loop.stats.failures).toBe(0);
  });

  it('close() while a reopen is in flight closes the reopened reader and does not report a recovery', async () => {
    const h = harness();
    await flush();
    h.first.fail(new Error('gone'));
    await flush();
    let release = (): void => {};
    h.holdReopen(new Promise<void>((resolve) => (release = resolve)));
    h.setPresent(true);
    await h.run(500);
    expect(h.attemptsAtMs).toEqual([500]);
    h.loop.close();
    release();
    await h.loop.closed();
    expect(h.readers).toHaveLength(2);
    expect(h.current().closed).toBe(true);
    expect(h.current().reads).toBe(0);
    expect(h.events).toEqual(['failed']);
  });
});
