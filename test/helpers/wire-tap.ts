/**
 * A passive, RTMP-aware loopback relay: publisher → tap → server. It forwards every byte as soon as it
 * reads it (pausing the sender only while the next hop pushes back, like a kernel would) and parses both
 * directions with its own chunk reader — independent of src/rtmp, so it checks our code instead of
 * trusting it — to record WHEN each audio/video message fully ARRIVED, which is where latency counts.
 *
 * Under tc shaping, shape the traffic to the TAP's port (publisher → tap), not the server's: the tap must
 * see bytes when a server behind the bottleneck would.
 *
 * Latency at the receiver, per TCP connection c, for its media message i:
 *   latency_i = (arrivalMs_i − arrivalMs_ref) − (timestampMs_i − timestampMs_ref)
 * with ref the connection's first media message ('first', default) or the message with the smallest
 * arrivalMs − timestampMs ('min', robust when the first one was already late). It is the age of media
 * when it reached the receiver, beyond the reference's. Every connection has its own reference, so a
 * reconnect (new timestamps, new link state) never mixes with the previous connection;
 * `sessionLatenciesMs()` instead keeps the first connection's reference across reconnects, which shows
 * whether timestamps really "resume at NOW" (a backlog or a timeline reset shows up as a jump).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RtmpChunkReader, type RtmpMessage } from './rtmp-chunk-reader.js';

/** One audio or video message as the tap saw it arrive. */
export interface MediaArrival {
  /** performance.now() when its last byte was read, ms. */
  arrivalMs: number;
  /** RTMP message timestamp, ms. */
  timestampMs: number;
  /** 8 audio, 9 video. */
  type: 8 | 9;
  /** Payload size, bytes. */
  size: number;
  /** Video frame type 1 (keyframe); false for audio. */
  keyframe: boolean;
  /** AVC/AAC (or Enhanced RTMP) sequence header. */
  sequenceHeader: boolean;
  /** AVC end of sequence (or Enhanced RTMP SequenceEnd): no frame, sent when a publisher stops. */
  sequenceEnd: boolean;
}

/** Whether a media message carries a coded frame (not a sequence header or end of sequence). */
export function isFrame(m: MediaArrival): boolean {
  return !m.sequenceHeader && !m.sequenceEnd;
}

/** A protocol control or command message seen on the wire. */
export interface WireMessage {
  /** performance.now() on arrival, ms. */
  arrivalMs: number;
  /** RTMP message type id. */
  type: number;
  /** RTMP timestamp, ms. */
  timestampMs: number;
  /** For control messages 1, 3, 5, 6: the 32-bit value (chunk size, sequence number, window size). */
  value?: number;
  /** For AMF0 commands/data (18, 20): the command name, e.g. 'publish' or 'onStatus'. */
  command?: string;
  /** For onStatus: the status code, e.g. 'NetStream.Publish.Start'. */
  statusCode?: string;
}

/** Everything recorded for one TCP connection through the tap. */
export interface TapConnection {
  /** 0, 1, 2… in accept order. */
  readonly id: number;
  /** performance.now() at accept, ms. */
  readonly openedAtMs: number;
  /** performance.now() when either side closed, ms. */
  closedAtMs: number | undefined;
  /** Audio/video messages from the client, in arrival order. */
  readonly media: MediaArrival[];
  /** Other messages from the client (Set Chunk Size, Window Ack Size, commands…). */
  readonly fromClient: WireMessage[];
  /** Messages from the server (Acknowledgements, Window Ack Size, onStatus…). */
  readonly fromServer: WireMessage[];
  /** Bytes relayed client → server. */
  bytesFromClient: number;
  /** Bytes relayed server → client. */
  bytesFromServer: number;
  /** First parse error in either direction (the relay keeps forwarding regardless). */
  parseError: string | undefined;
  /** New messages starting with a fmt-3 header right after a fmt-0 one (timestamp meaning is ambiguous). */
  ambiguousFmt3: number;
}

/** Options of `startWireTap()`. */
export interface WireTapOptions {
  /** Port of the real server on 127.0.0.1. */
  targetPort: number;
  /** Port to listen on; default a free one. */
  listenPort?: number;
}

/** A running wire tap. */
export interface WireTap {
  /** Port the tap listens on (point the publisher here). */
  readonly port: number;
  /** `rtmp://127.0.0.1:TAPPORT/app/key`. */
  url(app?: string, key?: string): string;
  /** Every connection so far, in accept order. */
  readonly connections: readonly TapConnection[];
  /** Per-connection receiver latencies (see the file comment), ms, in arrival order. */
  latenciesMs(connection: TapConnection, reference?: 'first' | 'min', type?: 8 | 9): number[];
  /** Latencies over all connections with the first connection's reference, ms. */
  sessionLatenciesMs(type?: 8 | 9): number[];
  /**
   * Stops listening (new connects are refused, relayed connections go on), so that a server killed
   * behind the tap looks refused to the publisher, as it would without the tap; `resume()` listens again.
   */
  suspend(): Promise<void>;
  /** Listens again on the same port after `suspend()`. */
  resume(): Promise<void>;
  /** Closes the listener and every relayed connection. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a wire tap on 127.0.0.1 in front of `targetPort`. */
export async function startWireTap(options: WireTapOptions): Promise<WireTap> {
  const connections: TapConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const conn: TapConnection = {
      id: connections.length,
      openedAtMs: performance.now(),
      closedAtMs: undefined,
      media: [],
      fromClient: [],
      fromServer: [],
      bytesFromClient: 0,
      bytesFromServer: 0,
      parseError: undefined,
      ambiguousFmt3: 0,
    };
    connections.push(conn);
    const upstream = connect(options.targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    const fromClient = new RtmpChunkReader((m) => onClientMessage(conn, m));
    const fromServer = new RtmpChunkReader((m) => conn.fromServer.push(wireMessage(m)));
    relay(client, upstream, (chunk) => {
      conn.bytesFromClient += chunk.length;
      conn.parseError ??= fromClient.push(chunk, performance.now());
      conn.ambiguousFmt3 = fromClient.ambiguousFmt3;
    });
    relay(upstream, client, (chunk) => {
      conn.bytesFromServer += chunk.length;
      conn.parseError ??= fromServer.push(chunk, performance.now());
    });
    const close = (): void => {
      conn.closedAtMs ??= performance.now();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  const listen = (at: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(options.listenPort ?? 0);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped: Promise<void> | undefined;
  let listening = true;

  const latenciesMs: WireTap['latenciesMs'] = (connection, reference = 'first', type) =>
    latencies(connection.media, reference, type);
  return {
    port,
    url: (app = 'live', key = 'test') => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    connections,
    latenciesMs,
    sessionLatenciesMs: (type) => {
      const all = connections.flatMap((c) => c.media);
      return latencies(all, 'first', type);
    },
    suspend: async () => {
      if (!listening) return;
      listening = false;
      // close() stops accepting at once; its callback waits for relayed connections, which go on.
      server.close();
    },
    resume: async () => {
      if (listening || stopped) return;
      listening = true;
      await listen(port);
    },
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        if (listening) server.close(() => resolve());
        else resolve();
        listening = false;
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

function latencies(media: readonly MediaArrival[], reference: 'first' | 'min', type?: 8 | 9): number[] {
  const frames = media.filter(isFrame);
  if (frames.length === 0) return [];
  const offsets = frames.map((m) => m.arrivalMs - m.timestampMs);
  const base = reference === 'first' ? (offsets[0] ?? 0) : offsets.reduce((a, b) => Math.min(a, b));
  return frames
    .filter((m) => type === undefined || m.type === type)
    .map((m) => m.arrivalMs - m.timestampMs - base);
}

// Forward immediately; pause the source only while the destination pushes back (bounded to one read).
function relay(from: Socket, to: Socket, observe: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    observe(chunk);
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

function onClientMessage(conn: TapConnection, message: RtmpMessage): void {
  if (message.type === 8 || message.type === 9) {
    conn.media.push(mediaArrival(message));
  } else {
    conn.fromClient.push(wireMessage(message));
  }
}

function mediaArrival(m: RtmpMessage): MediaArrival {
  const b0 = m.head[0] ?? 0;
  const b1 = m.head[1] ?? 0;
  if (m.type === 8) {
    const aac = b0 >> 4 === 10;
    return { ...base(m), type: 8, keyframe: false, sequenceHeader: aac && b1 === 0, sequenceEnd: false };
  }
  const exHeader = (b0 & 0x80) !== 0; // Enhanced RTMP v2
  const frameType = exHeader ? (b0 >> 4) & 0x07 : b0 >> 4;
  const avc = (b0 & 0x0f) === 7;
  const sequenceHeader = exHeader ? (b0 & 0x0f) === 0 : avc && b1 === 0;
  const sequenceEnd = exHeader ? (b0 & 0x0f) === 2 : avc && b1 === 2;
  return { ...base(m), type: 9, keyframe: frameType === 1 && !sequenceEnd, sequenceHeader, sequenceEnd };
}

function base(m: RtmpMessage): { arrivalMs: number; timestampMs: number; size: number } {
  return { arrivalMs: m.arrivalMs, timestampMs: m.timestampMs, size: m.length };
}

function wireMessage(m: RtmpMessage): WireMessage {
  const out: WireMessage = { arrivalMs: m.arrivalMs, type: m.type, timestampMs: m.timestampMs };
  if (m.type >= 1 && m.type <= 6 && m.type !== 4 && m.head.length >= 4) out.value = m.head.readUInt32BE(0);
  if (m.type === 18 || m.type === 20) {
    const command = amf0String(m.head, 0);
    if (command !== undefined) out.command = command;
    const status = /NetStream\.[A-Za-z.]+|NetConnection\.[A-Za-z.]+/.exec(m.head.toString('latin1'));
    if (command === 'onStatus' || command === '_error' || command === '_result') {
      if (status !== null) out.statusCode = status[0];
    }
  }
  return out;
}

function amf0String(buf: Buffer, at: number): string | undefined {
  if (buf.length < at + 3 || buf[at] !== 2) return undefined;
  const length = buf.readUInt16BE(at + 1);
  return buf.toString('utf8', at + 3, Math.min(buf.length, at + 3 + length));
}

/** Percentile (nearest rank) of `values`, p in 0..100; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

/** Summary statistics of a list of numbers (NaN fields when empty). */
export interface Summary {
  /** Number of values. */
  count: number;
  /** Smallest value. */
  min: number;
  /** Median (nearest rank). */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Largest value. */
  max: number;
  /** Arithmetic mean. */
  mean: number;
}

/** count/min/p50/p90/p99/max/mean of `values`. */
export function summarize(values: readonly number[]): Summary {
  const mean = values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
  return {
    count: values.length,
    min: values.length === 0 ? NaN : values.reduce((a, b) => Math.min(a, b)),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length === 0 ? NaN : values.reduce((a, b) => Math.max(a, b)),
    mean,
  };
}

/** Media messages per second over a connection's lifetime, for one type (e.g. ~30 video msgs/s). */
export function messageRate(connection: TapConnection, type: 8 | 9): number {
  const frames = connection.media.filter((m) => m.type === type && isFrame(m));
  const first = frames[0];
  const last = frames[frames.length - 1];
  if (first === undefined || last === undefined || frames.length < 2) return 0;
  return ((frames.length - 1) * 1000) / (last.arrivalMs - first.arrivalMs);
}
