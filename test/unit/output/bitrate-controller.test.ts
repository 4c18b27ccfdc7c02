import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  BitrateController,
  bitrateControllerDefaults,
  type BitrateControllerOptions,
  type PathReport,
} from '../../../src/output/bitrate-controller.js';
import { FakeClock } from '../../helpers/fake-clock.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - `#congested = true` as the initial value: the first episode would count as continuing, but its
//   "latency not falling" check compares with a previous worst of 0, which nothing is below;
// - `this.#bitrateBps >= maxBitrateBps` in setMaxBitrate: at equality it sets the value it has.

const clear: PathReport = { dropping: false, latencyMs: 80, maxLatencyMs: 2000, deliveryRateBps: 2_660_000 };
const congested = (deliveryRateBps: number): PathReport => ({
  dropping: true,
  latencyMs: 1500,
  maxLatencyMs: 2000,
  deliveryRateBps,
});

function controller(): { clock: FakeClock; abr: BitrateController } {
  const clock = new FakeClock();
  return { clock, abr: new BitrateController(clock, bitrateControllerDefaults(2_500_000, 160_000)) };
}

describe('BitrateController', () => {
  it('stays at the configured bitrate while every path is clear', () => {
    const { clock, abr } = controller();
    for (let i = 0; i < 40; i++) {
      expect(abr.update([clear])).toBeNull();
      clock.advance(500);
    }
    expect(abr.bitrateBps).toBe(2_500_000);
  });

  it('goes down to 80 % of what the congested path delivers, minus audio, at once', () => {
    const { abr } = controller();
    // A 1596 kbit/s link: video gets 0.8 × 1596k − 160k.
    expect(abr.update([congested(1_596_000)])).toEqual({ bitrateBps: 1_116_800, reason: 'congested' });
  });

  it('a congested path without a measured rate still cuts by the headroom (multiplicative decrease)', () => {
    const { abr } = controller();
    expect(abr.update([{ ...clear, latencyMs: 1200, deliveryRateBps: 0 }])?.bitrateBps).toBe(2_000_000);
  });

  it('waits decreaseIntervalMs between decreases, so the encoder can follow', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(1900);
    expect(abr.update([congested(900_000)])).toBeNull();
    clock.advance(100);
    expect(abr.update([congested(900_000)])?.bitrateBps).toBe(560_000); // 0.8 × 900k − 160k
    expect(abr.decreases).toBe(2);
  });

  it('never goes under the minimum, a tenth of the configured bitrate', () => {
    const { clock, abr } = controller();
    for (let i = 0; i < 20; i++) {
      abr.update([congested(100_000)]);
      clock.advance(2000);
    }
    expect(abr.bitrateBps).toBe(250_000);
    expect(abr.lowestBitrateBps).toBe(250_000);
  });

  it('goes back up by a tenth of the configured bitrate per 4 s clear, to the configured bitrate', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    const steps: number[] = [];
    for (let t = 0; t < 60_000; t += 500) {
      clock.advance(500);
      const change = abr.update([clear]);
      if (change) steps.push(change.bitrateBps);
    }
    expect(steps).toEqual([1_366_800, 1_616_800, 1_866_800, 2_116_800, 2_366_800, 2_500_000]);
  });

  it('a congested moment restarts the wait before the next increase', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(3500);
    expect(abr.update([clear])).toBeNull();
    clock.advance(500);
    expect(abr.update([{ ...clear, latencyMs: 1100 }])?.reason).toBe('congested');
    clock.advance(3500);
    expect(abr.update([clear])).toBeNull();
  });

  it('holds while a queue builds (latency between clear and congested): no probing higher', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    for (let t = 0; t < 20_000; t += 500) {
      clock.advance(500);
      expect(abr.update([{ ...clear, latencyMs: 700 }])).toBeNull();
    }
    expect(abr.bitrateBps).toBe(1_116_800);
  });

  it('does not cut again while the latency falls: the last cut already fits the path', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    for (const latencyMs of [1400, 1300, 1200, 1100]) {
      clock.advance(2000);
      expect(abr.update([{ ...congested(1_596_000), latencyMs }])).toBeNull();
    }
    clock.advance(2000);
    expect(abr.update([{ ...congested(1_000_000), latencyMs: 1150 }])?.bitrateBps).toBe(640_000);
  });

  it('stops cutting once latency is under the clear share, though the drop policy still drops', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(2000);
    expect(abr.update([{ ...congested(1_596_000), latencyMs: 300 }])).toBeNull();
  });

  it('judges each output against its own maxLatencyMs', () => {
    const { clock, abr } = controller();
    // 1500 ms is congested for a 2000 ms output but clear-ish for an 8000 ms one.
    expect(abr.update([{ ...clear, latencyMs: 1500, maxLatencyMs: 8000 }])).toBeNull();
    abr.update([congested(1_596_000)]);
    for (let t = 0; t < 8000; t += 500) {
      clock.advance(500);
      abr.update([{ ...clear, latencyMs: 1500, maxLatencyMs: 8000 }]);
    }
    expect(abr.bitrateBps).toBeGreaterThan(1_116_800); // 1500 ms is under a quarter of 8000: it went up
  });

  it('follows the slowest of several outputs; any congested one counts', () => {
    const { abr } = controller();
    const change = abr.update([clear, congested(3_000_000), congested(1_000_000)]);
    expect(change?.bitrateBps).toBe(640_000);
  });

  it('a new configured bitrate moves the ceiling, and the bitrate with it when it was there or above', () => {
    const { clock, abr } = controller();
    expect(abr.setMaxBitrate(4_000_000)).toBe(4_000_000); // at the old ceiling: follows
    abr.update([congested(1_596_000)]);
    expect(abr.setMaxBitrate(3_000_000)).toBe(1_116_800); // under it: stays where the path allows
    expect(abr.setMaxBitrate(1_000_000)).toBe(1_000_000); // above the new one: capped
    clock.advance(10_000);
    expect(abr.update([clear])).toBeNull(); // already at the new ceiling
  });

  it('changes nothing without live outputs', () => {
    const { abr } = controller();
    expect(abr.update([])).toBeNull();
  });

  it.each([
    ['a tenth of the configured bitrate', 5_000_000, 500_000],
    ['200 kbit/s when a tenth would be less', 1_000_000, 200_000],
    ['the configured bitrate itself when that is under 200 kbit/s', 150_000, 150_000],
  ])('defaults the minimum to %s', (_name, maxBitrateBps, minBitrateBps) => {
    expect(bitrateControllerDefaults(maxBitrateBps, 0).minBitrateBps).toBe(minBitrateBps);
  });

  it.each<[string, Partial<BitrateControllerOptions>]>([
    ['a minimum of 50 kbit/s', { minBitrateBps: 50_000 }],
    ['a minimum equal to the configured bitrate', { minBitrateBps: 2_500_000 }],
    ['a headroom of 1 (the whole delivery rate)', { headroom: 1 }],
    ['an increase step of the whole configured bitrate', { increaseStep: 1 }],
    ['equal clear and congested shares', { clearShare: 0.5, congestedShare: 0.5 }],
  ])('accepts %s', (_name, over) => {
    const options = { ...bitrateControllerDefaults(2_500_000, 160_000), ...over };
    expect(new BitrateController(new FakeClock(), options).options).toMatchObject(over);
  });

  it.each<[Partial<BitrateControllerOptions>, string]>([
    [{ minBitrateBps: 49_999 }, 'minBitrateBps'],
    [{ minBitrateBps: 2_500_001 }, 'minBitrateBps'],
    [{ minBitrateBps: Number.NaN }, 'minBitrateBps'],
    [{ headroom: 0 }, 'headroom'],
    [{ headroom: 1.01 }, 'headroom'],
    [{ headroom: Number.NaN }, 'headroom'],
    [{ increaseStep: 0 }, 'increaseStep'],
    [{ increaseStep: 1.5 }, 'increaseStep'],
    [{ congestedShare: 0, clearShare: 0 }, 'clearShare/congestedShare'],
    [{ congestedShare: 0 }, 'clearShare/congestedShare'],
    [{ clearShare: 0 }, 'clearShare/congestedShare'],
    [{ clearShare: 0.6, congestedShare: 0.5 }, 'clearShare/congestedShare'],
    [{ decreaseIntervalMs: 0 }, 'decreaseIntervalMs'],
    [{ increaseIntervalMs: 0 }, 'increaseIntervalMs'],
    [{ increaseIntervalMs: Number.NaN }, 'increaseIntervalMs'],
  ])('refuses %o naming %s', (over, field) => {
    const options = { ...bitrateControllerDefaults(2_500_000, 160_000), ...over };
    expect(() => new BitrateController(new FakeClock(), options)).toThrow(
      expect.objectContaining({ name: 'ConfigError', field }),
    );
  });

  it('treats latency at exactly the congested share as not congested yet (it holds)', () => {
    const { abr } = controller();
    expect(abr.update([{ ...clear, latencyMs: 1000 }])).toBeNull();
    expect(abr.update([{ ...clear, latencyMs: 1001 }])?.reason).toBe('congested');
  });

  it('counts a dropping path as congested from exactly the clear share', () => {
    const { abr } = controller();
    expect(abr.update([{ ...congested(1_596_000), latencyMs: 499 }])).toBeNull();
    expect(abr.update([{ ...congested(1_596_000), latencyMs: 500 }])?.reason).toBe('congested');
  });

  it('cuts again after the interval when the latency holds level (not falling)', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(2000);
    expect(abr.update([congested(1_000_000)])?.bitrateBps).toBe(640_000);
  });

  it('starts a new episode with a cut even when its latency is below the last reading', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(2000);
    expect(abr.update([{ ...clear, latencyMs: 900 }])).toBeNull(); // a queue, not congested: the episode ends
    // dropping at 30 % of maxLatencyMs counts as congested: a new episode, so it cuts though 30 % < 45 %
    expect(abr.update([{ ...congested(1_000_000), latencyMs: 600 }])?.bitrateBps).toBe(640_000);
  });

  it('holds while any path has a queue, though another is clear', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    for (let t = 0; t < 10_000; t += 500) {
      clock.advance(500);
      expect(abr.update([clear, { ...clear, latencyMs: 700 }])).toBeNull();
    }
  });

  it('does not go up without live outputs: no report is no evidence of a clear path', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    for (let t = 0; t < 10_000; t += 500) {
      clock.advance(500);
      expect(abr.update([])).toBeNull();
    }
    expect(abr.bitrateBps).toBe(1_116_800);
  });

  it('ignores paths with no measured rate when another congested path has one', () => {
    const { abr } = controller();
    const unknown = { ...congested(0) };
    expect(abr.update([unknown, congested(1_000_000)])?.bitrateBps).toBe(640_000);
  });

  it('cuts by at least the headroom even when the path delivers more than the bitrate', () => {
    const { abr } = controller();
    expect(abr.update([congested(10_000_000)])?.bitrateBps).toBe(2_000_000);
  });

  it('changes nothing when already at the minimum', () => {
    const { clock, abr } = controller();
    abr.update([congested(100_000)]);
    expect(abr.bitrateBps).toBe(250_000);
    clock.advance(2000);
    expect(abr.update([congested(100_000)])).toBeNull();
    expect(abr.decreases).toBe(1);
  });

  it('goes up exactly increaseIntervalMs after the paths cleared, not before', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(500);
    expect(abr.update([clear])).toBeNull(); // clear from here
    clock.advance(3999);
    expect(abr.update([clear])).toBeNull();
    clock.advance(1);
    expect(abr.update([clear])).toEqual({ bitrateBps: 1_366_800, reason: 'clear' });
  });

  it('holds at exactly the clear share, and restarts the clear wait there', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    clock.advance(500);
    abr.update([clear]);
    clock.advance(3000);
    expect(abr.update([{ ...clear, latencyMs: 500 }])).toBeNull();
    clock.advance(1000);
    expect(abr.update([clear])).toBeNull(); // the 4 s start again from here
    clock.advance(4000);
    expect(abr.update([clear])?.reason).toBe('clear');
  });

  it('a new ceiling under the minimum lowers the minimum with it', () => {
    const { clock, abr } = controller();
    expect(abr.setMaxBitrate(100_000)).toBe(100_000);
    expect(abr.options.minBitrateBps).toBe(100_000);
    expect(abr.lowestBitrateBps).toBe(100_000);
    clock.advance(2000);
    expect(abr.update([congested(50_000)])).toBeNull(); // at the minimum already
  });

  it('a bitrate below the ceiling stays when the new ceiling is above it, and climbs to the new ceiling', () => {
    const { clock, abr } = controller();
    abr.update([congested(1_596_000)]);
    expect(abr.setMaxBitrate(5_000_000)).toBe(1_116_800);
    clock.advance(500);
    abr.update([clear]);
    clock.advance(4000);
    expect(abr.update([clear])?.bitrateBps).toBe(1_116_800 + 500_000);
  });

  it('a new ceiling equal to the bitrate in use keeps it, and counts as at the ceiling from then on', () => {
    const { abr } = controller();
    abr.update([congested(1_596_000)]);
    expect(abr.setMaxBitrate(1_116_800)).toBe(1_116_800);
    expect(abr.setMaxBitrate(3_000_000)).toBe(3_000_000);
  });

  it('refuses a new ceiling the options cannot take, and keeps the old one', () => {
    const { abr } = controller();
    expect(() => abr.setMaxBitrate(10_000)).toThrow(ConfigError);
    expect(abr.options.maxBitrateBps).toBe(2_500_000);
    expect(abr.bitrateBps).toBe(2_500_000);
  });

  it('refuses a minimum above the configured bitrate', () => {
    const clock = new FakeClock();
    expect(
      () =>
        new BitrateController(clock, {
          ...bitrateControllerDefaults(1_000_000, 0),
          minBitrateBps: 2_000_000,
        }),
    ).toThrow(ConfigError);
  });
});
