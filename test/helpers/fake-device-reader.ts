import type { DeviceReader } from '../../src/capture/device-read-loop.js';

/** A device reader whose reads the test answers one by one; it records misuse instead of throwing. */
export class FakeDeviceReader<T> implements DeviceReader<T> {
  /** Name for messages, e.g. `first`, `reopened`. */
  readonly label: string;
  /** `read()` calls so far. */
  reads = 0;
  /** Whether `close()` was called. */
  closed = false;
  /** Contract breaches seen: two reads in flight, a read after close, close with a read in flight. */
  readonly misuse: string[] = [];
  #pending: { resolve: (items: T[] | null) => void; reject: (error: Error) => void } | null = null;

  constructor(label = 'reader') {
    this.label = label;
  }

  /** Whether a read is waiting for the test's answer. */
  get reading(): boolean {
    return this.#pending !== null;
  }

  read(): Promise<T[] | null> {
    this.reads++;
    if (this.closed) this.misuse.push(`${this.label}: read after close`);
    if (this.#pending) this.misuse.push(`${this.label}: two reads in flight`);
    return new Promise((resolve, reject) => (this.#pending = { resolve, reject }));
  }

  close(): Promise<void> {
    if (this.#pending) this.misuse.push(`${this.label}: closed with a read in flight`);
    this.closed = true;
    return Promise.resolve();
  }

  /** Answers the read in flight with `items`. */
  deliver(items: T[]): void {
    this.#answer().resolve(items);
  }

  /** Fails the read in flight. */
  fail(error: Error): void {
    this.#answer().reject(error);
  }

  /** Answers the read in flight with the end of the stream. */
  end(): void {
    this.#answer().resolve(null);
  }

  #answer(): { resolve: (items: T[] | null) => void; reject: (error: Error) => void } {
    const pending = this.#pending;
    if (!pending) throw new Error(`${this.label}: no read in flight`);
    this.#pending = null;
    return pending;
  }
}
