import type { Clock, Timer } from '../core/clock.js';
import { ConfigError, InvalidStateError } from '../core/errors.js';
import { LatenessRecorder, type LatenessSummary } from '../core/lateness.js';
import type { MixedAudioFrame } from '../media/frames.js';
import type { AudioSource } from './source.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** AudioEngine options. */
export interface AudioEngineOptions {
  /** Session sample rate, Hz; default 48000. */
  sampleRate: number;
  /** Session channel count; default 2. */
  channels: number;
  /** Samples per emitted block (AAC-LC takes 1024); default 1024. */
  frameSize: number;
  /** Tick period, ms; default 10. Jitter does not matter: each tick pulls what the clock says is due. */
  tickMs: number;
  /**
   * Tick when each block is complete instead of every `tickMs`; default false (a MediaSession sets it).
   * A block then goes to the encoder as soon as its last sample is due, not up to a tick later (5 ms on
   * average at 10 ms ticks), and the engine wakes once a block (47 times a second for AAC at 48 kHz) instead
   * of 100 times.
   */
  alignToBlocks: boolean;
  /** A source holding more than this much unread audio has its oldest samples dropped, ms; default 200. */
  maxSourceAheadMs: number;
}

/** Counters of the AudioEngine. */
export interface AudioEngineStats {
  /** Sample frames mixed since start (what the clock said was due). */
  readonly samplesMixed: number;
  /** Silence inserted for sources that had too little, summed over sources, ms. */
  readonly silenceInsertedMs: number;
  /**
   * The part of `silenceInsertedMs` mixed before a source's first samples (a device still opening
   * or filling its prebuffer), ms. The rest is silence inserted after a source had started: gaps.
   */
  readonly startupSilenceMs: number;
  /** Audio dropped from sources that ran ahead of the clock, summed over sources, ms. */
  readonly audioOverrunDroppedMs: number;
  /** Mixed samples that had to be clipped to [-1, 1]. */
  readonly samplesClipped: number;
  /** How late the engine's ticks ran against their schedule. */
  readonly tickLateness: LatenessSummary;
}

/** How long after a block's last sample is due an aligned tick comes, µs (see `alignToBlocks`). */
const BLOCK_TICK_MARGIN_US = 1000;

/** Default AudioEngine options. */
export function audioEngineDefaults(): AudioEngineOptions {
  const { sampleRate, channels } = MEDIA_DEFAULTS.audio;
  return { sampleRate, channels, frameSize: 1024, tickMs: 10, alignToBlocks: false, maxSourceAheadMs: 200 };
}

/** Throws ConfigError when an option is out of range. */
export function validateAudioEngineOptions(options: AudioEngineOptions): void {
  if (![8000, 16000, 22050, 24000, 32000, 44100, 48000].includes(options.sampleRate)) {
    throw new ConfigError('audio.sampleRate', options.sampleRate, 'use 48000 (or 44100) Hz');
  }
  if (!Number.isInteger(options.channels) || options.channels < 1 || options.channels > 2) {
    throw new ConfigError('audio.channels', options.channels, 'use 1 (mono) or 2 (stereo)');
  }
  if (!Number.isInteger(options.frameSize) || options.frameSize < 64) {
    throw new ConfigError('audio.frameSize', options.frameSize, 'use the encoder frame size, 1024 for AAC');
  }
  if (!(options.tickMs >= 1 && options.tickMs <= 100)) {
    throw new ConfigError('audio.tickMs', options.tickMs, 'use a tick between 1 and 100 ms');
  }
  if (!(options.maxSourceAheadMs >= 20)) {
    throw new ConfigError('audio.maxSourceAheadMs', options.maxSourceAheadMs, 'use at least 20 ms');
  }
}

/**
 * The clock master. Each tick it computes how many samples the session clock says are due since
 * start (`expectedFrames(t)`) and pulls exactly that many from every source — padding a short
 * source with silence, trimming one that runs ahead — mixes them and emits fixed-size blocks whose
 * timestamps come from the sample count. It never waits for a source or the encoder.
 */
export class AudioEngine {
  readonly #clock: Clock;
  readonly #options: AudioEngineOptions;
  readonly #onFrame: (frame: MixedAudioFrame) => void;
  readonly #sources = new Set<AudioSource>();
  /** Sources that have delivered samples at least once. */
  readonly #started = new WeakSet<AudioSource>();
  readonly #lateness = new LatenessRecorder();
  #scratch = new Float32Array(0);
  #pending: Float32Array;
  #pendingFrames = 0;
  #startUs = 0;
  #samplesMixed = 0;
  #samplesEmitted = 0;
  #silenceFrames = 0;
  #startupSilenceFrames = 0;
  #overrunFrames = 0;
  #clipped = 0;
  #nextTickUs = 0;
  #timer: Timer | null = null;
  #running = false;
  #closed = false;

  constructor(
    clock: Clock,
    onFrame: (frame: MixedAudioFrame) => void,
    options: AudioEngineOptions = audioEngineDefaults(),
  ) {
    validateAudioEngineOptions(options);
    this.#clock = clock;
    this.#options = { ...options };
    this.#onFrame = onFrame;
    this.#pending = new Float32Array(options.frameSize * options.channels);
  }

  /** The session's sample rate, Hz. */
  get sampleRate(): number {
    return this.#options.sampleRate;
  }

  /** The session's channel count. */
  get channels(): number {
    return this.#options.channels;
  }

  /** Adds a source to the mix; it is read from the next tick on. */
  addSource(source: AudioSource): void {
    this.#sources.add(source);
  }

  /** Removes a source from the mix (it is not closed). */
  removeSource(source: AudioSource): void {
    this.#sources.delete(source);
  }

  /** Sample frames due `elapsedUs` after start at the session rate: floor(t·rate). */
  expectedFrames(elapsedUs: number): number {
    return Math.floor((elapsedUs * this.#options.sampleRate) / 1e6 + 1e-9);
  }

  /** Snapshot of the engine's counters. */
  get stats(): AudioEngineStats {
    const msPerFrame = 1000 / this.#options.sampleRate;
    return {
      samplesMixed: this.#samplesMixed,
      silenceInsertedMs: this.#silenceFrames * msPerFrame,
      startupSilenceMs: this.#startupSilenceFrames * msPerFrame,
      audioOverrunDroppedMs: this.#overrunFrames * msPerFrame,
      samplesClipped: this.#clipped,
      tickLateness: this.#lateness.summary(),
    };
  }

  /** Starts ticking; sample 0 is at the current clock time. */
  start(): void {
    if (this.#closed) throw new InvalidStateError('AudioEngine is closed');
    if (this.#running) return;
    this.#running = true;
    this.#startUs = this.#clock.nowUs();
    this.#nextTickUs = this.#startUs;
    this.#tick();
  }

  /** Stops ticking; idempotent. Sources are not closed (their owner closes them). */
  stop(): void {
    this.#running = false;
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    if (!this.#running) return;
    const nowUs = this.#clock.nowUs();
    this.#lateness.record((nowUs - this.#nextTickUs) / 1000);
    const due = this.expectedFrames(nowUs - this.#startUs) - this.#samplesMixed;
    if (due > 0) this.#mix(due);
    if (this.#options.alignToBlocks) {
      // When the block being filled is complete: its last sample's time, plus a margin, since a timer
      // may fire up to a millisecond early (Node counts in whole ms). Fired early all the same, the tick
      // mixes what is due and comes back for the rest.
      const { frameSize, sampleRate } = this.#options;
      const blockEndUs = this.#startUs + ((this.#samplesEmitted + frameSize) * 1e6) / sampleRate;
      this.#nextTickUs = blockEndUs + BLOCK_TICK_MARGIN_US;
      this.#timer = this.#clock.setTimer(() => this.#tick(), (this.#nextTickUs - nowUs) / 1000);
      return;
    }
    const tickUs = this.#options.tickMs * 1000;
    // The next tick's schedule is absolute; a late tick simply pulls more samples.
    this.#nextTickUs += tickUs * Math.max(1, Math.ceil((nowUs - this.#nextTickUs) / tickUs + 1e-9));
    this.#timer = this.#clock.setTimer(() => this.#tick(), (this.#nextTickUs - nowUs) / 1000);
  }

  #mix(frames: number): void {
    const { channels } = this.#options;
    const length = frames * channels;
    if (this.#scratch.length < length) this.#scratch = new Float32Array(length);
    const mix = new Float32Array(length);
    const scratch = this.#scratch;
    const maxAheadFrames = Math.round((this.#options.maxSourceAheadMs * this.#options.sampleRate) / 1000);
    for (const source of this.#sources) {
      const got = Math.max(0, Math.min(frames, source.read(scratch, frames)));
      this.#silenceFrames += frames - got;
      if (got > 0) this.#started.add(source);
      else if (!this.#started.has(source)) this.#startupSilenceFrames += frames;
      const gain = source.muted ? 0 : source.gain;
      if (gain !== 0) {
        const n = got * channels;
        for (let i = 0; i < n; i++) mix[i] = (mix[i] ?? 0) + (scratch[i] ?? 0) * gain;
      }
      const ahead = source.bufferedFrames;
      if (ahead > maxAheadFrames) {
        // The clock wins: keep half the bound so a source running slightly fast is trimmed rarely.
        const drop = ahead - Math.floor(maxAheadFrames / 2);
        source.discard(drop);
        this.#overrunFrames += drop;
      }
    }
    for (let i = 0; i < length; i++) {
      const v = mix[i] ?? 0;
      if (v > 1 || v < -1) {
        mix[i] = v > 1 ? 1 : -1;
        this.#clipped++;
      }
    }
    this.#samplesMixed += frames;
    this.#emitBlocks(mix, frames);
  }

  #emitBlocks(mix: Float32Array, frames: number): void {
    const { channels, frameSize, sampleRate } = this.#options;
    let offset = 0;
    while (offset < frames) {
      const take = Math.min(frames - offset, frameSize - this.#pendingFrames);
      this.#pending.set(
        mix.subarray(offset * channels, (offset + take) * channels),
        this.#pendingFrames * channels,
      );
      this.#pendingFrames += take;
      offset += take;
      if (this.#pendingFrames === frameSize) {
        const sampleIndex = this.#samplesEmitted;
        this.#samplesEmitted += frameSize;
        const samples = this.#pending;
        this.#pending = new Float32Array(frameSize * channels);
        this.#pendingFrames = 0;
        const ptsUs = Math.round(this.#startUs + (sampleIndex * 1e6) / sampleRate);
        this.#onFrame({ samples, sampleIndex, ptsUs });
      }
    }
  }
}
