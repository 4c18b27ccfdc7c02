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

  it('refuses a climb interval that is not positive or longer than the first step interval, naming it', () => {
    for (const climbIntervalMs of [0, -1, Number.NaN, 2001]) {
      expect(() => controller({ climbIntervalMs })).toThrow(ConfigError);
      expect(() => controller({ climbIntervalMs })).toThrow(/climbIntervalMs/);
    }
    expect(() => controller({ climbIntervalMs: 2000 })).not.toThrow();
  });

  it('does not judge an output that is reconnecting or still moving', () => {
    const { q } = controller();
    expect(q.update([clear('a'), behind('b', 500_000, { live: false })])).toEqual([]);
    expect(q.update([clear('a'), behind('b', 500_000, { pending: 'x' })])).toEqual([]);
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

  it('steps up past the rungs a recovered path has shown it carries, straight to the best one under that', () => {
    const { clock, q } = laddered();
    q.update([clear('a'), behind('b', 300_000)]); // 360p-400
    // Drained at 2.2 Mbit/s: 80 % of it minus audio is 1600 k, so 720p-1500 (not 480p-800, one rung up).
    clock.advance(500);
    q.update([clear('a'), clear('b', { rendition: '360p-400', latencyMs: 700, deliveryRateBps: 2_200_000 })]);
    const recovered = clear('b', { rendition: '360p-400', deliveryRateBps: 560_000 });
    const actions: QualityAction[] = [];
    for (let t = 0; t < 5; t++) {
      clock.advance(500);
      actions.push(...q.update([clear('a'), recovered]));
    }
    expect(starts(actions).map((r) => r.name)).toEqual(['720p-1500']);
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
    ['no headroom', { headroom: 0 }, 'headroom'],
    ['headroom over the whole rate', { headroom: 1.01 }, 'headroom'],
    ['a clear share of 0', { clearShare: 0 }, 'clearShare'],
    ['a clear share over the congested one', { clearShare: 0.6, congestedShare: 0.5 }, 'clearShare'],
  ])('refuses %s, naming %s', (_what, patch, field) => {
    expect(() => controller(patch)).toThrow(expect.objectContaining({ name: 'ConfigError', field }));
  });

  it('accepts the edges: 0 and 8 extra encoders, the whole rate as headroom, clear share equal to congested share', () => {
    for (const patch of [
      { maxExtraEncoders: 0 },
      { maxExtraEncoders: 8 },
      { headroom: 1 },
      { clearShare: 0.5, congestedShare: 0.5 },
    ]) {
      expect(() => controller(patch)).not.toThrow();
    }
  });
});
