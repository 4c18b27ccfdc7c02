import { TypedEmitter } from '../core/typed-emitter.js';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { PcmFifo } from './pcm-fifo.js';
import { SwrRateConverter, type PcmRateConverter } from './pcm-rate-converter.js';
import { checkPushedSamples, checkTimestamp } from './push-checks.js';
import type { AudioSource } from './source.js';

/** Default `timestampToleranceMs`: jitter below this keeps pushed audio contiguous (OBS's smoothing threshold). */
export const TIMESTAMP_TOLERANCE_MS = 70;

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
  /** Converts pushed rates to the session's; default node-av's resampler (SwrRateConverter). */
  converter?: PcmRateConverter;
}

/** Events of a PushAudioSource. */
export type PushAudioSourceEvents = {
  /**
   * Converting pushed audio failed; its samples are lost (counted in `framesDroppedFailed`) and the
   * session plays silence in their place. Fires again only after a conversion has worked since.
   */
  failed: [error: Error];
};

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

/** Why held frames are dropped: the counter they go to. */
type DropReason = 'overflow' | 'late';

/** The push being converted: session-rate frames it will make, and how many of them to throw away, by reason. */
interface InFlight {
  frames: number;
  readonly skip: Record<DropReason, number>;
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
 * time already queued or played are dropped (`framesDroppedLate`), as are samples whose time came
 * while they were still converting, so the rest keeps its place.
 *
 * At most `maxBufferedMs` is held, converted or not. Beyond that arrival-time audio loses its oldest
 * samples and timestamped audio its samples beyond the bound (so the rest keeps its place); both are
 * counted in `framesDroppedOverflow`.
 */
export class PushAudioSource extends TypedEmitter<PushAudioSourceEvents> implements AudioSource {
  readonly name = 'push audio';
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
  /** The push being converted. */
  #inFlight: InFlight | null = null;
  #converting = false;
  /** Session-rate frames the converter held back after its latest conversion; they come out with the next. */
  #converterDelayFrames = 0;
  #idle: Promise<void> = Promise.resolve();
  readonly #converter: PcmRateConverter;
  /** Session time of the next frame the AudioEngine reads (before it reads: the first stamped push). */
  #headUs: number | null = null;
  /** Whether the AudioEngine has read yet. */
  #read = false;
  /** Session time where the audio placed by the latest timestamp ends. */
  #scheduledEndUs = -Infinity;
  /**
   * Whether the next stamped push is placed exactly: the first one, and after pushes whose time had
   * all passed, until one lands. Jitter tolerance keeps audio that is playing contiguous; audio that
   * starts or resumes (an app that began pushing late, a busy event loop) would otherwise sit up to
   * the tolerance late, out of sync with pictures placed at their stamps, for as long as it plays.
   */
  #resync = true;
  /**
   * The engine found nothing left to read: audio that comes after is not continuing anything, so a
   * stamp ahead of the write position gets its gap of silence even within the tolerance. Kept
   * contiguous it would play early (the gap is in the past), out of sync for as long as it plays.
   * Behind it, the tolerance still keeps a slightly late push whole.
   */
  #ranDry = false;
  #overflow = 0;
  #late = 0;
  #silence = 0;
  #failed = 0;
  /** The failure of the latest conversion, until one works again (an episode is reported once). */
  #error: Error | null = null;
  #closed = false;

  /** @param clock - the session clock, which the AudioEngine reading this source runs on */
  constructor(clock: Clock, options: Partial<PushAudioSourceOptions> = {}) {
    super();
    const o = { ...pushAudioSourceDefaults(), ...options };
    validatePushAudioSourceOptions(o);
    this.#converter = o.converter ?? new SwrRateConverter(o.sampleRate, o.channels);
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

  /** Frames (at the session rate) of timestamped audio dropped because their time was queued, played or passed while converting. */
  get framesDroppedLate(): number {
    return this.#late;
  }

  /** Silence inserted to place timestamped audio at its timestamp (after a gap, or before the first push), ms. */
  get silenceInsertedMs(): number {
    return (this.#silence * 1000) / this.#sampleRate;
  }

  /** Frames (at the session rate) lost because their conversion failed (see the `failed` event). */
  get framesDroppedFailed(): number {
    return this.#failed;
  }

  /** The failure of the latest conversion while none has worked since (pushes keep being tried); else null. */
  get error(): Error | null {
    return this.#error;
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
    if (typeof format !== 'object' || format === null) {
      throw new ConfigError('format', format, 'give { sampleRate, channels } of the pushed PCM');
    }
    const { channels, sampleRate, timestampUs } = format;
    if (!Number.isInteger(channels) || channels < 1 || channels > 8) {
      throw new ConfigError('audio.channels', channels, 'push 1 to 8 interleaved channels');
    }
    if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 192000) {
      throw new ConfigError('audio.sampleRate', sampleRate, 'push PCM at 8000 to 192000 Hz');
    }
    checkPushedSamples(samples, channels);
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
    // This read covers the `frames` up to now. Stamped audio pushed before the engine's first read was
    // placed from the time of the first push: the part before this read's start is late, and if the
    // push came after it, silence leads up to it.
    const readStartUs = nowUs - (frames * 1e6) / this.#sampleRate;
    let lead = 0;
    if (!this.#read && this.#headUs !== null) {
      const offset = Math.round(((this.#headUs - readStartUs) * this.#sampleRate) / 1e6);
      if (offset < 0) this.#dropOldest(-offset, 'late');
      lead = Math.min(frames, Math.max(0, offset));
      out.fill(0, 0, lead * this.#channels);
      this.#silence += lead;
    }
    this.#read = true;
    // The engine reads exactly what its clock says is due, so the next frame plays now.
    this.#headUs = nowUs;
    const got = lead + this.#fifo.take(out.subarray(lead * this.#channels), frames - lead);
    if (got < frames && this.#heldFrames() === 0) this.#ranDry = true;
    if (got < frames) {
      // Held audio runs on from the last frame read. What timestamps placed in the rest of this read
      // is still converting (a busy event loop held the result back): its time has passed, so it is
      // dropped when it lands. Kept, it would shift the rest late by as much, for as long as it plays.
      const missedFromUs = readStartUs + (got * 1e6) / this.#sampleRate;
      const stamped = Math.round(((this.#scheduledEndUs - missedFromUs) * this.#sampleRate) / 1e6);
      if (stamped > 0) this.#dropOldest(Math.min(frames - got, stamped), 'late');
    }
    return got;
  }

  discard(frames: number): void {
    this.#shiftSchedule(this.#fifo.take(null, frames));
  }

  close(): void {
    this.#closed = true;
    this.#fifo.clear();
    this.#queue.length = 0;
    this.#queuedFrames = 0;
    // A conversion under way still uses the converter; the conversion loop frees it when it ends.
    if (!this.#converting) this.#converter.close();
  }

  /**
   * Timestamp smoothing after OBS (`obs-source.c`, TS_SMOOTHING_THRESHOLD): compare the stamp with
   * where the next sample would play; fill a gap with silence, drop what overlaps, and refuse what
   * would sit beyond the bound rather than shift audio already placed. The first push, and the next
   * after pushes that came wholly too late, are placed exactly.
   */
  #place(samples: Float32Array | Int16Array, channels: number, rate: number, timestampUs: number): void {
    const frames = samples.length / channels;
    const offsetUs = timestampUs - this.#writeUs();
    const toleranceUs = this.#resync ? 0 : this.#toleranceUs;
    let silence = 0;
    let late = 0;
    const aheadToleranceUs = this.#ranDry ? 0 : toleranceUs;
    if (offsetUs > aheadToleranceUs) silence = Math.round((offsetUs * this.#sampleRate) / 1e6);
    else if (offsetUs < -toleranceUs) late = Math.min(frames, Math.round((-offsetUs * rate) / 1e6));
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
    if (fit > 0) this.#resync = false;
    else if (late > 0) this.#resync = true;
    if (fit > 0) this.#ranDry = false;
    this.#scheduledEndUs = this.#writeUs();
  }

  /** Session time at which the next appended frame will play. */
  #writeUs(): number {
    this.#headUs ??= this.#clock.nowUs();
    return this.#headUs + (this.#heldFrames() * 1e6) / this.#sampleRate;
  }

  /** Session-rate frames held, converted or not (with those the converter holds back). */
  #heldFrames(): number {
    return (
      this.#fifo.frames + this.#converterDelayFrames + (this.#inFlight?.frames ?? 0) + this.#queuedFrames
    );
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
    const excess = this.#heldFrames() - this.#maxBufferedFrames;
    if (Math.round(excess) <= 0) return;
    // The audio after the dropped part moves up, and with it where timestamps placed audio.
    this.#shiftSchedule(this.#dropOldest(excess, 'overflow'));
  }

  /**
   * Drops the oldest `frames` (session rate) held, converted or not, counted by `reason`; returns how
   * many it dropped. A drop from the push being converted is counted when its output lands.
   */
  #dropOldest(frames: number, reason: DropReason): number {
    const fromFifo = this.#fifo.take(null, Math.ceil(frames));
    this.#count(reason, fromFifo);
    let left = frames - fromFifo;
    const flight = this.#inFlight;
    if (left > 0 && flight) {
      const n = Math.min(flight.frames, left);
      flight.frames -= n;
      flight.skip[reason] += n;
      left -= n;
    }
    while (left > 0) {
      const chunk = this.#queue[0];
      if (!chunk) break;
      const chunkFrames = chunk.samples.length / this.#channels;
      const cut = Math.min(chunkFrames, Math.ceil((left * chunk.rate) / this.#sampleRate));
      const cutFrames = this.#sessionFrames(cut, chunk.rate);
      if (cut === chunkFrames) this.#queue.shift();
      else chunk.samples = chunk.samples.subarray(cut * this.#channels);
      this.#queuedFrames = this.#queue.length === 0 ? 0 : this.#queuedFrames - cutFrames;
      this.#count(reason, Math.round(cutFrames));
      left -= cutFrames;
    }
    return frames - left;
  }

  #count(reason: DropReason, frames: number): void {
    if (reason === 'late') this.#late += frames;
    else this.#overflow += frames;
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
      const flight: InFlight = { frames, skip: { overflow: 0, late: 0 } };
      this.#inFlight = flight;
      try {
        let converted = chunk.samples;
        if (chunk.rate !== this.#sampleRate) {
          converted = await this.#converter.convert(chunk.samples, chunk.rate);
          // Without it, audio placed after a gap would sit as many frames late as the filter holds.
          this.#converterDelayFrames = this.#converter.delayFrames?.() ?? 0;
        }
        if (!this.#closed) {
          const convertedFrames = converted.length / this.#channels;
          const late = Math.min(Math.round(flight.skip.late), convertedFrames);
          const overflow = Math.min(Math.round(flight.skip.overflow), convertedFrames - late);
          this.#late += late;
          this.#overflow += overflow;
          this.#fifo.push(converted.subarray((late + overflow) * this.#channels));
        }
        this.#error = null;
      } catch (error) {
        if (!this.#closed) this.#conversionFailed(error, flight);
      }
      this.#inFlight = null;
      // The resampler may hand out a few frames more than estimated (its filter delay).
      if (!this.#closed) this.#dropOldestBeyondBound();
    }
    // No await between the last look at the queue and this: a push now starts a new loop.
    this.#converting = false;
    if (this.#closed) this.#converter.close();
  }

  /** A lost push: counted, and reported once per episode; later audio keeps its place (silence here). */
  #conversionFailed(cause: unknown, flight: InFlight): void {
    this.#overflow += Math.round(flight.skip.overflow);
    this.#late += Math.round(flight.skip.late);
    const lost = Math.round(flight.frames);
    this.#failed += lost;
    this.#fifo.push(new Float32Array(lost * this.#channels));
    const reported = this.#error !== null;
    const error = cause instanceof Error ? cause : new Error(String(cause));
    this.#error = error;
    if (!reported) this.emitGuarded('failed', error);
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
}
