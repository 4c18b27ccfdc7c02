import { FormatContext, Packet, Rational, type Stream } from 'node-av';
import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_CHANNEL_LAYOUT_STEREO,
  AV_CODEC_ID_AAC,
  AV_CODEC_ID_AV1,
  AV_CODEC_ID_H264,
  AV_CODEC_ID_HEVC,
  AV_PKT_FLAG_KEY,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
} from 'node-av/constants';
import { MediaError } from '../core/errors.js';
import { SerialWorker } from '../core/serial-worker.js';
import type { EncodedPacket, StreamConfig, VideoCodec } from '../media/packet.js';
import type { PacketSink } from './packet-sink.js';

const US = new Rational(1, 1_000_000);

/** FFmpeg's codec of each video codec; its FLV and MP4 muxers take the configuration record as extradata. */
const CODEC_IDS: Record<VideoCodec, typeof AV_CODEC_ID_H264> = {
  h264: AV_CODEC_ID_H264,
  hevc: AV_CODEC_ID_HEVC,
  av1: AV_CODEC_ID_AV1,
};

/** Counters of the FileRecorder. */
export interface FileRecorderStats {
  /** Packets written to the file. */
  readonly packetsWritten: number;
  /** Media bytes written (payloads, container overhead excluded). */
  readonly bytesWritten: number;
  /** Packets waiting for the disk. */
  readonly packetsQueued: number;
}

/**
 * Records the session's packets to a local file through node-av's muxer (format from the file
 * name: .flv, .mp4, .mkv, .ts). It never drops: every packet is queued and written in order,
 * off the caller's path.
 */
export class FileRecorder implements PacketSink {
  /** Path of the file being written. */
  readonly path: string;
  readonly #context: FormatContext;
  readonly #videoStream: Stream | null;
  readonly #audioStream: Stream | null;
  readonly #worker: SerialWorker<EncodedPacket>;
  #error: Error | null = null;
  #closed = false;
  #packetsWritten = 0;
  #bytesWritten = 0;

  private constructor(path: string, context: FormatContext, video: Stream | null, audio: Stream | null) {
    this.path = path;
    this.#context = context;
    this.#videoStream = video;
    this.#audioStream = audio;
    this.#worker = new SerialWorker(
      (packet) => this.#write(packet),
      (error) => (this.#error ??= error),
    );
  }

  /** Creates the file and writes its header. */
  static async open(path: string, config: StreamConfig): Promise<FileRecorder> {
    const context = new FormatContext();
    let ret = context.allocOutputContext2(null, null, path);
    if (ret < 0) {
      throw new MediaError(`creating ${path}`, 'unknown container; name the file .flv, .mp4, .mkv or .ts');
    }
    let video: Stream | null = null;
    let audio: Stream | null = null;
    if (config.video) {
      video = context.newStream(null);
      const p = video.codecpar;
      p.codecType = AVMEDIA_TYPE_VIDEO;
      p.codecId = CODEC_IDS[config.video.codec];
      p.width = config.video.width;
      p.height = config.video.height;
      p.bitRate = BigInt(config.video.bitrateBps);
      p.extradata = config.video.decoderConfigurationRecord;
      video.timeBase = US;
    }
    if (config.audio) {
      audio = context.newStream(null);
      const p = audio.codecpar;
      p.codecType = AVMEDIA_TYPE_AUDIO;
      p.codecId = AV_CODEC_ID_AAC;
      p.sampleRate = config.audio.sampleRate;
      p.channelLayout = config.audio.channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
      p.frameSize = 1024;
      p.bitRate = BigInt(config.audio.bitrateBps);
      p.extradata = config.audio.audioSpecificConfig;
      audio.timeBase = new Rational(1, config.audio.sampleRate);
    }
    ret = await context.openOutput();
    if (ret < 0) {
      context.freeContext();
      throw new MediaError(
        `opening ${path} for writing`,
        `error ${ret}; check the folder exists and is writable`,
      );
    }
    ret = await context.writeHeader(null);
    if (ret < 0) {
      await context.closeOutput();
      context.freeContext();
      throw new MediaError(`writing the header of ${path}`, `error ${ret}`);
    }
    return new FileRecorder(path, context, video, audio);
  }

  /** Snapshot of the recorder's counters. */
  get stats(): FileRecorderStats {
    return {
      packetsWritten: this.#packetsWritten,
      bytesWritten: this.#bytesWritten,
      packetsQueued: this.#worker.length,
    };
  }

  /** The first write error, if any (later packets are still queued but not written). */
  get error(): Error | null {
    return this.#error;
  }

  writePacket(packet: EncodedPacket): void {
    // The recording is the main rendition; lower ones made for slow destinations are not its stream.
    if (this.#closed || packet.rendition !== undefined) return;
    this.#worker.push(packet);
  }

  /** Writes everything queued, then the trailer, and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker.drained();
    const ret = await this.#context.writeTrailer();
    await this.#context.closeOutput();
    this.#context.freeContext();
    if (ret < 0 && !this.#error) this.#error = new MediaError(`finishing ${this.path}`, `error ${ret}`);
    if (this.#error) throw this.#error;
  }

  async #write(next: EncodedPacket): Promise<void> {
    const stream = next.kind === 'video' ? this.#videoStream : this.#audioStream;
    if (!stream || this.#error) return;
    const packet = new Packet();
    packet.alloc();
    packet.data = next.data;
    packet.pts = BigInt(next.ptsUs);
    packet.dts = BigInt(next.dtsUs);
    packet.timeBase = US;
    packet.rescaleTs(US, stream.timeBase);
    packet.streamIndex = stream.index;
    if (next.keyframe) packet.setFlags(AV_PKT_FLAG_KEY);
    const ret = await this.#context.interleavedWriteFrame(packet);
    packet.free();
    if (ret < 0) throw new MediaError(`writing to ${this.path}`, `error ${ret}`);
    this.#packetsWritten++;
    this.#bytesWritten += next.byteLength;
  }
}
