/** How a run was asked to stop: a signal, or `request()` (e.g. the --duration timer). */
export interface StopSignals {
  /** Aborted once a stop is requested. */
  readonly signal: AbortSignal;
  /** Resolves to 'stop' once a stop is requested. */
  readonly requested: Promise<'stop'>;
  /** Requests a stop (idempotent). */
  request(): void;
  /** Stops listening to SIGINT and SIGTERM, and aborts `signal` (ending the waits on it). */
  dispose(): void;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: the first asks for a graceful stop (the run then ends with exit 0, as a
 * stream without --duration is meant to be ended this way); the second quits at once with exit 130.
 * Armed before anything connects, so a run that is still connecting stops too.
 */
export function stopSignals(
  say: (line: string) => void,
  exit: (code: number) => never = process.exit,
): StopSignals {
  const controller = new AbortController();
  const requested = new Promise<'stop'>((resolve) =>
    controller.signal.addEventListener('abort', () => resolve('stop'), { once: true }),
  );
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) {
      say('stopping now');
      exit(130);
    }
    say('stopping (Ctrl-C again to quit at once)…');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    requested,
    request: () => controller.abort(),
    dispose: () => {
      controller.abort(); // cancels what waits on the signal, e.g. the --duration timer
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
