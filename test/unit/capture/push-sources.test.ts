import { describe, expect, it } from 'vitest';
import { AudioEngine } from '../../../src/capture/audio-engine.js';
import { CaptureLoop } from '../../../src/capture/capture-loop.js';
import type { PcmRateConverter } from '../../../src/capture/pcm-rate-converter.js';
import { PushAudioSource, type PushAudioSourceOptions } from '../../../src/capture/push-audio-source.js';
import { MAX_TIMESTAMP_AHEAD_MS } from '../../../src/capture/push-checks.js';
import { MAX_HELD_PICTURES, PushVideoSource } from '../../../src/capture/push-video-source.js';
import type { VideoPicture } from '../../../src/ffmpeg/shared-picture.js';
import type { CapturedFrame, MixedAudioFrame, RawVideoFrame } from '../../../src/media/frames.js';
import { ConfigError } from '../../../src/core/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { mulberry32 } from '../../helpers/prng.js';

/** `frames` stereo frames, both channels `value(i)` for frame i. */
function stereo(frames: number, value: (i: number) => number): Float32Array {
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) out[2 * i] = out[2 * i + 1] = value(i);
  return out;
}

/** A PushAudioSource read by a real AudioEngine (48 kHz stereo), both on a fake clock started at 0. */
function audioSession(options: Partial<PushAudioSourceOptions> = {}) {
  const clock = new FakeClock();
  const source = new PushAudioSource(clock, options);
  const blocks: MixedAudioFrame[] = [];
  const engine = new AudioEngine(clock, (b) => blocks.push(b));
  engine.addSource(source);
  engine.start();
  /** The left channel of everything mixed so far; index i plays at i/48 ms. */
  const mixed = (): Float32Array => {
    const out = new Float32Array(blocks.length * 1024);
    blocks.forEach((b, n) => {
      for (let i = 0; i < 1024; i++) out[n * 1024 + i] = b.samples[2 * i] ?? NaN;
    });
    return out;
  };
  return { clock, source, engine, mixed };
}

/** Index of the first sample of `pcm` (from `from`) that is `value` (float32), or -1. */
function firstIndexOf(pcm: Float32Array, value: number, from = 0): number {
  return pcm.indexOf(Math.fround(value), from);
}

describe('PushAudioSource', () => {
  it('converts 441-sample Int16 chunks at 44.1 kHz mono to 48 kHz stereo float with the right duration', async () => {
    const source = new PushAudioSource(new FakeClock());
    const chunk = new Int16Array(441);
    let phase = 0;
    for (let n = 0; n < 100; n++) {
      for (let i = 0; i < 441; i++)
        chunk[i] = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * phase++) / 44100));
      source.pushAudioSamples(chunk, { sampleRate: 44100, channels: 1 });
    }
    await source.flushed();
    expect(source.error).toBeNull();
    expect(source.framesDroppedFailed).toBe(0);
    // One second in; the resampler may hold back a few samples of its filter delay.
    expect(source.bufferedFrames).toBeGreaterThan(48000 - 64);
    expect(source.bufferedFrames).toBeLessThanOrEqual(48000);
    const out = new Float32Array(2 * 4800);
    expect(source.read(out, 4800)).toBe(4800);
    for (let i = 2000; i < 4800; i++) expect(out[2 * i]).toBe(out[2 * i + 1]);
    const peak = Math.max(...Array.from(out.subarray(4000)).map(Math.abs));
    expect(peak).toBeGreaterThan(0.45);
    expect(peak).toBeLessThan(0.52);
  });

  it('passes float PCM at the session rate through unchanged', async () => {
    const source = new PushAudioSource(new FakeClock());
    source.pushAudioSamples(new Float32Array([0.1, -0.1, 0.2, -0.2]), { sampleRate: 48000, channels: 2 });
    await source.flushed();
    const out = new Float32Array(4);
    expect(source.read(out, 2)).toBe(2);
    expect(Array.from(out)).toEqual([0.1, -0.1, 0.2, -0.2].map(Math.fround));
  });

  it('bounds a flood by dropping the oldest audio and counting it, without blocking the caller', async () => {
    const source = new PushAudioSource(new FakeClock(), { maxBufferedMs: 500 });
    for (let n = 0; n < 100; n++)
      source.pushAudioSamples(new Float32Array(2 * 4800), { sampleRate: 48000, channels: 2 });
    await source.flushed();
    expect(source.bufferedFrames).toBe(24000);
    expect(source.framesDroppedOverflow).toBe(480000 - 24000);
  });

  it('bounds a 44.1 kHz flood before resampling: at most one second is held, converted or not, and the newest second comes out', async () => {
    const source = new PushAudioSource(new FakeClock());
    // 100 pushes of 100 ms, push k at the constant level (k + 1) / 200.
    for (let k = 0; k < 100; k++) {
      source.pushAudioSamples(
        stereo(4410, () => (k + 1) / 200),
        { sampleRate: 44100, channels: 2 },
      );
      expect(source.bufferedFrames + source.pendingFrames).toBeLessThanOrEqual(48000);
    }
    await source.flushed();
    expect(source.error).toBeNull();
    expect(source.framesDroppedFailed).toBe(0);
    expect(source.bufferedFrames).toBeGreaterThan(48000 - 64);
    expect(source.bufferedFrames).toBeLessThanOrEqual(48000);
    expect(Math.abs(source.framesDroppedOverflow + source.bufferedFrames - 480000)).toBeLessThanOrEqual(64);
    const out = new Float32Array(2 * 48000);
    const got = source.read(out, 48000);
    // The last ten pushes, in order (checked mid-push, clear of the resampler's transitions).
    for (let j = 0; j < 10; j++) expect(out[2 * (j * 4800 + 2400)]).toBeCloseTo((91 + j) / 200, 3);
    expect(out[2 * (got - 100)]).toBeCloseTo(100 / 200, 3);
  });

  it('rejects a chunk that is not whole frames, naming the fix', () => {
    const source = new PushAudioSource(new FakeClock());
    expect(() => source.pushAudioSamples(new Float32Array(3), { sampleRate: 48000, channels: 2 })).toThrow(
      ConfigError,
    );
  });
});

describe('PushAudioSource when a conversion fails', () => {
  /** A converter that fails while `failing` is true, else returns 480 frames of `level` per 441 in. */
  function flakyConverter() {
    const state = { failing: true, closed: 0 };
    const converter: PcmRateConverter = {
      convert: async (samples, inRate) => {
        await Promise.resolve();
        if (state.failing) throw new Error(`resampler exploded at ${inRate} Hz`);
        const frames = Math.round(((samples.length / 2) * 48000) / inRate);
        return new Float32Array(frames * 2).fill(samples[0] ?? 0);
      },
      close: () => void state.closed++,
    };
    return { state, converter };
  }

  it('reports the failure once per episode, counts the lost frames and keeps later audio in its place', async () => {
    const { state, converter } = flakyConverter();
    const source = new PushAudioSource(new FakeClock(), { converter });
    const failures: Error[] = [];
    source.on('failed', (e) => failures.push(e));
    const push = (level: number): void =>
      source.pushAudioSamples(
        stereo(4410, () => level),
        { sampleRate: 44100, channels: 2 },
      );
    push(0.1);
    push(0.2);
    await source.flushed();
    expect(failures.map((e) => e.message)).toEqual(['resampler exploded at 44100 Hz']);
    expect(source.error?.message).toBe('resampler exploded at 44100 Hz');
    expect(source.framesDroppedFailed).toBe(9600);
    state.failing = false;
    push(0.3);
    await source.flushed();
    expect(source.error).toBeNull();
    // 200 ms of silence where the lost pushes were, then the third push on time.
    const out = new Float32Array(2 * 14400);
    expect(source.read(out, 14400)).toBe(14400);
    expect(out[2 * 9599]).toBe(0);
    expect(out[2 * 9600]).toBeCloseTo(0.3, 5);
    state.failing = true;
    push(0.4);
    await source.flushed();
    expect(failures).toHaveLength(2);
    expect(source.framesDroppedFailed).toBe(14400);
  });

  it('frees its converter when closed, also when a conversion was under way', async () => {
    const { state, converter } = flakyConverter();
    state.failing = false;
    const source = new PushAudioSource(new FakeClock(), { converter });
    source.pushAudioSamples(
      stereo(441, () => 0.1),
      { sampleRate: 44100, channels: 2 },
    );
    source.close();
    expect(state.closed).toBe(0);
    await source.flushed();
    expect(state.closed).toBe(1);
  });
});

describe('PushAudioSource with timestamps, read by the AudioEngine', () => {
  it('plays audio at its timestamp, filling a gap beyond the tolerance with counted silence', () => {
    const { clock, source, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(4800, () => 0.5),
      { sampleRate: 48000, channels: 2, timestampUs: 0 },
    );
    // 200 ms after the first push ends: a gap, not jitter.
    source.pushAudioSamples(
      stereo(4800, () => 0.25),
      {
        sampleRate: 48000,
        channels: 2,
        timestampUs: 300_000,
      },
    );
    clock.advance(600);
    const pcm = mixed();
    expect(pcm.subarray(0, 4800).every((v) => v === 0.5)).toBe(true);
    expect(pcm.subarray(4800, 14400).every((v) => v === 0)).toBe(true);
    expect(firstIndexOf(pcm, 0.25)).toBe(14400);
    expect(pcm.subarray(14400, 19200).every((v) => v === 0.25)).toBe(true);
    expect(source.silenceInsertedMs).toBe(200);
    expect(source.framesDroppedLate).toBe(0);
  });

  it('keeps audio contiguous while its timestamps jitter within 70 ms of where it would continue', () => {
    const { clock, source, mixed } = audioSession();
    const random = mulberry32(7);
    const n = (i: number): number => (i + 1) / 1e5;
    for (let k = 0; k < 100; k++) {
      // Chunk k plays from 20 + 10k ms; the first is stamped exactly so, the others ±40 ms off.
      clock.advance(k === 0 ? 25 : 10);
      const jitterUs = k === 0 ? 0 : (random() * 2 - 1) * 40_000;
      source.pushAudioSamples(
        stereo(480, (i) => n(k * 480 + i)),
        { sampleRate: 48000, channels: 2, timestampUs: Math.max(0, 20_000 + k * 10_000 + jitterUs) },
      );
    }
    clock.advance(100);
    const pcm = mixed();
    const start = firstIndexOf(pcm, n(0));
    // Placed at its stamp (20 ms), then never a gap or a drop whatever the jitter.
    expect(start).toBe(960);
    for (let i = 0; i < 48000; i++) expect(pcm[start + i]).toBe(Math.fround(n(i)));
    expect(source.silenceInsertedMs).toBe(0);
    expect(source.framesDroppedLate).toBe(0);
  });

  it('after running dry, plays a push stamped ahead (within the tolerance) at its stamp, not early', () => {
    const { clock, source, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(4800, () => 0.5),
      { sampleRate: 48000, channels: 2, timestampUs: 0 },
    );
    clock.advance(300); // the 100 ms pushed have played; the engine has read 200 ms of nothing since
    // Stamped 330 ms, pushed at 300: 30 ms ahead of where audio would continue now.
    source.pushAudioSamples(
      stereo(4800, () => 0.25),
      { sampleRate: 48000, channels: 2, timestampUs: 330_000 },
    );
    clock.advance(300);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.25)).toBe(15840);
    expect(pcm.subarray(15840, 20640).every((v) => v === 0.25)).toBe(true);
    expect(source.framesDroppedLate).toBe(0);
  });

  it('after running dry, still keeps a push stamped slightly behind whole (the tolerance)', () => {
    const { clock, source, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(4800, () => 0.5),
      { sampleRate: 48000, channels: 2, timestampUs: 0 },
    );
    clock.advance(300);
    source.pushAudioSamples(
      stereo(4800, () => 0.25),
      { sampleRate: 48000, channels: 2, timestampUs: 270_000 },
    );
    clock.advance(300);
    const pcm = mixed();
    const start = firstIndexOf(pcm, 0.25);
    expect(start).toBeGreaterThanOrEqual(14400); // not before the push: now, 300 ms, at the earliest
    expect(pcm.subarray(start, start + 4800).every((v) => v === 0.25)).toBe(true);
    expect(source.framesDroppedLate).toBe(0);
  });

  it('places the first stamped push exactly: the part whose time has passed is dropped, not played late', () => {
    const { clock, source, mixed } = audioSession();
    clock.advance(60);
    // Stamped at 0 but pushed at 60 ms (a busy event loop): within the 70 ms tolerance, yet not late.
    source.pushAudioSamples(
      stereo(9600, (i) => (i < 2880 ? -0.5 : 0.25)),
      { sampleRate: 48000, channels: 2, timestampUs: 0 },
    );
    clock.advance(200);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.25)).toBe(2880);
    expect(pcm.includes(-0.5)).toBe(false);
    expect(source.framesDroppedLate).toBe(2880);
  });

  it('drops the samples of a push whose timestamp falls on audio already queued, and counts them', () => {
    const { clock, source, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(9600, () => 0.5),
      { sampleRate: 48000, channels: 2, timestampUs: 0 },
    );
    // Stamped 100 ms into the 200 ms already queued: its first 100 ms overlap.
    source.pushAudioSamples(
      stereo(9600, (i) => (i < 4800 ? -0.5 : 0.25)),
      { sampleRate: 48000, channels: 2, timestampUs: 100_000 },
    );
    clock.advance(400);
    const pcm = mixed();
    expect(pcm.subarray(0, 9600).every((v) => v === 0.5)).toBe(true);
    expect(pcm.subarray(9600, 14400).every((v) => v === 0.25)).toBe(true);
    expect(pcm.includes(-0.5)).toBe(false);
    expect(source.framesDroppedLate).toBe(4800);
  });

  it('drops the samples of a push whose time has already been played, and plays the rest on time', () => {
    const { clock, source, mixed } = audioSession();
    clock.advance(300);
    // 200 ms stamped at 200 ms, arriving at 300 ms: the first 100 ms are too late.
    source.pushAudioSamples(
      stereo(9600, (i) => (i < 4800 ? -0.5 : 0.25)),
      { sampleRate: 48000, channels: 2, timestampUs: 200_000 },
    );
    clock.advance(200);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.25)).toBe(14400);
    expect(pcm.subarray(14400, 19200).every((v) => v === 0.25)).toBe(true);
    expect(pcm.includes(-0.5)).toBe(false);
    expect(source.framesDroppedLate).toBe(4800);
  });

  it('resumes exactly on time when an app starts pushing after its stamps passed: the tolerance does not keep a late chunk', () => {
    const { clock, source, mixed } = audioSession();
    clock.advance(300);
    // Capture began at 0 but the app pushes its first 400 ms only now, at 300 ms, in 10 ms chunks.
    const level = (k: number): number => (k + 1) / 100;
    for (let k = 0; k < 40; k++) {
      source.pushAudioSamples(
        stereo(480, () => level(k)),
        { sampleRate: 48000, channels: 2, timestampUs: k * 10_000 },
      );
    }
    clock.advance(200);
    const pcm = mixed();
    // The chunk stamped 300 ms plays at 300 ms: nothing earlier was kept (70 ms late, within the tolerance).
    expect(firstIndexOf(pcm, level(30))).toBe(14400);
    for (let k = 0; k < 30; k++) expect(pcm.includes(Math.fround(level(k))), `chunk ${k}`).toBe(false);
    expect(source.framesDroppedLate).toBe(30 * 480);
    expect(source.silenceInsertedMs).toBe(0);
  });

  it('holds audio stamped 500 ms ahead until then: the engine does not trim it as running ahead', () => {
    const { clock, source, engine, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(4800, () => 0.5),
      {
        sampleRate: 48000,
        channels: 2,
        timestampUs: 500_000,
      },
    );
    clock.advance(800);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.5)).toBe(24000);
    expect(pcm.subarray(24000, 28800).every((v) => v === 0.5)).toBe(true);
    expect(engine.stats.audioOverrunDroppedMs).toBe(0);
  });

  it('refuses the part of timestamped audio beyond the one-second bound instead of moving it earlier', () => {
    const { clock, source, mixed } = audioSession();
    // One second of audio stamped 450 ms ahead would end at 1.45 s: the last 450 ms do not fit.
    source.pushAudioSamples(
      stereo(48000, () => 0.5),
      {
        sampleRate: 48000,
        channels: 2,
        timestampUs: 450_000,
      },
    );
    clock.advance(1500);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.5)).toBe(21600);
    expect(pcm.subarray(21600, 48000).every((v) => v === 0.5)).toBe(true);
    expect(pcm.subarray(48000).every((v) => v === 0)).toBe(true);
    expect(source.framesDroppedOverflow).toBe(21600);
  });

  it('refuses a timestamp more than MAX_TIMESTAMP_AHEAD_MS ahead: it cannot be held, so it is a mistake', () => {
    const { source } = audioSession();
    const push = (timestampUs: number) => () =>
      source.pushAudioSamples(
        stereo(480, () => 0.5),
        { sampleRate: 48000, channels: 2, timestampUs },
      );
    expect(push(MAX_TIMESTAMP_AHEAD_MS * 1000)).not.toThrow();
    expect(push(MAX_TIMESTAMP_AHEAD_MS * 1000 + 1000)).toThrow(/ahead of the session clock/);
  });

  it('drops stamped audio pushed before the engine started, as far as its time has passed', () => {
    const clock = new FakeClock();
    const source = new PushAudioSource(clock);
    // 0-50 ms at 0.25, 50-100 ms at 0.5, all pushed at 0 (say, while the stream connects).
    for (let k = 0; k < 10; k++) {
      source.pushAudioSamples(
        stereo(480, () => (k < 5 ? 0.25 : 0.5)),
        { sampleRate: 48000, channels: 2, timestampUs: k * 10_000 },
      );
    }
    clock.advance(50);
    // The engine starts at 50 ms: the first 50 ms are in the past and must not play late.
    const blocks: MixedAudioFrame[] = [];
    const engine = new AudioEngine(clock, (b) => blocks.push(b));
    engine.addSource(source);
    engine.start();
    clock.advance(100);
    engine.stop();
    expect(source.framesDroppedLate).toBe(2400);
    const left = blocks.flatMap((b) => Array.from({ length: 1024 }, (_, i) => b.samples[2 * i]));
    expect(left.slice(0, 2400).every((v) => v === 0.5)).toBe(true);
    expect(left.includes(0.25)).toBe(false);
  });

  it('plays stamped audio pushed between the engine start and its first read at its stamp, not from the start of that read', () => {
    const { clock, source, mixed } = audioSession();
    // The engine started at 0 with nothing due; its first read, at 10 ms, covers 0-10 ms.
    clock.advance(4);
    source.pushAudioSamples(
      stereo(4800, () => 0.5),
      { sampleRate: 48000, channels: 2, timestampUs: 4_000 },
    );
    clock.advance(200);
    const pcm = mixed();
    expect(firstIndexOf(pcm, 0.5)).toBe(192);
    expect(pcm.subarray(192, 192 + 4800).every((v) => v === 0.5)).toBe(true);
    expect(source.silenceInsertedMs).toBe(4);
    expect(source.framesDroppedLate).toBe(0);
  });

  it('places timestamped 44.1 kHz audio at its timestamp, to within the resampler delay', async () => {
    const { clock, source, mixed } = audioSession();
    source.pushAudioSamples(
      stereo(4410, () => 0.5),
      {
        sampleRate: 44100,
        channels: 2,
        timestampUs: 200_000,
      },
    );
    await source.flushed();
    clock.advance(400);
    const pcm = mixed();
    const start = pcm.findIndex((v) => v > 0.25);
    expect(Math.abs(start - 9600)).toBeLessThanOrEqual(48);
    expect(source.silenceInsertedMs).toBe(200);
  });

  it('plays stamped 44.1 kHz audio pushed 150 ms ahead at its stamps when reads come before its conversion lands: what was due is dropped, not played late', async () => {
    // A converter whose results land only when released: the threadpool's callbacks wait for a busy event loop.
    const held: (() => void)[] = [];
    let open = false;
    const converter: PcmRateConverter = {
      convert: (samples, inRate) => {
        const frames = Math.round(((samples.length / 2) * 48000) / inRate);
        const result = new Float32Array(frames * 2).fill(samples[0] ?? 0);
        return open ? Promise.resolve(result) : new Promise((resolve) => held.push(() => resolve(result)));
      },
      close: () => undefined,
    };
    const { clock, source, mixed } = audioSession({ converter });
    // Chunk k: 10 ms at 44.1 kHz, stamped k·10 ms, at a level of its own.
    const level = (k: number): number => (k + 1) / 1000;
    const push = (k: number): void =>
      source.pushAudioSamples(
        stereo(441, () => level(k)),
        { sampleRate: 44100, channels: 2, timestampUs: k * 10_000 },
      );
    // The engine read at 10 ms (nothing yet); the app starts at 17 ms, pushing up to 150 ms.
    clock.advance(17);
    for (let k = 0; k <= 15; k++) push(k);
    // Reads at 20 and 30 ms come before any conversion landed.
    clock.advance(13);
    open = true;
    for (const release of held.splice(0)) release();
    await source.flushed();
    for (let k = 16; k < 60; k++) {
      clock.advance(10);
      push(k);
      await source.flushed();
    }
    clock.advance(200);
    const pcm = mixed();
    // Chunk 0 (pushed 7 ms after its time) and chunks 1-2 (due at the reads that found nothing) are
    // dropped and counted; every later chunk plays at its stamp.
    for (const k of [3, 10, 30, 59]) expect(firstIndexOf(pcm, level(k)), `chunk ${k}`).toBe(k * 480);
    for (let k = 0; k < 3; k++) expect(pcm.includes(Math.fround(level(k))), `chunk ${k}`).toBe(false);
    expect(source.framesDroppedLate).toBe(3 * 480);
  });

  it('places stamped audio after a gap exactly although the resampler holds back the last frames before it', async () => {
    // Like swr: 24 kHz → 48 kHz, holding back its last 17 output frames (its filter delay) until the next input.
    const delay = 17;
    let tail = new Float32Array(0);
    const converter: PcmRateConverter = {
      convert: async (samples) => {
        await Promise.resolve();
        const all = new Float32Array(tail.length + samples.length * 2);
        all.set(tail);
        for (let i = 0; i < samples.length / 2; i++) {
          all.fill(samples[2 * i] ?? 0, tail.length + 4 * i, tail.length + 4 * i + 4);
        }
        tail = all.slice(all.length - delay * 2);
        return all.subarray(0, all.length - delay * 2);
      },
      delayFrames: () => (tail.length > 0 ? delay : 0),
      close: () => undefined,
    };
    const { clock, source, mixed } = audioSession({ converter });
    const push = (k: number, level: number): void =>
      source.pushAudioSamples(
        stereo(240, () => level),
        { sampleRate: 24000, channels: 2, timestampUs: k * 10_000 },
      );
    // 200 ms, a 100 ms gap, then more from 300 ms on, each pushed 150 ms ahead of its stamp.
    for (let k = 0; k < 50; k++) {
      if (k < 20 || k >= 30) push(k, k < 20 ? 0.5 : 0.25);
      await source.flushed();
      if (k >= 15) clock.advance(10);
    }
    clock.advance(150);
    expect(firstIndexOf(mixed(), 0.25)).toBe(30 * 480);
  });

  it('rejects a timestamp that is not a time on the session clock, naming the field and the fix', () => {
    const clock = new FakeClock();
    const source = new PushAudioSource(clock);
    const push = (timestampUs: number) => () =>
      source.pushAudioSamples(new Float32Array(2), { sampleRate: 48000, channels: 2, timestampUs });
    for (const bad of [NaN, Infinity, -1]) {
      expect(push(bad)).toThrow(ConfigError);
      expect(push(bad)).toThrow(/timestampUs.*sessionTimeUs/);
    }
    // Date.now() in microseconds: decades ahead.
    expect(push(1.7e15)).toThrow(/ahead of the session clock/);
  });
});

const picture = (n: number): RawVideoFrame => ({
  format: 'i420',
  width: 4,
  height: 4,
  data: Buffer.alloc(24, n),
});

/** A PushVideoSource read by a real 25 fps CaptureLoop (deadlines every 40 ms from 0) on a fake clock. */
function videoSession() {
  const clock = new FakeClock();
  const source = new PushVideoSource(clock);
  const frames: CapturedFrame<VideoPicture>[] = [];
  const loop = new CaptureLoop(clock, source, (f) => frames.push(f), { fps: 25 });
  loop.start();
  /** Which picture each deadline showed: `[ms, picture, duplicate]`. */
  const shown = () =>
    frames.map((f) => [f.ptsUs / 1000, 'data' in f.frame ? f.frame.data[0] : 'shared', f.duplicate]);
  return { clock, source, shown };
}

describe('PushVideoSource', () => {
  it('hands over only the newest picture and counts the ones it replaced', () => {
    const source = new PushVideoSource(new FakeClock());
    source.pushVideoFrame(picture(1));
    source.pushVideoFrame(picture(2));
    source.pushVideoFrame(picture(3));
    expect(source.grab(0, 0)?.data[0]).toBe(3);
    expect(source.grab(1, 33_333)).toBeNull();
    expect(source.framesPushed).toBe(3);
    expect(source.framesReplaced).toBe(2);
  });

  it('holds a picture stamped ahead until the first frame deadline at or after its timestamp', () => {
    const { clock, source, shown } = videoSession();
    clock.advance(5);
    source.pushVideoFrame(picture(1));
    source.pushVideoFrame(picture(2), { timestampUs: 100_000 });
    source.pushVideoFrame(picture(3), { timestampUs: 130_000 });
    source.pushVideoFrame(picture(4), { timestampUs: 240_000 });
    clock.advance(275);
    expect(shown()).toEqual([
      [40, 1, false],
      [80, 1, true],
      [120, 2, false],
      [160, 3, false],
      [200, 3, true],
      [240, 4, false],
      [280, 4, true],
    ]);
    expect(source.framesReplaced).toBe(0);
  });

  it('takes the newest picture due by a deadline, counts the others due as replaced, and keeps later ones', () => {
    const { clock, source, shown } = videoSession();
    clock.advance(45);
    source.pushVideoFrame(picture(1), { timestampUs: 50_000 });
    source.pushVideoFrame(picture(2), { timestampUs: 60_000 });
    source.pushVideoFrame(picture(3), { timestampUs: 90_000 });
    // Stamped in the past: due at once, like a picture without a timestamp.
    source.pushVideoFrame(picture(4), { timestampUs: 10_000 });
    clock.advance(80);
    expect(shown()).toEqual([
      [80, 4, false],
      [120, 3, false],
    ]);
    expect(source.framesReplaced).toBe(2);
  });

  it(`holds at most ${MAX_HELD_PICTURES} pictures for their timestamps, refusing more`, () => {
    const { clock, source, shown } = videoSession();
    // Picture i is stamped 400 + 2i ms; the last eight do not fit and are refused.
    for (let i = 0; i < MAX_HELD_PICTURES + 8; i++)
      source.pushVideoFrame(picture(i), { timestampUs: 400_000 + i * 2000 });
    expect(source.framesReplaced).toBe(8);
    clock.advance(500);
    // The newest due at 400 ms (picture 0), at 440 ms (picture 20), then at 480 ms (picture 31).
    expect(shown()).toEqual([
      [400, 0, false],
      [440, 20, false],
      [480, 31, false],
    ]);
    expect(source.framesReplaced).toBe(8 + 19 + 10);
  });

  it('rejects a picture whose buffer is too small for its size and format', () => {
    const source = new PushVideoSource(new FakeClock());
    expect(() =>
      source.pushVideoFrame({ format: 'bgra', width: 4, height: 4, data: Buffer.alloc(60) }),
    ).toThrow(/needs 64 bytes/);
  });

  it('rejects a timestamp that is negative, not finite or far ahead of the session clock', () => {
    const source = new PushVideoSource(new FakeClock());
    for (const bad of [-5, NaN, Infinity, 60e6])
      expect(() => source.pushVideoFrame(picture(1), { timestampUs: bad })).toThrow(/timestampUs/);
    expect(source.framesPushed).toBe(0);
  });
});
