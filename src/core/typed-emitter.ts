import { EventEmitter } from 'node:events';

/** Events whose throwing listener was already reported (class:event), so a warning comes once. */
const warned = new Set<string>();

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

  /**
   * `emitIsolated` for an event raised deep inside a worker loop (a recorder's write queue, a file's
   * decode loop): a listener that throws gets a process warning, once per event, and the loop goes on.
   */
  protected emitGuarded<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    return this.emitIsolated(event, args, (error) => {
      const key = `${this.constructor.name}:${event}`;
      if (warned.has(key)) return;
      warned.add(key);
      const message = error instanceof Error ? error.message : String(error);
      process.emitWarning(`a listener of ${this.constructor.name}'s "${event}" event threw: ${message}`, {
        code: 'STEADYCAST_LISTENER_THREW',
        detail: 'steadycast went on; later throws of this listener are not reported.',
      });
    });
  }

  /** Removes every listener (used by `close()`). */
  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
