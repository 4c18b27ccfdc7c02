import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { aacSequenceHeaderTag, packetTag, videoSequenceHeaderTag } from '../flv/tags.js';
import type { EncodedPacket, StreamConfig, VideoCodec } from '../media/packet.js';
import { VIDEO_FOURCC } from '../flv/enhanced-tags.js';
import { defaultNegotiation } from '../rtmp/enhanced-negotiation.js';
import { RtmpCodecRefusedError, RtmpRejectedAfterStartError } from '../rtmp/errors.js';
import { rtmpConnectionDefaults, type RtmpConnectionOptions } from '../rtmp/rtmp-connection-options.js';
import { RtmpConnection } from '../rtmp/rtmp-connection.js';
import { reconnectUrl, redact, redactUrl, secretsOf } from '../rtmp/url.js';
import { AckCounter } from './ack-counter.js';
import { KernelSendQueue } from './kernel-send-queue.js';
import type {
  CodecNegotiation,
  ReconnectTarget,
  Transport,
  TransportConnection,
  TransportConnectionEvents,
  TransportWrite,
} from './transport.js';

/** Options of an RtmpTransport. */
export interface RtmpTransportOptions {
  /** `rtmp[s]://host[:port]/app[/instance]/streamKey`. */
  readonly url: string;
  /** Socket-level options (timeouts, TLS trust, Window Acknowledgement Size, an injected connector). */
  readonly connection: Partial<Omit<RtmpConnectionOptions, 'url' | 'publishedBefore'>>;
  /** The streams' configuration now (the bitrate in use included): what metadata and headers announce. */
  readonly streamConfig: () => StreamConfig;
}

/** A publish URL a server asked us to move to. The URL itself is private: printing a target never shows the key. */
class RtmpReconnectTarget implements ReconnectTarget {
  readonly redactedUrl: string;
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
    this.redactedUrl = redactUrl(url);
  }

  /** The publish URL, stream key included. */
  get url(): string {
    return this.#url;
  }
}

/** RTMP as a transport: one RtmpConnection per `open()`, FLV tags on it. */
export class RtmpTransport implements Transport {
  /**
   * The destination as configured, stream key hidden: the output's name in stats, events and metric
   * labels, so it stays the same when a server's reconnect request moves the stream elsewhere.
   */
  readonly redactedUrl: string;
  readonly #clock: Clock;
  readonly #options: RtmpTransportOptions;
  #url: string;
  #negotiation: CodecNegotiation | null = null;
  /** The codec the session encodes, once settled: what later connections ask for alone. */
  #settledCodec: VideoCodec | null = null;

  constructor(clock: Clock, options: RtmpTransportOptions) {
    this.#clock = clock;
    this.#options = options;
    this.#url = options.url;
    this.redactedUrl = redactUrl(options.url);
  }

  /** The Window Acknowledgement Size this transport asks of the server (RTMP §5.4.4), bytes. */
  get ackWindowBytes(): number {
    return this.#options.connection.windowAckSizeBytes ?? rtmpConnectionDefaults().windowAckSizeBytes;
  }

  get codecNegotiation(): CodecNegotiation | null {
    const negotiation = this.#negotiation;
    if (negotiation === null || this.#settledCodec === null) return negotiation;
    return { ...negotiation, videoCodec: this.#settledCodec };
  }

  settleVideoCodec(codec: VideoCodec): Error | null {
    this.#settledCodec = codec;
    const negotiation = this.#negotiation;
    if (negotiation === null || negotiation.accepted.includes(codec)) return null;
    const takes = negotiation.accepted.map((c) => VIDEO_FOURCC[c]);
    return new RtmpCodecRefusedError(this.redactedUrl, [codec], takes);
  }

  async open(
    signal: AbortSignal,
    publishedBefore: boolean,
    target?: ReconnectTarget,
  ): Promise<TransportConnection> {
    const url = target === undefined ? this.#url : rtmpTargetUrl(target);
    const connection = new RtmpConnection(
      { ...this.#connectionOptions(), url, publishedBefore },
      this.#clock,
    );
    // Listening before connect(): the connection may end in the very read that starts publishing.
    const adapter = new RtmpTransportConnection(this.#clock, connection, url, this.#options.streamConfig);
    connection.once('publishing', ({ negotiation }) => {
      const { videoCodec, state, accepted } = negotiation;
      this.#negotiation = { videoCodec, state, accepted };
    });
    await connection.connect(signal);
    return adapter;
  }

  /** The connection options, asking for the settled codec alone once there is one. */
  #connectionOptions(): RtmpTransportOptions['connection'] {
    const given = this.#options.connection;
    const codec = this.#settledCodec;
    if (codec === null) return given;
    const capsEx = given.negotiation?.capsEx ?? defaultNegotiation().capsEx;
    return { ...given, negotiation: { videoCodecs: [codec], capsEx } };
  }

  moveTo(target: ReconnectTarget): void {
    this.#url = rtmpTargetUrl(target);
  }

  rejectedAfterStart(cause: Error): Error {
    return new RtmpRejectedAfterStartError(this.redactedUrl, cause);
  }
}

function rtmpTargetUrl(target: ReconnectTarget): string {
  if (!(target instanceof RtmpReconnectTarget)) throw new TypeError('not a target of an RTMP connection');
  return target.url;
}

/** `config` as one rendition sees it: its video is that rendition's. */
function withRendition(config: StreamConfig, rendition: string | undefined): StreamConfig {
  const video = rendition === undefined ? config.video : config.renditions?.get(rendition);
  return video ? { ...config, video } : config;
}

/**
 * One publishing RtmpConnection as a TransportConnection: each stream's sequence header goes right
 * before its first packet (metadata before the first of all), at that packet's timestamp, so no
 * stream's timestamps step backwards; acknowledgements are unwrapped by one AckCounter; where the
 * server does not acknowledge, the kernel's send queue (Linux) says what was delivered.
 */
class RtmpTransportConnection extends TypedEmitter<TransportConnectionEvents> implements TransportConnection {
  readonly closed: Promise<Error | undefined>;
  readonly #clock: Clock;
  readonly #connection: RtmpConnection;
  readonly #url: string;
  readonly #streamConfig: () => StreamConfig;
  readonly #acks = new AckCounter();
  #videoCodec: VideoCodec = 'h264';
  /** The rendition the last onMetaData described (undefined: the main one); null before any. */
  #metadataRendition: string | undefined | null = null;
  #audioStarted = false;
  /** The rendition whose sequence header went out last; null before the first video packet. */
  #videoRendition: string | undefined | null = null;
  #kernelQueue: KernelSendQueue | null = null;

  /** `url`: the publish URL of `connection` (where a reconnect request is resolved from). */
  constructor(clock: Clock, connection: RtmpConnection, url: string, streamConfig: () => StreamConfig) {
    super();
    this.#clock = clock;
    this.#connection = connection;
    this.#url = url;
    this.#streamConfig = streamConfig;
    this.closed = new Promise((resolve) =>
      connection.once('closed', (error) => {
        this.#kernelQueue?.close();
        resolve(error);
      }),
    );
    connection.on('drain', () => this.emit('drain'));
    connection.on('reconnectRequest', ({ tcUrl, description }) => {
      try {
        const target = new RtmpReconnectTarget(reconnectUrl(this.#url, tcUrl));
        this.emit('reconnectRequest', { target, problem: null, description });
      } catch (error) {
        // A tcUrl we cannot follow: the server may echo anything, the key included.
        const problem = redact(error instanceof Error ? error.message : String(error), secretsOf(this.#url));
        this.emit('reconnectRequest', { target: null, problem, description });
      }
    });
    connection.on('acknowledgement', (sequence) =>
      this.emit('acknowledged', this.#acks.acknowledge(sequence, connection.bytesWritten)),
    );
  }

  get bytesWritten(): number {
    return this.#connection.bytesWritten;
  }

  get bufferedBytes(): number {
    return this.#connection.writableLength;
  }

  get deliveryVisible(): boolean {
    return this.#kernelQueue?.visible ?? this.#connection.tcpPorts !== undefined;
  }

  get writable(): boolean {
    return this.#connection.state === 'publishing';
  }

  write(packet: EncodedPacket, timestampMs: number): TransportWrite {
    const connection = this.#connection;
    if (packet.kind === 'video' && packet.rendition !== this.#videoRendition) {
      // The first video, or a move to another rendition (at its keyframe): what it is, then its header.
      const config = withRendition(this.#streamConfig(), packet.rendition);
      if (this.#metadataRendition !== packet.rendition) connection.writeMetadata(config, timestampMs);
      this.#metadataRendition = packet.rendition;
      this.#videoRendition = packet.rendition;
      if (config.video) {
        this.#videoCodec = config.video.codec;
        connection.writeVideo(timestampMs, videoSequenceHeaderTag(config.video));
      }
    }
    if (packet.kind === 'audio' && !this.#audioStarted) {
      const config = this.#streamConfig();
      if (this.#metadataRendition === null) {
        connection.writeMetadata(config, timestampMs); // it describes the main video
        this.#metadataRendition = undefined;
      }
      this.#audioStarted = true;
      if (config.audio)
        connection.writeAudio(timestampMs, aacSequenceHeaderTag(config.audio.audioSpecificConfig));
    }
    const body = packetTag(packet, this.#videoCodec);
    return packet.kind === 'video'
      ? connection.writeVideo(timestampMs, body)
      : connection.writeAudio(timestampMs, body);
  }

  requestDeliveryReading(): void {
    const connection = this.#connection;
    if (connection.acknowledgementsReceived > 0 || connection.state !== 'publishing') return;
    this.#kernelQueue ??= new KernelSendQueue(this.#clock, connection.tcpPorts);
    // Bytes handed to the kernel when the read starts: what it reports is at most that (conservative).
    const handedOverBytes = connection.bytesWritten - connection.writableLength;
    const atUs = this.#clock.nowUs();
    this.#kernelQueue.request((undeliveredBytes) => {
      if (connection.state === 'publishing')
        this.emit('delivery', { atUs, handedOverBytes, undeliveredBytes });
    });
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  destroy(error: Error): void {
    this.#connection.destroy(error);
  }
}
