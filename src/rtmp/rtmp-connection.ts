import type { Clock, Timer } from '../core/clock.js';
import { AbortError, InvalidStateError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { Amf0EcmaArray } from '../amf0/amf0.js';
import { onMetaData } from '../flv/tags.js';
import type { StreamConfig } from '../media/packet.js';
import { ChunkReader } from './chunk-reader.js';
import { ChunkWriter, type RtmpMessage } from './chunk-writer.js';
import { HandOverQueue } from './hand-over-queue.js';
import type { RtmpError } from './errors.js';
import {
  RtmpConnectionError,
  RtmpProtocolError,
  mapSocketError,
  type ConnectionPhase,
  type RtmpConnectionErrorCode,
} from './errors.js';
import { ClientHandshake, type HandshakeInfo } from './handshake.js';
import * as msg from './messages.js';
import { ProtocolControl } from './protocol-control.js';
import { PublishSequence } from './publish-sequence.js';
import type {
  RtmpConnectionEvents,
  RtmpConnectionState,
  ServerInfo,
  WriteResult,
} from './rtmp-connection-types.js';
import {
  connectSocket,
  tlsConnectOptions,
  validateRtmpConnectionOptions,
  type RtmpConnectionOptions,
  type RtmpSocket,
} from './rtmp-connection-options.js';
import { parseRtmpUrl, secretsOf, type RtmpUrl } from './url.js';

export type { RtmpConnectionEvents, RtmpConnectionState, ServerInfo, WriteResult };

/**
 * The one class that owns the socket: TCP/TLS connect, handshake, the publish sequence, then media
 * writes with the socket's backpressure, acknowledgements both ways, and close. The command side of
 * publishing is PublishSequence (no I/O); the socket comes from `options.connect`, so tests can run
 * it in memory.
 *
 * Byte offsets (`bytesWritten`, `endOffset`, acknowledgements) count the chunk stream only, from
 * the first byte after C2: the handshake is not part of it. That is what servers count: nginx-rtmp
 * counts `in_bytes` from its first read after the handshake (and resets it at 0xF0000000), so its
 * sequence numbers compare directly with `endOffset` (modulo its reset and the 32-bit wrap).
 */
export class RtmpConnection extends TypedEmitter<RtmpConnectionEvents> {
  readonly #options: RtmpConnectionOptions;
  readonly #clock: Clock;
  readonly #url: RtmpUrl;
  readonly #where: string;
  readonly #writer = new ChunkWriter();
  readonly #reader = new ChunkReader();
  readonly #sequence: PublishSequence;
  #state: RtmpConnectionState = 'new';
  #socket: RtmpSocket | undefined;
  #handshake: ClientHandshake | undefined;
  #timer: Timer | undefined;
  #pending: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #closePromise: Promise<void> | undefined;
  #closedWith: Error | undefined | null = null;
  #bytesWritten = 0;
  /** Written but held back by `limitHandOver`: not given to the socket yet. */
  readonly #outbox = new HandOverQueue();
  readonly #control = new ProtocolControl();

  /** Validates options (throws `ConfigError`/`RtmpUrlError`); does not connect yet. */
  constructor(options: Partial<RtmpConnectionOptions> & { readonly url: string }, clock: Clock) {
    super();
    this.#options = validateRtmpConnectionOptions(options);
    this.#clock = clock;
    this.#url = parseRtmpUrl(this.#options.url);
    this.#where = `${this.#url.host}:${this.#url.port}`;
    this.#sequence = new PublishSequence(
      this.#url,
      this.#where,
      secretsOf(this.#url),
      this.#options.flashVer,
      this.#options.negotiation,
    );
  }

  /** Current lifecycle state. */
  get state(): RtmpConnectionState {
    return this.#state;
  }

  /**
   * Why the connection ended, once it has: the error, or undefined for `close()`/abort; null while
   * it has not. A listener attached after the fact reads this instead of waiting for `closed`.
   */
  get closedWith(): Error | undefined | null {
    return this.#closedWith;
  }

  /** Bytes of chunk stream written since the handshake, held ones included (see the class comment). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Bytes of chunk stream received from the server since the handshake. */
  get bytesReceived(): number {
    return this.#control.bytesReceived;
  }

  /** Bytes not yet handed to the kernel: queued in the socket (user space) or held by `limitHandOver`. */
  get writableLength(): number {
    return (this.#socket?.writableLength ?? 0) + this.#outbox.heldBytes;
  }

  /** Of `writableLength`, the bytes `limitHandOver` holds back. */
  get heldBytes(): number {
    return this.#outbox.heldBytes;
  }

  /**
   * Paces the chunk stream: from now on at most `bytes` more go to the socket (until the next call);
   * later ones are held, in order, control messages included, so the byte stream never reorders.
   * Infinity, the start, lets everything through. Closing sends what is held first. Returns false when the
   * socket's buffer is past its high-water mark (`drain` follows).
   */
  limitHandOver(bytes: number): boolean {
    this.#outbox.limit(bytes);
    return this.#release();
  }

  /** How many acknowledgements the server has sent (0 = this server may never acknowledge). */
  get acknowledgementsReceived(): number {
    return this.#control.acknowledgementsReceived;
  }

  /** The server's Window Acknowledgement Size (we acknowledge every this many bytes), 0 before any. */
  get serverWindowAckSize(): number {
    return this.#control.serverWindowAckSize;
  }

  /** The server's Set Peer Bandwidth window, bytes, 0 before any (recorded, not enforced). */
  get peerBandwidthBytes(): number {
    return this.#control.peerBandwidthBytes;
  }

  /** The message stream id we publish on (0 before createStream answered). */
  get streamId(): number {
    return this.#sequence.streamId;
  }

  /** The socket's ports (to find it in the kernel's socket table), undefined while it has none. */
  get tcpPorts(): { readonly localPort: number; readonly remotePort: number } | undefined {
    const { localPort, remotePort } = this.#socket ?? {};
    return localPort === undefined || remotePort === undefined ? undefined : { localPort, remotePort };
  }

  /**
   * Connects, handshakes and publishes; resolves on `NetStream.Publish.Start` (after `publishing` was
   * emitted). Rejects with a typed `RtmpError` (and the connection is closed), or `signal.reason`
   * when aborted. Once only.
   */
  connect(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(
        new InvalidStateError(`connect() in state ${this.#state}; make a new connection`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        this.#terminate(undefined);
        return;
      }
      const onAbort = (): void => {
        const pending = this.#pending;
        this.#pending = undefined;
        pending?.reject(signal?.reason);
        this.#terminate(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settled = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending = {
        resolve: () => (settled(), resolve()),
        reject: (error) => (settled(), reject(error)),
      };
      this.#openSocket();
    });
  }

  /** Sends `@setDataFrame onMetaData`: for a stream config, or as given (timestamp 0 by default). */
  writeMetadata(metadata: StreamConfig | Amf0EcmaArray, timestampMs = 0): WriteResult {
    this.#requirePublishing('writeMetadata');
    const array = metadata instanceof Amf0EcmaArray ? metadata : onMetaData(metadata);
    return this.#send(msg.setDataFrameMessage(this.streamId, array, timestampMs));
  }

  /** Sends one video message (an FLV video tag body) at `timestampMs` (32-bit wrapping). */
  writeVideo(timestampMs: number, body: Buffer): WriteResult {
    this.#requirePublishing('writeVideo');
    return this.#send(msg.videoMessage(this.streamId, timestampMs, body));
  }

  /** Sends one audio message (an FLV audio tag body) at `timestampMs` (32-bit wrapping). */
  writeAudio(timestampMs: number, body: Buffer): WriteResult {
    this.#requirePublishing('writeAudio');
    return this.#send(msg.audioMessage(this.streamId, timestampMs, body));
  }

  /**
   * Graceful close: FCUnpublish and deleteStream when publishing, then FIN; destroys the socket
   * after `closeTimeoutMs` at the latest. Idempotent; a pending `connect()` rejects.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    const socket = this.#socket;
    if (this.#state !== 'publishing' || !socket) {
      this.#terminate(undefined);
      return (this.#closePromise = Promise.resolve());
    }
    this.#closePromise = new Promise<void>((resolve) => {
      this.#outbox.limit(Infinity); // what is held goes first: a message cut short would garble the rest
      for (const message of this.#sequence.finish()) this.#send(message);
      this.#setState('closing');
      const finish = (): void => {
        this.#terminate(undefined);
        resolve();
      };
      socket.once('close', finish);
      this.#armTimer(this.#options.closeTimeoutMs, finish);
      socket.end();
    });
    return this.#closePromise;
  }

  /** Immediate close: destroys the socket; `closed` carries `error` (e.g. a stall found by the output). */
  destroy(error?: Error): void {
    this.#terminate(error);
  }

  // ------------------------------------------------------------ connect sequence

  #openSocket(): void {
    const { host, port, protocol } = this.#url;
    this.#setState('connecting');
    this.#armTimeout(
      'ERR_RTMP_CONNECT_TIMEOUT',
      `no TCP connection to ${this.#where}`,
      this.#options.connectTimeoutMs,
    );
    const target = {
      host,
      port,
      tls: protocol === 'rtmps' ? tlsConnectOptions(host, port, this.#options.tls) : null,
    };
    const connect = this.#options.connect ?? connectSocket;
    const socket = connect(target, {
      onTcpConnected: () => {
        if (this.#state !== 'connecting' || !target.tls) return;
        // TCP is up, TLS is not: a plain-RTMP port (or anything not speaking TLS) stalls here.
        this.#armTimeout(
          'ERR_RTMP_TLS_HANDSHAKE_TIMEOUT',
          `TLS handshake with ${this.#where} not done (TCP connected): is this port serving TLS? ` +
            'rtmps:// needs a TLS port (443 or 1936 usually); plain RTMP is rtmp://',
          this.#options.connectTimeoutMs,
        );
      },
      onReady: () => this.#onConnected(),
    });
    this.#socket = socket;
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (error: Error) => this.#fail(mapSocketError(error, this.#where, this.#phase)));
    socket.on('close', () => this.#onSocketClose());
    socket.on('drain', () => this.emit('drain'));
  }

  #onConnected(): void {
    const socket = this.#socket;
    if (!socket || this.#state !== 'connecting') return;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.#options.keepAliveInitialDelayMs);
    this.#setState('handshaking');
    this.#handshake = new ClientHandshake(Math.floor(this.#clock.nowUs() / 1000));
    this.#armTimeout(
      'ERR_RTMP_HANDSHAKE_TIMEOUT',
      `RTMP handshake with ${this.#where} not done`,
      this.#options.handshakeTimeoutMs,
    );
    socket.write(this.#handshake.c0c1());
  }

  #onData(data: Buffer): void {
    if (this.#closed) return;
    if (this.#state === 'handshaking') {
      let rest: Buffer | undefined;
      try {
        const progress = (this.#handshake as ClientHandshake).push(data);
        if (progress.c2) this.#socket?.write(progress.c2);
        if (!progress.done) return;
        rest = progress.rest;
      } catch (error) {
        this.#fail(this.#protocolError(error));
        return;
      }
      this.#startSession();
      if (rest === undefined || rest.length === 0) return;
      data = rest;
    }
    this.#control.received(data.length);
    let messages: RtmpMessage[];
    try {
      messages = this.#reader.push(data);
    } catch (error) {
      this.#fail(this.#protocolError(error));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      this.#onMessage(message);
    }
    const acknowledgement = this.#closed ? null : this.#control.acknowledgementDue();
    if (acknowledgement) this.#send(acknowledgement);
  }

  #startSession(): void {
    this.#setState('negotiating');
    this.#armTimeout(
      'ERR_RTMP_PUBLISH_TIMEOUT',
      `${this.#where} did not start publishing`,
      this.#options.publishTimeoutMs,
    );
    // Set Chunk Size goes out at the old (128) size, then applies to everything after it.
    this.#send(msg.setChunkSizeMessage(this.#options.chunkSizeBytes));
    this.#writer.setChunkSize(this.#options.chunkSizeBytes);
    // Our window makes the server acknowledge often: delivered latency comes from these (§5.4.4).
    this.#send(msg.windowAckSizeMessage(this.#options.windowAckSizeBytes));
    this.#send(this.#sequence.start());
  }

  #onMessage(message: RtmpMessage): void {
    try {
      const outcome = this.#control.onMessage(message);
      if (outcome.kind === 'command') this.#onCommand(msg.parseCommand(message));
      if (outcome.kind !== 'control') return;
      if (outcome.reply) this.#send(outcome.reply);
      if (outcome.acknowledged !== undefined) this.emit('acknowledgement', outcome.acknowledged);
    } catch (error) {
      this.#fail(this.#protocolError(error));
    }
  }

  #onCommand(command: msg.RtmpCommand): void {
    const outcome = this.#sequence.onCommand(command);
    for (const message of outcome.send) this.#send(message);
    if (outcome.failure) {
      this.#fail(outcome.failure);
      return;
    }
    if (outcome.publishing && this.#state === 'negotiating') {
      this.#cancelTimer();
      this.#setState('publishing');
      const info: ServerInfo = {
        ...outcome.publishing,
        fmsVer:
          typeof outcome.publishing.connectProperties.fmsVer === 'string'
            ? outcome.publishing.connectProperties.fmsVer
            : undefined,
        handshake: (this.#handshake as ClientHandshake).info as HandshakeInfo,
      };
      this.emit('publishing', info);
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve();
    }
    if (outcome.status && !this.#closed) this.emit('status', outcome.status);
    if (outcome.reconnectRequest && this.#state === 'publishing') {
      this.emit('reconnectRequest', outcome.reconnectRequest);
    }
  }

  // ------------------------------------------------------------ plumbing

  #send(message: RtmpMessage): WriteResult {
    const bytes = this.#writer.write(message);
    this.#bytesWritten += bytes.length;
    this.#outbox.push(bytes);
    return { endOffset: this.#bytesWritten, ok: this.#release() };
  }

  #release(): boolean {
    const socket = this.#socket;
    return socket ? this.#outbox.release((piece) => socket.write(piece)) : false;
  }

  /** A getter, so the compiler does not narrow `#state` across calls that may change it. */
  get #closed(): boolean {
    return this.#state === 'closed';
  }

  /** How far the connection got, for errors (undefined once closing). */
  get #phase(): ConnectionPhase | undefined {
    const state = this.#state;
    return state === 'connecting' ||
      state === 'handshaking' ||
      state === 'negotiating' ||
      state === 'publishing'
      ? state
      : undefined;
  }

  #requirePublishing(what: string): void {
    if (this.#state !== 'publishing') throw new InvalidStateError(`${what}() in state ${this.#state}`);
  }

  /** Bytes that break the protocol, named with the host that sent them. */
  #protocolError(error: unknown): RtmpError {
    if (error instanceof RtmpProtocolError) {
      return new RtmpProtocolError(`${this.#where} sent invalid RTMP: ${error.message}`, { cause: error });
    }
    return mapSocketError(error, this.#where, this.#phase);
  }

  #onSocketClose(): void {
    if (this.#state === 'closing' || this.#closed) return;
    // nginx-rtmp answers an unknown application or a denied publish by just closing: say so.
    const hint =
      this.#state === 'negotiating'
        ? ` during the publish sequence (after ${this.#sequence.lastCommand}): wrong application name, or publishing denied?`
        : this.#state === 'handshaking' || this.#state === 'connecting'
          ? this.#options.publishedBefore
            ? ' before the RTMP handshake completed: the server is not ready yet (restarting, or behind a proxy)'
            : ' during the RTMP handshake: is this an RTMP server (rtmps:// for a TLS port)?'
          : '';
    this.#fail(
      new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', `${this.#where} closed the connection${hint}`, {
        ...(this.#phase === undefined ? {} : { phase: this.#phase }),
      }),
    );
  }

  #fail(error: RtmpError): void {
    if (this.#state === 'closing' || this.#closed) return;
    this.#terminate(error);
  }

  /** Ends everything exactly once: timers, socket, pending connect, `closed` event. */
  #terminate(error: Error | undefined): void {
    if (this.#closed) return;
    this.#cancelTimer();
    this.#socket?.destroy();
    this.#outbox.clear();
    this.#setState('closed');
    this.#closedWith = error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error ?? new AbortError(`connection to ${this.#where} closed before publishing started`));
    this.emit('closed', error);
  }

  /** Arms the one timer so that it fails the connection with a timeout `code`. */
  #armTimeout(code: RtmpConnectionErrorCode, what: string, ms: number): void {
    this.#armTimer(ms, () => {
      const phase = this.#phase;
      this.#fail(
        new RtmpConnectionError(code, `${what} within ${ms} ms`, phase === undefined ? {} : { phase }),
      );
    });
  }

  #armTimer(delayMs: number, onTimeout: () => void): void {
    this.#cancelTimer();
    this.#timer = this.#clock.setTimer(onTimeout, delayMs);
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #setState(next: RtmpConnectionState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.emit('statechange', prev, next);
  }
}
