import net from 'node:net';
import tls from 'node:tls';
import type { Clock, Timer } from '../core/clock.js';
import { InvalidStateError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { onMetaData } from '../flv/tags.js';
import type { StreamConfig } from '../media/packet.js';
import type { Amf0Object } from '../amf0/amf0.js';
import type {
  RtmpConnectionEvents,
  RtmpConnectionState,
  ServerInfo,
  WriteResult,
} from './rtmp-connection-types.js';
import { ChunkReader } from './chunk-reader.js';
import { ChunkWriter, type RtmpMessage } from './chunk-writer.js';
import { MessageType, UserControlEvent } from './constants.js';
import { RtmpConnectionError, RtmpError, RtmpServerError, mapSocketError } from './errors.js';
import { ClientHandshake, type HandshakeInfo } from './handshake.js';
import * as msg from './messages.js';
import {
  tlsConnectOptions,
  validateRtmpConnectionOptions,
  type RtmpConnectionOptions,
} from './rtmp-connection-options.js';
import { parseRtmpUrl, redact, secretsOf, type RtmpUrl } from './url.js';

export type { RtmpConnectionEvents, RtmpConnectionState, ServerInfo, WriteResult };

// Transaction ids of the publish sequence (RTMP §7.2: replies carry the request's id).
const TXN_CONNECT = 1;
const TXN_RELEASE_STREAM = 2;
const TXN_FC_PUBLISH = 3;
const TXN_CREATE_STREAM = 4;

/**
 * The one class that owns the socket: TCP/TLS connect, handshake, connect/createStream/publish,
 * then media writes with the socket's backpressure, acknowledgements both ways, and close.
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
  readonly #secrets: string[];
  readonly #where: string;
  readonly #writer = new ChunkWriter();
  readonly #reader = new ChunkReader();
  #state: RtmpConnectionState = 'new';
  #socket: net.Socket | undefined;
  #handshake: ClientHandshake | undefined;
  #timer: Timer | undefined;
  #pending: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #closePromise: Promise<void> | undefined;
  #connectResult: { properties: Amf0Object; status: msg.RtmpStatus } | undefined;
  #streamId = 0;
  #nextTransactionId = TXN_CREATE_STREAM + 1;
  #bytesWritten = 0;
  #bytesReceived = 0;
  #lastAckSent = 0;
  #lastAcknowledgedBytes = 0;
  #acknowledgements = 0;
  #serverWindowAckSize = 0;
  #peerBandwidthBytes = 0;
  #lastCommand = '';

  /** Validates options (throws `ConfigError`/`RtmpUrlError`); does not connect yet. */
  constructor(options: Partial<RtmpConnectionOptions> & { readonly url: string }, clock: Clock) {
    super();
    this.#options = validateRtmpConnectionOptions(options);
    this.#clock = clock;
    this.#url = parseRtmpUrl(this.#options.url);
    this.#secrets = secretsOf(this.#url);
    this.#where = `${this.#url.host}:${this.#url.port}`;
  }

  /** Current lifecycle state. */
  get state(): RtmpConnectionState {
    return this.#state;
  }

  /** Bytes of chunk stream handed to the socket since the handshake (see the class comment). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Bytes of chunk stream received from the server since the handshake. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Bytes queued in the socket (user space), not yet handed to the kernel. */
  get writableLength(): number {
    return this.#socket?.writableLength ?? 0;
  }

  /** The last acknowledgement's sequence number (raw uint32), 0 before any. */
  get lastAcknowledgedBytes(): number {
    return this.#lastAcknowledgedBytes;
  }

  /** How many acknowledgements the server has sent (0 = this server may never acknowledge). */
  get acknowledgementsReceived(): number {
    return this.#acknowledgements;
  }

  /** The server's Window Acknowledgement Size (we acknowledge every this many bytes), 0 before any. */
  get serverWindowAckSize(): number {
    return this.#serverWindowAckSize;
  }

  /** The server's Set Peer Bandwidth window, bytes, 0 before any (recorded, not enforced). */
  get peerBandwidthBytes(): number {
    return this.#peerBandwidthBytes;
  }

  /** The message stream id we publish on (0 before createStream answered). */
  get streamId(): number {
    return this.#streamId;
  }

  /** The socket's ports (to find it in the kernel's socket table), undefined while it has none. */
  get tcpPorts(): { readonly localPort: number; readonly remotePort: number } | undefined {
    const { localPort, remotePort } = this.#socket ?? {};
    return localPort === undefined || remotePort === undefined ? undefined : { localPort, remotePort };
  }

  /** The URL with the stream key replaced by `****`. */
  get redactedUrl(): string {
    return `${this.#url.tcUrl}/****`;
  }

  /**
   * Connects, handshakes and publishes; resolves on `NetStream.Publish.Start`. Rejects with a
   * typed `RtmpError` (and the connection is closed), or `signal.reason` when aborted. Once only.
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
      this.#pending = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#openSocket();
    });
  }

  /** Sends `@setDataFrame onMetaData` for `config` (timestamp 0 by default). */
  writeMetadata(config: StreamConfig, timestampMs = 0): WriteResult {
    this.#requirePublishing('writeMetadata');
    return this.#send(msg.setDataFrameMessage(this.#streamId, onMetaData(config), timestampMs));
  }

  /** Sends one video message (an FLV video tag body) at `timestampMs` (32-bit wrapping). */
  writeVideo(timestampMs: number, body: Buffer): WriteResult {
    this.#requirePublishing('writeVideo');
    return this.#send(msg.videoMessage(this.#streamId, timestampMs, body));
  }

  /** Sends one audio message (an FLV audio tag body) at `timestampMs` (32-bit wrapping). */
  writeAudio(timestampMs: number, body: Buffer): WriteResult {
    this.#requirePublishing('writeAudio');
    return this.#send(msg.audioMessage(this.#streamId, timestampMs, body));
  }

  /**
   * Graceful close: FCUnpublish and deleteStream when publishing, then FIN; destroys the socket
   * after `closeTimeoutMs` at the latest. Idempotent; a pending `connect()` rejects.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    if (this.#state === 'closed') return (this.#closePromise = Promise.resolve());
    const socket = this.#socket;
    if (this.#state !== 'publishing' || !socket) {
      this.#terminate(undefined);
      return (this.#closePromise = Promise.resolve());
    }
    this.#closePromise = new Promise<void>((resolve) => {
      this.#send(msg.fcUnpublishCommand(this.#nextTransactionId++, this.#url.streamKey));
      this.#send(msg.deleteStreamCommand(this.#streamId));
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

  /** Immediate close: destroys the socket; `closed` carries `error`. */
  destroy(error?: RtmpError): void {
    this.#terminate(error);
  }

  // ------------------------------------------------------------ connect sequence

  #openSocket(): void {
    const { host, port, protocol } = this.#url;
    this.#setState('connecting');
    const socket =
      protocol === 'rtmps'
        ? tls.connect(tlsConnectOptions(host, port, this.#options.tls))
        : net.connect({ host, port });
    this.#socket = socket;
    this.#armTimeout(
      'ERR_RTMP_CONNECT_TIMEOUT',
      `no connection to ${this.#where}`,
      this.#options.connectTimeoutMs,
    );
    socket.once(protocol === 'rtmps' ? 'secureConnect' : 'connect', () => this.#onConnected());
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (error) => this.#fail(mapSocketError(error, this.#where)));
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
    if (this.#state === 'closed') return;
    if (this.#state === 'handshaking') {
      let rest: Buffer | undefined;
      try {
        const progress = (this.#handshake as ClientHandshake).push(data);
        if (progress.c2) this.#socket?.write(progress.c2);
        if (!progress.done) return;
        rest = progress.rest;
      } catch (error) {
        this.#fail(mapSocketError(error, this.#where));
        return;
      }
      this.#startSession();
      if (rest === undefined || rest.length === 0) return;
      data = rest;
    }
    this.#bytesReceived += data.length;
    let messages: RtmpMessage[];
    try {
      messages = this.#reader.push(data);
    } catch (error) {
      this.#fail(mapSocketError(error, this.#where));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      this.#onMessage(message);
    }
    // RTMP §5.4.3: acknowledge after every window's worth of bytes received.
    const window = this.#serverWindowAckSize;
    if (window > 0 && this.#bytesReceived - this.#lastAckSent >= window && !this.#closed) {
      this.#lastAckSent = this.#bytesReceived;
      this.#send(msg.acknowledgementMessage(this.#bytesReceived));
    }
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
    this.#send(
      msg.connectCommand(
        { app: this.#url.app, tcUrl: this.#url.tcUrl, flashVer: this.#options.flashVer },
        TXN_CONNECT,
      ),
    );
  }

  #onMessage(message: RtmpMessage): void {
    try {
      switch (message.messageTypeId) {
        case MessageType.ACKNOWLEDGEMENT: {
          const sequence = msg.parseUint32Payload(message.payload, 'Acknowledgement');
          this.#lastAcknowledgedBytes = sequence;
          this.#acknowledgements++;
          this.emit('acknowledgement', sequence);
          return;
        }
        case MessageType.WINDOW_ACK_SIZE:
          this.#serverWindowAckSize = msg.parseUint32Payload(message.payload, 'Window Acknowledgement Size');
          return;
        case MessageType.SET_PEER_BANDWIDTH:
          // RTMP §5.4.5 suggests answering with our Window Ack Size = theirs; we keep our small
          // window instead (it drives the acknowledgements we measure latency with), as FFmpeg does.
          this.#peerBandwidthBytes = msg.parseSetPeerBandwidth(message.payload).windowBytes;
          return;
        case MessageType.USER_CONTROL: {
          const control = msg.parseUserControl(message.payload);
          if (control.event === UserControlEvent.PING_REQUEST)
            this.#send(msg.pingResponseMessage(control.value));
          return;
        }
        case MessageType.COMMAND_AMF0:
        case MessageType.COMMAND_AMF3:
          this.#onCommand(msg.parseCommand(message));
          return;
        default:
          return; // Set Chunk Size/Abort: applied by the reader; data, media, aggregate: not for a publisher
      }
    } catch (error) {
      this.#fail(mapSocketError(error, this.#where));
    }
  }

  #onCommand(command: msg.RtmpCommand): void {
    const { name, transactionId: txn } = command;
    if (name === '_result' || name === '_error') {
      const status = msg.parseStatus(command.args[0] ?? null);
      if (name === '_error') {
        // releaseStream/FCPublish of a stream nobody holds get _error from some servers: harmless.
        if (txn === TXN_RELEASE_STREAM || txn === TXN_FC_PUBLISH || this.#state !== 'negotiating') return;
        const which = txn === TXN_CONNECT ? 'connect' : txn === TXN_CREATE_STREAM ? 'createStream' : name;
        this.#fail(this.#serverError(which, status));
        return;
      }
      if (txn === TXN_CONNECT && this.#state === 'negotiating' && !this.#connectResult) {
        const properties = command.commandObject;
        this.#connectResult = {
          properties: properties !== null && typeof properties === 'object' ? (properties as Amf0Object) : {},
          status,
        };
        const key = this.#url.streamKey;
        this.#send(msg.releaseStreamCommand(TXN_RELEASE_STREAM, key));
        this.#send(msg.fcPublishCommand(TXN_FC_PUBLISH, key));
        this.#send(msg.createStreamCommand(TXN_CREATE_STREAM));
      } else if (txn === TXN_CREATE_STREAM && this.#state === 'negotiating' && this.#streamId === 0) {
        const id = command.args[0];
        if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || id > 0xffffffff) {
          this.#fail(new RtmpServerError('createStream', '', `invalid stream id ${String(id)}`));
          return;
        }
        this.#streamId = id;
        this.#send(msg.publishCommand(id, this.#url.streamKey, 'live'));
      }
      return;
    }
    if (name === 'onStatus') {
      const status = msg.parseStatus(command.args[0] ?? null);
      const safe = { ...status, description: redact(status.description, this.#secrets) };
      if (status.level === 'error') {
        this.#fail(this.#serverError(this.#state === 'negotiating' ? 'publish' : 'onStatus', status));
        return;
      }
      if (status.code === 'NetStream.Publish.Start' && this.#state === 'negotiating') {
        this.#becomePublishing();
      }
      this.emit('status', safe);
      return;
    }
    if (name === 'close') {
      this.#fail(
        new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', `${this.#where} sent "close"`, {
          retryable: true,
        }),
      );
    }
    // onBWDone, onFCPublish, _checkbw, …: nothing a publisher needs to answer.
  }

  #becomePublishing(): void {
    this.#cancelTimer();
    this.#setState('publishing');
    const result = this.#connectResult ?? {
      properties: {},
      status: { level: '', code: '', description: '' },
    };
    const fmsVer = result.properties.fmsVer;
    const info: ServerInfo = {
      streamId: this.#streamId,
      fmsVer: typeof fmsVer === 'string' ? fmsVer : undefined,
      connectProperties: result.properties,
      connectStatus: result.status,
      handshake: (this.#handshake as ClientHandshake).info as HandshakeInfo,
    };
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve();
    this.emit('publishing', info);
  }

  #serverError(command: string, status: msg.RtmpStatus): RtmpServerError {
    return new RtmpServerError(
      command,
      redact(status.code, this.#secrets),
      redact(status.description, this.#secrets),
    );
  }

  // ------------------------------------------------------------ plumbing

  #send(message: RtmpMessage): WriteResult {
    if (message.messageTypeId === MessageType.COMMAND_AMF0) this.#lastCommand = commandName(message);
    const bytes = this.#writer.write(message);
    this.#bytesWritten += bytes.length;
    const ok = this.#socket?.write(bytes) ?? false;
    return { endOffset: this.#bytesWritten, ok };
  }

  /** A getter, so the compiler does not narrow `#state` across calls that may change it. */
  get #closed(): boolean {
    return this.#state === 'closed';
  }

  #requirePublishing(what: string): void {
    if (this.#state !== 'publishing') throw new InvalidStateError(`${what}() in state ${this.#state}`);
  }

  #onSocketClose(): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    // nginx-rtmp answers an unknown application or a denied publish by just closing: say so.
    const hint =
      this.#state === 'negotiating'
        ? ` during the publish sequence (after ${this.#lastCommand}): wrong application name, or publishing denied?`
        : this.#state === 'handshaking'
          ? ' during the RTMP handshake: is this an RTMP server (rtmps:// for a TLS port)?'
          : '';
    this.#fail(
      new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', `${this.#where} closed the connection${hint}`, {
        retryable: true,
      }),
    );
  }

  #fail(error: RtmpError): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#terminate(error);
  }

  /** Ends everything exactly once: timers, socket, pending connect, `closed` event. */
  #terminate(error: RtmpError | undefined): void {
    if (this.#state === 'closed') return;
    this.#cancelTimer();
    this.#socket?.destroy();
    this.#setState('closed');
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(
      error ??
        new RtmpError('ERR_RTMP_CLOSED', `connection to ${this.#where} closed before publishing started`, {
          retryable: false,
        }),
    );
    this.emit('closed', error);
  }

  /** Arms the one timer so that it fails the connection with a retryable timeout `code`. */
  #armTimeout(code: string, what: string, ms: number): void {
    this.#armTimer(ms, () =>
      this.#fail(new RtmpConnectionError(code, `${what} within ${ms} ms`, { retryable: true })),
    );
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

function commandName(message: RtmpMessage): string {
  // AMF0 string marker, 16-bit length, name (our own encoding, so no need to decode it fully)
  return message.payload.toString('utf8', 3, 3 + message.payload.readUInt16BE(1));
}
