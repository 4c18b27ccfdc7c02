import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  BitrateController,
  bitrateControllerDefaults,
  type PathReport,
} from '../../../src/output/bitrate-controller.js';
import { FakeClock } from '../../helpers/fake-clock.js';

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
