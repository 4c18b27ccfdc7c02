import { EventEmitter } from 'node:events';

/** A map from event name to the tuple of its arguments. */
export type EventMap = { [event: string]: unknown[] };

/**
 * An EventEmitter whose events and arguments are checked by the compiler
 * (`TypedEmitter<{ state: [State, State] }>`).
 */
export class TypedEmitter<Events extends EventMap> {
  readonly #emitter = new EventEmitter();

  /** Adds a listener for `event`. */
  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Adds a listener that runs at most once. */
  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with `on()` or `once()`. */
  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.#emitter.listenerCount(event);
  }

  /** Calls every listener of `event` synchronously; returns whether there was any. */
  emit<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    // An 'error' event without listeners would throw: callers decide whether errors are fatal.
    if (event === 'error' && this.#emitter.listenerCount('error') === 0) return false;
    return this.#emitter.emit(event, ...args);
  }

  /**
   * Calls every listener of `event`, each on its own: one that throws is reported to `onThrow` and
   * the others still run. For events an application listens to, whose bugs must not break the
   * machinery that emits them.
   */
  protected emitIsolated<E extends keyof Events & string>(
    event: E,
    args: Events[E],
    onThrow: (error: unknown) => void,
  ): boolean {
    const listeners = this.#emitter.rawListeners(event) as ((...a: Events[E]) => void)[];
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        onThrow(error);
      }
    }
    return listeners.length > 0;
  }

  /** Removes every listener (used by `close()`). */
  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
