import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { exCodedFramesTag, exSequenceStartTag, VIDEO_FOURCC } from '../flv/enhanced-tags.js';
import { multitrackOnMetaData, oneTrackVideoTag } from '../flv/multitrack-tags.js';
import { aacSequenceHeaderTag, packetTag, videoSequenceHeaderTag } from '../flv/tags.js';
import { InvalidStateError } from '../core/errors.js';
import type { EncodedPacket, StreamConfig, VideoCodec, VideoConfig } from '../media/packet.js';
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
  /** Enhanced RTMP multitrack: the renditions sent as video tracks 0, 1, … (undefined: the main one); empty: one. */
  readonly videoTracks?: readonly (string | undefined)[];
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
    const adapter = new RtmpTransportConnection(
      this.#clock,
      connection,
      url,
      this.#options.streamConfig,
      this.#options.videoTracks ?? [],
    );
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

/** The video configurations of `tracks` (by track id) in `config`; a rendition not running is an error. */
function trackConfigs(config: StreamConfig, tracks: readonly (string | undefined)[]): VideoConfig[] {
  return tracks.map((name) => {
    const video = name === undefined ? config.video : config.renditions?.get(name);
    if (!video)
      throw new InvalidStateError(`the rendition ${name ?? 'main'} of a video track is not running`);
    return video;
  });
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
  readonly #videoTracks: readonly (string | undefined)[];
  /** Multitrack: the tracks' configurations as this connection's metadata announced them; null before. */
  #trackConfigs: readonly VideoConfig[] | null = null;
  /** Multitrack: the tracks whose SequenceStart went out. */
  readonly #tracksStarted = new Set<number>();

  /** `url`: the publish URL of `connection` (where a reconnect request is resolved from). */
  constructor(
    clock: Clock,
    connection: RtmpConnection,
    url: string,
    streamConfig: () => StreamConfig,
    videoTracks: readonly (string | undefined)[],
  ) {
    super();
    this.#clock = clock;
    this.#connection = connection;
    this.#url = url;
    this.#streamConfig = streamConfig;
    this.#videoTracks = videoTracks;
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

  get heldBytes(): number {
    return this.#connection.heldBytes;
  }

  get deliveryVisible(): boolean {
    return this.#kernelQueue?.visible ?? this.#connection.tcpPorts !== undefined;
  }

  get writable(): boolean {
    return this.#connection.state === 'publishing';
  }

  write(packet: EncodedPacket, timestampMs: number): TransportWrite {
    if (this.#videoTracks.length > 0) return this.#writeMultitrack(packet, timestampMs);
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

  /**
   * Multitrack (Enhanced RTMP v2, "Multitrack Streaming"): onMetaData with videoTrackIdInfoMap before
   * the first packet; each track's SequenceStart before its first frame; every video message a OneTrack
   * of its track (H.264 as `avc1` too: only enhanced tags carry a track id). Audio as ever.
   */
  #writeMultitrack(packet: EncodedPacket, timestampMs: number): TransportWrite {
    const connection = this.#connection;
    // Kept for the connection: a stop flushes what is queued after the encoders closed.
    let tracks = this.#trackConfigs;
    if (tracks === null) {
      const config = this.#streamConfig();
      tracks = this.#trackConfigs = trackConfigs(config, this.#videoTracks);
      connection.writeMetadata(multitrackOnMetaData(config, tracks), timestampMs);
    }
    if (packet.kind === 'audio') {
      if (!this.#audioStarted) {
        this.#audioStarted = true;
        const audio = this.#streamConfig().audio;
        if (audio) connection.writeAudio(timestampMs, aacSequenceHeaderTag(audio.audioSpecificConfig));
      }
      return connection.writeAudio(timestampMs, packetTag(packet));
    }
    const track = this.#videoTracks.indexOf(packet.rendition);
    const video = tracks[track];
    if (video === undefined) throw new InvalidStateError(`rendition ${packet.rendition} is not a track here`);
    const fourCc = VIDEO_FOURCC[video.codec];
    if (!this.#tracksStarted.has(track)) {
      // Each track starts at its own keyframe on this connection: a server-requested move switches at
      // one track's keyframe, and another's of the same instant may have gone out on the old one.
      if (!packet.keyframe) return { endOffset: connection.bytesWritten, ok: true };
      this.#tracksStarted.add(track);
      const start = exSequenceStartTag(fourCc, video.decoderConfigurationRecord);
      connection.writeVideo(timestampMs, oneTrackVideoTag(track, start));
    }
    const ctsMs = Math.round(packet.ptsUs / 1000) - Math.round(packet.dtsUs / 1000);
    const frame = exCodedFramesTag(fourCc, packet.data, packet.keyframe, ctsMs);
    return connection.writeVideo(timestampMs, oneTrackVideoTag(track, frame));
  }

  limitHandOver(bytes: number): void {
    this.#connection.limitHandOver(bytes);
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
