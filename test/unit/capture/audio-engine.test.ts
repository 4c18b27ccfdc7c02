import { describe, expect, it } from 'vitest';
import { AudioEngine, audioEngineDefaults } from '../../../src/capture/audio-engine.js';
import type { MixedAudioFrame } from '../../../src/media/frames.js';
import { PcmFifo } from '../../../src/capture/pcm-fifo.js';
import type { AudioSource } from '../../../src/capture/source.js';
import { ToneSource } from '../../../src/capture/tone-source.js';
import { ConfigError } from '../../../src/core/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { mulberry32 } from '../../helpers/prng.js';

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
  it('mixes exactly floor(t·48000) samples after any sequence of jittery and blocked ticks', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = mulberry32(seed);
      const clock = new FakeClock();
      clock.timerLatenessMs = () => random() * 8; // every tick a little late, as on a busy event loop
      const source = new FedSource(clock);
      const { engine, blocks } = startEngine(clock, source);
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
      engine.stop();
    }
  });

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

  it('rejects a sample rate it cannot encode, naming the option', () => {
    expect(
      () => new AudioEngine(new FakeClock(), () => {}, { ...audioEngineDefaults(), sampleRate: 12345 }),
    ).toThrow(ConfigError);
  });
});
