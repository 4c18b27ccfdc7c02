/** A pending timer; `cancel()` is idempotent. */
export interface Timer {
  /** Cancels the timer; calling it after it fired or twice is harmless. */
  cancel(): void;
}

/**
 * The session's time base. Every timestamp in steadycast derives from one Clock, and every
 * component takes it in its constructor so tests can drive time by hand.
 */
export interface Clock {
  /** Microseconds since the session started; monotonic, never goes backwards. */
  nowUs(): number;
  /**
   * Runs `callback` once, `delayMs` from now: 0, less or NaN as soon as possible; any length works
   * (beyond setTimeout's 24.8 days too); Infinity never runs.
   */
  setTimer(callback: () => void, delayMs: number): Timer;
}

/** Milliseconds since the session started. */
export function nowMs(clock: Clock): number {
  return clock.nowUs() / 1000;
}

/** Resolves after `delayMs` on `clock`; `signal` rejects it early with the signal's reason. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
