import { setImmediate } from 'node:timers/promises';
import {
  Codec,
  CodecContext,
  Dictionary,
  FFmpegError,
  FormatContext,
  Frame,
  InputFormat,
  Packet,
  type Stream,
} from 'node-av/lib';
import {
  AV_PIX_FMT_BGR0,
  AV_PIX_FMT_BGRA,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_YUV420P,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  AVSEEK_FLAG_BACKWARD,
  type AVPixelFormat,
  type AVSampleFormat,
} from 'node-av/constants';
import type { Clock } from '../core/clock.js';
import { MediaError } from '../core/errors.js';
import { AudioResampler } from '../ffmpeg/resampler.js';
import { VideoScaler } from '../ffmpeg/scaler.js';
import { SharedPicture } from '../ffmpeg/shared-picture.js';
import type { PixelFormat, RawVideoFrame } from '../media/frames.js';
import { withAlsaPulseConfig } from './alsa-config.js';

/** What to open and how to decode it. */
export interface MediaReaderOptions {
  /** FFmpeg input format (`x11grab`, `alsa`, …), or null to probe a file. */
  format: string | null;
  /** Input options (`framerate`, `video_size`, …). */
  options: Record<string, string>;
  /** Decode the best video stream. */
  video: boolean;
  /** Decode the best audio stream. */
  audio: boolean;
  /** Session sample rate that audio is resampled to, Hz. */
  sampleRate: number;
  /** Session channel count that audio is mixed to. */
  channels: number;
  /**
   * Hand out decoded pictures by reference (`DecodedPicture`) instead of copying each into a Buffer
   * (`DecodedVideo`); default false. A file restream shares them; a screen compares their bytes.
   */
  sharePictures?: boolean;
  /**
   * Read packets on the caller's thread, timing each read on this clock (default: on the threadpool).
   * For local files: a read from the page cache takes about 5 µs, a threadpool round trip 30–50 µs
   * of CPU. The first read that takes longer than {@link SLOW_READ_MS} (slow storage, a network path)
   * moves reading to the threadpool for good.
   */
  readInline?: Clock;
}

/** A read on the caller's thread that takes longer than this moves reading to the threadpool, ms. */
export const SLOW_READ_MS = 20;

/**
 * Reads on the caller's thread in a row after which `read()` lets the event loop run. Such a read and
 * an audio packet's decoding never wait for it, so without this a run of packets that decode to
 * nothing (a stream not decoded) would hold the loop for the whole run.
 */
export const INLINE_READS_BETWEEN_YIELDS = 64;

/** One decoded picture, with its presentation time in the input's own time line. */
export interface DecodedVideo {
  readonly kind: 'video';
  /** Presentation time, microseconds (input time line), or null when unknown. */
  readonly ptsUs: number | null;
  /** Duration, microseconds, or null when unknown. */
  readonly durationUs: number | null;
  /** The picture, packed. */
  readonly frame: RawVideoFrame;
}

/** One decoded picture by reference: its holder releases it (see SharedPicture). */
export interface DecodedPicture {
  readonly kind: 'picture';
  /** Presentation time, microseconds (input time line), or null when unknown. */
  readonly ptsUs: number | null;
  /** Duration, microseconds, or null when unknown. */
  readonly durationUs: number | null;
  /** The decoder's frame (converted to I420 first when the encoder cannot take its format). */
  readonly picture: SharedPicture;
}

/** What one read decodes to. */
export type Decoded = DecodedVideo | DecodedPicture | DecodedAudio;

/** Decoded audio, already at the session's rate and channel count. */
export interface DecodedAudio {
  readonly kind: 'audio';
  /** Presentation time of the first sample, microseconds (input time line), or null. */
  readonly ptsUs: number | null;
  /** Interleaved float samples. */
  readonly samples: Float32Array;
}

/** Formats the encoder takes as they are; anything else is converted to I420 here. */
const DIRECT_FORMATS = new Map<AVPixelFormat, PixelFormat>([
  [AV_PIX_FMT_YUV420P, 'i420'],
  [AV_PIX_FMT_NV12, 'nv12'],
  [AV_PIX_FMT_BGRA, 'bgra'],
  // BGR0 is BGRA with an unused fourth byte: the same memory layout.
  [AV_PIX_FMT_BGR0, 'bgra'],
]);

interface Decoder {
  readonly stream: Stream;
  readonly context: CodecContext;
}

/**
 * Opens a device or a file with node-av's low-level API and decodes it, one packet per `read()`.
 * Every FFmpeg call that can block or takes milliseconds (open, a device's read, video decode, scale)
 * is node-av's async form, so it runs on the libuv threadpool; the calls that take microseconds (audio
 * decode, resample, taking a decoded frame, a local file's read: see `readInline`) run here, since a
 * threadpool round trip costs more.
 * Callers keep one `read()` in flight at a time.
 */
export class MediaReader {
  readonly #input: FormatContext;
  readonly #video: Decoder | null;
  readonly #audio: Decoder | null;
  readonly #packet = new Packet();
  readonly #frame = new Frame();
  readonly #scaler = new VideoScaler();
  readonly #resampler: AudioResampler;
  readonly #sharePictures: boolean;
  #inlineClock: Clock | null;
  #inlineReads = 0;
  #closed = false;

  private constructor(
    input: FormatContext,
    video: Decoder | null,
    audio: Decoder | null,
    options: MediaReaderOptions,
  ) {
    this.#input = input;
    this.#video = video;
    this.#audio = audio;
    this.#resampler = new AudioResampler(options.sampleRate, options.channels);
    this.#sharePictures = options.sharePictures ?? false;
    this.#inlineClock = options.readInline ?? null;
    this.#packet.alloc();
    this.#frame.alloc();
  }

  /** Opens `url` (a device name or a path) and the decoders of the streams asked for. */
  static async open(url: string, options: MediaReaderOptions): Promise<MediaReader> {
    const input = new FormatContext();
    const format = options.format === null ? null : InputFormat.findInputFormat(options.format);
    if (options.format !== null && !format) {
      throw new MediaError('opening an input', `this FFmpeg build has no "${options.format}" input`);
    }
    const openInput = (): Promise<number> =>
      input.openInput(url, format, Dictionary.fromObject(options.options));
    // ALSA reaches PulseAudio through a generated configuration, in force only while the device opens.
    let ret = await (options.format === 'alsa' ? withAlsaPulseConfig(openInput) : openInput());
    if (ret < 0) throw new MediaError(`opening ${describeInput(url, options.format)}`, errorText(ret));
    try {
      ret = await input.findStreamInfo();
      if (ret < 0) throw new MediaError(`reading ${describeInput(url, options.format)}`, errorText(ret));
      const video = options.video ? await openDecoder(input, AVMEDIA_TYPE_VIDEO) : null;
      const audio = options.audio ? await openDecoder(input, AVMEDIA_TYPE_AUDIO) : null;
      if (options.video && !video && options.audio && !audio) {
        throw new MediaError(`reading ${describeInput(url, options.format)}`, 'no audio or video stream');
      }
      return new MediaReader(input, video, audio, options);
    } catch (error) {
      await input.closeInput();
      throw error;
    }
  }

  /** The video stream's size and nominal rate, or null without video. */
  get videoInfo(): { width: number; height: number; fps: number | null } | null {
    if (!this.#video) return null;
    const { codecpar, avgFrameRate } = this.#video.stream;
    const fps = avgFrameRate.den > 0 && avgFrameRate.num > 0 ? avgFrameRate.num / avgFrameRate.den : null;
    return { width: codecpar.width, height: codecpar.height, fps };
  }

  /** Whether an audio stream is decoded. */
  get hasAudio(): boolean {
    return this.#audio !== null;
  }

  /**
   * Reads one packet and returns what it decodes to (often one item, sometimes none); null at the
   * end of the input. Devices that have nothing yet return an empty list.
   */
  async read(): Promise<Decoded[] | null> {
    if (this.#inlineClock && ++this.#inlineReads % INLINE_READS_BETWEEN_YIELDS === 0) {
      await setImmediate();
      if (this.#closed) return null; // closed during that turn: the input is gone
    }
    const ret = this.#inlineClock
      ? this.#readHere(this.#inlineClock)
      : await this.#input.readFrame(this.#packet);
    if (ret === AVERROR_EAGAIN) return [];
    if (ret === AVERROR_EOF) return this.#drain();
    if (ret < 0) throw new MediaError('reading the input', errorText(ret));
    try {
      const index = this.#packet.streamIndex;
      const decoder =
        this.#video?.stream.index === index
          ? this.#video
          : this.#audio?.stream.index === index
            ? this.#audio
            : null;
      if (!decoder) return [];
      // Decoding a picture takes milliseconds: the threadpool. An audio packet decodes in tens of
      // microseconds, less than a round trip to the threadpool costs (about 30 µs of CPU, 5 thread switches).
      const sent =
        decoder === this.#audio
          ? decoder.context.sendPacketSync(this.#packet)
          : await decoder.context.sendPacket(this.#packet);
      if (sent < 0 && sent !== AVERROR_EAGAIN) throw new MediaError('decoding', errorText(sent));
      return await this.#receive(decoder);
    } finally {
      this.#packet.unref();
    }
  }

  /** Whether packets are read on the caller's thread (see `readInline`); false once a read was slow. */
  get readsInline(): boolean {
    return this.#inlineClock !== null;
  }

  /** Seeks back to the start (for looping) and resets the decoders. */
  async rewind(): Promise<void> {
    const ret = await this.#input.seekFrame(-1, 0n, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) throw new MediaError('seeking to the start', errorText(ret));
    this.#video?.context.flushBuffers();
    this.#audio?.context.flushBuffers();
  }

  /** Frees everything; call it only when no `read()` is in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#video?.context.freeContext();
    this.#audio?.context.freeContext();
    this.#scaler.free();
    this.#resampler.free();
    this.#packet.free();
    this.#frame.free();
    await this.#input.closeInput();
  }

  #readHere(clock: Clock): number {
    const startedUs = clock.nowUs();
    const ret = this.#input.readFrameSync(this.#packet);
    if (clock.nowUs() - startedUs > SLOW_READ_MS * 1000) this.#inlineClock = null;
    return ret;
  }

  async #drain(): Promise<Decoded[] | null> {
    const out: Decoded[] = [];
    for (const decoder of [this.#video, this.#audio]) {
      if (!decoder) continue;
      await decoder.context.sendPacket(null);
      out.push(...(await this.#receive(decoder)));
    }
    return out.length > 0 ? out : null;
  }

  async #receive(decoder: Decoder): Promise<Decoded[]> {
    const out: Decoded[] = [];
    for (;;) {
      // The decode itself ran in sendPacket (the decoders are single-threaded): receiving only hands
      // over the frame it made, or says there is none, so it runs here, not on the threadpool.
      const ret = decoder.context.receiveFrameSync(this.#frame);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) break;
      if (ret < 0) throw new MediaError('decoding', errorText(ret));
      try {
        const tb = decoder.stream.timeBase;
        const pts = this.#frame.bestEffortTimestamp;
        const toUs = (t: bigint): number => (Number(t) * tb.num * 1e6) / tb.den;
        const ptsUs = pts === NO_PTS ? null : toUs(pts);
        if (decoder === this.#video) {
          const durationUs = this.#frame.duration > 0n ? toUs(this.#frame.duration) : null;
          out.push(
            this.#sharePictures
              ? { kind: 'picture', ptsUs, durationUs, picture: await this.#toShared(this.#frame) }
              : { kind: 'video', ptsUs, durationUs, frame: await this.#toRaw(this.#frame) },
          );
        } else {
          out.push({ kind: 'audio', ptsUs, samples: this.#toSessionPcm(this.#frame) });
        }
      } finally {
        this.#frame.unref();
      }
    }
    return out;
  }

  async #toRaw(frame: Frame): Promise<RawVideoFrame> {
    const { width, height } = frame;
    const direct = DIRECT_FORMATS.get(frame.format as AVPixelFormat);
    if (direct) return { format: direct, width, height, data: frame.toBuffer() };
    const target = await this.#toI420(frame);
    try {
      return { format: 'i420', width, height, data: target.toBuffer() };
    } finally {
      target.free();
    }
  }

  /** The decoded frame by reference, or (a format the encoder does not take) converted to I420. */
  async #toShared(frame: Frame): Promise<SharedPicture> {
    if (DIRECT_FORMATS.has(frame.format as AVPixelFormat)) {
      const reference = frame.clone();
      if (!reference) throw new MediaError('decoding', 'out of memory referencing a picture');
      return new SharedPicture(reference);
    }
    return new SharedPicture(await this.#toI420(frame));
  }

  /** A new frame (the caller frees it) holding `frame` converted to I420 at the same size. */
  async #toI420(frame: Frame): Promise<Frame> {
    const target = new Frame();
    target.alloc();
    target.width = frame.width;
    target.height = frame.height;
    target.format = AV_PIX_FMT_YUV420P;
    try {
      await this.#scaler.scale(target, frame);
    } catch (error) {
      target.free();
      throw error;
    }
    return target;
  }

  #toSessionPcm(frame: Frame): Float32Array {
    const data = frame.data;
    if (!data) return new Float32Array(0);
    return this.#resampler.convertSync(data, frame.nbSamples, {
      format: frame.format as AVSampleFormat,
      sampleRate: frame.sampleRate,
      layout: frame.channelLayout,
    });
  }
}

const NO_PTS = -9223372036854775808n;

async function openDecoder(input: FormatContext, type: typeof AVMEDIA_TYPE_VIDEO): Promise<Decoder | null> {
  const index = input.findBestStream(type, -1, -1);
  const stream = index >= 0 ? input.streams[index] : undefined;
  if (!stream) return null;
  const codec = Codec.findDecoder(stream.codecpar.codecId);
  if (!codec) throw new MediaError('opening a decoder', `no decoder for codec id ${stream.codecpar.codecId}`);
  const context = new CodecContext();
  context.allocContext3(codec);
  context.parametersToContext(stream.codecpar);
  context.pktTimebase = stream.timeBase;
  const ret = await context.open2(codec);
  if (ret < 0) {
    context.freeContext();
    throw new MediaError('opening a decoder', errorText(ret));
  }
  return { stream, context };
}

function describeInput(url: string, format: string | null): string {
  return format ? `${format} device "${url}"` : `"${url}"`;
}

/** FFmpeg's message for a negative return code. */
export function errorText(code: number): string {
  return `${FFmpegError.strerror(code)} (${code})`;
}
