import { stat, statfs, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Dictionary, FormatContext, Packet, Rational, type Stream } from 'node-av/lib';
import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_CHANNEL_LAYOUT_STEREO,
  AV_CODEC_ID_AAC,
  AV_CODEC_ID_AV1,
  AV_CODEC_ID_H264,
  AV_CODEC_ID_HEVC,
  AV_PKT_FLAG_KEY,
  AVFMT_FLAG_FLUSH_PACKETS,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  type AVFormatFlag,
} from 'node-av/constants';
import { MediaError } from '../core/errors.js';
import { SerialWorker } from '../core/serial-worker.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { EncodedPacket, StreamConfig, VideoCodec } from '../media/packet.js';
import type { PacketSink } from './packet-sink.js';
import { describeFileError, RecordingError, validateRecordPath } from './record-path.js';

const US = new Rational(1, 1_000_000);

/** FFmpeg's codec of each video codec; its FLV and MP4 muxers take the configuration record as extradata. */
const CODEC_IDS: Record<VideoCodec, typeof AV_CODEC_ID_H264> = {
  h264: AV_CODEC_ID_H264,
  hevc: AV_CODEC_ID_HEVC,
  av1: AV_CODEC_ID_AV1,
};

/**
 * Free space is looked at after every this many bytes written. A finished MP4 needs room for its
 * index (written last), so the recorder stops cleanly while that room is still there.
 */
const SPACE_CHECK_BYTES = 64 * 1024;
/** Room kept free for the trailer: a base, plus the index entries of every packet written (MP4). */
const RESERVE_BASE_BYTES = 128 * 1024;
const RESERVE_PER_PACKET_BYTES = 64;
/**
 * Matroska gathers a cluster in memory and writes it whole: keep clusters to about a second, so what
 * a failure can lose and what the free-space check must allow for both stay small.
 */
const MATROSKA_OPTIONS = { cluster_time_limit: '1000', cluster_size_limit: String(512 * 1024) };

/** Where a recording is: writing, stopped early by a failure (the file is kept, finished), or done. */
export type RecordingState = 'recording' | 'failed' | 'stopped';

/** Counters of the FileRecorder (`Streamer` stats show them as `recording`). */
export interface FileRecorderStats {
  /** The file. */
  readonly path: string;
  /** `recording`, `failed` (stopped early, file finished up to there) or `stopped`. */
  readonly state: RecordingState;
  /** Bytes in the file (container included), as far as written. */
  readonly bytesWritten: number;
  /** Why the recording failed, in words (`disk full (ENOSPC) while writing`); null while it has not. */
  readonly error: string | null;
  /** Packets written to the file. */
  readonly packetsWritten: number;
  /** Packets waiting for the disk. */
  readonly packetsQueued: number;
  /** Packets that arrived after a failure and were not recorded. */
  readonly packetsNotWritten: number;
}

/** Events of a FileRecorder. */
export type FileRecorderEvents = {
  /**
   * The recording stopped early (disk full, file unwritable, I/O error). Fires once, as soon as it
   * happens; the file is finished up to there and stays playable; the live outputs are not affected.
   */
  failed: [error: RecordingError];
};

/**
 * Records the session's packets to a local file through node-av's muxer (format from the file
 * name: .flv, .mp4, .mov, .mkv, .ts). It never drops while it works: every packet is queued and
 * written in order, off the caller's path. When the disk fills up or a write fails it reports it at
 * once (`failed`), stops writing and finishes the file so far so it stays playable.
 */
export class FileRecorder extends TypedEmitter<FileRecorderEvents> implements PacketSink {
  /** Path of the file being written. */
  readonly path: string;
  readonly #context: FormatContext;
  readonly #videoStream: Stream | null;
  readonly #audioStream: Stream | null;
  readonly #worker: SerialWorker<EncodedPacket>;
  #state: RecordingState = 'recording';
  #error: RecordingError | null = null;
  #finished: Promise<void> | null = null;
  #packetsWritten = 0;
  #notWritten = 0;
  /** File size after the last packet written whole (packets are flushed one by one). */
  #goodBytes = 0;
  /** File size after the header. */
  readonly #headerBytes: number;
  /** Payload bytes handed to the muxer; more than reached the file while a muxer holds a cluster. */
  #mediaBytes = 0;
  #checkedAtMediaBytes = -Infinity;

  private constructor(path: string, context: FormatContext, video: Stream | null, audio: Stream | null) {
    super();
    this.path = path;
    this.#context = context;
    this.#videoStream = video;
    this.#audioStream = audio;
    this.#goodBytes = Number(context.pbBytes);
    this.#headerBytes = this.#goodBytes;
    this.#worker = new SerialWorker(
      (packet) => this.#write(packet),
      (error) => this.#fail(error instanceof RecordingError ? error : this.#failure('writing', error)),
    );
  }

  /** Checks the path (`validateRecordPath`), creates the file and writes its header. */
  static async open(path: string, config: StreamConfig): Promise<FileRecorder> {
    validateRecordPath(path);
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
    // Each packet reaches the file whole before the next: a failure leaves a clean end to cut back to.
    context.flags = (context.flags | AVFMT_FLAG_FLUSH_PACKETS) as AVFormatFlag;
    ret = await context.openOutput();
    if (ret < 0) {
      context.freeContext();
      throw new RecordingError(path, `${describeFileError(ret)} while creating it`, ret);
    }
    const muxerOptions = /\.mkv$/i.test(path) ? Dictionary.fromObject(MATROSKA_OPTIONS) : null;
    ret = await context.writeHeader(muxerOptions);
    muxerOptions?.free();
    if (ret < 0) {
      await context.closeOutput();
      context.freeContext();
      throw new RecordingError(path, `${describeFileError(ret)} while writing its header`, ret);
    }
    return new FileRecorder(path, context, video, audio);
  }

  /** Where the recording is. */
  get state(): RecordingState {
    return this.#state;
  }

  /** Why the recording failed; null while it has not. */
  get error(): RecordingError | null {
    return this.#error;
  }

  /** Snapshot of the recorder's counters. */
  get stats(): FileRecorderStats {
    return {
      path: this.path,
      state: this.#state,
      bytesWritten: this.#goodBytes,
      error: this.#error?.reason ?? null,
      packetsWritten: this.#packetsWritten,
      packetsQueued: this.#worker.length,
      packetsNotWritten: this.#notWritten,
    };
  }

  writePacket(packet: EncodedPacket): void {
    // The recording is the main rendition; lower ones made for slow destinations are not its stream.
    if (packet.rendition !== undefined) return;
    if (this.#state !== 'recording') {
      if (this.#state === 'failed') this.#notWritten++;
      return;
    }
    this.#worker.push(packet);
  }

  /**
   * Writes everything queued, then the trailer, and closes the file; idempotent. Never throws: a
   * failure (also one writing the trailer) is the `failed` event and `state === 'failed'`.
   */
  async close(): Promise<void> {
    if (this.#state === 'recording') this.#state = 'stopped';
    await this.#worker.drained();
    await this.#finish();
  }

  /** Writes the trailer once (after a write failure it may not get through) and frees the muxer. */
  #finish(): Promise<void> {
    this.#finished ??= (async () => {
      const ret = await this.#context.writeTrailer();
      const ioError = this.#context.pb?.error ?? 0;
      const finished = ret >= 0 && ioError >= 0;
      await this.#context.closeOutput();
      this.#context.freeContext();
      if (finished) {
        // The trailer may have gone back to patch the header (FLV's duration): ask the file its size.
        this.#goodBytes = (await stat(this.path).catch(() => null))?.size || this.#goodBytes;
        return;
      }
      // The trailer did not get through: whatever a failed write left after the last whole packet is
      // garbage to a player, so cut it (FLV, MKV and MPEG-TS stay playable; MP4 needs its trailer).
      await truncate(this.path, this.#goodBytes).catch(() => undefined);
      this.#fail(this.#failure('finishing', ret < 0 ? ret : ioError), false);
    })();
    return this.#finished;
  }

  async #write(next: EncodedPacket): Promise<void> {
    const stream = next.kind === 'video' ? this.#videoStream : this.#audioStream;
    if (!stream) return;
    if (this.#error) {
      this.#notWritten++;
      return;
    }
    if (this.#mediaBytes - this.#checkedAtMediaBytes >= SPACE_CHECK_BYTES) await this.#checkSpace();
    if (this.#error) {
      this.#notWritten++;
      return;
    }
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
    const ioError = this.#context.pb?.error ?? 0;
    if (ret < 0 || ioError < 0) {
      this.#notWritten++;
      throw this.#failure('writing', ret < 0 ? ret : ioError);
    }
    this.#packetsWritten++;
    this.#mediaBytes += next.byteLength;
    this.#goodBytes = Number(this.#context.pbBytes);
  }

  /** Stops cleanly while the trailer still fits, rather than let the disk fill mid-packet. */
  async #checkSpace(): Promise<void> {
    this.#checkedAtMediaBytes = this.#mediaBytes;
    let freeBytes: number;
    try {
      const fs = await statfs(dirname(this.path));
      freeBytes = fs.bavail * fs.bsize;
    } catch {
      return; // no answer (an exotic filesystem): the write's own error still reports a full disk
    }
    // What the muxer still holds (a Matroska cluster, the interleaving queue) lands on the disk later.
    const heldBytes = Math.max(0, this.#mediaBytes - (this.#goodBytes - this.#headerBytes));
    const reserve =
      RESERVE_BASE_BYTES + SPACE_CHECK_BYTES + heldBytes + RESERVE_PER_PACKET_BYTES * this.#packetsWritten;
    if (freeBytes >= reserve) return;
    const left = `${Math.round(freeBytes / 1024)} KiB left`;
    this.#fail(new RecordingError(this.path, `disk full (${left}, kept to finish the file)`, 'ENOSPC'));
  }

  #failure(operation: 'writing' | 'finishing', cause: unknown): RecordingError {
    const during = operation === 'writing' ? 'while writing' : 'while finishing the file';
    return new RecordingError(this.path, `${describeFileError(cause)} ${during}`, cause);
  }

  /** Reports the first failure, stops writing and finishes what is written. */
  #fail(error: RecordingError, finish = true): void {
    if (this.#error) return;
    this.#error = error;
    this.#state = 'failed';
    this.emitGuarded('failed', error);
    if (finish) void this.#finish();
  }
}
