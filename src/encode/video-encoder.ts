import type { Frame } from 'node-av/lib';
import { Codec, CodecContext, CodecParameters, Rational } from 'node-av/lib';
import {
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_BGRA,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_YUV420P,
  type AVPixelFormat,
  type FFEncoderCodec,
} from 'node-av/constants';
import type { CapturedFrame, PixelFormat } from '../media/frames.js';
import type { Clock } from '../core/clock.js';
import { ConfigError, MediaError } from '../core/errors.js';
import { SerialWorker } from '../core/serial-worker.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { EncodedPacket, VideoCodec, VideoConfig } from '../media/packet.js';
import { openVideoBitstream, type VideoBitstream } from './codec-bitstream.js';
import {
  encoderFor,
  followsLiveBitrate,
  liveEncoderSettings,
  rateControl,
  SOFTWARE_ENCODERS,
  VIDEO_ENCODERS,
  X264_PRESETS,
} from './codec-encoders.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { EncoderCore, type RawPacket } from '../ffmpeg/encoder-core.js';
import { ReusableVideoFrame } from '../ffmpeg/reusable-frame.js';
import { SharedPicture, type VideoPicture } from '../ffmpeg/shared-picture.js';
import { VideoScaler } from '../ffmpeg/scaler.js';

const US = new Rational(1, 1_000_000);

/** A frame waiting for the encoder, with its own reference to a shared picture (freed once encoded). */
interface QueuedFrame {
  readonly captured: CapturedFrame<VideoPicture>;
  readonly held: Frame | null;
}

/** VideoEncoder options. */
export interface VideoEncoderOptions {
  /** Video codec: h264 (default), hevc or av1. */
  codec: VideoCodec;
  /** Output width, pixels (even); default 1280. */
  width: number;
  /** Output height, pixels (even); default 720. */
  height: number;
  /** Frames per second; default 30. */
  fps: number;
  /** Target bitrate, bits per second (CBR); default 2_500_000. */
  bitrateBps: number;
  /** Seconds between keyframes; default 2. */
  keyframeIntervalS: number;
  /**
   * FFmpeg encoder name, one of the codec's (VIDEO_ENCODERS): by default its software encoder (libx264,
   * libx265, libsvtav1). Each is set up for live streaming (see encoderSettings); tune any further
   * with `encoderOptions`.
   */
  encoder: string;
  /**
   * Speed as an x264 preset name (libx264, libx265 and libsvtav1; x265 runs two steps faster, SVT-AV1
   * gets its number); default veryfast.
   */
  preset: string;
  /** x264/x265 tune; default zerolatency. */
  tune: string;
  /** Maximum consecutive B-frames; default 0 (none: lowest latency, what ingests expect). */
  bFrames: number;
  /** Extra encoder options, each set with setOption() so a misspelt key is an error. */
  encoderOptions: Record<string, string>;
  /** Frames waiting for the encoder before new ones are skipped (counted); default 4. */
  maxPendingFrames: number;
}

/**
 * The encoder's private options for live streaming (liveEncoderSettings: low latency, fixed GOPs, a
 * requested keyframe is one a decoder can start from), with `encoderOptions` overriding any of them.
 */
export function encoderSettings(options: VideoEncoderOptions): Record<string, string> {
  return { ...liveEncoderSettings(options), ...options.encoderOptions };
}

/** Counters of the VideoEncoder. */
export interface VideoEncoderStats {
  /** Frames handed to the encoder. */
  readonly framesEncoded: number;
  /** Frames skipped because the encoder was still busy with `maxPendingFrames` earlier ones. */
  readonly framesSkippedBusy: number;
  /** Packets produced. */
  readonly packetsOut: number;
  /** Keyframes produced. */
  readonly keyframesOut: number;
  /** Mean wall time from submitting a frame to its packets, ms (threadpool time included). */
  readonly meanEncodeMs: number;
  /** `setBitrate()` calls left without effect: the encoder does not follow a new bitrate (see there). */
  readonly bitrateChangesIgnored: number;
}

/** Events of the VideoEncoder. */
export type VideoEncoderEvents = {
  packet: [EncodedPacket];
  error: [Error];
};

/** Default VideoEncoder options (720p30 H.264, x264 veryfast zerolatency, CBR 2500 kbit/s, GOP 2 s). */
export function videoEncoderDefaults(): VideoEncoderOptions {
  return {
    ...MEDIA_DEFAULTS.video,
    tune: 'zerolatency',
    bFrames: 0,
    encoderOptions: {},
    maxPendingFrames: 4,
  };
}

/**
 * The options with `encoder` filled in: the one given (checked against the codec), else the codec's
 * software encoder. Throws ConfigError for an unknown codec or an encoder of another codec.
 */
export function resolveVideoEncoderOptions(partial: Partial<VideoEncoderOptions>): VideoEncoderOptions {
  const codec = partial.codec ?? MEDIA_DEFAULTS.video.codec;
  checkVideoCodec(codec);
  return { ...videoEncoderDefaults(), ...partial, codec, encoder: encoderFor(codec, partial.encoder) };
}

/** Throws a ConfigError unless `codec` is a video codec steadycast encodes. */
export function checkVideoCodec(codec: string): asserts codec is VideoCodec {
  if (!Object.hasOwn(VIDEO_ENCODERS, codec)) {
    throw new ConfigError('video.codec', codec, `use one of ${Object.keys(VIDEO_ENCODERS).join(', ')}`);
  }
}

/** Throws ConfigError when an option is out of range. */
export function validateVideoEncoderOptions(o: VideoEncoderOptions): void {
  checkVideoCodec(o.codec);
  encoderFor(o.codec, o.encoder);
  if (!Number.isInteger(o.width) || o.width < 16 || o.width > 7680 || o.width % 2 !== 0) {
    throw new ConfigError('video.width', o.width, 'use an even width between 16 and 7680');
  }
  if (!Number.isInteger(o.height) || o.height < 16 || o.height > 4320 || o.height % 2 !== 0) {
    throw new ConfigError('video.height', o.height, 'use an even height between 16 and 4320');
  }
  if (!(o.fps >= 1 && o.fps <= 240))
    throw new ConfigError('video.fps', o.fps, 'use 1 to 240 frames per second');
  checkVideoBitrate(o.bitrateBps);
  if (!(o.keyframeIntervalS > 0 && o.keyframeIntervalS <= 20)) {
    throw new ConfigError(
      'video.keyframeIntervalS',
      o.keyframeIntervalS,
      'use 0.1 to 20 seconds; ingests want 2',
    );
  }
  if (!Number.isInteger(o.bFrames) || o.bFrames < 0 || o.bFrames > 4) {
    throw new ConfigError('video.bFrames', o.bFrames, 'use 0 to 4');
  }
  if (!Number.isInteger(o.maxPendingFrames) || o.maxPendingFrames < 1) {
    throw new ConfigError('video.maxPendingFrames', o.maxPendingFrames, 'use 1 or more');
  }
  if (SOFTWARE_ENCODERS.includes(o.encoder) && !X264_PRESETS.includes(o.preset)) {
    throw new ConfigError('video.preset', o.preset, `use one of ${X264_PRESETS.join(', ')}`);
  }
}

/** Throws a ConfigError unless `bitrateBps` is a bitrate the encoder can be switched to at run time. */
export function checkVideoBitrate(bitrateBps: number): void {
  if (!(bitrateBps >= 50_000 && bitrateBps <= 100_000_000)) {
    throw new ConfigError('video.bitrateBps', bitrateBps, 'use 50k to 100M bits per second, e.g. 2500k');
  }
}

const PIXEL_FORMATS: Record<PixelFormat, AVPixelFormat> = {
  i420: AV_PIX_FMT_YUV420P,
  nv12: AV_PIX_FMT_NV12,
  bgra: AV_PIX_FMT_BGRA,
};

/**
 * H.264, HEVC or AV1 encoder on node-av's low-level API. Encoding runs on the libuv threadpool (EncoderCore:
 * async send, packets taken at once); `encode()` only queues and returns, and skips (counting) a frame when
 * the encoder is already `maxPendingFrames` behind, so the capture clock is never held.
 */
export class VideoEncoder extends TypedEmitter<VideoEncoderEvents> {
  /** Stream configuration for muxers (the codec, its configuration record, geometry). */
  readonly config: VideoConfig;
  readonly #options: VideoEncoderOptions;
  readonly #bitstream: VideoBitstream;
  readonly #clock: Clock;
  readonly #core: EncoderCore;
  readonly #worker: SerialWorker<QueuedFrame>;
  readonly #scaler = new VideoScaler();
  // The captured picture as FFmpeg sees it, and (when it needs converting) the encoder's input.
  readonly #input = new ReusableVideoFrame();
  readonly #scaled = new ReusableVideoFrame();
  #keyframeRequested = false;
  #bitrateBps: number;
  #pendingBitrate: number | null = null;
  #lastDtsUs = -1;
  #encodeStartedMs = 0;
  #closed = false;
  #framesEncoded = 0;
  #skipped = 0;
  #packetsOut = 0;
  #keyframesOut = 0;
  #encodeMsTotal = 0;
  #bitrateChangesIgnored = 0;
  readonly #onPacket = (packet: RawPacket): void => this.#emitPacket(packet);

  private constructor(
    options: VideoEncoderOptions,
    clock: Clock,
    context: CodecContext,
    bitstream: VideoBitstream,
  ) {
    super();
    this.#options = options;
    this.#bitstream = bitstream;
    this.#clock = clock;
    this.#core = new EncoderCore(context, options.encoder, 'video');
    this.config = {
      codec: bitstream.codec,
      decoderConfigurationRecord: bitstream.configurationRecord,
      width: options.width,
      height: options.height,
      fps: options.fps,
      bitrateBps: options.bitrateBps,
      encoderName: options.encoder,
    };
    this.#bitrateBps = options.bitrateBps;
    this.#worker = new SerialWorker(
      (frame) => this.#encodeOne(frame),
      (error) => this.emit('error', error),
    );
  }

  /** Opens the encoder; fails with a clear error for an unknown encoder or a rejected option. */
  static async open(clock: Clock, partial: Partial<VideoEncoderOptions> = {}): Promise<VideoEncoder> {
    const options = resolveVideoEncoderOptions(partial);
    validateVideoEncoderOptions(options);
    const codec = Codec.findEncoderByName(options.encoder as FFEncoderCodec);
    if (!codec) {
      throw new ConfigError(
        'video.encoder',
        options.encoder,
        `this FFmpeg build has no such encoder; use ${encoderFor(options.codec, undefined)}`,
      );
    }
    const context = new CodecContext();
    context.allocContext3(codec);
    context.width = options.width;
    context.height = options.height;
    context.pixelFormat = AV_PIX_FMT_YUV420P;
    context.timeBase = US;
    context.framerate = rational(options.fps);
    context.gopSize = Math.max(1, Math.round(options.fps * options.keyframeIntervalS));
    context.maxBFrames = options.bFrames;
    applyBitrate(context, options.encoder, options.bitrateBps);
    context.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
    const settings = encoderSettings(options);
    for (const [key, value] of Object.entries(settings)) {
      const ret = context.setOption(key, value);
      if (ret < 0) {
        context.freeContext();
        throw new ConfigError(
          `video.encoderOptions.${key}`,
          value,
          `${options.encoder} does not accept this option`,
        );
      }
    }
    const ret = await context.open2(codec, null);
    if (ret < 0) {
      context.freeContext();
      throw new MediaError(`opening ${options.encoder}`, `error ${ret}`);
    }
    const parameters = new CodecParameters();
    parameters.alloc();
    parameters.fromContext(context);
    const record = parameters.getDecoderConfigurationRecord();
    parameters.free();
    let bitstream: VideoBitstream;
    try {
      bitstream = openVideoBitstream(
        options.codec,
        Buffer.from(context.extraData ?? Buffer.alloc(0)),
        record ? Buffer.from(record) : null,
      );
    } catch (error) {
      context.freeContext();
      throw error;
    }
    return new VideoEncoder(options, clock, context, bitstream);
  }

  /** Snapshot of the encoder's counters. */
  get stats(): VideoEncoderStats {
    return {
      framesEncoded: this.#framesEncoded,
      framesSkippedBusy: this.#skipped,
      packetsOut: this.#packetsOut,
      keyframesOut: this.#keyframesOut,
      meanEncodeMs: this.#framesEncoded ? this.#encodeMsTotal / this.#framesEncoded : 0,
      bitrateChangesIgnored: this.#bitrateChangesIgnored,
    };
  }

  /** Current target bitrate, bits per second. */
  get bitrateBps(): number {
    return this.#pendingBitrate ?? this.#bitrateBps;
  }

  /** Queues a frame; returns false (and counts it) when skipped because the encoder is behind. */
  encode(frame: CapturedFrame<VideoPicture>): boolean {
    if (this.#closed) return false;
    if (this.#worker.length >= this.#options.maxPendingFrames) {
      this.#skipped++;
      return false;
    }
    let held: Frame | null = null;
    if (frame.frame instanceof SharedPicture) {
      // The source frees its picture when it shows the next one: keep a reference of our own.
      held = frame.frame.reference();
      if (!held) {
        this.#skipped++;
        return false;
      }
    }
    this.#worker.push({ captured: frame, held });
    return true;
  }

  /** The next frame submitted is encoded as an IDR. */
  requestKeyframe(): void {
    this.#keyframeRequested = true;
  }

  /**
   * Changes the target bitrate from the next frame on (x264 reconfigures in place). An encoder that
   * does not follow a new bitrate (followsLiveBitrate: libx265, libsvtav1) keeps its bitrate and the
   * call is counted in `stats.bitrateChangesIgnored`; `bitrateBps` stays what it really encodes at.
   * Reopening it instead would put a keyframe off the session's grid (renditions could no longer be
   * switched there), may change the configuration record outputs already sent, and skips frames
   * while it opens; a lower rendition (adaptiveQuality) is how such a stream goes lower.
   */
  setBitrate(bitrateBps: number): void {
    checkVideoBitrate(bitrateBps);
    if (followsLiveBitrate(this.#options.encoder)) this.#pendingBitrate = bitrateBps;
    else if (bitrateBps !== this.#bitrateBps) this.#bitrateChangesIgnored++;
  }

  /** Resolves when every queued frame has been encoded and its packets emitted. */
  drained(): Promise<void> {
    return this.#worker.drained();
  }

  /** Drains the queue, flushes the encoder's delayed frames, then frees it; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.drained();
    try {
      this.#encodeStartedMs = this.#clock.nowUs() / 1000;
      await this.#core.encode(null, this.#onPacket);
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    this.#scaler.free();
    this.#input.free();
    this.#scaled.free();
    this.#core.free();
  }

  async #encodeOne({ captured, held }: QueuedFrame): Promise<void> {
    try {
      await this.#encodeFrame(captured, held);
    } finally {
      held?.free();
    }
  }

  async #encodeFrame(captured: CapturedFrame<VideoPicture>, held: Frame | null): Promise<void> {
    this.#encodeStartedMs = this.#clock.nowUs() / 1000;
    if (this.#pendingBitrate !== null) {
      applyBitrate(this.#core.context, this.#options.encoder, this.#pendingBitrate);
      this.#bitrateBps = this.#pendingBitrate;
      this.#pendingBitrate = null;
    }
    const frame = await this.#toEncoderFrame(captured.frame, held);
    frame.pts = BigInt(captured.ptsUs);
    frame.timeBase = US;
    frame.pictType =
      this.#keyframeRequested || captured.keyframe === true ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    this.#keyframeRequested = false;
    this.#framesEncoded++;
    await this.#core.encode(frame, this.#onPacket);
  }

  #emitPacket(packet: RawPacket): void {
    const ptsUs = Number(packet.pts);
    // Never negative, always increasing: B-frame reordering can start dts before zero.
    const dtsUs = Math.max(0, Number(packet.dts), this.#lastDtsUs + 1);
    this.#lastDtsUs = dtsUs;
    const unit = this.#bitstream.accessUnit(packet.data);
    this.#packetsOut++;
    if (unit.keyframe) this.#keyframesOut++;
    this.#encodeMsTotal += this.#clock.nowUs() / 1000 - this.#encodeStartedMs;
    this.emit('packet', {
      kind: 'video',
      data: unit.data,
      dtsUs,
      ptsUs: Math.max(ptsUs, dtsUs),
      keyframe: unit.keyframe,
      reference: unit.reference,
      byteLength: unit.data.length,
    });
  }

  /**
   * The picture in the encoder's size and format: a shared picture that fits as it is (`held`, our
   * reference to it), else converted into frames reused from one picture to the next.
   */
  async #toEncoderFrame(picture: VideoPicture, held: Frame | null): Promise<Frame> {
    const { width, height } = this.#options;
    let input: Frame;
    if (picture instanceof SharedPicture) {
      if (!held) throw new MediaError('encoding a shared picture', 'no reference was taken');
      if (picture.fits(width, height)) return held;
      input = held;
    } else {
      const format = PIXEL_FORMATS[picture.format];
      input = this.#input.take(format, picture.width, picture.height);
      const ret = input.fromBuffer(picture.data);
      if (ret < 0) throw new MediaError('copying a picture into a frame', `error ${ret}`);
      if (format === AV_PIX_FMT_YUV420P && picture.width === width && picture.height === height) return input;
    }
    const target = this.#scaled.take(AV_PIX_FMT_YUV420P, width, height);
    await this.#scaler.scale(target, input);
    return target;
  }
}

function applyBitrate(context: CodecContext, encoder: string, bitrateBps: number): void {
  const rate = rateControl(encoder, bitrateBps);
  context.bitRate = BigInt(rate.bitRate);
  context.rcMaxRate = BigInt(rate.maxRate);
  context.rcBufferSize = rate.bufferSize;
}

function rational(fps: number): Rational {
  if (Number.isInteger(fps)) return new Rational(fps, 1);
  return new Rational(Math.round(fps * 1001), 1001);
}
