import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { frameByteLength, type PixelFormat, type RawVideoFrame } from '../media/frames.js';

// What an app pushes is checked at the push, so a mistake is one ConfigError naming the fix at the
// call that made it, not an error on every frame later in the encoder.

/**
 * How far ahead of the session clock a pushed timestamp may be, ms: what the push sources can hold
 * (1 s of audio, MAX_HELD_PICTURES pictures) with room to spare. Further ahead is taken for a stamp
 * from another clock (Date.now(), performance.now()) and refused.
 */
export const MAX_TIMESTAMP_AHEAD_MS = 500;

const PIXEL_FORMATS: readonly PixelFormat[] = ['i420', 'nv12', 'bgra'];

/** Throws a ConfigError unless `timestampUs` is a time on `clock` no further ahead than allowed. */
export function checkTimestamp(clock: Clock, timestampUs: number): void {
  if (typeof timestampUs !== 'number' || !Number.isFinite(timestampUs) || timestampUs < 0) {
    throw new ConfigError(
      'timestampUs',
      timestampUs,
      'give microseconds on the session clock (Streamer.sessionTimeUs()), or leave it out for arrival time',
    );
  }
  const aheadMs = (timestampUs - clock.nowUs()) / 1000;
  if (aheadMs > MAX_TIMESTAMP_AHEAD_MS) {
    throw new ConfigError(
      'timestampUs',
      timestampUs,
      `it is ${Math.round(aheadMs)} ms ahead of the session clock; stamp with Streamer.sessionTimeUs() ` +
        `(not Date.now() or performance.now()), at most ${MAX_TIMESTAMP_AHEAD_MS} ms ahead`,
    );
  }
}

/**
 * The pushed picture, checked: a known pixel format, whole dimensions of at least 2×2, and a Buffer
 * (a Uint8Array is viewed as one, without a copy) holding at least the packed planes.
 */
export function checkPushedFrame(frame: RawVideoFrame): RawVideoFrame {
  if (typeof frame !== 'object' || frame === null) {
    throw new ConfigError('frame', frame, 'push an object { format, width, height, data }');
  }
  const { format, width, height } = frame;
  if (!PIXEL_FORMATS.includes(format)) {
    throw new ConfigError(
      'frame.format',
      format,
      `use one of ${PIXEL_FORMATS.map((f) => `'${f}'`).join(', ')}`,
    );
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new ConfigError(
      'frame.width/height',
      `${width}x${height}`,
      'push a picture of at least 2x2 pixels',
    );
  }
  const data = asBuffer(frame.data);
  if (!data) {
    throw new ConfigError(
      'frame.data',
      kindOf(frame.data),
      'give the packed planes as a Buffer (or Uint8Array)',
    );
  }
  const expected = frameByteLength(format, width, height);
  if (data.length < expected) {
    throw new ConfigError(
      'frame.data',
      `${data.length} bytes`,
      `a ${width}x${height} ${format} picture needs ${expected} bytes, planes packed`,
    );
  }
  return data === frame.data ? frame : { format, width, height, data };
}

/**
 * Checks pushed PCM: a Float32Array or Int16Array (a plain array is refused: converting it per
 * sample would hide a slow path), of whole frames of `channels`. Float samples must be finite: a
 * NaN or Infinity would make the AAC encoder output noise or fail, so it is refused at the push.
 */
export function checkPushedSamples(samples: Float32Array | Int16Array, channels: number): void {
  if (!(samples instanceof Float32Array) && !(samples instanceof Int16Array)) {
    throw new ConfigError(
      'samples',
      kindOf(samples),
      'push interleaved PCM as a Float32Array (−1…1) or an Int16Array, e.g. Float32Array.from(array)',
    );
  }
  if (samples.length % channels !== 0) {
    throw new ConfigError('samples.length', samples.length, `push whole frames of ${channels} channels`);
  }
  if (samples instanceof Float32Array) {
    for (let i = 0; i < samples.length; i++) {
      if (!Number.isFinite(samples[i])) {
        throw new ConfigError(
          'samples',
          `${samples[i]} at index ${i}`,
          'push finite samples (silence is 0); check the capture for a division by zero',
        );
      }
    }
  }
}

function asBuffer(data: unknown): Buffer | null {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** What a wrong value is, without printing a whole buffer or array. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an Array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${(value as Uint8Array).length}`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return typeof value;
}
