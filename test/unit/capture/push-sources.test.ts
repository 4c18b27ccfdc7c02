import { describe, expect, it } from 'vitest';
import { PushAudioSource, PushVideoSource } from '../../../src/capture/push-sources.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('PushAudioSource', () => {
  it('converts 441-sample Int16 chunks at 44.1 kHz mono to 48 kHz stereo float with the right duration', async () => {
    const source = new PushAudioSource(48000, 2);
    const chunk = new Int16Array(441);
    let phase = 0;
    for (let n = 0; n < 100; n++) {
      for (let i = 0; i < 441; i++)
        chunk[i] = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * phase++) / 44100));
      source.pushAudioSamples(chunk, { sampleRate: 44100, channels: 1 });
    }
    await source.flushed();
    expect(source.lastError).toBeNull();
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
    const source = new PushAudioSource(48000, 2);
    source.pushAudioSamples(new Float32Array([0.1, -0.1, 0.2, -0.2]), { sampleRate: 48000, channels: 2 });
    await source.flushed();
    const out = new Float32Array(4);
    expect(source.read(out, 2)).toBe(2);
    expect(Array.from(out)).toEqual([0.1, -0.1, 0.2, -0.2].map(Math.fround));
  });

  it('bounds a flood by dropping the oldest audio and counting it, without blocking the caller', async () => {
    const source = new PushAudioSource(48000, 2, 500);
    for (let n = 0; n < 100; n++)
      source.pushAudioSamples(new Float32Array(2 * 4800), { sampleRate: 48000, channels: 2 });
    await source.flushed();
    expect(source.bufferedFrames).toBe(24000);
    expect(source.framesDroppedOverflow).toBe(480000 - 24000);
  });

  it('rejects a chunk that is not whole frames, naming the fix', () => {
    const source = new PushAudioSource(48000, 2);
    expect(() => source.pushAudioSamples(new Float32Array(3), { sampleRate: 48000, channels: 2 })).toThrow(
      ConfigError,
    );
  });
});

describe('PushVideoSource', () => {
  it('hands over only the newest picture and counts the ones it replaced', () => {
    const source = new PushVideoSource();
    const frame = (v: number) => ({
      format: 'i420' as const,
      width: 4,
      height: 4,
      data: Buffer.alloc(24, v),
    });
    source.pushVideoFrame(frame(1));
    source.pushVideoFrame(frame(2));
    source.pushVideoFrame(frame(3));
    expect(source.grab()?.data[0]).toBe(3);
    expect(source.grab()).toBeNull();
    expect(source.framesPushed).toBe(3);
    expect(source.framesReplaced).toBe(2);
  });

  it('rejects a picture whose buffer is too small for its size and format', () => {
    const source = new PushVideoSource();
    expect(() =>
      source.pushVideoFrame({ format: 'bgra', width: 4, height: 4, data: Buffer.alloc(60) }),
    ).toThrow(/needs 64 bytes/);
  });
});
