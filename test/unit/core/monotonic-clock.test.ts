import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, MonotonicClock } from '../../../src/core/monotonic-clock.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const DAY_MS = 24 * 3600 * 1000;

// Vitest's fake timers copy Node's overflow: a setTimeout above 2^31 − 1 ms fires after 1 ms.
describe('MonotonicClock timers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'hrtime'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the runtime under test really overflows a bare setTimeout beyond 24.8 days', () => {
    const fired = vi.fn();
    setTimeout(fired, 30 * DAY_MS);
    vi.advanceTimersByTime(2);
    expect(fired).toHaveBeenCalledOnce();
  });

  it('runs a 30-day timer after 30 days, not after 1 ms', () => {
    const clock = new MonotonicClock();
    const fired = vi.fn();
    clock.setTimer(fired, 30 * DAY_MS);
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY_MS - 1000 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
    expect(clock.nowUs() / 1000).toBeCloseTo(30 * DAY_MS, 0);
  });

  it('runs a timer just over the limit, and one just under, on time', () => {
    const clock = new MonotonicClock();
    const over = vi.fn();
    const under = vi.fn();
    clock.setTimer(over, MAX_TIMEOUT_MS + 5);
    clock.setTimer(under, MAX_TIMEOUT_MS);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(under).toHaveBeenCalledOnce();
    expect(over).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5);
    expect(over).toHaveBeenCalledOnce();
  });

  it('cancels a long timer in any of its links', () => {
    const clock = new MonotonicClock();
    const early = vi.fn();
    const late = vi.fn();
    const a = clock.setTimer(early, 60 * DAY_MS);
    const b = clock.setTimer(late, 60 * DAY_MS);
    a.cancel();
    vi.advanceTimersByTime(40 * DAY_MS);
    b.cancel();
    b.cancel();
    vi.advanceTimersByTime(40 * DAY_MS);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never runs an Infinity timer, and runs NaN or negative delays at once', () => {
    const clock = new MonotonicClock();
    const never = vi.fn();
    const nan = vi.fn();
    const negative = vi.fn();
    clock.setTimer(never, Infinity);
    clock.setTimer(nan, Number.NaN);
    clock.setTimer(negative, -5);
    vi.advanceTimersByTime(1);
    expect(nan).toHaveBeenCalledOnce();
    expect(negative).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(400 * DAY_MS);
    expect(never).not.toHaveBeenCalled();
  });
});

describe('FakeClock timers follow the same contract', () => {
  it('runs a 30-day timer at 30 days, never an Infinity one, and NaN at once', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(() => fired.push('30 days'), 30 * DAY_MS);
    clock.setTimer(() => fired.push('never'), Infinity);
    clock.setTimer(() => fired.push('nan'), Number.NaN);
    clock.advance(0);
    expect(fired).toEqual(['nan']);
    clock.advance(30 * DAY_MS - 1);
    expect(fired).toEqual(['nan']);
    clock.advance(1);
    expect(fired).toEqual(['nan', '30 days']);
    clock.advance(1000 * DAY_MS);
    expect(fired).toEqual(['nan', '30 days']);
  });
});
