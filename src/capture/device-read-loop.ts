import { backoffDelayMs } from '../core/backoff.js';
import { sleep, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { DeviceError } from './device-inputs.js';
import type { Decoded } from './media-reader.js';

/** What the loop needs of a device reader (MediaReader's `read` and `close`). */
export interface DeviceReader<T = Decoded> {
  /** Reads what the device has next (possibly nothing); null at the end of its stream. */
  read(): Promise<T[] | null>;
  /** Frees the reader; called once no `read()` is in flight. */
  close(): Promise<void>;
}

/** How a lost device is reopened: min(baseMs·2^attempt, maxMs), no jitter (a local device, no herd). */
export interface DeviceRetryOptions {
  /** Wait before the first reopen attempt, ms; default 500. */
  baseMs: number;
  /** Longest wait between attempts, ms; default 5000. */
  maxMs: number;
}

/** Fresh default retry options. */
export function deviceRetryDefaults(): DeviceRetryOptions {
  return { baseMs: 500, maxMs: 5000 };
}

/** Throws a ConfigError naming the first bad retry option. */
export function validateDeviceRetryOptions(options: DeviceRetryOptions): void {
  if (!Number.isFinite(options.baseMs) || options.baseMs <= 0) {
    throw new ConfigError('retry.baseMs', options.baseMs, 'use a number of ms > 0, e.g. 500');
  }
  if (!Number.isFinite(options.maxMs) || options.maxMs < options.baseMs) {
    throw new ConfigError('retry.maxMs', options.maxMs, `use a number of ms ≥ baseMs (${options.baseMs})`);
  }
}

/** A device that fails again within this long of coming back continues the previous backoff, ms. */
const STABLE_AFTER_RECOVERY_MS = 10_000;

/** Wait before reopen attempt number `attempt` (0-based) of one outage, ms. */
export function deviceReopenDelayMs(attempt: number, options: DeviceRetryOptions): number {
  // The project's one backoff, shifted by one: a device's first reopen already waits baseMs.
  return backoffDelayMs(Math.max(0, attempt) + 1, { ...options, factor: 2, jitter: 0 });
}

/** Events of a device source whose device can fail and come back. */
export type DeviceSourceEvents = {
  /** The device stopped delivering (read error or end of stream); reopening starts. */
  failed: [error: Error];
  /** The device was reopened and delivers again, after an outage of `outageMs`. */
  recovered: [outageMs: number];
};

/** Counters of a device's failures and recoveries. */
export interface DeviceHealthStats {
  /** Times the device failed while open (each outage counts once). */
  readonly failures: number;
  /** Times the device was reopened after a failure (recoveries). */
  readonly reopens: number;
  /** Time spent failed, ms (the current outage included). */
  readonly downtimeMs: number;
  /** Message of the last error: the failure, or a reopen attempt that failed since; null before any. */
  readonly lastError: string | null;
}

/** Where the loop is: reading, down (reopening), or closed. */
export type DeviceReadLoopState = 'reading' | 'down' | 'closed';

/** What a DeviceReadLoop is given besides its first reader. */
export interface DeviceReadLoopOptions<T> {
  /** The device's name in errors, e.g. `screen X display :0`. */
  name: string;
  /** Opens the device again; rejects while it is still missing. */
  reopen: () => Promise<DeviceReader<T>>;
  /** Takes what one read decoded (never empty, never after `close()`); must not block; a throw is a failure. */
  onItems: (items: readonly T[]) => void;
  /** The device failed; the loop is down until `onRecovered` (never after `close()`). */
  onFailed: (error: Error) => void;
  /** The device was reopened; reads resume right after this returns (never after `close()`). */
  onRecovered: (outageMs: number) => void;
  /** Reopen schedule; defaults from `deviceRetryDefaults()`. */
  retry?: Partial<DeviceRetryOptions>;
}

/**
 * Keeps exactly one read in flight on a capture device and hands what it decodes to `onItems`. When
 * a read fails or the stream ends while the loop is open, the loop reports the failure, closes the
 * reader and reopens the device on a backoff schedule until it succeeds (reported, then reads resume)
 * or `close()` is called. A device that disappears mid-stream (X display gone, USB mic unplugged,
 * PulseAudio restarted) is thus reported and comes back on its own when the device does.
 */
export class DeviceReadLoop<T = Decoded> {
  /** The validated reopen schedule. */
  readonly retry: Readonly<DeviceRetryOptions>;
  readonly #clock: Clock;
  readonly #options: DeviceReadLoopOptions<T>;
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;
  #state: DeviceReadLoopState = 'reading';
  #error: Error | null = null;
  #failures = 0;
  #reopens = 0;
  #downSinceUs = 0;
  #downtimeUs = 0;
  #lastError: string | null = null;
  /** Reopen attempts so far in this outage (kept across a reopen that fails at its first read). */
  #attempt = 0;
  /** Reopened, but no read has worked yet: the outage is not over. */
  #confirming = false;
  #recoveredAtUs = -Infinity;

  /** Starts reading `reader` at once. */
  constructor(clock: Clock, reader: DeviceReader<T>, options: DeviceReadLoopOptions<T>) {
    const retry = { ...deviceRetryDefaults(), ...options.retry };
    validateDeviceRetryOptions(retry);
    this.retry = Object.freeze(retry);
    this.#clock = clock;
    this.#options = options;
    this.#done = this.#run(reader);
  }

  /** Where the loop is. */
  get state(): DeviceReadLoopState {
    return this.#state;
  }

  /** The failure the device is down with; null while it works (and after a recovery). */
  get error(): Error | null {
    return this.#error;
  }

  /** Snapshot of the counters. */
  get stats(): DeviceHealthStats {
    const currentUs = this.#inOutage ? this.#clock.nowUs() - this.#downSinceUs : 0;
    return {
      failures: this.#failures,
      reopens: this.#reopens,
      downtimeMs: (this.#downtimeUs + currentUs) / 1000,
      lastError: this.#lastError,
    };
  }

  /** Stops reading (or retrying); the reader is closed once the read in flight returns. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#inOutage) this.#downtimeUs += this.#clock.nowUs() - this.#downSinceUs;
    this.#state = 'closed';
    this.#confirming = false;
    this.#stop.abort();
  }

  /** Resolves once the loop has ended and its reader is closed (after `close()`). Never rejects. */
  closed(): Promise<void> {
    return this.#done;
  }

  get #inOutage(): boolean {
    return this.#state === 'down' || (this.#state === 'reading' && this.#confirming);
  }

  async #run(first: DeviceReader<T>): Promise<void> {
    let reader: DeviceReader<T> | null = first;
    while (reader) {
      try {
        while (this.#state === 'reading') {
          const items: T[] | null = await reader.read();
          if (this.#state !== 'reading') break;
          if (items === null) {
            throw new DeviceError(`${this.#options.name} ended`, { retryable: true });
          }
          if (this.#confirming) this.#recover();
          if (items.length > 0) this.#options.onItems(items);
        }
      } catch (error) {
        if (this.#state === 'reading') this.#fail(error);
      }
      await closeQuietly(reader);
      reader = this.#state === 'down' ? await this.#reopen() : null;
    }
  }

  #fail(cause: unknown): void {
    const error =
      cause instanceof DeviceError
        ? cause
        : new DeviceError(`${this.#options.name} failed: ${messageOf(cause)}`, { cause, retryable: true });
    if (this.#confirming) {
      // Reopened, then failed before any read worked: the same outage goes on, backing off further.
      this.#confirming = false;
      this.#state = 'down';
      this.#lastError = error.message;
      return;
    }
    // A device that fails again soon after it came back keeps backing off instead of flapping at baseMs.
    if (this.#clock.nowUs() - this.#recoveredAtUs >= STABLE_AFTER_RECOVERY_MS * 1000) this.#attempt = 0;
    this.#state = 'down';
    this.#error = error;
    this.#failures++;
    this.#downSinceUs = this.#clock.nowUs();
    this.#lastError = error.message;
    report(() => this.#options.onFailed(error));
  }

  /** The reopened reader (the outage ends at its first good read), or null once the loop is closed. */
  async #reopen(): Promise<DeviceReader<T> | null> {
    for (;;) {
      try {
        await sleep(this.#clock, deviceReopenDelayMs(this.#attempt++, this.retry), this.#stop.signal);
      } catch {
        return null; // closed during the wait
      }
      let reader: DeviceReader<T>;
      try {
        reader = await this.#options.reopen();
      } catch (error) {
        if (this.#state !== 'down') return null;
        this.#lastError = messageOf(error);
        continue;
      }
      if (this.#state !== 'down') {
        await closeQuietly(reader);
        return null;
      }
      this.#state = 'reading';
      this.#confirming = true;
      return reader;
    }
  }

  #recover(): void {
    this.#confirming = false;
    const nowUs = this.#clock.nowUs();
    const outageUs = nowUs - this.#downSinceUs;
    this.#downtimeUs += outageUs;
    this.#recoveredAtUs = nowUs;
    this.#error = null;
    this.#reopens++;
    report(() => this.#options.onRecovered(outageUs / 1000));
  }
}

/**
 * Runs a listener-facing callback. One that throws must neither stop the loop (the device would stay
 * down for good, unnoticed) nor pass for a device failure: it surfaces as an uncaught exception, as a
 * throwing listener of a Node event would.
 */
function report(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Closes a reader whose device may already be gone: its close can only fail, not matter. */
async function closeQuietly(reader: DeviceReader<unknown>): Promise<void> {
  await reader.close().catch(() => undefined);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
