import { DeviceError, listDevices, resolveAudioInput, type AudioDeviceKind } from './device-inputs.js';
import { MediaReader } from './media-reader.js';
import { PcmFifo } from './pcm-fifo.js';
import type { AudioSource } from './source.js';

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
  /** Audio held before the first read is served (absorbs device burstiness), ms; default 60. */
  prebufferMs?: number;
  /** Most audio held while nobody reads (before the session starts), ms; default 150. */
  maxBufferedMs?: number;
}

/** Counters of a device audio source. */
export interface DeviceAudioStats {
  /** Sample frames captured (after resampling to the session rate). */
  readonly framesCaptured: number;
  /** Sample frames dropped because nobody read them in time (e.g. before the session started). */
  readonly framesDroppedOverflow: number;
}

/**
 * A microphone or the system's output. Linux: ALSA through PulseAudio's plugin (`@DEFAULT_SOURCE@`,
 * `@DEFAULT_MONITOR@` or a named source); Windows: dshow; macOS: avfoundation. A background loop
 * keeps one device read in flight on the threadpool, resamples to the session format and queues the
 * PCM; the AudioEngine reads it on its clock (and trims it if the device runs ahead).
 */
export class DeviceAudioSource implements AudioSource {
  readonly name: string;
  gain = 1;
  muted = false;
  readonly #reader: MediaReader;
  readonly #fifo: PcmFifo;
  readonly #prebufferFrames: number;
  readonly #maxFrames: number;
  readonly #channels: number;
  #primed = false;
  #captured = 0;
  #overflow = 0;
  #error: Error | null = null;
  #closed = false;
  readonly #loop: Promise<void>;

  private constructor(name: string, reader: MediaReader, options: Required<DeviceAudioOptions>) {
    this.name = name;
    this.#reader = reader;
    this.#fifo = new PcmFifo(options.channels);
    this.#channels = options.channels;
    this.#prebufferFrames = Math.round((options.prebufferMs * options.sampleRate) / 1000);
    this.#maxFrames = Math.round((options.maxBufferedMs * options.sampleRate) / 1000);
    this.#loop = this.#run();
  }

  /** Opens the device; rejects with DeviceError naming what is missing. */
  static async open(options: DeviceAudioOptions): Promise<DeviceAudioSource> {
    const full: Required<DeviceAudioOptions> = {
      sampleRate: 48000,
      channels: 2,
      prebufferMs: 60,
      maxBufferedMs: 150,
      ...options,
    };
    const input = resolveAudioInput(full.kind, full.device);
    const reader = await MediaReader.open(input.url, {
      format: input.format,
      options: input.options,
      video: false,
      audio: true,
      sampleRate: full.sampleRate,
      channels: full.channels,
    }).catch(async (error: unknown) => {
      const available = (await listDevices().catch(() => null))?.audio.map((d) => d.name) ?? [];
      const names = available.length ? available.join(', ') : 'none found (--list-devices)';
      throw new DeviceError(
        `cannot capture ${full.kind} audio from "${input.label}": ${(error as Error).message}; available: ${names}`,
        { cause: error },
      );
    });
    return new DeviceAudioSource(`${full.kind} ${input.label}`, reader, full);
  }

  /** Snapshot of the counters. */
  get stats(): DeviceAudioStats {
    return { framesCaptured: this.#captured, framesDroppedOverflow: this.#overflow };
  }

  /** The error that stopped the device loop, if any. */
  get error(): Error | null {
    return this.#error;
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

  close(): void {
    this.#closed = true;
    this.#fifo.clear();
  }

  /** Resolves once the device is closed (after `close()`, when the read in flight has returned). */
  closed(): Promise<void> {
    return this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        const items = await this.#reader.read();
        if (items === null) throw new DeviceError(`${this.name} ended`);
        for (const item of items) {
          if (item.kind !== 'audio' || this.#closed) continue;
          this.#fifo.push(item.samples);
          this.#captured += item.samples.length / this.#channels;
          const excess = this.#fifo.frames - Math.max(this.#maxFrames, this.#prebufferFrames);
          // Before the engine reads (and if it ever stops), hold a bounded amount: the newest audio.
          if (excess > 0 && !this.#primed) this.#overflow += this.#fifo.take(null, excess);
        }
      }
    } catch (error) {
      if (!this.#closed) this.#error = error instanceof Error ? error : new Error(String(error));
    } finally {
      await this.#reader.close();
    }
  }
}
