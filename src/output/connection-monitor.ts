import type { Clock, Timer } from '../core/clock.js';
import { AbortError, StallError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { ProgressMonitor } from './progress-monitor.js';
import type { TransportConnection } from './transport.js';

/** Options of a ConnectionMonitor. */
export interface ConnectionMonitorOptions {
  /** No progress at all (nothing drained, nothing acknowledged) this long while data is pending means dead, ms. */
  stallTimeoutMs: number;
  /** Where the server acknowledges, an acknowledgement overdue this long means dead, ms. */
  ackStallTimeoutMs: number;
  /** The transport's acknowledgement window, bytes (see ProgressMonitor). */
  ackWindowBytes: number;
  /** How often progress is checked, ms; default 250 (a stall is declared at most this late). */
  checkIntervalMs?: number;
}

/** Events of a ConnectionMonitor. */
export type ConnectionMonitorEvents = {
  /** The watched connection is lost: a socket error, a close, an error status, or a stall. Once per watch. */
  disconnected: [reason: Error];
};

/**
 * Watches one published connection and turns every way it can die — a socket error, a close by the
 * server, an error status (all of which end the transport connection with a cause), or no progress
 * while data is pending (slow is not dead: acknowledgement progress tells them apart, see
 * ProgressMonitor) — into one `disconnected(reason)`. A stalled connection is destroyed here.
 */
export class ConnectionMonitor extends TypedEmitter<ConnectionMonitorEvents> {
  readonly #clock: Clock;
  readonly #options: Required<ConnectionMonitorOptions>;
  #watch: {
    connection: TransportConnection;
    progress: ProgressMonitor;
    timer: Timer;
    drained: number;
  } | null = null;

  constructor(clock: Clock, options: ConnectionMonitorOptions) {
    super();
    this.#clock = clock;
    this.#options = { checkIntervalMs: 250, ...options };
  }

  /**
   * Watches `connection` until it is lost; resolves with why (also emitted as `disconnected`). A
   * connection already closed resolves at once: its `closed` is a promise, never a missed event.
   */
  watch(connection: TransportConnection): Promise<Error> {
    this.#stop();
    const { stallTimeoutMs, ackStallTimeoutMs, ackWindowBytes } = this.#options;
    const progress = new ProgressMonitor({ stallTimeoutMs, ackStallTimeoutMs, ackWindowBytes });
    const watch = {
      connection,
      progress,
      timer: this.#clock.setTimer(() => this.#check(), this.#options.checkIntervalMs),
      drained: 0,
    };
    this.#watch = watch;
    const onAck = (offset: number): void => progress.acknowledged(offset, this.#nowMs());
    connection.on('acknowledged', onAck);
    return connection.closed.then((cause) => {
      connection.off('acknowledged', onAck);
      if (this.#watch === watch) this.#stop();
      const reason = cause ?? new AbortError('the connection was closed');
      this.emit('disconnected', reason);
      return reason;
    });
  }

  /** The bytes waiting to be delivered (our queue and socket buffer) changed. */
  pendingChanged(pendingBytes: number): void {
    this.#watch?.progress.pendingChanged(pendingBytes, this.#nowMs());
  }

  #check(): void {
    const watch = this.#watch;
    if (!watch) return;
    const nowMs = this.#nowMs();
    const { connection, progress } = watch;
    const drained = connection.bytesWritten - connection.bufferedBytes;
    progress.bytesDrained(drained - watch.drained, nowMs);
    watch.drained = drained;
    if (progress.check(nowMs) === 'stalled') {
      const { stallTimeoutMs, ackStallTimeoutMs } = this.#options;
      // Once the server has acknowledged, either rule runs on the acknowledgement timeout.
      const seconds = (progress.acknowledgementsSeen ? ackStallTimeoutMs : stallTimeoutMs) / 1000;
      connection.destroy(new StallError(`no progress for ${seconds} s: the server stopped answering`));
      return;
    }
    watch.timer = this.#clock.setTimer(() => this.#check(), this.#options.checkIntervalMs);
  }

  #stop(): void {
    this.#watch?.timer.cancel();
    this.#watch = null;
  }

  #nowMs(): number {
    return this.#clock.nowUs() / 1000;
  }
}
