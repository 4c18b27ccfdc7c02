import {
  AudioEngine,
  audioEngineDefaults,
  type AudioEngineOptions,
  type AudioEngineStats,
} from '../capture/audio-engine.js';
import { CaptureLoop, type CaptureLoopStats } from '../capture/capture-loop.js';
import type { AudioSource, VideoSource } from '../capture/source.js';
import type { Clock } from '../core/clock.js';
import { InvalidStateError, asError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { AudioEncoder, type AudioEncoderOptions, type AudioEncoderStats } from '../encode/audio-encoder.js';
import type { VideoEncoderOptions, VideoEncoderStats } from '../encode/video-encoder.js';
import { DEFAULT_INTERLEAVE_MAX_WAIT_MS, Interleaver, type InterleaverStats } from './interleaver.js';
import { VideoRenditions } from './video-renditions.js';
import type { EncodedPacket, StreamConfig } from '../media/packet.js';
import type { PacketSink } from '../output/packet-sink.js';

/** What a MediaSession captures and how it encodes it. */
export interface MediaSessionOptions {
  /** Video, or null for an audio-only session. */
  video: { source: VideoSource; encoder: Partial<VideoEncoderOptions> } | null;
  /** Audio (sources are mixed), or null for a video-only session. */
  audio: {
    sources: AudioSource[];
    encoder: Partial<AudioEncoderOptions>;
    engine?: Partial<AudioEngineOptions>;
  } | null;
  /**
   * How long a packet may wait for the other kind to reach its time before it goes anyway, ms
   * (packets fan out in decode-time order; see Interleaver). Default 300; 0 sends each at once.
   */
  interleaveMaxWaitMs?: number;
}

/** Counters of every engine of the session. */
export interface MediaSessionStats {
  /** The CaptureLoop's counters (absent without video). */
  readonly capture?: CaptureLoopStats;
  /** The AudioEngine's counters (absent without audio). */
  readonly audio?: AudioEngineStats;
  /** The VideoEncoder's counters. */
  readonly videoEncoder?: VideoEncoderStats;
  /** The AudioEncoder's counters. */
  readonly audioEncoder?: AudioEncoderStats;
  /** Putting audio and video in time order before the outputs. */
  readonly interleave: InterleaverStats;
}

/** Events of a MediaSession. */
export type MediaSessionEvents = {
  /** An engine or encoder failed. */
  error: [Error];
  /** A sink threw while taking a packet: it was taken out; the other sinks go on. */
  sinkfailed: [sink: PacketSink, error: Error];
};

/**
 * The engines of one session on one clock: the CaptureLoop and the AudioEngine feed the encoders,
 * and each encoded packet fans out to every sink (one encode, N outputs). Sinks must return at
 * once; nothing here awaits an output. Each sink is isolated: one that throws is taken out and
 * reported (`sinkfailed`), and every other sink keeps every packet.
 */
export class MediaSession extends TypedEmitter<MediaSessionEvents> {
  readonly #clock: Clock;
  readonly #video: VideoRenditions | null;
  readonly #audioEncoder: AudioEncoder | null;
  readonly #captureLoop: CaptureLoop | null;
  readonly #audioEngine: AudioEngine | null;
  readonly #options: MediaSessionOptions;
  readonly #sinks = new Set<PacketSink>();
  readonly #interleaver: Interleaver;
  #state: 'ready' | 'running' | 'stopped' = 'ready';
  /** Session time at which media ends: audio blocks that end after it are not encoded (the capture loop stops at it itself). */
  #endUs = Infinity;

  private constructor(
    clock: Clock,
    options: MediaSessionOptions,
    video: VideoRenditions | null,
    audio: AudioEncoder | null,
  ) {
    super();
    this.#clock = clock;
    this.#options = options;
    this.#video = video;
    this.#audioEncoder = audio;
    const fanOut = (packet: EncodedPacket): void => {
      for (const sink of this.#sinks) {
        try {
          sink.writePacket(packet);
        } catch (error) {
          this.#sinks.delete(sink);
          this.emit('sinkfailed', sink, asError(error));
        }
      }
    };
    const forwardError = (error: Error): void => void this.emit('error', error);
    this.#interleaver = new Interleaver(
      clock,
      { video: video !== null, audio: audio !== null },
      options.interleaveMaxWaitMs ?? DEFAULT_INTERLEAVE_MAX_WAIT_MS,
      fanOut,
    );
    const interleave = (packet: EncodedPacket): void => this.#interleaver.push(packet);
    this.#captureLoop = null;
    this.#audioEngine = null;
    if (video && options.video) {
      video.on('packet', interleave).on('error', forwardError);
      const { width, height } = video.main.config;
      const black = blackI420(width, height);
      this.#captureLoop = new CaptureLoop(clock, options.video.source, (frame) => void video.encode(frame), {
        fps: video.main.config.fps,
        placeholder: { format: 'i420', width, height, data: black },
      });
    }
    if (audio && options.audio) {
      audio.on('packet', interleave).on('error', forwardError);
      const engineOptions: AudioEngineOptions = {
        ...audioEngineDefaults(),
        alignToBlocks: true,
        ...options.audio.engine,
        sampleRate: audio.config.sampleRate,
        channels: audio.config.channels,
        frameSize: audio.frameSize,
      };
      const blockUs = (engineOptions.frameSize * 1e6) / engineOptions.sampleRate;
      this.#audioEngine = new AudioEngine(
        clock,
        (block) => {
          // Whole blocks only: the audio ends at or before the end, as the video does.
          if (block.ptsUs + blockUs <= this.#endUs) audio.encode(block);
        },
        engineOptions,
      );
      for (const source of options.audio.sources) this.#audioEngine.addSource(source);
    }
  }

  /** Opens the encoders; the engines start with `start()`. */
  static async open(clock: Clock, options: MediaSessionOptions): Promise<MediaSession> {
    if (!options.video && !options.audio) {
      throw new InvalidStateError('a session needs video, audio or both');
    }
    const video = options.video ? await VideoRenditions.open(clock, options.video.encoder) : null;
    let audio: AudioEncoder | null = null;
    try {
      audio = options.audio ? await AudioEncoder.open(options.audio.encoder) : null;
    } catch (error) {
      await video?.close();
      throw error;
    }
    return new MediaSession(clock, options, video, audio);
  }

  /** The session clock. */
  get clock(): Clock {
    return this.#clock;
  }

  /** Both streams' configuration (the main video rendition, and the others running now). */
  get config(): StreamConfig {
    const video = this.#video;
    const audio = this.#audioEncoder;
    const renditions = video?.configs;
    return {
      ...(video ? { video: video.main.config } : {}),
      ...(renditions && renditions.size > 0 ? { renditions } : {}),
      ...(audio ? { audio: audio.config } : {}),
    };
  }

  /** The video encodes (the main one and those started on demand), or null without video. */
  get renditions(): VideoRenditions | null {
    return this.#video;
  }

  /** Adds an output; it receives every packet from now on. */
  addSink(sink: PacketSink): void {
    this.#sinks.add(sink);
  }

  /** Starts capture and the audio clock, both at the current clock time. */
  start(): void {
    if (this.#state !== 'ready') throw new InvalidStateError(`cannot start a session that is ${this.#state}`);
    this.#state = 'running';
    this.#audioEngine?.start();
    this.#captureLoop?.start();
  }

  /**
   * Ends the media at `sessionTimeUs`: video frames stamped at or after it, and audio blocks that end
   * after it, are not encoded, so a run stopped a little later still holds exactly that much media.
   */
  endAt(sessionTimeUs: number): void {
    this.#endUs = sessionTimeUs;
    this.#captureLoop?.endAt(sessionTimeUs);
  }

  /** The next captured frame is an IDR, in every rendition. */
  requestKeyframe(): void {
    this.#video?.requestKeyframe();
  }

  /** Changes the main video encoder's bitrate. */
  setVideoBitrate(bitrateBps: number): void {
    this.#video?.main.setBitrate(bitrateBps);
  }

  /** The main video encoder's bitrate now, bits per second (what it kept: see VideoEncoder.setBitrate); null without video. */
  get videoBitrateBps(): number | null {
    return this.#video?.main.bitrateBps ?? null;
  }

  /** Snapshot of every engine's counters. */
  get stats(): MediaSessionStats {
    return {
      ...(this.#captureLoop ? { capture: this.#captureLoop.stats } : {}),
      ...(this.#audioEngine ? { audio: this.#audioEngine.stats } : {}),
      ...(this.#video ? { videoEncoder: this.#video.main.stats } : {}),
      ...(this.#audioEncoder ? { audioEncoder: this.#audioEncoder.stats } : {}),
      interleave: this.#interleaver.stats,
    };
  }

  /** Stops the engines, encodes what is queued and flushes the encoders to the sinks; idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#captureLoop?.stop();
    this.#audioEngine?.stop();
    await Promise.all([this.#video?.close(), this.#audioEncoder?.close()]);
    this.#interleaver.flush();
    this.#options.video?.source.close();
    for (const source of this.#options.audio?.sources ?? []) source.close();
  }
}

function blackI420(width: number, height: number): Buffer {
  const luma = width * height;
  const data = Buffer.alloc(luma + 2 * Math.ceil(width / 2) * Math.ceil(height / 2), 128);
  data.fill(16, 0, luma);
  return data;
}
