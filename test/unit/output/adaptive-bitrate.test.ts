/**
 * AdaptiveBitrate: the timer and the wiring around the BitrateController (whose decisions are tested in
 * bitrate-controller.test.ts). Outputs are stand-ins carrying only what it reads: the state, the stats
 * and the latency bound, and a `dropstatechange` event.
 */
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../src/core/typed-emitter.js';
import { AdaptiveBitrate } from '../../../src/output/adaptive-bitrate.js';
import type { Output } from '../../../src/output/output.js';
import { FakeClock } from '../../helpers/fake-clock.js';

type DropState = 'clear' | 'dropping';

/** What AdaptiveBitrate reads of an output. */
class StubOutput extends TypedEmitter<{ dropstatechange: [prev: DropState, next: DropState] }> {
  state = 'live';
  readonly options = { maxLatencyMs: 2000 };
  stats = { dropState: 'clear' as DropState, currentLatencyMs: 80, deliveryRateBps: 3_000_000 };

  /** The path falls behind: latency past half the bound, delivering `rateBps`. */
  fallBehind(rateBps: number): void {
    this.stats = { ...this.stats, currentLatencyMs: 1400, deliveryRateBps: rateBps };
  }

  /** It starts dropping video (and says so). */
  startDropping(): void {
    this.stats = { ...this.stats, dropState: 'dropping' };
    this.emit('dropstatechange', 'clear', 'dropping');
  }
}

function setup(count = 1): {
  clock: FakeClock;
  outputs: StubOutput[];
  abr: AdaptiveBitrate;
  changes: [number, string][];
} {
  const clock = new FakeClock();
  const outputs = Array.from({ length: count }, () => new StubOutput());
  const abr = new AdaptiveBitrate(clock, outputs as unknown as Output[], 2_500_000, 160_000);
  const changes: [number, string][] = [];
  abr.on('change', (bitrateBps, reason) => changes.push([bitrateBps, reason]));
  return { clock, outputs, abr, changes };
}

describe('AdaptiveBitrate', () => {
  it('looks at the outputs when started, then every 500 ms', () => {
    const { clock, outputs, abr, changes } = setup();
    outputs[0]!.fallBehind(1_000_000);
    abr.start();
    expect(changes).toEqual([[640_000, 'congested']]); // 80 % of 1 Mbit/s, minus audio
    outputs[0]!.fallBehind(500_000);
    clock.advance(499);
    expect(changes).toHaveLength(1);
    // The next look is at 500 ms, but a cut waits 2 s after the last one.
    clock.advance(1);
    expect(changes).toHaveLength(1);
    clock.advance(1500);
    expect(changes).toEqual([
      [640_000, 'congested'],
      [250_000, 'congested'],
    ]);
  });

  it('looks at once when an output starts dropping, not at the next tick', () => {
    const { clock, outputs, abr, changes } = setup();
    abr.start();
    clock.advance(100);
    outputs[0]!.fallBehind(1_000_000);
    outputs[0]!.startDropping();
    expect(changes).toEqual([[640_000, 'congested']]);
    // and the 500 ms rhythm restarts from that look: one timer, not two
    expect(clock.pendingTimers).toBe(1);
  });

  it('counts an output that drops while past a quarter of its latency bound as congested, though under half of it', () => {
    const { outputs, abr, changes } = setup();
    outputs[0]!.fallBehind(1_000_000);
    outputs[0]!.stats = { ...outputs[0]!.stats, currentLatencyMs: 600 }; // 30 % of its 2000 ms
    abr.start();
    expect(changes).toEqual([]); // not dropping: holding
    outputs[0]!.startDropping();
    expect(changes).toEqual([[640_000, 'congested']]);
  });

  it('ignores an output that leaves the dropping state', () => {
    const { outputs, abr, changes } = setup();
    abr.start();
    outputs[0]!.fallBehind(1_000_000);
    outputs[0]!.emit('dropstatechange', 'dropping', 'clear');
    expect(changes).toEqual([]);
  });

  it('judges only live outputs: one reconnecting says nothing about its path', () => {
    const { clock, outputs, abr, changes } = setup(2);
    outputs[1]!.state = 'reconnecting';
    outputs[1]!.fallBehind(300_000);
    abr.start();
    clock.advance(5000);
    expect(changes).toEqual([]);
  });

  it('follows the slowest of several live outputs', () => {
    const { outputs, abr, changes } = setup(2);
    outputs[0]!.fallBehind(2_000_000);
    outputs[1]!.fallBehind(1_000_000);
    abr.start();
    expect(changes).toEqual([[640_000, 'congested']]);
  });

  it('reads each output against its own latency bound', () => {
    const { outputs, abr, changes } = setup();
    outputs[0]!.options.maxLatencyMs = 4000; // 1400 ms is then 35 %: holding, not congested
    outputs[0]!.fallBehind(1_000_000);
    abr.start();
    expect(changes).toEqual([]);
  });

  it('starts once: a second start() adds no timer', () => {
    const { clock, abr } = setup();
    abr.start();
    abr.start();
    expect(clock.pendingTimers).toBe(1);
  });

  it('stops looking on stop(), for good: no timer, no look on drops, no restart', () => {
    const { clock, outputs, abr, changes } = setup();
    abr.start();
    abr.stop();
    expect(clock.pendingTimers).toBe(0);
    outputs[0]!.fallBehind(1_000_000);
    outputs[0]!.startDropping();
    abr.start();
    clock.advance(5000);
    expect(changes).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    abr.stop();
  });

  it('moves the ceiling with setMaxBitrate() and returns the bitrate to use under it', () => {
    const { abr } = setup();
    expect(abr.setMaxBitrate(1_500_000)).toBe(1_500_000);
  });
});
