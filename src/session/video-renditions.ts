import type { Clock } from '../core/clock.js';
import { ConfigError, InvalidStateError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { VideoEncoder, type VideoEncoderOptions, type VideoEncoderStats } from '../encode/video-encoder.js';
import type { VideoPicture } from '../ffmpeg/shared-picture.js';
import type { CapturedFrame } from '../media/frames.js';
import type { EncodedPacket, VideoConfig } from '../media/packet.js';

/** One encode of the captured video: a name, a size and a bitrate. */
export interface RenditionSpec {
  /** How outputs and stats name it, e.g. `720p-low`. */
  readonly name: string;
  /** Pixels (even). */
  readonly width: number;
  /** Pixels (even). */
  readonly height: number;
  /** Bits per second, CBR. */
  readonly bitrateBps: number;
}

/** Events of VideoRenditions. */
export type VideoRenditionsEvents = {
  /** An encoded video packet, tagged with its rendition (undefined: the main one). */
  packet: [EncodedPacket];
  /** An encoder failed. */
  error: [Error];
};

/** The main rendition's name. */
export const MAIN_RENDITION = 'main';

interface Extra {
  readonly spec: RenditionSpec;
  readonly encoder: VideoEncoder;
  /** Its next frame must be a keyframe (it is new, or it skipped the one it was due). */
  owesKeyframe: boolean;
}

/**
 * Every encode of one capture: the main encoder, always, and others started and stopped on demand
 * (a lower quality for a slow destination). Each captured frame goes to all of them. The session, not
 * each encoder, decides where keyframes go — on a grid of the keyframe interval counted in captured
 * frames, and wherever a keyframe is asked for — so every rendition's keyframes fall on the same
 * frames and an output can move from one to another at any keyframe, gapless and decodable.
 */
export class VideoRenditions extends TypedEmitter<VideoRenditionsEvents> {
  /** The main encoder. */
  readonly main: VideoEncoder;
  readonly #clock: Clock;
  readonly #options: Partial<VideoEncoderOptions>;
  readonly #gopFrames: number;
  readonly #extras = new Map<string, Extra>();
  #keyframeNext = false;
  #mainOwesKeyframe = false;
  /** Index of the last captured frame given to the encoders (−1: none yet). */
  #lastIndex = -1;
  #closed = false;

  private constructor(
    clock: Clock,
    main: VideoEncoder,
    options: Partial<VideoEncoderOptions>,
    gopFrames: number,
  ) {
    super();
    this.#clock = clock;
    this.main = main;
    this.#options = options;
    this.#gopFrames = gopFrames;
    main
      .on('packet', (packet) => this.emit('packet', packet))
      .on('error', (error) => this.emit('error', error));
  }

  /** Opens the main encoder. */
  static async open(clock: Clock, options: Partial<VideoEncoderOptions>): Promise<VideoRenditions> {
    const main = await VideoEncoder.open(clock, options);
    const { fps } = main.config;
    const gopFrames = Math.max(1, Math.round(fps * (options.keyframeIntervalS ?? 2)));
    return new VideoRenditions(clock, main, options, gopFrames);
  }

  /** The renditions other than the main one, running now, by name. */
  get configs(): ReadonlyMap<string, VideoConfig> {
    return new Map([...this.#extras].map(([name, extra]) => [name, extra.encoder.config]));
  }

  /** Names of the renditions other than the main one, running now. */
  get running(): string[] {
    return [...this.#extras.keys()];
  }

  /** Each running encoder's counters, the main one first. */
  get stats(): { readonly name: string; readonly bitrateBps: number; readonly encoder: VideoEncoderStats }[] {
    return [
      { name: MAIN_RENDITION, bitrateBps: this.main.bitrateBps, encoder: this.main.stats },
      ...[...this.#extras].map(([name, { encoder }]) => ({
        name,
        bitrateBps: encoder.bitrateBps,
        encoder: encoder.stats,
      })),
    ];
  }

  /** Gives a captured frame to every encoder, marking the frames that must be keyframes. */
  encode(frame: CapturedFrame<VideoPicture>): boolean {
    // The first frame at or past a grid point: the one on it may never have been captured (a deadline
    // the capture loop missed is counted as lagged, and its index skipped), which must not cost a GOP.
    const gridPoint =
      Math.floor(frame.index / this.#gopFrames) > Math.floor(this.#lastIndex / this.#gopFrames);
    this.#lastIndex = frame.index;
    const keyframe = this.#keyframeNext || gridPoint;
    this.#keyframeNext = false;
    const keyed: CapturedFrame<VideoPicture> = keyframe ? { ...frame, keyframe: true } : frame;
    const mainKey = keyframe || this.#mainOwesKeyframe;
    const accepted = this.main.encode(mainKey && !keyframe ? { ...frame, keyframe: true } : keyed);
    this.#mainOwesKeyframe = mainKey && !accepted;
    for (const extra of this.#extras.values()) {
      const key = keyframe || extra.owesKeyframe;
      const taken = extra.encoder.encode(key && !keyframe ? { ...frame, keyframe: true } : keyed);
      // A keyframe skipped because the encoder was behind is owed at its next frame.
      extra.owesKeyframe = key && !taken;
    }
    return accepted;
  }

  /** The next captured frame is a keyframe in every rendition. */
  requestKeyframe(): void {
    this.#keyframeNext = true;
  }

  /** Starts encoding `spec` too; its first frame is a keyframe. Resolves once the encoder is open. */
  async start(spec: RenditionSpec): Promise<void> {
    if (this.#closed) throw new InvalidStateError('start() after close()');
    if (spec.name === MAIN_RENDITION || this.#extras.has(spec.name)) {
      throw new ConfigError('rendition.name', spec.name, 'give each rendition its own name');
    }
    const encoder = await VideoEncoder.open(this.#clock, {
      ...this.#options,
      width: spec.width,
      height: spec.height,
      bitrateBps: spec.bitrateBps,
    });
    if (this.#closed) {
      await encoder.close();
      return;
    }
    const name = spec.name;
    encoder.on('packet', (packet) => this.emit('packet', { ...packet, rendition: name }));
    encoder.on('error', (error) => this.emit('error', error));
    this.#extras.set(name, { spec, encoder, owesKeyframe: true });
  }

  /** Stops encoding rendition `name` (its queued frames are dropped with it); idempotent. */
  async stop(name: string): Promise<void> {
    const extra = this.#extras.get(name);
    if (!extra) return;
    this.#extras.delete(name);
    await extra.encoder.close();
  }

  /** Changes a rendition's bitrate from its next frame on. */
  setBitrate(name: string, bitrateBps: number): void {
    const encoder = name === MAIN_RENDITION ? this.main : this.#extras.get(name)?.encoder;
    encoder?.setBitrate(bitrateBps);
  }

  /** The bitrate a rendition encodes at now, or undefined when it is not running. */
  bitrateOf(name: string): number | undefined {
    const encoder = name === MAIN_RENDITION ? this.main : this.#extras.get(name)?.encoder;
    return encoder?.bitrateBps;
  }

  /** Flushes and closes every encoder; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const extras = [...this.#extras.values()];
    this.#extras.clear();
    await Promise.all([this.main.close(), ...extras.map((e) => e.encoder.close())]);
  }
}
