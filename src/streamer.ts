import type {
  PushAudioSource,
  PushVideoSource,
  PushedAudioFormat,
  PushedVideoTiming,
} from './capture/push-sources.js';
import {
  captureDevices,
  openSources,
  type AudioSourceChoice,
  type OpenedSources,
  type VideoSourceChoice,
} from './capture/source-choice.js';
import type { DeviceHealthStats } from './capture/device-read-loop.js';
import type { RawVideoFrame } from './media/frames.js';
import type { Clock, Timer } from './core/clock.js';
import { ConfigError, InvalidStateError } from './core/errors.js';
import type { LatenessSummary } from './core/lateness.js';
import { MonotonicClock } from './core/monotonic-clock.js';
import { TypedEmitter } from './core/typed-emitter.js';
import { checkVideoBitrate, type VideoEncoderOptions } from './encode/video-encoder.js';
import type { StreamConfig } from './media/packet.js';
import {
  BitrateController,
  bitrateControllerDefaults,
  type BitrateChange,
} from './output/bitrate-controller.js';
import type { DropState } from './output/drop-policy.js';
import { FileRecorder } from './output/file-recorder.js';
import {
  RtmpOutput,
  type OutputState,
  type RtmpOutputOptions,
  type RtmpOutputStats,
} from './output/rtmp-output.js';
import { MediaSession, type MediaSessionOptions } from './session/media-session.js';
import { MEDIA_DEFAULTS } from './media/defaults.js';

/** How often adaptive bitrate looks at the outputs, ms. */
const ABR_INTERVAL_MS = 500;

/** Video settings of a Streamer. */
export interface StreamerVideoOptions {
  /**
   * `test` (moving pattern, default), `push` (frames from `pushVideoFrame()`), `screen` or
   * `{ screen, region, drawMouse }` (screen capture), `{ file, loop }` (a media file in real time),
   * or your own VideoSource.
   */
  source: VideoSourceChoice;
  /** Width, pixels; default 1280. */
  width: number;
  /** Height, pixels; default 720. */
  height: number;
  /** Frames per second; default 30. */
  fps: number;
  /** Bits per second, CBR; default 2_500_000. */
  bitrateBps: number;
  /** Seconds between keyframes; default 2. */
  keyframeIntervalS: number;
  /** FFmpeg H.264 encoder; default libx264. */
  encoder: string;
  /** x264 preset; default veryfast. */
  preset: string;
  /** Extra encoder options (each checked: a typo is an error). */
  encoderOptions: Record<string, string>;
  /**
   * Lower the bitrate under sustained congestion and raise it back when the path clears (see
   * BitrateController), so drops become rare; `bitrateBps` is the most it uses. Default false.
   */
  adaptiveBitrate: boolean;
}

/** Audio settings of a Streamer. */
export interface StreamerAudioOptions {
  /**
   * Sources to mix: `tone` (440 Hz, default), `silence`, `push` (PCM from `pushAudioSamples()`),
   * `system` / `mic` or `{ device, name, gain, muted }` (capture devices), `file` (the video file's
   * audio) or `{ file, loop }`, or your own AudioSource.
   */
  sources: AudioSourceChoice[];
  /** Bits per second; default 160_000. */
  bitrateBps: number;
}

/** Options of a Streamer; every field but `outputs` has a default. */
export interface StreamerOptions {
  /** RTMP/RTMPS destinations: URLs, or per-output options. One encode feeds them all. */
  outputs: (string | (Partial<RtmpOutputOptions> & { url: string }))[];
  /** Video, or null for audio only. */
  video: Partial<StreamerVideoOptions> | null;
  /** Audio, or null for video only. */
  audio: Partial<StreamerAudioOptions> | null;
  /** Drop threshold for every output that does not set its own, ms; default 2000. */
  maxLatencyMs: number;
  /** Also record to this local file (.flv, .mp4, .mkv); never drops. Default none. */
  recordPath: string | null;
  /** How often the `stats` event fires, ms; default 1000. */
  statsIntervalMs: number;
  /** The session clock; default a new MonotonicClock. Tests inject a fake. */
  clock: Clock;
}

/** Where a Streamer is, summarised over its outputs. */
export type StreamerState = 'idle' | 'starting' | OutputState;

/** One snapshot of everything a Streamer counts. */
export interface StreamStats {
  /** Summary state. */
  readonly state: StreamerState;
  /** Milliseconds since start. */
  readonly uptimeMs: number;
  /** Video frames captured (new and duplicated). */
  readonly framesCaptured: number;
  /** Frames repeated because the source had nothing new. */
  readonly framesDuplicated: number;
  /** Frame deadlines missed because the capture loop ran late. */
  readonly framesLagged: number;
  /** Pushed (or captured) pictures replaced by a newer one before a frame deadline took them. */
  readonly framesReplaced: number;
  /** Pushed (or captured) audio dropped because it arrived faster than real time, sample frames. */
  readonly framesDroppedOverflow: number;
  /** Timestamped pushed audio dropped because its time was already queued or played, sample frames. */
  readonly framesDroppedLate: number;
  /** Frames skipped because the encoder was behind. */
  readonly framesSkippedEncoder: number;
  /** Measured capture rate over the last interval, frames per second. */
  readonly captureFps: number;
  /** Silence inserted for audio sources that were short, or at a gap between timestamped pushes, ms. */
  readonly silenceInsertedMs: number;
  /** Audio dropped from sources that ran ahead of the clock, ms. */
  readonly audioOverrunDroppedMs: number;
  /** Video dropped for congestion, summed over outputs. */
  readonly videoPacketsDropped: number;
  /** Audio dropped while connected, summed over outputs (0 by design). */
  readonly audioPacketsDropped: number;
  /** Packets dropped while disconnected, summed over outputs. */
  readonly packetsDroppedWhileDisconnected: { readonly video: number; readonly audio: number };
  /** Reconnections, summed over outputs. */
  readonly reconnectCount: number;
  /** The highest current latency among outputs, ms. */
  readonly currentLatencyMs: number;
  /** The highest latency seen by any output, ms. */
  readonly maxLatencyMs: number;
  /** Bytes sent, all outputs. */
  readonly bytesSent: number;
  /** Send bitrate, all outputs, bits per second. */
  readonly sendBitrateBps: number;
  /** How late the capture loop's ticks ran. */
  readonly captureTickLateness: LatenessSummary | null;
  /** How late the audio engine's ticks ran. */
  readonly audioTickLateness: LatenessSummary | null;
  /** Per-output details. */
  readonly outputs: readonly RtmpOutputStats[];
  /** The video encoder's bitrate now, bits per second (it moves with `video.adaptiveBitrate`). */
  readonly videoBitrateBps: number;
  /** The lowest video bitrate used so far, bits per second. */
  readonly videoBitrateLowestBps: number;
  /** Capture devices (screen, microphone, system audio): whether each works, and its failures. */
  readonly devices: readonly DeviceHealth[];
}

/** One capture device's health in the stats. */
export interface DeviceHealth extends DeviceHealthStats {
  /** The device, e.g. `screen :0.0` or `mic @DEFAULT_SOURCE@`. */
  readonly name: string;
  /** `ok`, or `down` while it is failed and being reopened. */
  readonly state: 'ok' | 'down';
}

/** Events of a Streamer. */
export type StreamerEvents = {
  /** The summary state changed, `prev → next`. */
  state: [prev: StreamerState, next: StreamerState];
  /** Periodic snapshot (every `statsIntervalMs`). */
  stats: [StreamStats];
  /** An output gave up (permanent failure), or an engine failed. */
  error: [Error];
  /**
   * A capture device failed (display gone, microphone unplugged); the stream goes on with the last
   * picture (duplicated, counted) or silence (counted) while it is reopened with backoff.
   */
  devicefailed: [name: string, error: Error];
  /** A failed capture device works again, after `outageMs`. */
  devicerecovered: [name: string, outageMs: number];
  /** An output entered or left congestion (`dropping`: video is being dropped); `url` has the key hidden. */
  dropstate: [url: string, prev: DropState, next: DropState];
  /** With `video.adaptiveBitrate`: the encoder's bitrate changed, bits per second. */
  bitrate: [bitrateBps: number, reason: BitrateChange['reason']];
};

/** Default Streamer options (without outputs). */
export function streamerDefaults(): Omit<StreamerOptions, 'outputs' | 'clock'> {
  return {
    video: {},
    audio: {},
    maxLatencyMs: MEDIA_DEFAULTS.maxLatencyMs,
    recordPath: null,
    statsIntervalMs: 1000,
  };
}

/**
 * Captures, encodes once and publishes to one or more RTMP/RTMPS destinations, with bounded latency
 * (GOP-aware video drops), audio never dropped while connected, and automatic reconnection.
 *
 * ```ts
 * const streamer = new Streamer({ outputs: ['rtmp://localhost/live/key'] });
 * streamer.on('stats', (s) => console.log(s.currentLatencyMs));
 * await streamer.start();
 * ```
 */
export class Streamer extends TypedEmitter<StreamerEvents> {
  readonly #options: StreamerOptions;
  readonly #clock: Clock;
  #state: StreamerState = 'idle';
  #session: MediaSession | null = null;
  #outputs: RtmpOutput[] = [];
  #recorder: FileRecorder | null = null;
  #pushVideo: PushVideoSource | null = null;
  #pushAudio: PushAudioSource | null = null;
  #sources: OpenedSources | null = null;
  #statsTimer: Timer | null = null;
  #abr: BitrateController | null = null;
  #abrTimer: Timer | null = null;
  #videoBitrateBps: number | null = null;
  #videoBitrateLowestBps: number | null = null;
  #startedUs = 0;
  #lastCaptured = { atUs: 0, frames: 0 };
  #captureFps = 0;
  #closed = false;

  constructor(options: Partial<StreamerOptions> & Pick<StreamerOptions, 'outputs'>) {
    super();
    this.#clock = options.clock ?? new MonotonicClock();
    this.#options = { ...streamerDefaults(), ...options, clock: this.#clock };
    if (
      !Array.isArray(this.#options.outputs) ||
      (this.#options.outputs.length === 0 && !this.#options.recordPath)
    ) {
      throw new ConfigError('outputs', this.#options.outputs, 'give at least one rtmp:// or rtmps:// URL');
    }
    if (!this.#options.video && !this.#options.audio) {
      throw new ConfigError('video/audio', null, 'enable video, audio or both');
    }
  }

  /** The summary state. */
  get state(): StreamerState {
    return this.#state;
  }

  /** The streams' configuration (after `start()`). */
  get config(): StreamConfig | null {
    return this.#session?.config ?? null;
  }

  /**
   * Opens the sources and encoders and connects every output; capture starts once the first output
   * has accepted the stream (past its probation), so a run's media all reaches it. Resolves then;
   * the other outputs go on connecting in the background (watch `state`). Rejects on bad options,
   * an encoder or device failure, or when every output failed.
   */
  async start(): Promise<void> {
    if (this.#closed) throw new InvalidStateError('this Streamer was stopped; create a new one');
    if (this.#state !== 'idle') throw new InvalidStateError(`start() while ${this.#state}`);
    this.#setState('starting');
    const clock = this.#clock;
    try {
      const sources = await this.#openSources();
      this.#sources = sources;
      for (const device of captureDevices(this.#sources)) {
        device.on('failed', (error) => this.emit('devicefailed', device.name, error));
        device.on('recovered', (outageMs) => this.emit('devicerecovered', device.name, outageMs));
        // One that failed while the others were still opening: say so now, so a recovery pairs with it.
        const { error } = device;
        if (error) queueMicrotask(() => this.emit('devicefailed', device.name, error));
      }
      this.#pushVideo = sources.pushVideo;
      this.#pushAudio = sources.pushAudio;
      const session = await MediaSession.open(clock, {
        video: this.#videoSetup(sources),
        audio: this.#audioSetup(sources),
      }).catch((error: unknown) => {
        sources.video?.close();
        for (const source of sources.audio) source.close();
        throw error;
      });
      this.#session = session;
      session.on('error', (error) => this.emit('error', error));
      this.#outputs = this.#options.outputs.map((o) => this.#makeOutput(session, o));
      if (this.#options.recordPath) {
        this.#recorder = await FileRecorder.open(this.#options.recordPath, session.config);
        session.addSink(this.#recorder);
      }
    } catch (error) {
      this.#setState('failed');
      await this.#session?.stop();
      throw error;
    }
    for (const output of this.#outputs) output.start();
    this.#updateState();
    // Capture starts when the first destination is live, so a run's media all reaches it; from then on
    // the engines never wait for the network again.
    const failure = await this.#firstLiveOrFailure();
    if (failure) {
      this.#closed = true;
      await Promise.all(this.#outputs.map((o) => o.stop()));
      await this.#session.stop();
      await this.#recorder?.close();
      this.#setState('failed');
      throw failure;
    }
    this.#startedUs = clock.nowUs();
    this.#lastCaptured = { atUs: this.#startedUs, frames: 0 };
    this.#session.start();
    this.#statsTimer = clock.setTimer(() => this.#statsTick(), this.#options.statsIntervalMs);
    const video = this.#session.config.video;
    if (video && this.#options.video?.adaptiveBitrate) {
      const audioBps = this.#session.config.audio?.bitrateBps ?? 0;
      const options = bitrateControllerDefaults(video.bitrateBps, audioBps);
      this.#abr = new BitrateController(clock, options);
      this.#abrTick();
    }
  }

  // Every 500 ms, and at once when an output starts dropping.
  #abrTick(): void {
    this.#abrTimer?.cancel();
    this.#abrTimer = null;
    if (!this.#abr || this.#closed) return;
    const reports = this.#outputs
      .filter((o) => o.state === 'live')
      .map((o) => {
        const stats = o.stats;
        return {
          dropping: stats.dropState === 'dropping',
          latencyMs: stats.currentLatencyMs,
          maxLatencyMs: o.options.maxLatencyMs,
          deliveryRateBps: stats.deliveryRateBps,
        };
      });
    const change = this.#abr.update(reports);
    if (change) {
      this.#applyVideoBitrate(change.bitrateBps);
      this.emit('bitrate', change.bitrateBps, change.reason);
    }
    this.#abrTimer = this.#clock.setTimer(() => this.#abrTick(), ABR_INTERVAL_MS);
  }

  /** Resolves when some output is live (null), or with the first error once every output failed. */
  #firstLiveOrFailure(): Promise<Error | null> {
    if (this.#outputs.length === 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const errors: Error[] = [];
      const check = (): void => {
        if (this.#outputs.some((o) => o.isEstablished)) finish(null);
        else if (this.#outputs.every((o) => o.state === 'failed'))
          finish(errors[0] ?? new Error('every output failed'));
      };
      const onError = (error: Error): void => {
        errors.push(error);
        check();
      };
      const finish = (result: Error | null): void => {
        for (const o of this.#outputs)
          o.off('statechange', check).off('established', check).off('error', onError);
        resolve(result);
      };
      for (const o of this.#outputs) o.on('error', onError).on('statechange', check).on('established', check);
      check();
    });
  }

  /** Now on the session clock, microseconds: the time base of the pushes' `timestampUs`. */
  sessionTimeUs(): number {
    return this.#clock.nowUs();
  }

  /**
   * Hands a picture to the `push` video source; never blocks. It is shown at the first frame deadline
   * at or after `timing.timestampUs` (default: the next deadline); of several due, the newest wins.
   */
  pushVideoFrame(frame: RawVideoFrame, timing: PushedVideoTiming = {}): void {
    if (!this.#pushVideo)
      throw new InvalidStateError('pushVideoFrame() needs video.source "push" and start()');
    this.#pushVideo.pushVideoFrame(frame, timing);
  }

  /**
   * Hands PCM to the `push` audio source (any rate and channel count); never blocks. Placed at
   * `format.timestampUs` on the session clock, or, without it, right after the audio queued before.
   */
  pushAudioSamples(samples: Float32Array | Int16Array, format: PushedAudioFormat): void {
    if (!this.#pushAudio)
      throw new InvalidStateError('pushAudioSamples() needs an audio source "push" and start()');
    this.#pushAudio.pushAudioSamples(samples, format);
  }

  /** Asks the encoder for a keyframe now. */
  requestKeyframe(): void {
    this.#session?.requestKeyframe();
  }

  /** Changes the video bitrate on the running encoder, bits per second. */
  setVideoBitrate(bitrateBps: number): void {
    // With adaptive bitrate this is the new ceiling; the controller says what to use under it now.
    checkVideoBitrate(bitrateBps); // before the controller moves its ceiling
    this.#applyVideoBitrate(this.#abr ? this.#abr.setMaxBitrate(bitrateBps) : bitrateBps);
  }

  #applyVideoBitrate(bitrateBps: number): void {
    this.#session?.setVideoBitrate(bitrateBps);
    this.#videoBitrateBps = bitrateBps;
    this.#videoBitrateLowestBps = Math.min(this.#videoBitrateLowestBps ?? Infinity, bitrateBps);
  }

  /** Resolves when every output has stopped or failed (e.g. a permanent error). */
  async finished(): Promise<void> {
    await Promise.all(this.#outputs.map((o) => o.finished()));
  }

  /**
   * Graceful stop: capture ends, the encoders flush, queued media is sent (bounded by each output's
   * `stopFlushTimeoutMs`), streams are unpublished and the recording is finalised. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statsTimer?.cancel();
    this.#statsTimer = null;
    this.#abrTimer?.cancel();
    this.#abrTimer = null;
    if (this.#state !== 'failed') this.#setState('stopping');
    await this.#session?.stop();
    await Promise.all(this.#outputs.map((o) => o.stop()));
    await this.#recorder?.close();
    const failed = this.#outputs.length > 0 && this.#outputs.every((o) => o.state === 'failed');
    this.#setState(failed ? 'failed' : 'stopped');
  }

  /** A snapshot of every counter. */
  get stats(): StreamStats {
    const session = this.#session?.stats;
    const outputs = this.#outputs.map((o) => o.stats);
    const sum = (pick: (s: RtmpOutputStats) => number): number => outputs.reduce((t, s) => t + pick(s), 0);
    const max = (pick: (s: RtmpOutputStats) => number): number =>
      outputs.reduce((t, s) => Math.max(t, pick(s)), 0);
    return {
      state: this.#state,
      uptimeMs: this.#startedUs ? (this.#clock.nowUs() - this.#startedUs) / 1000 : 0,
      framesCaptured: session?.capture?.framesCaptured ?? 0,
      framesDuplicated: session?.capture?.framesDuplicated ?? 0,
      framesLagged: session?.capture?.framesLagged ?? 0,
      framesReplaced: this.#framesReplaced(),
      framesDroppedOverflow: this.#framesDroppedOverflow(),
      framesDroppedLate: this.#pushAudio?.framesDroppedLate ?? 0,
      framesSkippedEncoder: session?.videoEncoder?.framesSkippedBusy ?? 0,
      captureFps: this.#captureFps,
      silenceInsertedMs: (session?.audio?.silenceInsertedMs ?? 0) + (this.#pushAudio?.silenceInsertedMs ?? 0),
      audioOverrunDroppedMs: session?.audio?.audioOverrunDroppedMs ?? 0,
      videoPacketsDropped: sum((s) => s.videoPacketsDropped),
      audioPacketsDropped: sum((s) => s.audioPacketsDropped),
      packetsDroppedWhileDisconnected: {
        video: sum((s) => s.packetsDroppedWhileDisconnected.video),
        audio: sum((s) => s.packetsDroppedWhileDisconnected.audio),
      },
      reconnectCount: sum((s) => s.reconnectCount),
      currentLatencyMs: max((s) => s.currentLatencyMs),
      maxLatencyMs: max((s) => s.maxLatencyMs),
      bytesSent: sum((s) => s.bytesSent),
      sendBitrateBps: sum((s) => s.sendBitrateBps),
      captureTickLateness: session?.capture?.tickLateness ?? null,
      audioTickLateness: session?.audio?.tickLateness ?? null,
      outputs,
      videoBitrateBps: this.#videoBitrateBps ?? this.#session?.config.video?.bitrateBps ?? 0,
      videoBitrateLowestBps: Math.min(
        this.#videoBitrateLowestBps ?? Infinity,
        this.#session?.config.video?.bitrateBps ?? 0,
      ),
      devices: this.#deviceHealth(),
    };
  }

  #openSources(): Promise<OpenedSources> {
    const { video, audio } = this.#options;
    return openSources(
      this.#clock,
      video ? (video.source ?? 'test') : null,
      audio ? (audio.sources ?? ['tone']) : null,
      {
        width: video?.width ?? MEDIA_DEFAULTS.video.width,
        height: video?.height ?? MEDIA_DEFAULTS.video.height,
        fps: video?.fps ?? MEDIA_DEFAULTS.video.fps,
        sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
        channels: MEDIA_DEFAULTS.audio.channels,
      },
    );
  }

  #videoSetup(sources: OpenedSources): MediaSessionOptions['video'] {
    const video = this.#options.video;
    if (!video || !sources.video) return null;
    const { source: _source, adaptiveBitrate: _abr, ...encoder }: Partial<StreamerVideoOptions> = video;
    const width = video.width ?? MEDIA_DEFAULTS.video.width;
    const height = video.height ?? MEDIA_DEFAULTS.video.height;
    return {
      source: sources.video,
      encoder: { ...(encoder as Partial<VideoEncoderOptions>), width, height },
    };
  }

  #audioSetup(sources: OpenedSources): MediaSessionOptions['audio'] {
    const audio = this.#options.audio;
    if (!audio) return null;
    return {
      sources: sources.audio,
      encoder: audio.bitrateBps === undefined ? {} : { bitrateBps: audio.bitrateBps },
    };
  }

  #deviceHealth(): DeviceHealth[] {
    return captureDevices(this.#sources).map((device) => ({
      name: device.name,
      state: device.error ? 'down' : 'ok',
      ...pickHealth(device.stats),
    }));
  }

  #framesReplaced(): number {
    let total = this.#pushVideo?.framesReplaced ?? 0;
    for (const device of this.#sources?.devices ?? []) {
      if ('framesReplaced' in device.stats) total += device.stats.framesReplaced;
    }
    return total;
  }

  #framesDroppedOverflow(): number {
    let total = this.#pushAudio?.framesDroppedOverflow ?? 0;
    for (const device of this.#sources?.devices ?? []) {
      if ('framesDroppedOverflow' in device.stats) total += device.stats.framesDroppedOverflow;
    }
    return total;
  }

  #makeOutput(session: MediaSession, spec: StreamerOptions['outputs'][number]): RtmpOutput {
    const options = typeof spec === 'string' ? { url: spec } : spec;
    const output = new RtmpOutput(this.#clock, session.config, {
      maxLatencyMs: this.#options.maxLatencyMs,
      ...options,
    });
    output.on('keyframeRequest', () => session.requestKeyframe());
    output.on('statechange', () => this.#updateState());
    output.on('dropstatechange', (prev, next) => {
      this.emit('dropstate', output.stats.url, prev, next);
      if (next === 'dropping') this.#abrTick();
    });
    output.on('error', (error) => {
      if (this.#startedUs) this.emit('error', error);
      this.#updateState();
    });
    session.addSink(output);
    return output;
  }

  #updateState(): void {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#outputs.length === 0) return;
    const states = this.#outputs.map((o) => o.state);
    const order: OutputState[] = ['live', 'reconnecting', 'connecting', 'stopping', 'stopped', 'failed'];
    const next = order.find((s) => states.includes(s)) ?? 'connecting';
    this.#setState(next);
  }

  #statsTick(): void {
    const nowUs = this.#clock.nowUs();
    const frames = this.#session?.stats.capture?.framesCaptured ?? 0;
    const spanS = (nowUs - this.#lastCaptured.atUs) / 1e6;
    if (spanS > 0) this.#captureFps = (frames - this.#lastCaptured.frames) / spanS;
    this.#lastCaptured = { atUs: nowUs, frames };
    this.emit('stats', this.stats);
    this.#statsTimer = this.#clock.setTimer(() => this.#statsTick(), this.#options.statsIntervalMs);
  }

  #setState(next: StreamerState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.emit('state', prev, next);
  }
}

function pickHealth(stats: DeviceHealthStats): DeviceHealthStats {
  return {
    failures: stats.failures,
    reopens: stats.reopens,
    downtimeMs: stats.downtimeMs,
    lastError: stats.lastError,
  };
}
