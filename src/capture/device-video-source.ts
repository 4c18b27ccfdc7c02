import { DeviceError, resolveScreenInput, type ScreenOptions } from './device-inputs.js';
import { MediaReader } from './media-reader.js';
import type { RawVideoFrame, VideoSource } from './source.js';

/** Counters of a device video source. */
export interface DeviceVideoStats {
  /** Pictures read from the device. */
  readonly framesRead: number;
  /** Pictures identical to the previous one (a static screen): not offered as new. */
  readonly framesUnchanged: number;
  /** New pictures that a newer one replaced before a frame deadline took them. */
  readonly framesReplaced: number;
}

/**
 * The screen, through node-av's device inputs (x11grab, ddagrab/gdigrab, avfoundation). A background
 * loop keeps exactly one device read in flight — readFrame and decode run on the threadpool, so the
 * JS thread is never held and the encoder keeps the other threads — and keeps only the newest
 * picture. `grab()` hands it over when it is new; an unchanged screen is not new, so the
 * CaptureLoop repeats (and counts) the last picture.
 */
export class DeviceVideoSource implements VideoSource {
  readonly name: string;
  readonly #reader: MediaReader;
  #latest: RawVideoFrame | null = null;
  #lastData: Buffer | null = null;
  #read = 0;
  #unchanged = 0;
  #replaced = 0;
  #error: Error | null = null;
  #closed = false;
  readonly #loop: Promise<void>;

  private constructor(name: string, reader: MediaReader) {
    this.name = name;
    this.#reader = reader;
    this.#loop = this.#run();
  }

  /** Opens the screen; rejects with DeviceError naming what is missing. */
  static async open(options: ScreenOptions): Promise<DeviceVideoSource> {
    const input = resolveScreenInput(options);
    const reader = await MediaReader.open(input.url, {
      format: input.format,
      options: input.options,
      video: true,
      audio: false,
      sampleRate: 48000,
      channels: 2,
    }).catch((error: unknown) => {
      throw new DeviceError(`cannot capture ${input.label}: ${(error as Error).message}`, { cause: error });
    });
    return new DeviceVideoSource(`screen ${input.label}`, reader);
  }

  /** Snapshot of the counters. */
  get stats(): DeviceVideoStats {
    return { framesRead: this.#read, framesUnchanged: this.#unchanged, framesReplaced: this.#replaced };
  }

  /** The error that stopped the device loop, if any. */
  get error(): Error | null {
    return this.#error;
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
          if (item.kind !== 'video' || this.#closed) continue;
          this.#read++;
          // A static screen gives identical pictures: not new (a memcmp costs well under a millisecond).
          if (this.#lastData?.equals(item.frame.data)) {
            this.#unchanged++;
            continue;
          }
          this.#lastData = item.frame.data;
          if (this.#latest) this.#replaced++;
          this.#latest = item.frame;
        }
      }
    } catch (error) {
      if (!this.#closed) this.#error = error instanceof Error ? error : new Error(String(error));
    } finally {
      await this.#reader.close();
    }
  }
}
