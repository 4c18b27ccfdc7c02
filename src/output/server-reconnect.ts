import { AbortError, asError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { ReconnectTarget, ServerReconnectRequest, Transport, TransportConnection } from './transport.js';

/**
 * What became of a server's reconnect request: `opening` the next connection, `switched` to it,
 * `failed` (staying on the current one), or `ignored` (a target we cannot follow, or a move already
 * under way).
 */
export type ServerReconnectOutcome = 'opening' | 'switched' | 'failed' | 'ignored';

/** Events of a ServerReconnect. */
export type ServerReconnectEvents = {
  /** The next connection publishes: the sender may move to it at the next keyframe (ask for one). */
  ready: [next: TransportConnection];
  /** The move was given up before the switch: the sender must stay where it is. */
  abandoned: [];
  /** Each step, for the logs; `detail` has the stream key hidden. */
  progress: [outcome: ServerReconnectOutcome, detail: string];
};

/** A snapshot of a ServerReconnect's counters. */
export interface ServerReconnectStats {
  /** Moves to a new connection at the server's request (Enhanced RTMP Reconnect Request), completed. */
  readonly serverRequestedReconnects: number;
  /** Of those requests, the ones whose new connection failed (the stream stayed on the old one). */
  readonly serverReconnectFailures: number;
}

/**
 * A server's request that the publisher move (Enhanced RTMP v2, "Reconnect Request"), made before it
 * breaks: the next connection is opened and published while the current one keeps streaming; once
 * it is `ready`, the sender moves at a keyframe and calls `switched()`; the output then closes the
 * old one. If the next connection fails first, nothing changes for the stream: it is counted and
 * said, and the current connection goes on (a server that then closes it gets the usual reconnect).
 * One move at a time.
 */
export class ServerReconnect extends TypedEmitter<ServerReconnectEvents> {
  readonly #transport: Transport;
  #pending: { abort: AbortController; target: ReconnectTarget; next: TransportConnection | null } | null =
    null;
  #switched = 0;
  #failed = 0;

  constructor(transport: Transport) {
    super();
    this.#transport = transport;
  }

  /** Whether a move is under way (its connection opening, or open and waiting for the switch). */
  get pending(): boolean {
    return this.#pending !== null;
  }

  /** A snapshot of the counters. */
  get stats(): ServerReconnectStats {
    return { serverRequestedReconnects: this.#switched, serverReconnectFailures: this.#failed };
  }

  /** The current connection's server asks to move: opens the next connection in the background. */
  request(request: ServerReconnectRequest): void {
    const said = request.description === '' ? '' : ` ("${request.description}")`;
    const { target } = request;
    if (target === null) {
      this.emit('progress', 'ignored', `server asked to reconnect${said}, ignored: ${request.problem ?? ''}`);
      return;
    }
    if (this.#pending) {
      this.emit('progress', 'ignored', `server asked to reconnect${said}, ignored: a move is under way`);
      return;
    }
    const pending = { abort: new AbortController(), target, next: null as TransportConnection | null };
    this.#pending = pending;
    this.emit('progress', 'opening', `server asked to reconnect${said}: opening ${target.redactedUrl}`);
    this.#transport.open(pending.abort.signal, true, target).then(
      (next) => {
        if (this.#pending !== pending) {
          void next.close();
          return;
        }
        pending.next = next;
        void next.closed.then((error) => {
          if (this.#pending === pending) this.#fail(error ?? new AbortError('closed before the switch'));
        });
        this.emit('ready', next);
      },
      (error: unknown) => {
        if (this.#pending === pending) this.#fail(asError(error));
      },
    );
  }

  /** The sender moved to the next connection: it is the current one now. Returns where it is. */
  switched(): ReconnectTarget {
    const pending = this.#pending;
    if (!pending) throw new Error('switched() without a move under way');
    this.#pending = null;
    this.#switched++;
    this.emit('progress', 'switched', `moved to ${pending.target.redactedUrl} at a keyframe`);
    return pending.target;
  }

  /** The current connection ended, or the output stops: a move under way is given up (not counted). */
  cancel(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    pending.abort.abort(new AbortError('the connection the move started from ended'));
    void pending.next?.close();
    this.emit('abandoned');
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    this.#failed++;
    void pending.next?.close();
    this.emit('abandoned');
    this.emit(
      'progress',
      'failed',
      `could not move to ${pending.target.redactedUrl} (${error.message}); staying on the current connection`,
    );
  }
}
