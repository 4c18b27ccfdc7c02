import { SoftwareResampleContext } from 'node-av';
import { AV_CHANNEL_LAYOUT_MONO, AV_CHANNEL_LAYOUT_STEREO, AV_SAMPLE_FMT_FLT } from 'node-av/constants';
import type { Clock } from '../core/clock.js';
import { ConfigError, MediaError } from '../core/errors.js';
import { PcmFifo } from './pcm-fifo.js';
import { frameByteLength, type RawVideoFrame } from '../media/frames.js';
import type { AudioSource, VideoSource } from './source.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/**
 * How far ahead of the session clock a pushed timestamp may be, ms: what the push sources can hold
 * (1 s of audio, MAX_HELD_PICTURES pictures) with room to spare. Further ahead is taken for a stamp
 * from another clock (Date.now(), performance.now()) and refused.
 */
export const MAX_TIMESTAMP_AHEAD_MS = 500;

/** Bytes of pictures held waiting for their timestamps (32 1080p BGRA pictures would be 265 MB). */
export const MAX_HELD_BYTES = 128 * 1024 * 1024;

/** Pictures held waiting for their timestamps; more are refused (counted as replaced). */
export const MAX_HELD_PICTURES = 32;

/** Default `timestampToleranceMs`: jitter below this keeps pushed audio contiguous (OBS's smoothing threshold). */
export const TIMESTAMP_TOLERANCE_MS = 70;

// Frame deadlines are fractional microseconds; a stamp equal to a frame's rounded pts is due at it.
const DEADLINE_SLACK_US = 1;

/** When a pushed picture may be shown. */
export interface PushedVideoTiming {
  /**
   * Capture time, microseconds on the session clock (`Streamer.sessionTimeUs()`): the picture is
   * shown at the first frame deadline at or after it. Default: arrival, i.e. the next deadline.
   */
  timestampUs?: number;
}

/** Throws a ConfigError unless `timestampUs` is a time on `clock` no further ahead than allowed. */
function checkTimestamp(clock: Clock, timestampUs: number): void {
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

interface HeldPicture {
  readonly frame: RawVideoFrame;
  /** Earliest deadline that may show it, µs on the session clock; -Infinity: the next one. */
  readonly dueUs: number;
}

/**
 * Pictures pushed by an app with its own capture. A picture is due at its timestamp (or, without
 * one, at the next frame deadline); each deadline takes the most recently pushed picture that is
 * due and drops the other due ones (counted as replaced), so an app that pushes faster than the
 * frame rate never queues pictures. Pictures stamped ahead wait, at most `MAX_HELD_PICTURES` of
 * them. `pushVideoFrame()` never blocks; conversion to the encoder's size and format happens on
 * the encoder's side (node-av's scaler, on the threadpool).
 */
export class PushVideoSource implements VideoSource {
  readonly name = 'push';
  readonly #clock: Clock;
  /** Pictures not taken yet, in push order. */
  #held: HeldPicture[] = [];
  #lastDeadlineUs = -Infinity;
  #pushed = 0;
  #replaced = 0;
  #closed = false;

  /** @param clock - the session clock, the time base of pushed timestamps */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Pictures pushed so far. */
  get framesPushed(): number {
    return this.#pushed;
  }

  /**
   * Pictures no deadline showed: replaced by a newer one that was due by the same deadline, or
   * refused because `MAX_HELD_PICTURES` (or MAX_HELD_BYTES) were already waiting.
   */
  get framesReplaced(): number {
    return this.#replaced;
  }

  /** Hands a picture to the session; validated, then held until a deadline at or after its timestamp. */
  pushVideoFrame(frame: RawVideoFrame, timing: PushedVideoTiming = {}): void {
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
    const { timestampUs } = timing;
    if (timestampUs !== undefined) checkTimestamp(this.#clock, timestampUs);
    const dueUs = timestampUs ?? -Infinity;
    this.#pushed++;
    // Due by the next deadline: every held picture also due by then can no longer be shown.
    if (this.#isDue(dueUs, this.#lastDeadlineUs)) this.#dropDue(this.#lastDeadlineUs);
    // Full: the new picture is refused. Dropping the one due first instead would starve the stream:
    // a steady flow of pictures stamped too far ahead would evict each one just before its deadline.
    const heldBytes = this.#held.reduce((sum, p) => sum + p.frame.data.length, 0);
    if (this.#held.length >= MAX_HELD_PICTURES || heldBytes + frame.data.length > MAX_HELD_BYTES) {
      this.#replaced++;
      return;
    }
    this.#held.push({ frame, dueUs });
  }

  grab(_frameIndex: number, deadlineUs: number): RawVideoFrame | null {
    this.#lastDeadlineUs = deadlineUs;
    const due = this.#held.filter((p) => this.#isDue(p.dueUs, deadlineUs));
    const taken = due.at(-1);
    if (!taken) return null;
    this.#held = this.#held.filter((p) => !this.#isDue(p.dueUs, deadlineUs));
    this.#replaced += due.length - 1;
    return taken.frame;
  }

  close(): void {
    this.#closed = true;
    this.#held = [];
  }

  #isDue(dueUs: number, deadlineUs: number): boolean {
    return dueUs <= deadlineUs + DEADLINE_SLACK_US;
  }

  /** Drops every held picture due by `deadlineUs`, counting them as replaced. */
  #dropDue(deadlineUs: number): void {
    const kept = this.#held.filter((p) => !this.#isDue(p.dueUs, deadlineUs));
    this.#replaced += this.#held.length - kept.length;
    this.#held = kept;
  }
}

/** Describes PCM pushed by an app. */
export interface PushedAudioFormat {
  /** Sample rate of the pushed PCM, Hz. */
  sampleRate: number;
  /** Interleaved channels in the pushed PCM. */
  channels: number;
  /**
   * Capture time of the first sample, microseconds on the session clock (`Streamer.sessionTimeUs()`):
   * the samples are placed on the session timeline there. Default: arrival (they continue what is queued).
   */
  timestampUs?: number;
}

/** PushAudioSource options. */
export interface PushAudioSourceOptions {
  /** The session's sample rate, Hz; default 48000. */
  sampleRate: number;
  /** The session's channel count, 1 or 2; default 2. */
  channels: number;
  /** Most audio held, converted or waiting for conversion, ms; default 1000. */
  maxBufferedMs: number;
  /** A timestamp this close to where the audio would continue keeps it contiguous, ms; default 70. */
  timestampToleranceMs: number;
}

/** Default PushAudioSource options. */
export function pushAudioSourceDefaults(): PushAudioSourceOptions {
  return {
    sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
    channels: MEDIA_DEFAULTS.audio.channels,
    maxBufferedMs: 1000,
    timestampToleranceMs: TIMESTAMP_TOLERANCE_MS,
  };
}

/** Throws ConfigError when an option is out of range. */
export function validatePushAudioSourceOptions(options: PushAudioSourceOptions): void {
  if (!Number.isInteger(options.sampleRate) || options.sampleRate < 8000 || options.sampleRate > 192000) {
    throw new ConfigError('audio.sampleRate', options.sampleRate, 'use the session rate, e.g. 48000 Hz');
  }
  if (options.channels !== 1 && options.channels !== 2) {
    throw new ConfigError('audio.channels', options.channels, 'use 1 (mono) or 2 (stereo)');
  }
  if (!(options.maxBufferedMs >= 20)) {
    throw new ConfigError('audio.maxBufferedMs', options.maxBufferedMs, 'hold at least 20 ms');
  }
  if (!(options.timestampToleranceMs >= 0 && options.timestampToleranceMs < options.maxBufferedMs)) {
    throw new ConfigError(
      'audio.timestampToleranceMs',
      options.timestampToleranceMs,
      `use 0 to ${options.maxBufferedMs - 1} ms; ${TIMESTAMP_TOLERANCE_MS} smooths ordinary capture jitter`,
    );
  }
}

/** Pushed PCM waiting for conversion, already at the session's channel count. */
interface PendingChunk {
  samples: Float32Array;
  /** Rate of `samples`, Hz. */
  readonly rate: number;
}

/**
 * PCM pushed by an app, at any rate and channel count, Float32 or Int16 interleaved. It is
 * converted to the session format (node-av's resampler, asynchronously, in push order) and held
 * in a FIFO that the AudioEngine reads on its clock. `pushAudioSamples()` never blocks or waits.
 *
 * Without a timestamp a push continues the audio queued before it. With one it is placed on the
 * session timeline: within `timestampToleranceMs` of where the audio would continue it stays
 * contiguous; later, silence fills up to it (`silenceInsertedMs`); earlier, its samples that fall on
 * time already queued or played are dropped (`framesDroppedLate`).
 *
 * At most `maxBufferedMs` is held, converted or not. Beyond that arrival-time audio loses its oldest
 * samples and timestamped audio its samples beyond the bound (so the rest keeps its place); both are
 * counted in `framesDroppedOverflow`.
 */
export class PushAudioSource implements AudioSource {
  readonly name = 'push';
  gain = 1;
  muted = false;
  readonly #clock: Clock;
  readonly #sampleRate: number;
  readonly #channels: number;
  readonly #fifo: PcmFifo;
  readonly #maxBufferedFrames: number;
  readonly #toleranceUs: number;
  /** Pushes waiting for conversion, oldest first (with any silence between them, to keep order). */
  readonly #queue: PendingChunk[] = [];
  /** Session-rate frames `#queue` will make. */
  #queuedFrames = 0;
  /** The push being converted: session-rate frames it will make, and how many of them to throw away. */
  #inFlight: { frames: number; skipFrames: number } | null = null;
  #converting = false;
  #idle: Promise<void> = Promise.resolve();
  #resampler: { rate: number; context: SoftwareResampleContext } | null = null;
  /** Session time of the next frame the AudioEngine reads (before it reads: the first stamped push). */
  #headUs: number | null = null;
  /** Whether the AudioEngine has read yet. */
  #read = false;
  /** Session time where the audio placed by the latest timestamp ends. */
  #scheduledEndUs = -Infinity;
  #overflow = 0;
  #late = 0;
  #silence = 0;
  #lastError: Error | null = null;
  #closed = false;

  /** @param clock - the session clock, which the AudioEngine reading this source runs on */
  constructor(clock: Clock, options: Partial<PushAudioSourceOptions> = {}) {
    const o = { ...pushAudioSourceDefaults(), ...options };
    validatePushAudioSourceOptions(o);
    this.#clock = clock;
    this.#sampleRate = o.sampleRate;
    this.#channels = o.channels;
    this.#fifo = new PcmFifo(o.channels);
    this.#maxBufferedFrames = Math.round((o.maxBufferedMs * o.sampleRate) / 1000);
    this.#toleranceUs = o.timestampToleranceMs * 1000;
  }

  /**
   * Frames (at the session rate) dropped or refused because more was pushed than `maxBufferedMs`
   * holds: the oldest for arrival-time audio, those beyond the bound for timestamped audio.
   */
  get framesDroppedOverflow(): number {
    return this.#overflow;
  }

  /** Frames (at the session rate) of timestamped audio dropped because their time was already queued or played. */
  get framesDroppedLate(): number {
    return this.#late;
  }

  /** Silence inserted to place timestamped audio at its timestamp after a gap, ms. */
  get silenceInsertedMs(): number {
    return (this.#silence * 1000) / this.#sampleRate;
  }

  /** The last conversion failure, if any (pushes keep working after it). */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /**
   * Converted frames the AudioEngine may trim as running ahead of its clock: arrival-time audio.
   * Audio a timestamp placed is left out — its time is fixed, and the bound caps it.
   */
  get bufferedFrames(): number {
    const headUs = this.#headUs ?? this.#clock.nowUs();
    const scheduled = Math.round(((this.#scheduledEndUs - headUs) * this.#sampleRate) / 1e6);
    return this.#fifo.frames - Math.min(this.#fifo.frames, Math.max(0, scheduled));
  }

  /** Frames (at the session rate) pushed and not converted yet. */
  get pendingFrames(): number {
    return Math.round((this.#inFlight?.frames ?? 0) + this.#queuedFrames);
  }

  /** Resolves when every push so far has been converted and queued. */
  flushed(): Promise<void> {
    return this.#idle;
  }

  /** Queues interleaved PCM in `format`, at its timestamp if it has one; returns at once. */
  pushAudioSamples(samples: Float32Array | Int16Array, format: PushedAudioFormat): void {
    if (this.#closed) return;
    const { channels, sampleRate, timestampUs } = format;
    if (!Number.isInteger(channels) || channels < 1 || channels > 8) {
      throw new ConfigError('audio.channels', channels, 'push 1 to 8 interleaved channels');
    }
    if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 192000) {
      throw new ConfigError('audio.sampleRate', sampleRate, 'push PCM at 8000 to 192000 Hz');
    }
    if (samples.length % channels !== 0) {
      throw new ConfigError('samples.length', samples.length, `push whole frames of ${channels} channels`);
    }
    if (timestampUs !== undefined) checkTimestamp(this.#clock, timestampUs);
    const frames = samples.length / channels;
    if (timestampUs === undefined) {
      // Only the newest `maxBufferedMs` of one huge push could survive: don't convert the rest.
      const fit = Math.min(frames, Math.floor((this.#maxBufferedFrames * sampleRate) / this.#sampleRate));
      this.#overflow += Math.round(this.#sessionFrames(frames - fit, sampleRate));
      this.#append(
        this.#toSessionChannels(samples.subarray((frames - fit) * channels), channels),
        sampleRate,
      );
      this.#dropOldestBeyondBound();
    } else {
      this.#place(samples, channels, sampleRate, timestampUs);
    }
    this.#startConverting();
  }

  read(out: Float32Array, frames: number): number {
    const nowUs = this.#clock.nowUs();
    // This read covers the `frames` up to now. Stamped audio pushed before the engine started reading
    // was placed from the time of the first push: the part before this read's start is late.
    const readStartUs = nowUs - (frames * 1e6) / this.#sampleRate;
    if (!this.#read && this.#headUs !== null && readStartUs > this.#headUs) {
      const stale = Math.round(((readStartUs - this.#headUs) * this.#sampleRate) / 1e6);
      this.#late += this.#fifo.take(null, stale);
    }
    this.#read = true;
    // The engine reads exactly what its clock says is due, so the next frame plays now.
    this.#headUs = nowUs;
    return this.#fifo.take(out, frames);
  }

  discard(frames: number): void {
    this.#shiftSchedule(this.#fifo.take(null, frames));
  }

  close(): void {
    this.#closed = true;
    this.#fifo.clear();
    this.#queue.length = 0;
    this.#queuedFrames = 0;
    // A conversion under way still uses the resampler; the conversion loop frees it when it ends.
    if (!this.#converting) this.#freeResampler();
  }

  /**
   * Timestamp smoothing after OBS (`obs-source.c`, TS_SMOOTHING_THRESHOLD): compare the stamp with
   * where the next sample would play; fill a gap with silence, drop what overlaps, and refuse what
   * would sit beyond the bound rather than shift audio already placed.
   */
  #place(samples: Float32Array | Int16Array, channels: number, rate: number, timestampUs: number): void {
    const frames = samples.length / channels;
    const offsetUs = timestampUs - this.#writeUs();
    let silence = 0;
    let late = 0;
    if (offsetUs > this.#toleranceUs) silence = Math.round((offsetUs * this.#sampleRate) / 1e6);
    else if (offsetUs < -this.#toleranceUs) late = Math.min(frames, Math.round((-offsetUs * rate) / 1e6));
    this.#late += Math.round(this.#sessionFrames(late, rate));
    let room = Math.max(0, this.#maxBufferedFrames - this.#heldFrames());
    silence = Math.min(silence, Math.floor(room));
    room -= silence;
    const fit = Math.max(0, Math.min(frames - late, Math.floor((room * rate) / this.#sampleRate)));
    this.#overflow += Math.round(this.#sessionFrames(frames - late - fit, rate));
    if (silence > 0) {
      this.#silence += silence;
      this.#append(new Float32Array(silence * this.#channels), this.#sampleRate);
    }
    if (fit > 0) {
      const kept = samples.subarray(late * channels, (late + fit) * channels);
      this.#append(this.#toSessionChannels(kept, channels), rate);
    }
    this.#scheduledEndUs = this.#writeUs();
  }

  /** Session time at which the next appended frame will play. */
  #writeUs(): number {
    this.#headUs ??= this.#clock.nowUs();
    return this.#headUs + (this.#heldFrames() * 1e6) / this.#sampleRate;
  }

  /** Session-rate frames held, converted or not. */
  #heldFrames(): number {
    return this.#fifo.frames + (this.#inFlight?.frames ?? 0) + this.#queuedFrames;
  }

  #sessionFrames(frames: number, rate: number): number {
    return rate === this.#sampleRate ? frames : (frames * this.#sampleRate) / rate;
  }

  #append(samples: Float32Array, rate: number): void {
    if (samples.length === 0) return;
    if (!this.#converting && this.#queue.length === 0 && rate === this.#sampleRate) {
      this.#fifo.push(samples);
      return;
    }
    this.#queue.push({ samples, rate });
    this.#queuedFrames += this.#sessionFrames(samples.length / this.#channels, rate);
  }

  /** Keeps what is held within the bound by dropping the oldest audio, converted or not. */
  #dropOldestBeyondBound(): void {
    let excess = this.#heldFrames() - this.#maxBufferedFrames;
    if (Math.round(excess) <= 0) return;
    const fromFifo = this.#fifo.take(null, Math.ceil(excess));
    this.#overflow += fromFifo;
    this.#shiftSchedule(fromFifo);
    excess -= fromFifo;
    const flight = this.#inFlight;
    if (excess > 0 && flight) {
      // Its output is thrown away (counted) when it lands.
      const n = Math.min(flight.frames, excess);
      flight.frames -= n;
      flight.skipFrames += n;
      this.#shiftSchedule(n);
      excess -= n;
    }
    while (excess > 0) {
      const chunk = this.#queue[0];
      if (!chunk) break;
      const chunkFrames = chunk.samples.length / this.#channels;
      const cut = Math.min(chunkFrames, Math.ceil((excess * chunk.rate) / this.#sampleRate));
      const cutFrames = this.#sessionFrames(cut, chunk.rate);
      if (cut === chunkFrames) this.#queue.shift();
      else chunk.samples = chunk.samples.subarray(cut * this.#channels);
      this.#queuedFrames = this.#queue.length === 0 ? 0 : this.#queuedFrames - cutFrames;
      this.#overflow += Math.round(cutFrames);
      this.#shiftSchedule(cutFrames);
      excess -= cutFrames;
    }
  }

  /** Audio placed by timestamps moved earlier by `frames` (older audio before it was dropped). */
  #shiftSchedule(frames: number): void {
    this.#scheduledEndUs -= (frames * 1e6) / this.#sampleRate;
  }

  #startConverting(): void {
    if (this.#converting || this.#queue.length === 0) return;
    this.#converting = true;
    this.#idle = this.#convertQueued();
  }

  /** Converts queued pushes one at a time, in order, until none is left. */
  async #convertQueued(): Promise<void> {
    for (let chunk = this.#queue.shift(); chunk && !this.#closed; chunk = this.#queue.shift()) {
      const frames = this.#sessionFrames(chunk.samples.length / this.#channels, chunk.rate);
      this.#queuedFrames = this.#queue.length === 0 ? 0 : this.#queuedFrames - frames;
      const flight = { frames, skipFrames: 0 };
      this.#inFlight = flight;
      try {
        const converted =
          chunk.rate === this.#sampleRate ? chunk.samples : await this.#resample(chunk.samples, chunk.rate);
        if (!this.#closed) {
          const skipped = Math.min(Math.round(flight.skipFrames), converted.length / this.#channels);
          this.#overflow += skipped;
          this.#fifo.push(converted.subarray(skipped * this.#channels));
        }
      } catch (error) {
        this.#lastError = error instanceof Error ? error : new Error(String(error));
      }
      this.#inFlight = null;
      // The resampler may hand out a few frames more than estimated (its filter delay).
      if (!this.#closed) this.#dropOldestBeyondBound();
    }
    // No await between the last look at the queue and this: a push now starts a new loop.
    this.#converting = false;
    if (this.#closed) this.#freeResampler();
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
    this.#freeResampler();
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
    this.#resampler = { rate: inRate, context };
    return context;
  }

  #freeResampler(): void {
    this.#resampler?.context.free();
    this.#resampler = null;
  }
}
