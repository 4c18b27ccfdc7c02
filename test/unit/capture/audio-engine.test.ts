import { describe, expect, it } from 'vitest';
import {
  AudioEngine,
  audioEngineDefaults,
  type AudioEngineOptions,
} from '../../../src/capture/audio-engine.js';
import type { MixedAudioFrame } from '../../../src/media/frames.js';
import { PcmFifo } from '../../../src/capture/pcm-fifo.js';
import type { AudioSource } from '../../../src/capture/source.js';
import { ToneSource } from '../../../src/capture/tone-source.js';
import { ConfigError, InvalidStateError } from '../../../src/core/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { mulberry32 } from '../../helpers/prng.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - `this.#scratch.length < length` → `<=`/`true`: the scratch buffer is reallocated at equal size
//   or every tick; a source writes every frame it counts (AudioSource.read), so none reads stale data;
// - the clip loop's `i < length` → `<=`: the extra index is past the end of the typed array, reads as 0
//   and is neither clipped nor counted;
// - the clip value `v > 1 ? 1 : -1` → `v >= 1`: inside the clip branch v is never exactly 1;
// - `this.#pendingFrames === frameSize` → `>=`: a block never takes more than it lacks.

/** A source fed by the test, which also records when the engine last read it. */
class FedSource implements AudioSource {
  readonly name = 'fed';
  gain = 1;
  muted = false;
  readonly fifo = new PcmFifo(2);
  lastReadUs = 0;
  constructor(private readonly clock: FakeClock) {}
  get bufferedFrames(): number {
    return this.fifo.frames;
  }
  feed(frames: number, value = 0.5): void {
    this.fifo.push(new Float32Array(frames * 2).fill(value));
  }
  read(out: Float32Array, frames: number): number {
    this.lastReadUs = this.clock.nowUs();
    return this.fifo.take(out, frames);
  }
  discard(frames: number): void {
    this.fifo.take(null, frames);
  }
  close(): void {}
}

function startEngine(
  clock: FakeClock,
  ...sources: AudioSource[]
): { engine: AudioEngine; blocks: MixedAudioFrame[] } {
  const blocks: MixedAudioFrame[] = [];
  const engine = new AudioEngine(clock, (b) => blocks.push(b));
  for (const s of sources) engine.addSource(s);
  engine.start();
  return { engine, blocks };
}

describe('AudioEngine', () => {
  it.each([
    { ticks: 'every 10 ms', alignToBlocks: false, earlyMs: 0 },
    // Aligned ticks come 1 ms after a block is due: timers up to 0.99 ms early still find it complete.
    { ticks: 'at each block', alignToBlocks: true, earlyMs: 0.99 },
  ])(
    'mixes exactly floor(t·48000) samples after any sequence of jittery and blocked ticks ($ticks)',
    ({ alignToBlocks, earlyMs }) => {
      for (let seed = 1; seed <= 50; seed++) {
        const random = mulberry32(seed);
        const clock = new FakeClock();
        // Every tick a little late, as on a busy event loop (or a little early, as Node's whole-ms timers).
        clock.timerLatenessMs = () => random() * 8 - earlyMs;
        const source = new FedSource(clock);
        const blocks: MixedAudioFrame[] = [];
        const engine = new AudioEngine(clock, (b) => blocks.push(b), {
          ...audioEngineDefaults(),
          alignToBlocks,
        });
        engine.addSource(source);
        engine.start();
        const totalMs = 1000 + random() * 9000;
        while (clock.nowUs() < totalMs * 1000) {
          if (random() < 0.1) clock.block(random() * 80);
          clock.advance(random() * 25);
        }
        const due = Math.floor((source.lastReadUs * 48000) / 1e6);
        expect(engine.stats.samplesMixed).toBe(due);
        const emitted = blocks.length * 1024;
        expect(emitted).toBeLessThanOrEqual(due);
        expect(due - emitted).toBeLessThan(1024);
        blocks.forEach((b, i) => expect(b.sampleIndex).toBe(i * 1024));
        engine.stop();
      }
    },
  );

  it('stamps each block from its sample count on the session clock', () => {
    const clock = new FakeClock();
    clock.advance(500);
    const { engine, blocks } = startEngine(clock, new ToneSource(48000, 2));
    clock.advance(1000);
    engine.stop();
    expect(blocks.length).toBe(46);
    blocks.forEach((b, i) => {
      expect(b.sampleIndex).toBe(i * 1024);
      expect(b.ptsUs).toBe(Math.round(500_000 + (i * 1024 * 1e6) / 48000));
      expect(b.samples.length).toBe(2048);
    });
  });

  it('pads a source that is short with silence and counts it', () => {
    const clock = new FakeClock();
    const source = new FedSource(clock);
    source.feed(4800, 0.5); // 100 ms
    const { engine, blocks } = startEngine(clock, source);
    clock.advance(1000);
    engine.stop();
    const mixed = engine.stats.samplesMixed;
    expect(mixed).toBe(48000);
    expect(engine.stats.silenceInsertedMs).toBeCloseTo(((mixed - 4800) * 1000) / 48000, 6);
    const all = blocks.flatMap((b) => Array.from(b.samples));
    expect(all.slice(0, 9600).every((v) => v === 0.5)).toBe(true);
    expect(all.slice(9600).every((v) => v === 0)).toBe(true);
  });

  it("counts, per source, the silence before a source's first samples apart from the gaps after them", () => {
    const clock = new FakeClock();
    const late = new FedSource(clock); // a device still opening
    const early = new FedSource(clock);
    early.feed(4800); // 100 ms, then nothing
    const { engine } = startEngine(clock, late, early);
    clock.advance(50);
    expect(engine.stats.startupSilenceMs).toBeCloseTo(50, 6);
    late.feed(4800); // its first 100 ms arrive at 50 ms, and nothing after
    clock.advance(150);
    engine.stop();
    // late: 50 ms before its first samples, then a 50 ms gap at the end; early: a 100 ms gap.
    expect(engine.stats.startupSilenceMs).toBeCloseTo(50, 6);
    expect(engine.stats.silenceInsertedMs).toBeCloseTo(200, 6);
  });

  it('drops the oldest audio of a source that runs ahead of the clock and counts it', () => {
    const clock = new FakeClock();
    const source = new FedSource(clock);
    const { engine } = startEngine(clock, source);
    source.feed(48000); // one second arrives at once
    clock.advance(10);
    // After the tick's read (480 frames) the source held 47520 > 9600 (200 ms): trimmed to 4800.
    expect(source.bufferedFrames).toBe(4800);
    expect(engine.stats.audioOverrunDroppedMs).toBeCloseTo(((47520 - 4800) * 1000) / 48000, 6);
    expect(engine.stats.silenceInsertedMs).toBe(0);
    engine.stop();
  });

  it('sums sources with their gains, honours mute and clips to [-1, 1]', () => {
    const clock = new FakeClock();
    const a = new FedSource(clock);
    const b = new FedSource(clock);
    const c = new FedSource(clock);
    b.gain = 2;
    c.muted = true;
    a.feed(480, 0.3);
    b.feed(480, 0.2);
    c.feed(480, 0.9);
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (x) => blocks.push(x), {
      ...audioEngineDefaults(),
      frameSize: 480,
    });
    engine.addSource(a);
    engine.addSource(b);
    engine.addSource(c);
    engine.start();
    clock.advance(10);
    expect(blocks[0]?.samples[0]).toBeCloseTo(0.7, 6);
    a.feed(480, 0.9);
    b.feed(480, 0.9);
    clock.advance(10);
    expect(blocks[1]?.samples[0]).toBe(1);
    expect(engine.stats.samplesClipped).toBe(960);
    engine.stop();
  });

  it('never runs a tick after stop()', () => {
    const clock = new FakeClock();
    const { engine, blocks } = startEngine(clock, new ToneSource(48000, 2));
    clock.advance(100);
    engine.stop();
    const count = blocks.length;
    clock.advance(1000);
    expect(blocks.length).toBe(count);
    expect(clock.pendingTimers).toBe(0);
  });

  it('emits no further block when stopped from inside the frame callback', () => {
    const clock = new FakeClock();
    const blocks: MixedAudioFrame[] = [];
    const engine: AudioEngine = new AudioEngine(
      clock,
      (b) => {
        blocks.push(b);
        engine.stop();
      },
      { ...audioEngineDefaults(), frameSize: 480 },
    );
    engine.addSource(new ToneSource(48000, 2));
    engine.start();
    clock.advance(1000);
    expect(blocks.map((b) => b.sampleIndex)).toEqual([0]);
    expect(engine.stats.samplesMixed).toBe(480);
  });

  it('clips below -1 as well as above 1, and counts each clipped sample', () => {
    const clock = new FakeClock();
    const a = new FedSource(clock);
    const b = new FedSource(clock);
    a.feed(480, -0.8);
    b.feed(480, -0.7);
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (x) => blocks.push(x), {
      ...audioEngineDefaults(),
      frameSize: 480,
    });
    engine.addSource(a);
    engine.addSource(b);
    engine.start();
    clock.advance(10);
    engine.stop();
    expect(Array.from(blocks[0]!.samples).every((v) => v === -1)).toBe(true);
    expect(engine.stats.samplesClipped).toBe(960);
  });

  it('leaves samples of exactly ±1 alone', () => {
    const clock = new FakeClock();
    const a = new FedSource(clock);
    a.fifo.push(new Float32Array(960).map((_, i) => (i % 2 === 0 ? 1 : -1)));
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (x) => blocks.push(x), {
      ...audioEngineDefaults(),
      frameSize: 480,
    });
    engine.addSource(a);
    engine.start();
    clock.advance(10);
    engine.stop();
    expect(Array.from(blocks[0]!.samples.subarray(0, 4))).toEqual([1, -1, 1, -1]);
    expect(engine.stats.samplesClipped).toBe(0);
  });

  it('a muted source or one at gain 0 adds nothing, whatever it holds', () => {
    const clock = new FakeClock();
    const muted = new FedSource(clock);
    const silent = new FedSource(clock);
    muted.muted = true;
    silent.gain = 0;
    muted.feed(480, Number.NaN);
    silent.feed(480, Infinity);
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (x) => blocks.push(x), {
      ...audioEngineDefaults(),
      frameSize: 480,
    });
    engine.addSource(muted);
    engine.addSource(silent);
    engine.start();
    clock.advance(10);
    engine.stop();
    expect(Array.from(blocks[0]!.samples).every((v) => v === 0)).toBe(true);
    expect(engine.stats.silenceInsertedMs).toBe(0); // they delivered: silence is what they were told to be
  });

  it('trusts no source count: more than asked is capped, a negative count is silence', () => {
    const clock = new FakeClock();
    const liar: AudioSource = {
      name: 'liar',
      gain: 1,
      muted: false,
      bufferedFrames: 0,
      read: (out, frames) => {
        out.fill(0.25, 0, frames * 2);
        return frames + 1000;
      },
      discard: () => {},
      close: () => {},
    };
    const broken: AudioSource = { ...liar, name: 'broken', read: () => -5 };
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (x) => blocks.push(x), {
      ...audioEngineDefaults(),
      frameSize: 480,
    });
    engine.addSource(liar);
    engine.addSource(broken);
    engine.start();
    clock.advance(10);
    engine.stop();
    expect(blocks).toHaveLength(1);
    expect(Array.from(blocks[0]!.samples).every((v) => v === 0.25)).toBe(true);
    expect(engine.stats.silenceInsertedMs).toBeCloseTo(10, 6); // the broken source's 480 frames
  });

  it('keeps a source that is exactly maxSourceAheadMs ahead, and trims one frame more to half of it', () => {
    const clock = new FakeClock();
    const source = new FedSource(clock);
    const { engine } = startEngine(clock, source);
    source.feed(480 + 9600); // after the 10 ms read: exactly 200 ms left
    clock.advance(10);
    expect(source.bufferedFrames).toBe(9600);
    expect(engine.stats.audioOverrunDroppedMs).toBe(0);
    source.feed(480 + 1);
    clock.advance(10);
    expect(source.bufferedFrames).toBe(4800);
    expect(engine.stats.audioOverrunDroppedMs).toBeCloseTo((4801 * 1000) / 48000, 6);
    engine.stop();
  });

  it('stops reading a removed source', () => {
    const clock = new FakeClock();
    const source = new FedSource(clock);
    const { engine, blocks } = startEngine(clock, source);
    source.feed(48000, 0.5);
    engine.removeSource(source);
    clock.advance(100);
    engine.stop();
    expect(source.lastReadUs).toBe(0);
    expect(blocks.every((b) => b.samples.every((v) => v === 0))).toBe(true);
  });

  describe('aligned to blocks (alignToBlocks, as a MediaSession runs it)', () => {
    /** An aligned engine with a tone; records the clock at each block. */
    function startAligned(clock: FakeClock): { engine: AudioEngine; emittedAtMs: number[] } {
      const emittedAtMs: number[] = [];
      const engine = new AudioEngine(clock, () => emittedAtMs.push(clock.nowUs() / 1000), {
        ...audioEngineDefaults(),
        alignToBlocks: true,
      });
      engine.addSource(new ToneSource(48000, 2));
      engine.start();
      return { engine, emittedAtMs };
    }
    const blockMs = (i: number): number => ((i + 1) * 1024 * 1000) / 48000;

    it('hands out each block 1 ms after its last sample is due, waking once a block', () => {
      const clock = new FakeClock();
      const { engine, emittedAtMs } = startAligned(clock);
      clock.advance(1000);
      engine.stop();
      expect(emittedAtMs.length).toBe(46); // the 47th ends at 1002.7 ms
      emittedAtMs.forEach((atMs, i) => expect(atMs).toBeCloseTo(blockMs(i) + 1, 6));
      expect(engine.stats.tickLateness.count).toBe(47); // the start, then one tick a block
    });

    it('a timer firing early within the margin still hands out its block in that tick', () => {
      const clock = new FakeClock();
      clock.timerLatenessMs = () => -0.99;
      const { engine, emittedAtMs } = startAligned(clock);
      clock.advance(500);
      engine.stop();
      expect(emittedAtMs.length).toBe(23);
      emittedAtMs.forEach((atMs, i) => expect(atMs).toBeCloseTo(blockMs(i) + 0.01, 6));
      expect(engine.stats.tickLateness.count).toBe(24);
    });

    it('a timer firing before the block is complete comes back for the rest', () => {
      const clock = new FakeClock();
      let early = true;
      clock.timerLatenessMs = () => (early ? ((early = false), -3) : 0);
      const { engine, emittedAtMs } = startAligned(clock);
      clock.advance(25);
      engine.stop();
      // The first tick came at 19.3 ms (3 ms early) and mixed 928 samples; the next, 1 ms after the block.
      expect(emittedAtMs).toHaveLength(1);
      expect(emittedAtMs[0]).toBeCloseTo(blockMs(0) + 1, 6);
      expect(engine.stats.samplesMixed).toBe(Math.floor(((blockMs(0) + 1) * 48000) / 1000));
    });
  });

  it('keeps its tick grid after a late tick: the next one comes at the next 10 ms mark, never sooner than one tick', () => {
    const clock = new FakeClock();
    const ticks: number[] = [];
    const source: AudioSource = {
      name: 'spy',
      gain: 1,
      muted: false,
      bufferedFrames: 0,
      read: () => {
        ticks.push(clock.nowUs() / 1000);
        return 0;
      },
      discard: () => {},
      close: () => {},
    };
    const { engine } = startEngine(clock, source);
    clock.advance(20); // ticks at 10, 20
    clock.block(25); // 45 ms: the 30 and 40 ms ticks are missed
    clock.advance(20); // the overdue tick runs at 45, then 50, 60
    engine.stop();
    expect(ticks).toEqual([10, 20, 45, 50, 60]);
    expect(engine.stats.tickLateness.maxMs).toBeCloseTo(15, 6); // the 30 ms tick ran at 45
  });

  it('a tick exactly one period late schedules the next on the grid, with no extra tick in between', () => {
    const clock = new FakeClock();
    const { engine } = startEngine(clock, new ToneSource(48000, 2));
    clock.advance(20); // ticks at 0, 10, 20
    clock.block(20); // 40 ms: the 30 ms tick runs exactly one period late
    clock.advance(15); // the overdue tick at 40, then 50
    engine.stop();
    expect(engine.stats.tickLateness.count).toBe(5);
    expect(engine.stats.samplesMixed).toBe(48 * 50);
  });

  it('reports its sample rate and channel count, defaulting to 48 kHz stereo', () => {
    const engine = new AudioEngine(new FakeClock(), () => {});
    expect([engine.sampleRate, engine.channels]).toEqual([48000, 2]);
    const mono = new AudioEngine(new FakeClock(), () => {}, { ...audioEngineDefaults(), channels: 1 });
    expect(mono.channels).toBe(1);
    expect(audioEngineDefaults()).toMatchObject({
      frameSize: 1024,
      tickMs: 10,
      alignToBlocks: false,
      maxSourceAheadMs: 200,
    });
  });

  it('computes the samples due after t as floor(t·rate), exact at whole samples', () => {
    const engine = new AudioEngine(new FakeClock(), () => {}, {
      ...audioEngineDefaults(),
      sampleRate: 44100,
    });
    expect(engine.expectedFrames(0)).toBe(0);
    expect(engine.expectedFrames(1e6)).toBe(44100);
    expect(engine.expectedFrames(1e6 / 44100)).toBe(1); // one sample's duration, despite rounding
    expect(engine.expectedFrames(1e6 / 44100 - 1)).toBe(0);
  });

  it('a second start() while running changes nothing; after stop() it cannot start again', () => {
    const clock = new FakeClock();
    const { engine, blocks } = startEngine(clock, new ToneSource(48000, 2));
    clock.advance(50);
    engine.start();
    clock.advance(50);
    expect(engine.stats.samplesMixed).toBe(4800);
    engine.stop();
    engine.stop();
    expect(() => engine.start()).toThrow(InvalidStateError);
    expect(blocks.length).toBe(4);
  });

  it.each<[string, Partial<AudioEngineOptions>]>([
    ['sampleRate', { sampleRate: 12345 }],
    ['channels', { channels: 0 }],
    ['channels', { channels: 3 }],
    ['channels', { channels: 1.5 }],
    ['frameSize', { frameSize: 63 }],
    ['frameSize', { frameSize: 1024.5 }],
    ['tickMs', { tickMs: 0.5 }],
    ['tickMs', { tickMs: 101 }],
    ['tickMs', { tickMs: Number.NaN }],
    ['maxSourceAheadMs', { maxSourceAheadMs: 19 }],
    ['maxSourceAheadMs', { maxSourceAheadMs: Number.NaN }],
  ])('refuses a bad %s (%o), naming audio.<option>', (field, over) => {
    expect(() => new AudioEngine(new FakeClock(), () => {}, { ...audioEngineDefaults(), ...over })).toThrow(
      expect.objectContaining({ name: 'ConfigError', field: `audio.${field}` }),
    );
  });

  it.each<Partial<AudioEngineOptions>>([
    { sampleRate: 8000 },
    { sampleRate: 16000 },
    { sampleRate: 22050 },
    { sampleRate: 24000 },
    { sampleRate: 32000 },
    { sampleRate: 44100 },
    { channels: 1 },
    { frameSize: 64 },
    { tickMs: 1 },
    { tickMs: 100 },
    { maxSourceAheadMs: 20 },
  ])('accepts %o', (over) => {
    expect(
      () => new AudioEngine(new FakeClock(), () => {}, { ...audioEngineDefaults(), ...over }),
    ).not.toThrow();
  });

  it('rejects a sample rate it cannot encode, naming the option', () => {
    expect(
      () => new AudioEngine(new FakeClock(), () => {}, { ...audioEngineDefaults(), sampleRate: 12345 }),
    ).toThrow(ConfigError);
  });
});
