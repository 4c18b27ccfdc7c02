import { sleep, type Clock, type Timer } from '../core/clock.js';
import { AbortError, StallError, asError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { ReconnectSchedule, type BackoffOptions, type FailureKind } from './backoff.js';
import { FailureClassifier } from './failure-class.js';
import type { Transport, TransportConnection } from './transport.js';

/** Where an output is in its life: `connecting → live → reconnecting → live … → stopped` (or `failed`). */
export type OutputState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'stopping' | 'stopped' | 'failed';

/** Options of a Reconnector. */
export interface ReconnectorOptions {
  /** The backoff schedule (see backoff.ts). */
  reconnect: Partial<BackoffOptions>;
  /** Connection attempts before the first accepted publish, then it gives up. */
  initialAttempts: number;
  /** A publish counts as accepted once the connection has lived this long, ms. */
  publishProbationMs: number;
}

/** Serves one published connection until it is lost; resolves with why. */
export type ServeConnection = (connection: TransportConnection) => Promise<Error>;

/** Events of a Reconnector. */
export type ReconnectorEvents = {
  /** Every state change, `prev → next`. */
  statechange: [prev: OutputState, next: OutputState];
  /** The first publish outlived its probation: the server accepted the stream. */
  established: [];
  /** A live connection was lost (not by `stop()`); what comes next is a `retry` or an `error`. */
  disconnected: [reason: Error];
  /** An attempt failed, or a connection was lost; the next attempt follows after `delayMs`. */
  retry: [error: Error, delayMs: number, kind: FailureKind];
  /** It gave up: a permanent failure, or retries exhausted. Emitted before the `failed` state. */
  error: [Error];
};

/** A snapshot of a Reconnector's counters. */
export interface ReconnectorStats {
  /** Successful reconnections (the first connection is not one). */
  readonly reconnectCount: number;
  /** Connection attempts, all of them. */
  readonly connectAttempts: number;
  /** Why the last connection ended, or the last attempt failed. */
  readonly lastDisconnectReason: string | null;
  /** Time spent not live after first going live, ms (the current outage included). */
  readonly downtimeMs: number;
  /** How long the last reconnection took, from the drop to publishing again, ms. */
  readonly lastReconnectMs: number | null;
}

/**
 * The connect/reconnect loop of one destination (docs/architecture.md: Reconnector). It opens connections
 * through the transport, hands each published one to `serve` until it is lost, and decides what
 * follows: the backoff schedule (with fast probing while the server is not ready), the one failure
 * classification (FailureClassifier), and the publish probation — a connection the server drops
 * within `publishProbationMs` of accepting the publish is a rejection in disguise (nginx-rtmp's
 * `deny publish` answers Publish.Start, then closes). It owns the output's state and emits every
 * transition; the engines never wait for it.
 */
export class Reconnector extends TypedEmitter<ReconnectorEvents> {
  readonly #clock: Clock;
  readonly #options: ReconnectorOptions;
  readonly #transport: Transport;
  readonly #serve: ServeConnection;
  readonly #schedule: ReconnectSchedule;
  readonly #classifier: FailureClassifier;
  readonly #abort = new AbortController();
  #state: OutputState = 'idle';
  #loop: Promise<void> = Promise.resolve();
  #connection: TransportConnection | null = null;
  #liveSinceUs: number | null = null;
  #probation: Timer | null = null;
  #everLive = false;
  #attempts = 0;
  #reconnects = 0;
  #lastReason: string | null = null;
  #downSinceUs: number | null = null;
  #downtimeUs = 0;
  #lastReconnectMs: number | null = null;
  #failure: Error | null = null;

  constructor(clock: Clock, options: ReconnectorOptions, transport: Transport, serve: ServeConnection) {
    super();
    this.#clock = clock;
    this.#options = options;
    this.#transport = transport;
    this.#serve = serve;
    this.#schedule = new ReconnectSchedule(options.reconnect);
    this.#classifier = new FailureClassifier({ initialAttempts: options.initialAttempts });
  }

  /** Where the output is. */
  get state(): OutputState {
    return this.#state;
  }

  /** Whether a publish outlived its probation: the server accepted the stream. */
  get isEstablished(): boolean {
    return this.#classifier.hasPublished;
  }

  /** Why it gave up, once `failed` (for a caller that comes after the `error` event); else null. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** The published connection, while live. */
  get connection(): TransportConnection | null {
    return this.#connection;
  }

  /** A snapshot of the counters. */
  get stats(): ReconnectorStats {
    const down = this.#downSinceUs === null ? 0 : this.#clock.nowUs() - this.#downSinceUs;
    return {
      reconnectCount: this.#reconnects,
      connectAttempts: this.#attempts,
      lastDisconnectReason: this.#lastReason,
      downtimeMs: (this.#downtimeUs + down) / 1000,
      lastReconnectMs: this.#lastReconnectMs,
    };
  }

  /**
   * The live connection is now `next`: the output moved there at the server's request (make before
   * break). It is served on in the same live period: no reconnect, no new probation.
   */
  replaceConnection(next: TransportConnection): void {
    if (this.#connection !== null) this.#connection = next;
  }

  /** Starts connecting; failures are retried in the background. Once only. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#setState('connecting');
    this.#loop = this.#run();
  }

  /** Marks the beginning of a graceful stop (the output flushes meanwhile); no transition but `stopped` follows. */
  beginStop(): void {
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    this.#setState('stopping');
  }

  /** Ends the loop: a pending wait or attempt is abandoned, a live connection closed gracefully. Idempotent. */
  async stop(): Promise<void> {
    this.beginStop();
    if (!this.#abort.signal.aborted) {
      this.#abort.abort(new AbortError('the output was stopped'));
      await this.#connection?.close();
    }
    await this.#loop;
  }

  /** Resolves when the loop has ended (stopped or failed). */
  finished(): Promise<void> {
    return this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#attempts++;
      let failure: Error;
      try {
        const connection = await this.#transport.open(signal, this.#classifier.hasPublished);
        failure = await this.#live(connection);
      } catch (error) {
        failure = asError(error);
      }
      if (signal.aborted) break;
      this.#lastReason = failure.message;
      const nowMs = this.#clock.nowUs() / 1000;
      const kind = this.#classifier.classify(failure, nowMs);
      const delayMs = this.#schedule.nextDelayMs(kind, nowMs);
      if (delayMs === null) {
        this.#fail(failure);
        return;
      }
      this.emit('retry', failure, delayMs, kind);
      if (delayMs === 0) continue; // the first retry of an outage: at once, not on the next timer turn
      try {
        await sleep(this.#clock, delayMs, signal);
      } catch {
        break;
      }
    }
    this.#setState('stopped');
  }

  /** Serves a published connection until it is lost; resolves with the failure to classify. */
  async #live(connection: TransportConnection): Promise<Error> {
    const nowUs = this.#clock.nowUs();
    this.#connection = connection;
    this.#liveSinceUs = nowUs;
    this.#schedule.onConnected(nowUs / 1000);
    if (this.#downSinceUs !== null) {
      this.#downtimeUs += nowUs - this.#downSinceUs;
      this.#lastReconnectMs = (nowUs - this.#downSinceUs) / 1000;
      this.#downSinceUs = null;
    }
    if (this.#everLive) this.#reconnects++;
    this.#everLive = true;
    this.#probation = this.#clock.setTimer(() => this.#passProbation(), this.#options.publishProbationMs);
    if (this.#state !== 'stopping') this.#setState('live');
    const reason = await this.#serve(connection);
    const endUs = this.#clock.nowUs();
    const inProbation = endUs - nowUs < this.#options.publishProbationMs * 1000;
    this.#probation.cancel();
    this.#connection = null;
    this.#liveSinceUs = null;
    this.#schedule.onDisconnected(endUs / 1000);
    this.#downSinceUs = endUs;
    if (this.#abort.signal.aborted) return reason;
    this.#setState('reconnecting');
    this.emit('disconnected', reason);
    // Dropped right after accepting the publish: a rejection, unless the path died (a stall).
    return inProbation && !(reason instanceof StallError)
      ? this.#transport.rejectedAfterStart(reason)
      : reason;
  }

  #passProbation(): void {
    if (this.#liveSinceUs === null) return;
    const first = !this.#classifier.hasPublished;
    this.#classifier.onPublished();
    if (first) this.emit('established');
  }

  #fail(error: Error): void {
    // Say how long it tried: "no connection within 10000 ms" alone hides that it was the third time.
    if (this.#attempts > 1) error.message += ` (gave up after ${this.#attempts} attempts)`;
    this.#failure = error;
    this.emit('error', error);
    this.#setState('failed');
  }

  #setState(next: OutputState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.emit('statechange', prev, next);
  }
}
