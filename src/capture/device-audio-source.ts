import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { DeviceError, listDevices, resolveAudioInput, type AudioDeviceKind } from './device-inputs.js';
import { DeviceReadLoop, type DeviceHealthStats, type DeviceSourceEvents } from './device-read-loop.js';
import { MediaReader, type Decoded, type MediaReaderOptions } from './media-reader.js';
import { PcmFifo } from './pcm-fifo.js';
import type { AudioSource } from './source.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** Options of a device audio source. */
export interface DeviceAudioOptions {
  /** `system` (what the machine plays: a sink's monitor) or `mic` (an input). */
  kind: AudioDeviceKind;
  /** A device name (PulseAudio source, dshow or avfoundation device), or null for the default. */
  device: string | null;
  /** Session sample rate, Hz; default 48000. */
  sampleRate?: number;
  /** Session channel count; default 2. */
  channels?: number;
  /**
   * Audio held before the first read is served (absorbs device burstiness and late reads), ms; default
   * 100. At 60 a PulseAudio source through ALSA ran dry for 10-30 ms now and then on an idle 2-core
   * machine (holes in the stream), in about a third of 20 s runs.
   */
  prebufferMs?: number;
  /** Most audio held while nobody reads (before the session starts), ms; default 150. */
  maxBufferedMs?: number;
}

/** Counters of a device audio source. */
export interface DeviceAudioStats extends DeviceHealthStats {
  /** Sample frames captured (after resampling to the session rate). */
  readonly framesCaptured: number;
  /** Sample frames dropped because nobody read them in time (e.g. before the session started). */
  readonly framesDroppedOverflow: number;
}

/**
 * A microphone or the system's output. Linux: ALSA through PulseAudio's plugin (`@DEFAULT_SOURCE@`,
 * `@DEFAULT_MONITOR@` or a named source); Windows: dshow; macOS: avfoundation. A DeviceReadLoop keeps
 * one device read in flight on the threadpool; this queues the PCM (resampled to the session format)
 * and the AudioEngine reads it on its clock (and trims it if the device runs ahead). While the device
 * is gone (`failed`) the engine mixes silence for it; once it is back (`recovered`) it prebuffers again.
 */
export class DeviceAudioSource extends TypedEmitter<DeviceSourceEvents> implements AudioSource {
  readonly name: string;
  gain = 1;
  muted = false;
  readonly #loop: DeviceReadLoop;
  readonly #fifo: PcmFifo;
  readonly #prebufferFrames: number;
  readonly #maxFrames: number;
  readonly #channels: number;
  #primed = false;
  #captured = 0;
  #overflow = 0;

  private constructor(
    clock: Clock,
    name: string,
    reader: MediaReader,
    reopen: () => Promise<MediaReader>,
    options: Required<DeviceAudioOptions>,
  ) {
    super();
    this.name = name;
    this.#fifo = new PcmFifo(options.channels);
    this.#channels = options.channels;
    this.#prebufferFrames = Math.round((options.prebufferMs * options.sampleRate) / 1000);
    this.#maxFrames = Math.round((options.maxBufferedMs * options.sampleRate) / 1000);
    this.#loop = new DeviceReadLoop(clock, reader, {
      name,
      reopen,
      onItems: (items) => this.#take(items),
      onFailed: (error) => this.emit('failed', error),
      onRecovered: (outageMs) => {
        // Start over as at the first open: audio held from before the outage is stale, and the new
        // device's first reads are bursty, so prebuffer again rather than play a burst of old audio.
        this.#fifo.clear();
        this.#primed = false;
        this.emit('recovered', outageMs);
      },
    });
  }

  /** Opens the device on `clock` (which times reopening); rejects with DeviceError naming what is missing. */
  static async open(clock: Clock, options: DeviceAudioOptions): Promise<DeviceAudioSource> {
    const full: Required<DeviceAudioOptions> = {
      sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
      channels: MEDIA_DEFAULTS.audio.channels,
      prebufferMs: 100,
      maxBufferedMs: 150,
      ...options,
    };
    const input = resolveAudioInput(full.kind, full.device);
    const readerOptions: MediaReaderOptions = {
      format: input.format,
      options: input.options,
      video: false,
      audio: true,
      sampleRate: full.sampleRate,
      channels: full.channels,
    };
    const reader = await MediaReader.open(input.url, readerOptions).catch(async (error: unknown) => {
      const available = (await listDevices().catch(() => null))?.audio.map((d) => d.name) ?? [];
      const names = available.length ? available.join(', ') : 'none found (--list-devices)';
      throw new DeviceError(
        `cannot capture ${full.kind} audio from "${input.label}": ${(error as Error).message}; available: ${names}`,
        { cause: error },
      );
    });
    const reopen = (): Promise<MediaReader> => MediaReader.open(input.url, readerOptions);
    return new DeviceAudioSource(clock, `${full.kind} ${input.label}`, reader, reopen, full);
  }

  /** Snapshot of the counters. */
  get stats(): DeviceAudioStats {
    return { framesCaptured: this.#captured, framesDroppedOverflow: this.#overflow, ...this.#loop.stats };
  }

  /** The failure the device is down with; null while it works. */
  get error(): Error | null {
    return this.#loop.error;
  }

  get bufferedFrames(): number {
    return this.#primed ? this.#fifo.frames : 0;
  }

  read(out: Float32Array, frames: number): number {
    if (!this.#primed) {
      if (this.#fifo.frames < this.#prebufferFrames) return 0;
      this.#primed = true;
    }
    return this.#fifo.take(out, frames);
  }

  discard(frames: number): void {
    this.#fifo.take(null, frames);
  }

  /** Stops capturing (and reopening); idempotent. */
  close(): void {
    this.#loop.close();
    this.#fifo.clear();
  }

  /** Resolves once the device is closed (after `close()`, when the read in flight has returned). */
  closed(): Promise<void> {
    return this.#loop.closed();
  }

  #take(items: readonly Decoded[]): void {
    for (const item of items) {
      if (item.kind !== 'audio') continue;
      this.#fifo.push(item.samples);
      this.#captured += item.samples.length / this.#channels;
      const excess = this.#fifo.frames - Math.max(this.#maxFrames, this.#prebufferFrames);
      // Before the engine reads (and if it ever stops), hold a bounded amount: the newest audio.
      if (excess > 0 && !this.#primed) this.#overflow += this.#fifo.take(null, excess);
    }
  }
}
