/**
 * Runs an async job for each queued item, one at a time and in order, off the caller's path:
 * `push()` returns at once. The encoders and the file recorder use it so that threadpool work
 * never overlaps for one context and never holds the engine's tick.
 */
export class SerialWorker<T> {
  readonly #process: (item: T) => Promise<void>;
  readonly #onError: (error: Error) => void;
  readonly #queue: T[] = [];
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #resolveIdle: (() => void) | null = null;

  /** `process` handles one item; a throw is passed to `onError` and the next item runs. */
  constructor(process: (item: T) => Promise<void>, onError: (error: Error) => void) {
    this.#process = process;
    this.#onError = onError;
  }

  /** Items waiting (the one being processed is not counted). */
  get length(): number {
    return this.#queue.length;
  }

  /** Queues an item; processing starts at once if the worker is idle. */
  push(item: T): void {
    this.#queue.push(item);
    if (!this.#running) void this.#run();
  }

  /** Resolves when every item queued so far has been processed. */
  drained(): Promise<void> {
    return this.#running ? this.#idle : Promise.resolve();
  }

  async #run(): Promise<void> {
    this.#running = true;
    this.#idle = new Promise((resolve) => (this.#resolveIdle = resolve));
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        try {
          await this.#process(next);
        } catch (error) {
          this.#onError(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.#running = false;
      this.#resolveIdle?.();
    }
  }
}
