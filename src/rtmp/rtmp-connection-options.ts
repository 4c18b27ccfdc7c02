import net, { isIP } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { ConfigError } from '../core/errors.js';
import { validateNegotiation, type NegotiationRequest } from './enhanced-negotiation.js';

/** What a SocketConnector opens: the server's address, and TLS options for rtmps:// (null for rtmp://). */
export interface ConnectTarget {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** `tls.connect()` options for rtmps://, null for plain RTMP. */
  readonly tls: ConnectionOptions | null;
}

/** The byte stream an RtmpConnection runs on: what `net.Socket` and `tls.TLSSocket` offer, and a test's in-memory socket. */
export interface RtmpSocket {
  /** Queues bytes; false once the buffer is past its high-water mark (`drain` follows). */
  write(data: Uint8Array): boolean;
  /** Sends FIN after what is queued. */
  end(): unknown;
  /** Closes at once. */
  destroy(error?: Error): unknown;
  /** Bytes queued in user space. */
  readonly writableLength: number;
  /** Our port, when the socket has one (to find it in the kernel's socket table). */
  readonly localPort?: number | undefined;
  /** The server's port, when the socket has one. */
  readonly remotePort?: number | undefined;
  /** Turns Nagle off. */
  setNoDelay(noDelay: boolean): unknown;
  /** TCP keep-alive. */
  setKeepAlive(enable: boolean, initialDelayMs: number): unknown;
  /** Incoming bytes. */
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  /** A socket error. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Closed, or drained. */
  on(event: 'close' | 'drain', listener: () => void): unknown;
  /** Closed. */
  once(event: 'close', listener: () => void): unknown;
}

/** When a SocketConnector's socket reaches each step. */
export interface ConnectProgress {
  /** TCP is up (for rtmps://, the TLS handshake starts now). */
  onTcpConnected(): void;
  /** The socket is ready for RTMP (after TLS for rtmps://). */
  onReady(): void;
}

/**
 * Opens the byte stream to a server, as undici's `connect` option does: the default opens a TCP or
 * TLS socket; tests inject an in-memory one. Errors and the close come as the socket's own events.
 */
export type SocketConnector = (target: ConnectTarget, progress: ConnectProgress) => RtmpSocket;

/** The default SocketConnector: `net.connect`, or `tls.connect` for rtmps://. */
export const connectSocket: SocketConnector = (target, progress) => {
  if (target.tls) {
    const socket = tls.connect(target.tls, () => progress.onReady());
    socket.once('connect', () => progress.onTcpConnected());
    return socket;
  }
  return net.connect({ host: target.host, port: target.port }, () => {
    progress.onTcpConnected();
    progress.onReady();
  });
};

/** TLS settings for rtmps:// (certificate validation is on unless turned off here). */
export interface RtmpTlsOptions {
  /** Verify the server certificate against `ca` or the system CAs; default true. Off only for tests. */
  readonly rejectUnauthorized?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a test server's self-signed CA. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** SNI and certificate host name; default the URL's host (omitted for IP addresses). */
  readonly servername?: string;
}

/** Options of one RtmpConnection. */
export interface RtmpConnectionOptions {
  /** Publish URL `rtmp[s]://host[:port]/app[/instance]/streamKey`; required. */
  readonly url: string;
  /** TCP (and TLS) connect timeout, milliseconds; default 10000. */
  readonly connectTimeoutMs: number;
  /** RTMP handshake timeout (C0/C1 sent → S2 received), milliseconds; default 10000. */
  readonly handshakeTimeoutMs: number;
  /** Timeout of connect → createStream → publish until `NetStream.Publish.Start`, milliseconds; default 10000. */
  readonly publishTimeoutMs: number;
  /** Longest graceful close (FCUnpublish, deleteStream, flush, FIN) before destroying, milliseconds; default 2000. */
  readonly closeTimeoutMs: number;
  /** Our outgoing chunk size, bytes, announced with Set Chunk Size; default 4096. */
  readonly chunkSizeBytes: number;
  /**
   * Window Acknowledgement Size we send, bytes: the server acknowledges every this many bytes
   * (RTMP §5.4.4); default 16384 — about 20 acknowledgements a second at 2.5 Mbit/s, 5 at 665 kbit/s,
   * so delivered latency is known to within a few hundred milliseconds even when congested. Two
   * windows are the least the output keeps in flight (or acknowledgements would stop), so on a slow
   * link the window is latency: 32768 let the receiver's p95 reach 2.7-2.8 s at 665 kbit/s against a
   * 2 s maxLatencyMs, 16384 kept it at 2.3 s with as many frames delivered.
   */
  readonly windowAckSizeBytes: number;
  /** TCP keep-alive initial delay, milliseconds; default 10000. */
  readonly keepAliveInitialDelayMs: number;
  /** flashVer of the connect command; default `FMLE/3.0 (compatible; steadycast)`. */
  readonly flashVer?: string;
  /** TLS settings for rtmps://. */
  readonly tls?: RtmpTlsOptions;
  /** Opens the socket; default `connectSocket` (TCP or TLS). Tests inject an in-memory socket. */
  readonly connect?: SocketConnector;
  /**
   * This URL has published before (set by the output on reconnections): a close during the handshake
   * then means the server is not ready yet (restarting behind a proxy), not that it is no RTMP server.
   */
  readonly publishedBefore?: boolean;
  /**
   * Enhanced RTMP negotiation: the video codecs this session may send (preference order) and the
   * capsEx bits it supports; default H.264 only with capsEx Reconnect (`defaultNegotiation()`: the
   * connect gains `capsEx: 1`, which legacy servers skip; `capsEx: 0` leaves it as they always saw it).
   */
  readonly negotiation?: NegotiationRequest;
}

/** Defaults of every RtmpConnection option but `url` (a new object each call). */
export function rtmpConnectionDefaults(): Omit<RtmpConnectionOptions, 'url'> {
  return {
    connectTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
    publishTimeoutMs: 10_000,
    closeTimeoutMs: 2_000,
    chunkSizeBytes: 4096,
    windowAckSizeBytes: 16 * 1024,
    keepAliveInitialDelayMs: 10_000,
  };
}

/** Fills defaults and checks every field; throws `ConfigError` naming the field, value and fix. */
export function validateRtmpConnectionOptions(
  options: Partial<RtmpConnectionOptions> & { readonly url: string },
): RtmpConnectionOptions {
  const merged: RtmpConnectionOptions = { ...rtmpConnectionDefaults(), ...stripUndefined(options) };
  const range = (field: keyof RtmpConnectionOptions, min: number, max: number, fix: string): void => {
    const value = merged[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(field, value, fix);
    }
  };
  if (typeof merged.url !== 'string' || merged.url === '') {
    throw new ConfigError('url', merged.url, 'give the publish URL, rtmp[s]://host/app/STREAM_KEY');
  }
  range('connectTimeoutMs', 1, 600_000, 'use milliseconds from 1 to 600000');
  range('handshakeTimeoutMs', 1, 600_000, 'use milliseconds from 1 to 600000');
  range('publishTimeoutMs', 1, 600_000, 'use milliseconds from 1 to 600000');
  range('closeTimeoutMs', 0, 600_000, 'use milliseconds from 0 to 600000');
  range('chunkSizeBytes', 128, 0xffffff, 'use bytes from 128 to 16777215 (4096 is usual)');
  range('windowAckSizeBytes', 1024, 0x7fffffff, 'use bytes from 1024 up (16384 is the default)');
  range('keepAliveInitialDelayMs', 0, 3_600_000, 'use milliseconds from 0 to 3600000');
  if (merged.negotiation) validateNegotiation(merged.negotiation);
  return merged;
}

function stripUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

/** `tls.connect()` options: SNI = the host (not for IP addresses), certificate checks on by default. */
export function tlsConnectOptions(host: string, port: number, tls: RtmpTlsOptions = {}): ConnectionOptions {
  return {
    host,
    port,
    servername: tls.servername ?? (isIP(host) === 0 ? host : undefined),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | Array<string | Buffer> }),
  };
}
