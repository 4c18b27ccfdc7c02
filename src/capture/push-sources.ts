import { SoftwareResampleContext } from 'node-av';
import { AV_CHANNEL_LAYOUT_MONO, AV_CHANNEL_LAYOUT_STEREO, AV_SAMPLE_FMT_FLT } from 'node-av/constants';
import { ConfigError, MediaError } from '../core/errors.js';
import { PcmFifo } from './pcm-fifo.js';
import { frameByteLength, type AudioSource, type RawVideoFrame, type VideoSource } from './source.js';

/**
 * Pictures pushed by an app with its own capture. Only the newest picture is held: an app that
 * pushes faster than the session's frame rate replaces pictures (counted), never queues them,
 * and `pushVideoFrame()` never blocks. Conversion to the encoder's size and format happens on
 * the encoder's side (node-av's scaler, on the threadpool).
 */
export class PushVideoSource implements VideoSource {
  readonly name = 'push';
  #latest: RawVideoFrame | null = null;
  #pushed = 0;
  #replaced = 0;
  #closed = false;

  /** Pictures pushed so far. */
  get framesPushed(): number {
    return this.#pushed;
  }

  /** Pictures that were replaced by a newer one before a frame deadline took them. */
  get framesReplaced(): number {
    return this.#replaced;
  }

  /** Hands the next picture to the session; validated, then held until the next deadline. */
  pushVideoFrame(frame: RawVideoFrame): void {
    if (this.#closed) return;
    const expected = frameByteLength(frame.format, frame.width, frame.height);
    if (
      !Number.isInteger(frame.width) ||
      !Number.isInteger(frame.height) ||
      frame.width < 2 ||
      frame.height < 2
    ) {
      throw new ConfigError(
        'frame.width/height',
        `${frame.width}x${frame.height}`,
        'push a picture of at least 2x2 pixels',
      );
    }
    if (frame.data.length < expected) {
      throw new ConfigError(
        'frame.data',
        `${frame.data.length} bytes`,
        `a ${frame.width}x${frame.height} ${frame.format} picture needs ${expected} bytes, planes packed`,
      );
    }
    if (this.#latest) this.#replaced++;
    this.#latest = frame;
    this.#pushed++;
  }

  grab(): RawVideoFrame | null {
    const frame = this.#latest;
    this.#latest = null;
    return frame;
  }

  close(): void {
    this.#closed = true;
    this.#latest = null;
  }
}

/** Describes PCM pushed by an app. */
export interface PushedAudioFormat {
  /** Sample rate of the pushed PCM, Hz. */
  sampleRate: number;
  /** Interleaved channels in the pushed PCM. */
  channels: number;
}

/**
 * PCM pushed by an app, at any rate and channel count, Float32 or Int16 interleaved. It is
 * converted to the session format (node-av's resampler, asynchronously, in push order) and held
 * in a FIFO that the AudioEngine reads on its clock. The FIFO is bounded (`maxBufferedMs`): a
 * flood drops the oldest audio, counted in `framesDroppedOverflow`; `pushAudioSamples()` never
 * blocks the app.
 */
export class PushAudioSource implements AudioSource {
  readonly name = 'push';
  gain = 1;
  muted = false;
  readonly #sampleRate: number;
  readonly #channels: number;
  readonly #fifo: PcmFifo;
  readonly #maxBufferedFrames: number;
  #resampler: { rate: number; channels: number; context: SoftwareResampleContext } | null = null;
  #chain: Promise<void> = Promise.resolve();
  #overflow = 0;
  #lastError: Error | null = null;
  #closed = false;

  /**
   * @param sampleRate - the session's rate, Hz
   * @param channels - the session's channel count
   * @param maxBufferedMs - most audio held before the oldest is dropped, ms; default 1000
   */
  constructor(sampleRate: number, channels: number, maxBufferedMs = 1000) {
    this.#sampleRate = sampleRate;
    this.#channels = channels;
    this.#fifo = new PcmFifo(channels);
    this.#maxBufferedFrames = Math.round((maxBufferedMs * sampleRate) / 1000);
  }

  /** Frames of session-format audio dropped because the app pushed more than the bound holds. */
  get framesDroppedOverflow(): number {
    return this.#overflow;
  }

  /** The last conversion failure, if any (pushes keep working after it). */
  get lastError(): Error | null {
    return this.#lastError;
  }

  get bufferedFrames(): number {
    return this.#fifo.frames;
  }

  /** Resolves when every push so far has been converted and queued. */
  flushed(): Promise<void> {
    return this.#chain;
  }

  /** Queues interleaved PCM in `format`; returns at once. */
  pushAudioSamples(samples: Float32Array | Int16Array, format: PushedAudioFormat): void {
    if (this.#closed) return;
    if (!Number.isInteger(format.channels) || format.channels < 1 || format.channels > 8) {
      throw new ConfigError('audio.channels', format.channels, 'push 1 to 8 interleaved channels');
    }
    if (!Number.isInteger(format.sampleRate) || format.sampleRate < 8000 || format.sampleRate > 192000) {
      throw new ConfigError('audio.sampleRate', format.sampleRate, 'push PCM at 8000 to 192000 Hz');
    }
    if (samples.length % format.channels !== 0) {
      throw new ConfigError(
        'samples.length',
        samples.length,
        `push whole frames of ${format.channels} channels`,
      );
    }
    const mapped = this.#toSessionChannels(samples, format.channels);
    if (format.sampleRate === this.#sampleRate) {
      this.#chain = this.#chain.then(() => this.#enqueue(mapped));
      return;
    }
    this.#chain = this.#chain
      .then(() => this.#resample(mapped, format.sampleRate))
      .then((converted) => this.#enqueue(converted))
      .catch((error: unknown) => {
        this.#lastError = error instanceof Error ? error : new Error(String(error));
      });
  }

  read(out: Float32Array, frames: number): number {
    return this.#fifo.take(out, frames);
  }

  discard(frames: number): void {
    this.#fifo.take(null, frames);
  }

  close(): void {
    this.#closed = true;
    this.#fifo.clear();
    this.#resampler?.context.free();
    this.#resampler = null;
  }

  #enqueue(samples: Float32Array): void {
    if (this.#closed) return;
    this.#fifo.push(samples);
    const excess = this.#fifo.frames - this.#maxBufferedFrames;
    if (excess > 0) this.#overflow += this.#fifo.take(null, excess);
  }

  /** Int16 → float and any channel count → the session's, by hand (cheap, synchronous). */
  #toSessionChannels(samples: Float32Array | Int16Array, inChannels: number): Float32Array {
    const scale = samples instanceof Int16Array ? 1 / 32768 : 1;
    const frames = samples.length / inChannels;
    const out = new Float32Array(frames * this.#channels);
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < this.#channels; c++) {
        // Mono is duplicated; extra channels beyond the session's are left out.
        const src = samples[i * inChannels + Math.min(c, inChannels - 1)] ?? 0;
        out[i * this.#channels + c] = src * scale;
      }
    }
    return out;
  }

  async #resample(samples: Float32Array, inRate: number): Promise<Float32Array> {
    const context = this.#resamplerFor(inRate);
    const inFrames = samples.length / this.#channels;
    const outCapacity = context.getOutSamples(inFrames) + 32;
    const out = Buffer.alloc(outCapacity * this.#channels * 4);
    const input = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const produced = await context.convert([out], outCapacity, [input], inFrames);
    if (produced < 0) throw new MediaError('resampling pushed audio', `error ${produced}`);
    return new Float32Array(out.buffer, out.byteOffset, produced * this.#channels).slice();
  }

  #resamplerFor(inRate: number): SoftwareResampleContext {
    if (this.#resampler?.rate === inRate) return this.#resampler.context;
    this.#resampler?.context.free();
    const layout = this.#channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
    const context = new SoftwareResampleContext();
    const ret = context.allocSetOpts2(
      layout,
      AV_SAMPLE_FMT_FLT,
      this.#sampleRate,
      layout,
      AV_SAMPLE_FMT_FLT,
      inRate,
    );
    if (ret < 0 || context.init() < 0) throw new MediaError('opening the audio resampler', `error ${ret}`);
    this.#resampler = { rate: inRate, channels: this.#channels, context };
    return context;
  }
}
