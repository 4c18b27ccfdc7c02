/**
 * A tiny scripted RTMP server on a real loopback socket, for RtmpConnection tests. It answers the
 * publish sequence the way nginx-rtmp does (connect → Window Ack Size, Set Peer Bandwidth, Set Chunk
 * Size, _result; createStream → _result 1; publish → StreamBegin, onStatus Publish.Start), records
 * everything the client sent, and acknowledges per the client's window like nginx (on each read).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { SocketConnector } from '../../src/rtmp/rtmp-connection-options.js';
import { socketPair } from './memory-socket.js';
import type { Amf0Object, Amf0Value } from '../../src/amf0/amf0.js';
import { ChunkReader } from '../../src/rtmp/chunk-reader.js';
import { ChunkWriter, type RtmpMessage } from '../../src/rtmp/chunk-writer.js';
import { ChunkStreamId, MessageType, UserControlEvent } from '../../src/rtmp/constants.js';
import * as msg from '../../src/rtmp/messages.js';

/** How the fake server behaves. */
export interface FakeRtmpServerOptions {
  /** Answer connect with `_error` and this status. */
  rejectConnect?: { code: string; description: string };
  /** Answer publish with an error-level onStatus. */
  rejectPublish?: { code: string; description: string };
  /** Answer releaseStream with `_error` (as some servers do when nothing is held). */
  errorOnReleaseStream?: boolean;
  /** Window Acknowledgement Size the server announces; default 5000000 (nginx's). */
  windowAckSize?: number;
  /** Send acknowledgements per the client's window; default true. */
  acknowledge?: boolean;
  /** Never answer the handshake. */
  silentHandshake?: boolean;
  /**
   * For session `n` (0 = the first connection), follow `NetStream.Publish.Start` in the same TCP write
   * with an error-level onStatus, or a `close` command: the client reads both in one go.
   */
  publishStartThen?: (session: number) => 'error-status' | 'close' | null;
  /** Close the socket when connect arrives (as nginx-rtmp does for an unknown application). */
  closeOnConnect?: boolean;
  /** Serve TLS with these credentials. */
  tls?: { key: string; cert: string };
  /**
   * More fields in the connect `_result`: in its command object (`properties`) and its info object
   * (`info`) — where Enhanced RTMP servers say which codecs and capabilities they take.
   */
  connectResult?: { properties?: Amf0Object; info?: Amf0Object };
  /**
   * A hostile server's answer to publish (StreamBegin is sent already): `answer` holds Publish.Start
   * (and what `publishStartThen` adds), so the hook can send it with more in one TCP write
   * (`sendTogether`), or something else instead.
   */
  onPublish?: (session: FakeSession, answer: RtmpMessage[]) => void;
  /** Runs once a session's publish was answered: start a flood, send garbage, cut it… */
  afterPublish?: (session: FakeSession) => void;
}

/** One client connection as the fake server saw it. */
export interface FakeSession {
  /** Which connection this is, from 0. */
  readonly index: number;
  /** Every message the client sent after the handshake. */
  readonly messages: RtmpMessage[];
  /** Chunk stream bytes received after the handshake (what nginx counts as in_bytes). */
  bytesReceived: number;
  /** Acknowledgement sequence numbers the server sent. */
  readonly acksSent: number[];
  /** The client's Window Acknowledgement Size, 0 before one arrived. */
  clientWindow: number;
  /** True once the socket closed. */
  closed: boolean;
  /** The server side of the socket (a real one, or an in-memory end: see `connector()`). */
  readonly socket: Duplex;
  /** Sends a message to the client. */
  send(message: RtmpMessage): void;
  /** Sends messages to the client in one TCP write (events the client sees in one read). */
  sendTogether(messages: readonly RtmpMessage[]): void;
  /** Changes the server's outgoing chunk size (after sending Set Chunk Size). */
  setChunkSize(size: number): void;
  /** Sends an onStatus on the published stream. */
  sendStatus(level: string, code: string, description: string): void;
}

/** The scripted server. */
export class FakeRtmpServer {
  readonly sessions: FakeSession[] = [];
  readonly #server: net.Server | null;
  readonly #options: FakeRtmpServerOptions;
  #accepting = true;

  private constructor(server: net.Server | null, options: FakeRtmpServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  /** A server reached only in memory through `connector()`: no socket at all (unit tests). */
  static inMemory(options: FakeRtmpServerOptions = {}): FakeRtmpServer {
    return new FakeRtmpServer(null, options);
  }

  /** Starts listening on a free loopback port. */
  static async start(options: FakeRtmpServerOptions = {}): Promise<FakeRtmpServer> {
    const server = options.tls ? tls.createServer(options.tls) : net.createServer();
    const instance = new FakeRtmpServer(server, options);
    server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) =>
      instance.#accept(socket),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  /** The listening port. */
  get port(): number {
    // In memory there is no port: any will do, the connector ignores it.
    return this.#server ? (this.#server.address() as net.AddressInfo).port : 1935;
  }

  /** A publish URL to this server. */
  url(app = 'live', key = 'test-key', host = '127.0.0.1'): string {
    return `${this.#options.tls ? 'rtmps' : 'rtmp'}://${host}:${this.port}/${app}/${key}`;
  }

  /** Names of the commands the first session sent, in order. */
  commands(session = this.sessions[0]): string[] {
    return (session?.messages ?? [])
      .filter((m) => m.messageTypeId === MessageType.COMMAND_AMF0)
      .map((m) => msg.parseCommand(m).name);
  }

  /**
   * A SocketConnector that reaches this server in memory, no loopback socket (RtmpConnection's
   * `connect` option): each call is a new session. While `refuse` is set (or after `stop()`), a
   * connect fails as ECONNREFUSED. TLS runs over the in-memory pair when the server serves TLS.
   */
  connector(): SocketConnector {
    return (target, progress) => {
      const [client, server] = socketPair();
      if (!this.#accepting) {
        setImmediate(() =>
          client.destroy(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
        );
        return client;
      }
      if (target.tls && this.#options.tls) {
        const serverTls = new tls.TLSSocket(server, { isServer: true, ...this.#options.tls });
        serverTls.on('secure', () => this.#accept(serverTls));
        serverTls.on('error', () => undefined);
        const socket = tls.connect({ ...target.tls, socket: client }, () => progress.onReady());
        setImmediate(() => progress.onTcpConnected());
        return socket;
      }
      this.#accept(server);
      setImmediate(() => {
        progress.onTcpConnected();
        progress.onReady();
      });
      return client;
    };
  }

  /** While true, in-memory connects are refused (a server restarting); see `connector()`. */
  set refuse(refuse: boolean) {
    this.#accepting = !refuse;
  }

  /** Stops listening and destroys every session. */
  async stop(): Promise<void> {
    this.#accepting = false;
    for (const session of this.sessions) session.socket.destroy();
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Duplex): void {
    const options = this.#options;
    const writer = new ChunkWriter();
    const reader = new ChunkReader({ maxMessageBytes: 0xffffff, maxBufferedBytes: 64 << 20 });
    let handshake = Buffer.alloc(0);
    let handshakeDone = false;
    let lastAck = 0;
    const session: FakeSession = {
      index: this.sessions.length,
      messages: [],
      bytesReceived: 0,
      acksSent: [],
      clientWindow: 0,
      closed: false,
      socket,
      send: (message) => {
        if (!socket.destroyed) socket.write(writer.write(message));
      },
      sendTogether: (messages) => {
        if (!socket.destroyed) socket.write(Buffer.concat(messages.map((m) => writer.write(m))));
      },
      setChunkSize: (size) => writer.setChunkSize(size),
      sendStatus: (level, code, description) => session.send(statusMessage(level, code, description)),
    };
    this.sessions.push(session);
    socket.on('error', () => undefined);
    socket.on('close', () => (session.closed = true));
    socket.on('data', (data: Buffer) => {
      if (!handshakeDone) {
        if (options.silentHandshake) return;
        const before = handshake.length;
        handshake = Buffer.concat([handshake, data]);
        if (before < 1537 && handshake.length >= 1537) {
          const s1 = Buffer.alloc(1536, 0x42);
          socket.write(Buffer.concat([Buffer.from([3]), s1, handshake.subarray(1, 1537)]));
        }
        if (handshake.length < 1537 + 1536) return;
        handshakeDone = true;
        data = handshake.subarray(1537 + 1536);
      }
      // Like nginx-rtmp, which reads at most about one chunk per recv() and checks the window after
      // each read: process in 4 KiB slices so acknowledgements come as often as nginx's.
      for (let pos = 0; pos < data.length; pos += 4096) {
        const slice = data.subarray(pos, pos + 4096);
        session.bytesReceived += slice.length;
        for (const message of reader.push(slice)) {
          session.messages.push(message);
          this.#onMessage(session, message);
        }
        if (
          options.acknowledge !== false &&
          session.clientWindow > 0 &&
          session.bytesReceived - lastAck >= session.clientWindow
        ) {
          lastAck = session.bytesReceived;
          session.acksSent.push(lastAck);
          session.send(msg.acknowledgementMessage(lastAck));
        }
      }
    });
  }

  #onMessage(session: FakeSession, message: RtmpMessage): void {
    const options = this.#options;
    if (message.messageTypeId === MessageType.WINDOW_ACK_SIZE) {
      session.clientWindow = message.payload.readUInt32BE(0);
      return;
    }
    if (message.messageTypeId !== MessageType.COMMAND_AMF0) return;
    const command = msg.parseCommand(message);
    const reply = (name: string, txn: number, object: Amf0Value, ...args: Amf0Value[]): void =>
      session.send(msg.commandMessage(0, name, txn, object, ...args));
    switch (command.name) {
      case 'connect': {
        if (options.closeOnConnect) {
          session.socket.destroy();
          return;
        }
        session.send(msg.windowAckSizeMessage(options.windowAckSize ?? 5_000_000));
        session.send(setPeerBandwidthMessage(5_000_000, 2));
        session.send(msg.setChunkSizeMessage(4096));
        session.setChunkSize(4096);
        if (options.rejectConnect) {
          reply('_error', command.transactionId, null, { level: 'error', ...options.rejectConnect });
          return;
        }
        const properties: Amf0Object = {
          fmsVer: 'FMS/3,0,1,123',
          capabilities: 31,
          ...options.connectResult?.properties,
        };
        reply('_result', command.transactionId, properties, {
          level: 'status',
          code: 'NetConnection.Connect.Success',
          description: 'Connection succeeded.',
          ...options.connectResult?.info,
        });
        return;
      }
      case 'releaseStream':
        if (options.errorOnReleaseStream) {
          reply('_error', command.transactionId, null, { level: 'error', code: 'NetStream.Release.Failed' });
        }
        return;
      case 'createStream':
        reply('_result', command.transactionId, null, 1);
        return;
      case 'publish': {
        const begin = msg.userControlMessage(UserControlEvent.STREAM_BEGIN, 1);
        if (options.rejectPublish) {
          session.send(begin);
          session.sendStatus('error', options.rejectPublish.code, options.rejectPublish.description);
          return;
        }
        const start = statusMessage(
          'status',
          'NetStream.Publish.Start',
          `${String(command.args[0])} is now published.`,
        );
        const then = options.publishStartThen?.(session.index) ?? null;
        const after =
          then === 'error-status'
            ? [statusMessage('error', 'NetStream.Publish.Failed', 'gone')]
            : then === 'close'
              ? [msg.commandMessage(0, 'close', 0, null)]
              : [];
        session.send(begin);
        if (options.onPublish) options.onPublish(session, [start, ...after]);
        else session.sendTogether([start, ...after]);
        options.afterPublish?.(session);
        return;
      }
      default:
        return;
    }
  }
}

/** An onStatus on the published stream (message stream 1), as servers send them. */
export function statusMessage(level: string, code: string, description: string): RtmpMessage {
  return msg.commandMessage(1, 'onStatus', 0, null, { level, code, description });
}

/** Sends bytes to the client as they are (for garbage tests). */
export function sendRaw(session: FakeSession, bytes: Buffer): void {
  session.socket.write(bytes);
}

/** Set Peer Bandwidth (RTMP §5.4.5), which only a server sends; `limitType` 2 is dynamic. */
function setPeerBandwidthMessage(windowBytes: number, limitType: 0 | 1 | 2): RtmpMessage {
  const payload = Buffer.alloc(5);
  payload.writeUInt32BE(windowBytes, 0);
  payload[4] = limitType;
  return {
    chunkStreamId: ChunkStreamId.PROTOCOL_CONTROL,
    messageTypeId: MessageType.SET_PEER_BANDWIDTH,
    messageStreamId: 0,
    timestamp: 0,
    payload,
  };
}
