import { describe, expect, it } from 'vitest';
import { PushAudioSource } from '../../../src/capture/push-audio-source.js';
import { PushVideoSource } from '../../../src/capture/push-video-source.js';
import { ConfigError } from '../../../src/core/errors.js';
import type { RawVideoFrame } from '../../../src/media/frames.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/** What an app written in plain JavaScript may hand over, past the TypeScript types. */
function untyped<T>(value: unknown): T {
  return value as T;
}

function error(run: () => void): ConfigError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('a pushed picture is checked at the push', () => {
  const good: RawVideoFrame = { format: 'i420', width: 4, height: 4, data: Buffer.alloc(24) };

  it.each<[string, unknown, string, RegExp]>([
    ['an unknown pixel format', { ...good, format: 'rgb24' }, 'frame.format', /'i420', 'nv12', 'bgra'/],
    ['a format in capitals', { ...good, format: 'I420' }, 'frame.format', /'i420'/],
    ['data given as a string', { ...good, data: 'x'.repeat(24) }, 'frame.data', /Buffer/],
    ['data given as an array', { ...good, data: new Array(24).fill(0) }, 'frame.data', /Buffer/],
    ['data given as an ArrayBuffer', { ...good, data: new ArrayBuffer(24) }, 'frame.data', /Buffer/],
    ['no data', { ...good, data: undefined }, 'frame.data', /Buffer/],
    ['fractional dimensions', { ...good, width: 4.5 }, 'frame.width/height', /2x2/],
    ['not an object', null, 'frame', /format, width, height, data/],
  ])('refuses %s with a ConfigError naming the field and the fix', (_what, frame, field, fix) => {
    const source = new PushVideoSource(new FakeClock());
    const e = error(() => source.pushVideoFrame(untyped<RawVideoFrame>(frame)));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(fix);
    expect(source.framesPushed).toBe(0);
  });

  it('takes a Uint8Array as the planes, without a copy, and hands the encoder a Buffer', () => {
    const source = new PushVideoSource(new FakeClock());
    const planes = new Uint8Array(24).fill(7);
    source.pushVideoFrame({ ...good, data: untyped<Buffer>(planes) });
    const shown = source.grab(0, 0);
    expect(Buffer.isBuffer(shown?.data)).toBe(true);
    expect(shown?.data.buffer).toBe(planes.buffer);
    expect(shown?.data[23]).toBe(7);
  });

  it('accepts every documented format with its exact packed size', () => {
    const source = new PushVideoSource(new FakeClock());
    source.pushVideoFrame({ format: 'i420', width: 3, height: 3, data: Buffer.alloc(9 + 2 * 4) });
    source.pushVideoFrame({ format: 'nv12', width: 4, height: 2, data: Buffer.alloc(8 + 4) });
    source.pushVideoFrame({ format: 'bgra', width: 2, height: 2, data: Buffer.alloc(16) });
    expect(source.framesPushed).toBe(3);
  });
});

describe('pushed audio is checked at the push', () => {
  const format = { sampleRate: 48000, channels: 2 };

  it.each<[string, unknown, RegExp]>([
    ['a plain array', [0.1, 0.2, 0.3, 0.4], /Float32Array/],
    ['a Float64Array', new Float64Array(4), /Float32Array/],
    ['a Buffer of bytes', Buffer.alloc(8), /Int16Array/],
  ])('refuses samples given as %s, naming the types it takes', (_what, samples, fix) => {
    const source = new PushAudioSource(new FakeClock());
    const e = error(() => source.pushAudioSamples(untyped<Float32Array>(samples), format));
    expect(e.field).toBe('samples');
    expect(e.message).toMatch(fix);
    expect(source.bufferedFrames + source.pendingFrames).toBe(0);
  });

  it.each([NaN, Infinity, -Infinity])('refuses float samples containing %s, naming where', (bad) => {
    const source = new PushAudioSource(new FakeClock());
    const samples = new Float32Array([0, 0.5, bad, 0]);
    const e = error(() => source.pushAudioSamples(samples, format));
    expect(e.message).toContain(`${bad} at index 2`);
    expect(source.bufferedFrames + source.pendingFrames).toBe(0);
  });

  it('refuses a push without its format object', () => {
    const source = new PushAudioSource(new FakeClock());
    const e = error(() => source.pushAudioSamples(new Float32Array(4), untyped<typeof format>(undefined)));
    expect(e.field).toBe('format');
  });

  it('takes Int16 samples at their full range, where no value is out of place', () => {
    const source = new PushAudioSource(new FakeClock());
    source.pushAudioSamples(new Int16Array([-32768, 32767]), format);
    const out = new Float32Array(2);
    expect(source.read(out, 1)).toBe(1);
    expect(out[0]).toBe(-1);
  });
});
