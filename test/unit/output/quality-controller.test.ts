import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  QualityController,
  qualityControllerDefaults,
  type OutputQualityReport,
  type QualityAction,
  type QualityRendition,
} from '../../../src/output/quality-controller.js';
import { FakeClock } from '../../helpers/fake-clock.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - `output.pinned !== undefined` → true when not adapting: #pin of an unpinned output matches neither
//   the main rendition's name nor a rung, and does nothing;
// - `to.name !== output.rendition` → true in #congested: #renditionUnder only returns renditions under
//   the bitrate the output carries, never its own;
// - `-Infinity` → `Infinity` as the last decrease of a rung started by a step up or a pin: only read
//   without a ladder, and those starts happen only with one;
// - `state === 'clear'` → true before a step up: a path not clear has no clearSinceMs, so it waited 0 ms,
//   under either step interval (both validated > 0);
// - `offered > 0` → true, `offered >= 0` in #judge: with nothing offered, `deliveryRateBps < 0.9 × 0` is
//   already false (rates are never negative);
// - `!rung` → false in #renditionUnder: it is read only with a ladder, whose lowest rung is always there;
// - `r.bitrateBps <= target` → `<` at the cap without a ladder: an encoder exactly at the target lies within
//   any shareTolerance ≥ 0 (validation refuses a negative one) and was shared just before;
// - `deliveries.length > 0` → true, `>= 0` in #remember: the delivery just pushed is never older than two step
//   intervals, so the queue never empties;
// - `upIndex >= 0 ? ladder[upIndex] : undefined` → true: ladder[-1] is undefined;
// - `a.kind === 'move'` → true in #carriedOnlyBy: only moves have a `to`, and the rung's name is never
//   undefined there (#stepUp returns first for the main encode).

const MAIN: QualityRendition = { name: 'main', width: 1280, height: 720, bitrateBps: 2_500_000 };
const AUDIO = 160_000;

/** A live output on the main rendition whose path is fine. */
function clear(id: string, patch: Partial<OutputQualityReport> = {}): OutputQualityReport {
  return {
    id,
    live: true,
    dropping: false,
    latencyMs: 80,
    maxLatencyMs: 2000,
    deliveryRateBps: 2_700_000,
    rendition: undefined,
    pending: null,
    pinned: undefined,
    ...patch,
  };
}

/** The same output behind: latency past half its bound, delivering `rateBps`. */
function behind(id: string, rateBps: number, patch: Partial<OutputQualityReport> = {}): OutputQualityReport {
  return clear(id, { latencyMs: 1400, deliveryRateBps: rateBps, ...patch });
}

function controller(patch: Partial<ReturnType<typeof qualityControllerDefaults>> = {}): {
  clock: FakeClock;
  q: QualityController;
} {
  const clock = new FakeClock();
  return { clock, q: new QualityController(clock, { ...qualityControllerDefaults(MAIN, AUDIO), ...patch }) };
}

const starts = (actions: QualityAction[]): QualityRendition[] =>
  actions.flatMap((a) => (a.kind === 'start' ? [a.rendition] : []));
const moves = (actions: QualityAction[]): [string, string | undefined, string][] =>
  actions.flatMap((a) =>
    a.kind === 'move' ? [[a.output, a.to, a.reason] as [string, string | undefined, string]] : [],
  );

describe('QualityController with several destinations (renditions on demand)', () => {
  it('runs nothing extra while every path keeps up', () => {
    const { clock, q } = controller();
    for (let t = 0; t < 10; t++) {
      expect(q.update([clear('a'), clear('b')])).toEqual([]);
      clock.advance(500);
    }
    expect(q.running.size).toBe(0);
  });

  it('gives a path that falls behind a rendition of its own at 80 % of what it delivers minus audio; the others stay', () => {
    const { q } = controller();
    const actions = q.update([clear('a'), behind('b', 1_000_000)]);
    expect(starts(actions)).toEqual([{ name: 'adaptive-1', width: 1280, height: 720, bitrateBps: 640_000 }]);
    expect(moves(actions)).toEqual([['b', 'adaptive-1', 'congested']]);
  });

  it('counts a path that drops while over a quarter of its bound as behind, and one under a quarter as clear', () => {
    const { q } = controller();
    expect(
      moves(
        q.update([clear('a'), clear('b', { dropping: true, latencyMs: 600, deliveryRateBps: 1_500_000 })]),
      ),
    ).toEqual([['b', 'adaptive-1', 'congested']]);
    const other = controller().q;
    expect(other.update([clear('a'), clear('b', { dropping: true, latencyMs: 400 })])).toEqual([]);
  });

  it('lets paths that fall behind together share one encoder when their targets are close', () => {
    const { q } = controller();
    const first = q.update([clear('a'), behind('b', 1_000_000), clear('c')]);
    expect(starts(first)).toHaveLength(1);
    const second = q.update([
      clear('a'),
      behind('b', 1_000_000, { rendition: undefined, pending: 'adaptive-1' }),
      behind('c', 1_100_000),
    ]);
    expect(starts(second)).toEqual([]);
    expect(moves(second)).toEqual([['c', 'adaptive-1', 'congested']]);
  });

  it('starts a second encoder for a path much slower than the first one, and no more than maxExtraEncoders', () => {
    const { q } = controller({ maxExtraEncoders: 2 });
    q.update([behind('a', 2_000_000), clear('b'), clear('c'), clear('d')]);
    const second = q.update([
      behind('a', 2_000_000, { rendition: 'adaptive-1' }),
      behind('b', 600_000),
      clear('c'),
      clear('d'),
    ]);
    expect(starts(second).map((r) => r.bitrateBps)).toEqual([320_000]);
    const third = q.update([
      behind('a', 2_000_000, { rendition: 'adaptive-1' }),
      behind('b', 600_000, { rendition: 'adaptive-2' }),
      behind('c', 1_200_000),
      clear('d'),
    ]);
    // At the cap: the closest one under its target (800 k: the 320 k one), not a third encoder.
    expect(starts(third)).toEqual([]);
    expect(moves(third)).toEqual([['c', 'adaptive-2', 'congested']]);
    expect(q.running.size).toBe(2);
  });

  it('with maxExtraEncoders 0 never starts one: the path keeps the main encode (and its drops)', () => {
    const { q } = controller({ maxExtraEncoders: 0 });
    expect(q.update([behind('a', 500_000), clear('b')])).toEqual([]);
  });

  it('cuts the bitrate of a path still behind on its own encode, at most every 2 s and only while its latency is not falling', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // adaptive-1 at 640 k
    clock.advance(500);
    const onIt = (latencyMs: number, rateBps: number): OutputQualityReport =>
      behind('b', rateBps, { rendition: 'adaptive-1', latencyMs });
    expect(q.update([clear('a'), onIt(1500, 500_000)])).toEqual([]); // within 2 s of the start
    clock.advance(2000);
    expect(q.update([clear('a'), onIt(1400, 500_000)])).toEqual([]); // falling: hold
    clock.advance(500);
    expect(q.update([clear('a'), onIt(1450, 600_000)])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 320_000 },
    ]);
    clock.advance(2000);
    // Never under a tenth of the main bitrate (250 k here; 200 k at least).
    expect(q.update([clear('a'), onIt(1500, 300_000)])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 250_000 },
    ]);
  });

  it('steps a recovered path back up after 2 s clear by a fifth of the main bitrate, then every 1.5 s it stays clear by twice as much up to 80 % of the main bitrate on its own encode, then onto the main encode, and stops the encoder nobody carries', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 }); // what it is offered
    const steps: [number, number][] = [];
    const back: QualityAction[][] = [];
    let backAtMs = 0;
    for (let t = 1; t <= 40; t++) {
      clock.advance(500);
      const actions = q.update([clear('a'), onIt]);
      for (const a of actions) if (a.kind === 'bitrate') steps.push([t * 500, a.bitrateBps]);
      if (moves(actions).length > 0) {
        back.push(actions);
        backAtMs = t * 500;
        break;
      }
    }
    // 640 k + 500 k; the next, + 1000 k, would pass 2000 k: 2000 k, and from there the main encode.
    expect(steps).toEqual([
      [2500, 1_140_000],
      [4000, 2_000_000],
    ]);
    expect(backAtMs).toBe(5500);
    expect(moves(back[0] ?? [])).toEqual([['b', undefined, 'recovered']]);
    // Until the switch is done (at the main encode's keyframe) the encoder stays; then it goes.
    expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1', pending: undefined })])).toEqual([]);
    expect(q.update([clear('a'), clear('b')])).toEqual([{ kind: 'stop', name: 'adaptive-1' }]);
    expect(q.running.size).toBe(0);
  });

  it('does not step up a path that delivers clearly less than it is offered, and cuts it once its latency passes a quarter of its bound', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    // Latency still low, but the path delivers 1000 k of the 1250 k it is offered: its queue grows.
    const saturated = clear('b', {
      rendition: 'adaptive-1',
      offeredRateBps: 1_250_000,
      deliveryRateBps: 1_000_000,
    });
    for (let t = 0; t < 12; t++) {
      clock.advance(500);
      expect(q.update([clear('a'), saturated])).toEqual([]);
    }
    // Past a quarter of the bound (500 ms) while saturated: congested, cut (to 80 % of its 640 k here).
    clock.advance(500);
    const actions = q.update([clear('a'), { ...saturated, latencyMs: 600 }]);
    expect(actions).toEqual([{ kind: 'bitrate', name: 'adaptive-1', bitrateBps: 512_000 }]);
    // Delivering what it is offered (within a tenth), it is clear again and steps up after 2 s.
    const keepingUp = clear('b', {
      rendition: 'adaptive-1',
      offeredRateBps: 800_000,
      deliveryRateBps: 760_000,
    });
    const rates: number[] = [];
    for (let t = 0; t < 5; t++) {
      clock.advance(500);
      for (const a of q.update([clear('a'), keepingUp])) if (a.kind === 'bitrate') rates.push(a.bitrateBps);
    }
    expect(rates).toEqual([1_012_000]);
  });

  it('probes again after congestion from a fifth of the main bitrate and after a whole 2 s clear, however far its steps had grown', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 }); // what it is offered
    const rates: number[] = [];
    const run = (report: OutputQualityReport, ms: number): void => {
      for (let t = 0; t < ms; t += 500) {
        clock.advance(500);
        for (const a of q.update([clear('a'), report])) if (a.kind === 'bitrate') rates.push(a.bitrateBps);
      }
    };
    run(onIt, 4000); // two steps: 1140 k, then 2000 k (80 % of the main bitrate)
    run(behind('b', 1_000_000, { rendition: 'adaptive-1' }), 500); // congested: cut to 640 k
    run(onIt, 2500); // the first step after it is small again, after 2 s
    expect(rates).toEqual([1_140_000, 2_000_000, 640_000, 1_140_000]);
  });

  it('goes straight back onto the main encode once a recovered path has drained its backlog at more than the main bitrate, not cutting it while it drains', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    // The link recovers: latency is still past half the bound, but the backlog drains at 6 Mbit/s.
    const draining = behind('b', 6_000_000, { rendition: 'adaptive-1', offeredRateBps: 800_000 });
    const actions: QualityAction[] = [];
    for (let t = 0; t < 4; t++) {
      clock.advance(500);
      actions.push(...q.update([clear('a'), { ...draining, latencyMs: 1400 + t * 100 }]));
    }
    expect(actions).toEqual([]); // latency rising, yet no cut: the queue is draining
    // Drained: clear, delivering what it is offered. 2 s later, one step: onto the main encode.
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000, offeredRateBps: 800_000 });
    const stepped: [number, QualityAction[]][] = [];
    for (let t = 1; t <= 6; t++) {
      clock.advance(500);
      const now = q.update([clear('a'), onIt]);
      if (now.length > 0) stepped.push([t * 500, now]);
    }
    expect(stepped).toEqual([[2500, [{ kind: 'move', output: 'b', to: undefined, reason: 'recovered' }]]]);
  });

  it('still cuts a path behind on its own encode whose delivery only matches what it is offered', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    clock.advance(2000);
    const stuck = behind('b', 780_000, { rendition: 'adaptive-1', offeredRateBps: 800_000 });
    expect(q.update([clear('a'), stuck])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 464_000 },
    ]);
  });

  it('climbs on what a path delivered in the last two step intervals only: an older burst is forgotten', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    clock.advance(500);
    q.update([
      clear('a'),
      clear('b', { rendition: 'adaptive-1', latencyMs: 700, deliveryRateBps: 6_000_000 }),
    ]);
    // Holding (not clear) for 6.5 s, delivering what it is offered; then clear for 2.5 s.
    const holding = clear('b', { rendition: 'adaptive-1', latencyMs: 700, deliveryRateBps: 800_000 });
    for (let t = 0; t < 13; t++) {
      clock.advance(500);
      expect(q.update([clear('a'), holding])).toEqual([]);
    }
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 });
    const rates: number[] = [];
    for (let t = 0; t < 5; t++) {
      clock.advance(500);
      for (const a of q.update([clear('a'), onIt])) if (a.kind === 'bitrate') rates.push(a.bitrateBps);
    }
    expect(rates).toEqual([1_140_000]); // a probing step, not a jump on the burst 10 s ago
  });

  it('takes no further step while its latency has risen by a tenth of its bound since the last one, though still under a quarter', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 }); // latency 80 ms
    const rates: [number, number][] = [];
    let ms = 0;
    const run = (report: OutputQualityReport, forMs: number): void => {
      for (let t = 0; t < forMs; t += 500) {
        clock.advance(500);
        ms += 500;
        for (const a of q.update([clear('a'), report]))
          if (a.kind === 'bitrate') rates.push([ms, a.bitrateBps]);
      }
    };
    run(onIt, 2500); // the first step, 1140 k, at 2.5 s with the latency at 80 ms
    run({ ...onIt, latencyMs: 290 }, 3000); // 210 ms higher (a tenth of 2000 is 200): no step
    run({ ...onIt, latencyMs: 270 }, 2000); // 190 ms higher: the step held, the next comes 1.5 s later
    expect(rates).toEqual([
      [2500, 1_140_000],
      [7500, 2_000_000],
    ]);
  });

  it('counts a step as held when its latency rose by exactly a tenth of its bound: the next step comes 1.5 s later', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 }); // latency 80 ms
    const rates: number[] = [];
    for (const latencyMs of [80, 80, 80, 80, 80, 280, 280, 280]) {
      clock.advance(500);
      for (const a of q.update([clear('a'), { ...onIt, latencyMs }]))
        if (a.kind === 'bitrate') rates.push(a.bitrateBps);
    }
    // The first step at 2.5 s (latency 80 ms), the next at 4 s with the latency 200 ms higher.
    expect(rates).toEqual([1_140_000, 2_000_000]);
  });

  it('refuses a climb interval that is not positive or longer than the first step interval, naming it', () => {
    for (const climbIntervalMs of [0, -1, Number.NaN, 2001]) {
      expect(() => controller({ climbIntervalMs })).toThrow(ConfigError);
      expect(() => controller({ climbIntervalMs })).toThrow(/climbIntervalMs/);
    }
    expect(() => controller({ climbIntervalMs: 2000 })).not.toThrow();
  });

  it('remembers a delivery for exactly two step intervals: a step 4 s after it climbs on it, one a millisecond later does not', () => {
    /** The step up of a path on a 640 k encode that delivered 2 Mbit/s `ageMs` before its step is due. */
    const stepAfter = (ageMs: number): QualityAction[] => {
      const { clock, q } = controller();
      q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
      clock.advance(500);
      q.update([
        clear('a'),
        clear('b', { rendition: 'adaptive-1', latencyMs: 700, deliveryRateBps: 2_000_000 }),
      ]);
      clock.advance(ageMs - 2000); // holding until clear, 2 s before the step
      const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 });
      q.update([clear('a'), { ...onIt, latencyMs: 700 }]);
      q.update([clear('a'), onIt]);
      clock.advance(2000);
      return q.update([clear('a'), onIt]);
    };
    // 80 % of 2 Mbit/s minus audio: 1440 k, over the 1140 k of a probing step.
    expect(stepAfter(4000)).toEqual([{ kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_440_000 }]);
    expect(stepAfter(4001)).toEqual([{ kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_140_000 }]);
  });

  it('doubles its steps up to half the main bitrate, no further', () => {
    const { clock, q } = controller({ increaseStep: 0.01 }); // 25 k first
    q.update([clear('a'), behind('b', 512_500)]); // 250 k
    let bitrateBps = 250_000;
    const bitrates: number[] = [];
    const tick = (): void => {
      clock.advance(500);
      const report = clear('b', { rendition: 'adaptive-1', deliveryRateBps: bitrateBps + AUDIO });
      for (const a of q.update([clear('a'), report]))
        if (a.kind === 'bitrate') bitrates.push((bitrateBps = a.bitrateBps));
    };
    while (bitrates.length < 6) tick();
    // + 25 k, 50 k, 100 k, 200 k, 400 k, 800 k; the next would be 1600 k, held at 1250 k.
    expect(bitrates).toEqual([275_000, 325_000, 425_000, 625_000, 1_025_000, 1_825_000]);
    q.setMainBitrate(10_000_000); // room to see the next step
    while (bitrates.length < 7) tick();
    expect(bitrates[6]).toBe(3_075_000);
  });

  it('calls a path saturated only under 90 % of what it is offered: at 90 % exactly it is clear and steps up', () => {
    const stepsUp = (deliveryRateBps: number): boolean => {
      const { clock, q } = controller();
      q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
      const onIt = clear('b', { rendition: 'adaptive-1', offeredRateBps: 1_000_000, deliveryRateBps });
      q.update([clear('a'), onIt]);
      clock.advance(3000);
      return q.update([clear('a'), onIt]).length > 0;
    };
    expect(stepsUp(900_000)).toBe(true);
    expect(stepsUp(899_999)).toBe(false);
  });

  it('calls a path draining only past a tenth over what it is offered: at offered / 0.9 exactly it is cut', () => {
    const cut = (deliveryRateBps: number): QualityAction[] => {
      const { clock, q } = controller();
      q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
      clock.advance(2000);
      return q.update([
        clear('a'),
        behind('b', deliveryRateBps, { rendition: 'adaptive-1', offeredRateBps: 720_000 }),
      ]);
    };
    expect(cut(800_000)).toEqual([{ kind: 'bitrate', name: 'adaptive-1', bitrateBps: 480_000 }]);
    expect(cut(800_001)).toEqual([]);
  });

  it('does not call a path without a measured delivery rate saturated: it steps up', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
    const onIt = clear('b', { rendition: 'adaptive-1', offeredRateBps: 800_000, deliveryRateBps: 0 });
    q.update([clear('a'), onIt]);
    clock.advance(2000);
    expect(q.update([clear('a'), onIt])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_140_000 },
    ]);
  });

  it('does not judge an output that is reconnecting or still moving', () => {
    const { q } = controller();
    expect(q.update([clear('a'), behind('b', 500_000, { live: false })])).toEqual([]);
    expect(q.update([clear('a'), behind('b', 500_000, { pending: 'x' })])).toEqual([]);
  });
});

describe('QualityController judging a path (two destinations, on demand)', () => {
  /** Path b's first judgement at `latencyMs` of its 2000 ms bound: whether it is moved off the main encode. */
  const movedAt = (latencyMs: number, dropping = false): boolean =>
    moves(controller().q.update([clear('a'), behind('b', 1_000_000, { latencyMs, dropping })])).length > 0;

  it('calls a path congested only past half its latency bound, or dropping past a quarter of it', () => {
    expect(movedAt(1000)).toBe(false);
    expect(movedAt(1001)).toBe(true);
    expect(movedAt(500, true)).toBe(false);
    expect(movedAt(501, true)).toBe(true);
  });

  it('steps up exactly increaseIntervalMs after the path became clear, not before', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]); // adaptive-1 at 640 k
    clock.advance(1000);
    // Delivering what it is offered: 640 k of video and 160 k of audio.
    const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 });
    expect(q.update([clear('a'), onIt])).toEqual([]); // clear from here
    clock.advance(1999);
    expect(q.update([clear('a'), onIt])).toEqual([]);
    clock.advance(1);
    expect(q.update([clear('a'), onIt])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_140_000 },
    ]);
  });

  it('restarts the clear interval when the path holds in between', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]);
    const onIt = (latencyMs: number): OutputQualityReport =>
      clear('b', { rendition: 'adaptive-1', latencyMs, deliveryRateBps: 800_000 });
    q.update([clear('a'), onIt(80)]); // clear at 0
    clock.advance(2000);
    expect(q.update([clear('a'), onIt(700)])).toEqual([]); // holding: between a quarter and half
    clock.advance(500);
    q.update([clear('a'), onIt(80)]); // clear again at 2.5 s
    clock.advance(1999);
    expect(q.update([clear('a'), onIt(80)])).toEqual([]); // 4.5 s after the first clear, not 2 s after this one
    clock.advance(1);
    expect(q.update([clear('a'), onIt(80)])).toHaveLength(1);
  });

  it('never steps up a path at exactly a quarter of its bound (holding, not clear)', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 1_000_000)]);
    for (let t = 0; t < 20; t++) {
      clock.advance(500);
      expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1', latencyMs: 500 })])).toEqual([]);
    }
  });

  it('with 1 ms intervals, steps up a path 1 ms after it became clear but never a holding one', () => {
    const { clock, q } = controller({ increaseIntervalMs: 1, climbIntervalMs: 1 });
    q.update([clear('a'), behind('b', 1_000_000)]);
    clock.advance(1);
    expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1', latencyMs: 600 })])).toEqual([]);
    clock.advance(1);
    expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1', latencyMs: 600 })])).toEqual([]);
    expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1' })])).toEqual([]); // clear from here
    clock.advance(1);
    expect(q.update([clear('a'), clear('b', { rendition: 'adaptive-1' })])).toHaveLength(1);
  });

  it('climbs to 80 % of the main bitrate on its own encode, and only from there returns to the main encode', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 512_500)]); // 250 k
    let bitrateBps = 250_000;
    const bitrates: number[] = [];
    let back = false;
    for (let t = 0; t < 40 && !back; t++) {
      clock.advance(500);
      // Delivering what it is offered: the encode's bitrate and audio.
      const report = clear('b', { rendition: 'adaptive-1', deliveryRateBps: bitrateBps + AUDIO });
      for (const a of q.update([clear('a'), report])) {
        if (a.kind === 'bitrate') bitrates.push((bitrateBps = a.bitrateBps));
        if (a.kind === 'move') back = a.to === undefined;
      }
    }
    // 250 k + 500 k, + 1000 k, + 2000 k held at 80 % of 2500 k; from there the main encode.
    expect(bitrates).toEqual([750_000, 1_750_000, 2_000_000]);
    expect(back).toBe(true);
  });

  it('climbs at once to 80 % of the most a recovered path delivered minus audio, and to the main encode from 80 % of it', () => {
    /** The step up of a path on a 640 k encode that delivered `peakBps` once just after recovering. */
    const stepAfterPeak = (peakBps: number): QualityAction[] => {
      const { clock, q } = controller();
      q.update([clear('a'), behind('b', 1_000_000)]); // 640 k
      clock.advance(500);
      q.update([
        clear('a'),
        clear('b', { rendition: 'adaptive-1', latencyMs: 700, deliveryRateBps: peakBps }),
      ]);
      const onIt = clear('b', { rendition: 'adaptive-1', deliveryRateBps: 800_000 });
      const actions: QualityAction[] = [];
      for (let t = 0; t < 7; t++) {
        clock.advance(500);
        actions.push(...q.update([clear('a'), onIt]));
      }
      return actions;
    };
    expect(stepAfterPeak(2_000_000)).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_440_000 },
    ]);
    // 80 % of 2 699 999 minus audio is 1 999 999.2: just under 80 % of the main bitrate.
    expect(stepAfterPeak(2_699_999)).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 1_999_999 },
    ]);
    expect(stepAfterPeak(2_700_000)).toEqual([
      { kind: 'move', output: 'b', to: undefined, reason: 'recovered' },
    ]);
  });

  it('without a measured delivery rate, gives a path behind 80 % of what it had', () => {
    const { q } = controller();
    expect(starts(q.update([clear('a'), behind('b', 0)])).map((r) => r.bitrateBps)).toEqual([2_000_000]);
  });

  it('gives a path behind no more than 80 % of what it had, however fast it last delivered (a burst)', () => {
    const { q } = controller();
    expect(starts(q.update([clear('a'), behind('b', 10_000_000)])).map((r) => r.bitrateBps)).toEqual([
      2_000_000,
    ]);
  });

  it('cuts an encode only 2 s after it started, also late in a session', () => {
    const { clock, q } = controller();
    clock.advance(60_000);
    q.update([clear('a'), behind('b', 1_000_000)]);
    const onIt = (latencyMs: number): OutputQualityReport =>
      behind('b', 500_000, { rendition: 'adaptive-1', latencyMs });
    clock.advance(1999);
    expect(q.update([clear('a'), onIt(1500)])).toEqual([]);
    clock.advance(1);
    expect(q.update([clear('a'), onIt(1600)])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 250_000 },
    ]);
  });

  it('counts a latency that did not fall as not improving: the encode is cut', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 2_000_000)]); // 1440 k, the path at 1400 ms
    clock.advance(2000);
    const same = behind('b', 1_000_000, { rendition: 'adaptive-1', latencyMs: 1400 });
    expect(q.update([clear('a'), same])).toEqual([
      { kind: 'bitrate', name: 'adaptive-1', bitrateBps: 640_000 },
    ]);
  });

  it('cuts no further once an encode is at the floor (a tenth of the main bitrate, 200 k at least)', () => {
    const { clock, q } = controller();
    q.update([clear('a'), behind('b', 300_000)]); // 250 k: the floor
    for (let t = 0; t < 5; t++) {
      clock.advance(2000);
      expect(
        q.update([clear('a'), behind('b', 300_000, { rendition: 'adaptive-1', latencyMs: 1500 + t })]),
      ).toEqual([]);
    }
    const small = controller({ main: { ...MAIN, bitrateBps: 1_000_000 } }).q;
    expect(starts(small.update([clear('a'), behind('b', 100_000)])).map((r) => r.bitrateBps)).toEqual([
      200_000,
    ]);
  });

  it('gives a path much faster than the first one behind an encoder of its own, not the slower one', () => {
    const { q } = controller();
    q.update([behind('a', 600_000), clear('b')]); // 320 k
    const second = q.update([behind('a', 600_000, { rendition: 'adaptive-1' }), behind('b', 2_000_000)]);
    expect(starts(second).map((r) => r.bitrateBps)).toEqual([1_440_000]);
  });

  it('shares an encoder whose bitrate is within shareTolerance of the target, edges included', () => {
    // headroom 0.5 keeps the numbers exact: a's encoder at 0.5 × its rate − 160 k; b's target the same way.
    const shares = (firstRateBps: number, secondRateBps: number): boolean => {
      const { q } = controller({ headroom: 0.5 });
      q.update([behind('a', firstRateBps), clear('b')]);
      const second = q.update([
        behind('a', firstRateBps, { rendition: 'adaptive-1' }),
        behind('b', secondRateBps),
      ]);
      return starts(second).length === 0;
    };
    expect(shares(1_720_000, 2_320_000)).toBe(true); // 700 k for a target of 1000 k: 30 % under
    expect(shares(1_719_998, 2_320_000)).toBe(false); // 699 999
    expect(shares(1_620_000, 1_320_000)).toBe(true); // 650 k for a target of 500 k: 30 % over
    expect(shares(1_620_002, 1_320_000)).toBe(false); // 650 001
  });

  it('at the cap, moves a path to the closest encoder under its target, not the lowest', () => {
    const { q } = controller({ maxExtraEncoders: 2 });
    q.update([behind('a', 600_000), clear('b'), clear('c')]); // 320 k
    q.update([behind('a', 600_000, { rendition: 'adaptive-1' }), behind('b', 1_000_000), clear('c')]); // 640 k
    const third = q.update([
      behind('a', 600_000, { rendition: 'adaptive-1' }),
      behind('b', 1_000_000, { rendition: 'adaptive-2' }),
      behind('c', 1_400_000), // target 960 k
    ]);
    expect(moves(third)).toEqual([['c', 'adaptive-2', 'congested']]);
  });

  it("shares the best of several encoders within shareTolerance of a path's target", () => {
    const { q } = controller();
    q.update([behind('a', 1_000_000), clear('b'), clear('c')]); // 640 k
    q.update([behind('a', 1_000_000, { rendition: 'adaptive-1' }), behind('b', 1_400_000), clear('c')]); // 960 k
    const third = q.update([
      clear('a', { rendition: 'adaptive-1' }),
      clear('b', { rendition: 'adaptive-2' }),
      behind('c', 1_200_000), // target 800 k: both within 30 %
    ]);
    expect(starts(third)).toEqual([]);
    expect(moves(third)).toEqual([['c', 'adaptive-2', 'congested']]);
  });

  it('at the cap, moves a path whose target is under every encoder to the lowest one', () => {
    const { q } = controller({ maxExtraEncoders: 2 });
    q.update([behind('a', 2_000_000), clear('b'), clear('c')]); // 1440 k
    q.update([behind('a', 2_000_000, { rendition: 'adaptive-1' }), behind('b', 1_000_000), clear('c')]); // 640 k
    const third = q.update([
      clear('a', { rendition: 'adaptive-1' }),
      clear('b', { rendition: 'adaptive-2' }),
      behind('c', 500_000), // target 250 k (the floor)
    ]);
    expect(moves(third)).toEqual([['c', 'adaptive-2', 'congested']]);
  });

  it("after the main bitrate is lowered to an encode's bitrate, gives a path behind on the main encode a lower encode, not that one", () => {
    const { q } = controller();
    q.update([behind('a', 10_000_000), clear('b')]); // 2000 k: 80 % of the main bitrate
    q.setMainBitrate(2_000_000);
    const second = q.update([clear('a', { rendition: 'adaptive-1' }), behind('b', 10_000_000)]);
    expect(starts(second).map((r) => r.bitrateBps)).toEqual([1_600_000]); // 80 % of the new main bitrate
    expect(moves(second)).toEqual([['b', 'adaptive-2', 'congested']]);
  });
});

describe('QualityController with one destination', () => {
  it('starts no second encode: the main bitrate follows the path, as adaptive bitrate does', () => {
    const { clock, q } = controller();
    const actions = q.update([behind('a', 1_000_000)]);
    expect(actions).toEqual([{ kind: 'bitrate', name: undefined, bitrateBps: 640_000 }]);
    clock.advance(10_000);
    expect(starts(q.update([clear('a')]))).toEqual([]);
  });

  it('moves its ceiling with setMainBitrate()', () => {
    const { q } = controller();
    expect(q.setMainBitrate(1_500_000)).toBe(1_500_000);
    expect(q.options.main.bitrateBps).toBe(1_500_000);
  });
});

describe('QualityController with a ladder', () => {
  const ladder: QualityRendition[] = [
    { name: '720p-1500', width: 1280, height: 720, bitrateBps: 1_500_000 },
    { name: '480p-800', width: 854, height: 480, bitrateBps: 800_000 },
    { name: '360p-400', width: 640, height: 360, bitrateBps: 400_000 },
  ];
  const laddered = (): { clock: FakeClock; q: QualityController } =>
    controller({ ...qualityControllerDefaults(MAIN, AUDIO, ladder) });

  it('moves a path behind to the best rung under its target, started on demand', () => {
    const { q } = laddered();
    const actions = q.update([clear('a'), behind('b', 1_300_000)]); // target 880 k
    expect(starts(actions).map((r) => r.name)).toEqual(['480p-800']);
    expect(moves(actions)).toEqual([['b', '480p-800', 'congested']]);
  });

  it('takes the lowest rung when even that is over the target', () => {
    const { q } = laddered();
    expect(moves(q.update([clear('a'), behind('b', 300_000)]))).toEqual([['b', '360p-400', 'congested']]);
  });

  it('steps up one rung at a time, after 2 s clear and then every 1.5 s, then to the main encode', () => {
    const { clock, q } = laddered();
    q.update([clear('a'), behind('b', 300_000)]);
    const steps: (string | undefined)[] = [];
    const times: number[] = [];
    let rendition: string | undefined = '360p-400';
    for (let t = 0; t < 60 && steps.length < 3; t++) {
      clock.advance(500);
      const report = clear('b', { rendition, deliveryRateBps: 560_000 }); // no more than the lowest rung
      for (const [, to] of moves(q.update([clear('a'), report]))) {
        steps.push(to);
        times.push((t + 1) * 500);
        rendition = to; // the switch completes at once here
      }
    }
    expect(steps).toEqual(['480p-800', '720p-1500', undefined]);
    expect(times).toEqual([2500, 4000, 5500]);
  });

  /**
   * Output b, moved to 360p-400, once drains at `drainedBps` (while 700 ms behind), then recovers for 2.5 s:
   * the actions of the recovery.
   */
  function recoverAfterDraining(drainedBps: number): QualityAction[] {
    const { clock, q } = laddered();
    q.update([clear('a'), behind('b', 300_000)]); // 360p-400
    clock.advance(500);
    q.update([
      clear('a'),
      clear('b', { rendition: '360p-400', latencyMs: 700, deliveryRateBps: drainedBps }),
    ]);
    const recovered = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
    const actions: QualityAction[] = [];
    for (let t = 0; t < 5; t++) {
      clock.advance(500);
      actions.push(...q.update([clear('a'), recovered]));
    }
    return actions;
  }

  it('steps up past the rungs a recovered path has shown it carries, straight to the best one under that', () => {
    // Drained at 2.2 Mbit/s: 80 % of it minus audio is 1600 k, so 720p-1500 (not 480p-800, one rung up).
    const actions = recoverAfterDraining(2_200_000);
    expect(starts(actions).map((r) => r.name)).toEqual(['720p-1500']);
    expect(moves(actions)).toEqual([['b', '720p-1500', 'recovered']]);
  });

  it('steps a recovered path up to a rung exactly at what it has shown it carries', () => {
    // Drained at 2.075 Mbit/s: 80 % of it minus audio is 1500 k, exactly 720p-1500.
    const actions = recoverAfterDraining(2_075_000);
    expect(moves(actions)).toEqual([['b', '720p-1500', 'recovered']]);
  });

  it('carries pinned outputs on their rung whatever the path, and starts that rung for them', () => {
    const { q } = laddered();
    const actions = q.update([clear('a'), clear('b', { pinned: '480p-800' })]);
    expect(starts(actions).map((r) => r.name)).toEqual(['480p-800']);
    expect(moves(actions)).toEqual([['b', '480p-800', 'pinned']]);
  });

  it('rejects a ladder with a repeated name or a rung not under the main bitrate', () => {
    const clock = new FakeClock();
    expect(
      () => new QualityController(clock, qualityControllerDefaults(MAIN, AUDIO, [ladder[0]!, ladder[0]!])),
    ).toThrow(ConfigError);
    expect(
      () =>
        new QualityController(
          clock,
          qualityControllerDefaults(MAIN, AUDIO, [{ ...ladder[0]!, bitrateBps: 3_000_000 }]),
        ),
    ).toThrow(ConfigError);
  });
});

describe('QualityController with a ladder, at its edges', () => {
  const ladder: QualityRendition[] = [
    { name: '720p-1500', width: 1280, height: 720, bitrateBps: 1_500_000 },
    { name: '480p-800', width: 854, height: 480, bitrateBps: 800_000 },
    { name: '360p-400', width: 640, height: 360, bitrateBps: 400_000 },
  ];
  const laddered = (patch: Partial<ReturnType<typeof qualityControllerDefaults>> = {}): QualityController =>
    controller({ ...qualityControllerDefaults(MAIN, AUDIO, ladder), ...patch }).q;

  it('takes a rung exactly at the target', () => {
    const q = laddered({ headroom: 0.5 });
    expect(moves(q.update([clear('a'), behind('b', 1_920_000)]))).toEqual([['b', '480p-800', 'congested']]); // 800 k
  });

  it('moves a path still behind on a rung down to the next one under its target', () => {
    const q = laddered();
    q.update([clear('a'), behind('b', 1_300_000)]); // 480p-800
    const again = q.update([clear('a'), behind('b', 1_300_000, { rendition: '480p-800' })]);
    expect(moves(again)).toEqual([['b', '360p-400', 'congested']]);
  });

  it('leaves a path behind on the lowest rung there (nothing lower)', () => {
    const q = laddered();
    q.update([clear('a'), behind('b', 300_000)]);
    expect(q.update([clear('a'), behind('b', 300_000, { rendition: '360p-400' })])).toEqual([]);
  });

  it('at the encoder cap, never moves a path behind up to a running rung above it', () => {
    const q = laddered({ maxExtraEncoders: 2 });
    q.update([behind('a', 2_500_000), clear('b'), clear('c')]); // 720p-1500
    q.update([behind('a', 2_500_000, { rendition: '720p-1500' }), behind('b', 1_300_000), clear('c')]); // 480p-800
    const third = q.update([
      clear('a', { rendition: '720p-1500' }),
      behind('b', 1_300_000, { rendition: '480p-800' }), // wants 360p-400: a third encoder
      clear('c'),
    ]);
    expect(third).toEqual([]);
  });

  it('at the encoder cap, moves a path behind on the main encode to the best running rung under it', () => {
    const q = laddered({ maxExtraEncoders: 1 });
    q.update([behind('a', 300_000), clear('b')]); // 360p-400
    const second = q.update([behind('a', 300_000, { rendition: '360p-400' }), behind('b', 1_300_000)]);
    expect(starts(second)).toEqual([]);
    expect(moves(second)).toEqual([['b', '360p-400', 'congested']]);
  });

  it('at the encoder cap, moves a path behind on the main encode to the best running rung under its target, whatever order the rungs started in', () => {
    /** Two paths behind at these rates take two rungs; then a third one behind at `thirdBps` moves. */
    const third = (
      firstBps: number,
      secondBps: number,
      thirdBps: number,
    ): [string, string | undefined, string][] => {
      const q = laddered({ maxExtraEncoders: 2 });
      const [first] = moves(q.update([behind('a', firstBps), clear('b'), clear('c')]));
      const [second] = moves(
        q.update([clear('a', { rendition: first?.[1] }), behind('b', secondBps), clear('c')]),
      );
      return moves(
        q.update([
          clear('a', { rendition: first?.[1] }),
          clear('b', { rendition: second?.[1] }),
          behind('c', thirdBps),
        ]),
      );
    };
    // 360p-400, then 480p-800; a target of 1600 k (720p-1500) gets 480p-800, the better of the two.
    expect(third(300_000, 1_300_000, 2_200_000)).toEqual([['c', '480p-800', 'congested']]);
    // 720p-1500, then 360p-400; a target of 880 k (480p-800) gets 360p-400, not the one above it.
    expect(third(2_500_000, 300_000, 1_300_000)).toEqual([['c', '360p-400', 'congested']]);
  });

  it("at the encoder cap, counts a running rung exactly at a path's target as under it (two rungs at one bitrate)", () => {
    const twins: QualityRendition[] = [
      { name: '720p-1500', width: 1280, height: 720, bitrateBps: 1_500_000 },
      { name: '480p-800', width: 854, height: 480, bitrateBps: 800_000 },
      { name: '360p-800', width: 640, height: 360, bitrateBps: 800_000 },
      { name: '240p-400', width: 426, height: 240, bitrateBps: 400_000 },
    ];
    // headroom 0.5 keeps the targets exact.
    const { q } = controller({ ...qualityControllerDefaults(MAIN, AUDIO, twins), headroom: 0.5 });
    q.update([clear('a', { pinned: '360p-800' }), behind('b', 1_000_000), clear('c')]); // 360p-800; 240p-400
    const third = q.update([
      clear('a', { pinned: '360p-800', rendition: '360p-800' }),
      clear('b', { rendition: '240p-400' }),
      behind('c', 1_920_000), // target 800 k: 480p-800 first, but it would be a third encoder
    ]);
    expect(moves(third)).toEqual([['c', '360p-800', 'congested']]);
  });

  it("after the main bitrate is lowered to the lowest rung's, leaves a path behind on the main encode: no rung is under it", () => {
    const q = laddered();
    expect(q.setMainBitrate(400_000)).toBe(400_000);
    expect(q.update([clear('a'), behind('b', 300_000)])).toEqual([]);
  });

  it('starts the rung above when stepping up into it, and waits while that would exceed the cap', () => {
    const { clock, q } = controller({
      ...qualityControllerDefaults(MAIN, AUDIO, ladder),
      maxExtraEncoders: 2,
    });
    q.update([behind('a', 300_000), behind('b', 1_300_000)]); // a: 360p-400, b: 480p-800
    // Each delivers what its rung and audio make.
    const onRungs = (): OutputQualityReport[] => [
      clear('a', { rendition: '360p-400', deliveryRateBps: 560_000 }),
      clear('b', { rendition: '480p-800', deliveryRateBps: 960_000 }),
    ];
    q.update(onRungs());
    clock.advance(3000);
    // a steps into 480p-800 (running); b would need 720p-1500 started as a third encoder: it waits.
    const step = q.update(onRungs());
    expect(starts(step)).toEqual([]);
    expect(moves(step)).toEqual([['a', '480p-800', 'recovered']]);

    const lone = controller({ ...qualityControllerDefaults(MAIN, AUDIO, ladder) });
    lone.q.update([clear('a'), behind('b', 300_000)]);
    const onLowest = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
    lone.q.update([clear('a'), onLowest]);
    lone.clock.advance(3000);
    const up = lone.q.update([clear('a'), onLowest]);
    expect(starts(up).map((r) => r.name)).toEqual(['480p-800']);
    expect(moves(up)).toEqual([['b', '480p-800', 'recovered']]);
  });

  it('with one extra encoder, steps a recovered path up in place of the rung only it carries, which stops once it moved', () => {
    const { clock, q } = controller({
      ...qualityControllerDefaults(MAIN, AUDIO, ladder),
      maxExtraEncoders: 1,
    });
    q.update([clear('a'), behind('b', 300_000)]); // 360p-400
    const onLowest = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
    q.update([clear('a'), onLowest]);
    clock.advance(3000);
    const up = q.update([clear('a'), onLowest]);
    expect(starts(up).map((r) => r.name)).toEqual(['480p-800']);
    expect(moves(up)).toEqual([['b', '480p-800', 'recovered']]);
    // Until its switch is done the old rung runs; then it stops.
    expect(q.update([clear('a'), { ...onLowest, pending: '480p-800' }])).toEqual([]);
    expect(q.update([clear('a'), clear('b', { rendition: '480p-800', deliveryRateBps: 960_000 })])).toEqual([
      { kind: 'stop', name: '360p-400' },
    ]);
    expect([...q.running.keys()]).toEqual(['480p-800']);
  });

  it('at the encoder cap, does not step a path up while another output carries, moves to or is pinned to its rung', () => {
    const stepsUp = (other: OutputQualityReport, otherFirst = true): boolean => {
      const { clock, q } = controller({
        ...qualityControllerDefaults(MAIN, AUDIO, ladder),
        maxExtraEncoders: 1,
      });
      q.update([clear('a', { pinned: '360p-400' }), clear('b', { pinned: '360p-400' })]); // 360p-400 runs
      const onLowest = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
      // A third output on the main encode, which carries nothing of the rung.
      const reports = otherFirst ? [other, onLowest, clear('c')] : [onLowest, other, clear('c')];
      q.update(reports);
      clock.advance(3000);
      return moves(q.update(reports)).some(([id]) => id === 'b');
    };
    expect(stepsUp(clear('a', { rendition: '360p-400', deliveryRateBps: 560_000, latencyMs: 700 }))).toBe(
      false,
    );
    expect(stepsUp(clear('a', { pending: '360p-400' }))).toBe(false);
    expect(stepsUp(clear('a', { pinned: '360p-400' }), false)).toBe(false); // its pin not yet applied
    expect(stepsUp(behind('a', 300_000))).toBe(false); // moved down onto it this tick
    expect(stepsUp(clear('a'))).toBe(true);
  });

  it('at the encoder cap, steps a path up in place of the rung only it carries while another output moves elsewhere in the same tick', () => {
    const { clock, q } = controller({
      ...qualityControllerDefaults(MAIN, AUDIO, ladder),
      maxExtraEncoders: 2,
    });
    q.update([behind('a', 2_500_000), behind('b', 300_000)]); // a: 720p-1500, b: 360p-400
    const reports = [
      clear('a', { rendition: '720p-1500', deliveryRateBps: 2_700_000 }), // has shown 80 % of the main bitrate
      clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 }),
    ];
    q.update(reports);
    clock.advance(3000);
    const step = q.update(reports);
    expect(starts(step).map((r) => r.name)).toEqual(['480p-800']);
    expect(moves(step)).toEqual([
      ['a', undefined, 'recovered'],
      ['b', '480p-800', 'recovered'],
    ]);
  });

  it('steps a recovered path straight onto the main encode when it has shown 80 % of it, else to the best rung', () => {
    const stepAfterPeak = (peakBps: number): [string, string | undefined, string][] => {
      const { clock, q } = controller({ ...qualityControllerDefaults(MAIN, AUDIO, ladder) });
      q.update([clear('a'), behind('b', 300_000)]); // 360p-400
      clock.advance(500);
      q.update([clear('a'), clear('b', { rendition: '360p-400', latencyMs: 700, deliveryRateBps: peakBps })]);
      const onLowest = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
      q.update([clear('a'), onLowest]);
      clock.advance(3000);
      return moves(q.update([clear('a'), onLowest]));
    };
    // 80 % of 2 700 000 minus audio is 2000 k, 80 % of the main bitrate.
    expect(stepAfterPeak(2_700_000)).toEqual([['b', undefined, 'recovered']]);
    expect(stepAfterPeak(2_699_999)).toEqual([['b', '720p-1500', 'recovered']]);
  });

  it('takes the first step up of an output released from its pin onto a rung after a whole 2 s clear', () => {
    const { clock, q } = controller({ ...qualityControllerDefaults(MAIN, AUDIO, ladder) });
    q.update([clear('a'), clear('b', { pinned: '360p-400' })]); // starts 360p-400 and moves b onto it
    const released = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
    expect(q.update([clear('a'), released])).toEqual([]); // clear from here
    clock.advance(1500);
    expect(q.update([clear('a'), released])).toEqual([]);
    clock.advance(500);
    expect(moves(q.update([clear('a'), released]))).toEqual([['b', '480p-800', 'recovered']]);
  });

  it('keeps a pinned output on its rung without repeating the start or the move', () => {
    const q = laddered();
    q.update([clear('a'), clear('b', { pinned: '480p-800' })]);
    expect(q.update([clear('a'), clear('b', { pinned: '480p-800', pending: '480p-800' })])).toEqual([]);
    expect(q.update([clear('a'), clear('b', { pinned: '480p-800', rendition: '480p-800' })])).toEqual([]);
  });

  it('moves an output pinned to the main rendition back onto the main encode, once', () => {
    const q = laddered();
    expect(q.update([clear('a'), clear('b', { pinned: 'main' })])).toEqual([]);
    expect(moves(q.update([clear('a'), clear('b', { pinned: 'main', rendition: '360p-400' })]))).toEqual([
      ['b', undefined, 'pinned'],
    ]);
    expect(
      moves(
        q.update([clear('a'), clear('b', { pinned: 'main', rendition: '360p-400', pending: undefined })]),
      ),
    ).toEqual([]);
  });

  it('ignores a pin to a rendition the ladder does not have', () => {
    expect(laddered().update([clear('a'), clear('b', { pinned: '1080p' })])).toEqual([]);
  });

  it('pins a single destination too, rather than adapting its bitrate', () => {
    const actions = laddered().update([clear('a', { pinned: '360p-400' })]);
    expect(moves(actions)).toEqual([['a', '360p-400', 'pinned']]);
  });
});

describe('QualityController that does not adapt (pins only)', () => {
  it('leaves paths that fall behind on the main encode, and still honours pins', () => {
    const ladder: QualityRendition[] = [{ name: 'low', width: 640, height: 360, bitrateBps: 500_000 }];
    const clock = new FakeClock();
    const q = new QualityController(clock, {
      ...qualityControllerDefaults(MAIN, AUDIO, ladder),
      adapt: false,
    });
    expect(moves(q.update([behind('a', 500_000), clear('b', { pinned: 'low' })]))).toEqual([
      ['b', 'low', 'pinned'],
    ]);
  });
});

describe('QualityController options', () => {
  const rung = (name: string, bitrateBps: number): QualityRendition => ({
    name,
    width: 640,
    height: 360,
    bitrateBps,
  });

  it.each<[string, Partial<ReturnType<typeof qualityControllerDefaults>>, string]>([
    ['a negative encoder count', { maxExtraEncoders: -1 }, 'maxExtraEncoders'],
    ['more than 8 extra encoders', { maxExtraEncoders: 9 }, 'maxExtraEncoders'],
    ['a fractional encoder count', { maxExtraEncoders: 1.5 }, 'maxExtraEncoders'],
    ['a rung named like the main rendition', { ladder: [rung('main', 500_000)] }, 'video.renditions'],
    ['a rung at the main bitrate', { ladder: [rung('low', 2_500_000)] }, 'video.renditions'],
    ['a climb interval of 0', { climbIntervalMs: 0 }, 'climbIntervalMs'],
    ['a climb interval longer than the first step interval', { climbIntervalMs: 2001 }, 'climbIntervalMs'],
    ['no headroom', { headroom: 0 }, 'headroom'],
    ['headroom over the whole rate', { headroom: 1.01 }, 'headroom'],
    ['a clear share of 0', { clearShare: 0 }, 'clearShare'],
    ['a clear share over the congested one', { clearShare: 0.6, congestedShare: 0.5 }, 'clearShare'],
    ['a negative share tolerance', { shareTolerance: -0.1 }, 'shareTolerance'],
    ['a share tolerance of the whole target', { shareTolerance: 1 }, 'shareTolerance'],
  ])('refuses %s, naming %s', (_what, patch, field) => {
    expect(() => controller(patch)).toThrow(expect.objectContaining({ name: 'ConfigError', field }));
  });

  it('accepts the edges: 0 and 8 extra encoders, the whole rate as headroom, clear share equal to congested share, share tolerance 0', () => {
    for (const patch of [
      { shareTolerance: 0 },
      { maxExtraEncoders: 0 },
      { maxExtraEncoders: 8 },
      { headroom: 1 },
      { clearShare: 0.5, congestedShare: 0.5 },
    ]) {
      expect(() => controller(patch)).not.toThrow();
    }
  });
});
