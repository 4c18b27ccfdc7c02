import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { DeviceError, resolveScreenInput, type ScreenOptions } from './device-inputs.js';
import { DeviceReadLoop, type DeviceHealthStats, type DeviceSourceEvents } from './device-read-loop.js';
import { MediaReader, type Decoded, type MediaReaderOptions } from './media-reader.js';
import type { RawVideoFrame } from '../media/frames.js';
import type { VideoSource } from './source.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** Counters of a device video source. */
export interface DeviceVideoStats extends DeviceHealthStats {
  /** Pictures read from the device. */
  readonly framesRead: number;
  /** Pictures identical to the previous one (a static screen): not offered as new. */
  readonly framesUnchanged: number;
  /** New pictures that a newer one replaced before a frame deadline took them. */
  readonly framesReplaced: number;
}

/**
 * The screen, through node-av's device inputs (x11grab, ddagrab/gdigrab, avfoundation). A
 * DeviceReadLoop keeps exactly one device read in flight — readFrame and decode run on the
 * threadpool, so the JS thread is never held and the encoder keeps the other threads — and this
 * keeps only the newest picture. `grab()` hands it over when it is new; an unchanged screen is not
 * new, so the CaptureLoop repeats (and counts) the last picture. When the screen goes away
 * (`failed`), the CaptureLoop repeats the last picture until it is back (`recovered`).
 */
export class DeviceVideoSource extends TypedEmitter<DeviceSourceEvents> implements VideoSource {
  readonly name: string;
  readonly #loop: DeviceReadLoop;
  #latest: RawVideoFrame | null = null;
  #lastData: Buffer | null = null;
  #read = 0;
  #unchanged = 0;
  #replaced = 0;

  private constructor(clock: Clock, name: string, reader: MediaReader, reopen: () => Promise<MediaReader>) {
    super();
    this.name = name;
    this.#loop = new DeviceReadLoop(clock, reader, {
      name,
      reopen,
      onItems: (items) => this.#take(items),
      onFailed: (error) => {
        // Nothing from a failed device is offered: the CaptureLoop repeats (and counts) the last picture.
        this.#latest = null;
        this.emit('failed', error);
      },
      onRecovered: (outageMs) => {
        // The first picture after an outage is new even if the screen looks the same.
        this.#lastData = null;
        this.emit('recovered', outageMs);
      },
    });
  }

  /** Opens the screen on `clock` (which times reopening); rejects with DeviceError naming what is missing. */
  static async open(clock: Clock, options: ScreenOptions): Promise<DeviceVideoSource> {
    const input = resolveScreenInput(options);
    const readerOptions: MediaReaderOptions = {
      format: input.format,
      options: input.options,
      video: true,
      audio: false,
      sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
      channels: MEDIA_DEFAULTS.audio.channels,
    };
    const reader = await MediaReader.open(input.url, readerOptions).catch((error: unknown) => {
      throw new DeviceError(`cannot capture ${input.label}: ${(error as Error).message}`, { cause: error });
    });
    const reopen = (): Promise<MediaReader> => MediaReader.open(input.url, readerOptions);
    return new DeviceVideoSource(clock, `screen ${input.label}`, reader, reopen);
  }

  /** Snapshot of the counters. */
  get stats(): DeviceVideoStats {
    return {
      framesRead: this.#read,
      framesUnchanged: this.#unchanged,
      framesReplaced: this.#replaced,
      ...this.#loop.stats,
    };
  }

  /** The failure the screen is down with; null while it works. */
  get error(): Error | null {
    return this.#loop.error;
  }

  grab(): RawVideoFrame | null {
    const frame = this.#latest;
    this.#latest = null;
    return frame;
  }

  /** Stops capturing (and reopening); idempotent. */
  close(): void {
    this.#latest = null;
    this.#loop.close();
  }

  /** Resolves once the device is closed (after `close()`, when the read in flight has returned). */
  closed(): Promise<void> {
    return this.#loop.closed();
  }

  #take(items: readonly Decoded[]): void {
    for (const item of items) {
      if (item.kind !== 'video') continue;
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
}
