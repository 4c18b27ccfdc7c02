import type { PushAudioSource, PushedAudioFormat } from './capture/push-audio-source.js';
import type { PushVideoSource, PushedVideoTiming } from './capture/push-video-source.js';
import { captureDevices, sourcesThatCanFail, type OpenedSources } from './capture/source-choice.js';
import type { RawVideoFrame } from './media/frames.js';
import type { Clock, Timer } from './core/clock.js';
import {
  AbortError,
  ConfigError,
  InvalidStateError,
  MediaError,
  SteadycastError,
  asError,
} from './core/errors.js';
import { MonotonicClock } from './core/monotonic-clock.js';
import { TypedEmitter } from './core/typed-emitter.js';
import { checkVideoBitrate } from './encode/video-encoder.js';
import type { StreamConfig, VideoCodec } from './media/packet.js';
import { FileRecorder } from './output/file-recorder.js';
import { validateRecordPath } from './output/record-path.js';
import { VideoCodecChoice, type CodecFallback } from './output/codec-choice.js';
import { OutputGroup } from './output/output-group.js';
import type { Output } from './output/output.js';
import { RtmpOutput } from './output/rtmp-output.js';
import type { DashboardHandle, DashboardOptions } from './observe/dashboard-server.js';
import { routeFfmpegLog } from './observe/ffmpeg-log.js';
import { StreamerViews } from './observe/views.js';
import { redact, secretsOf } from './rtmp/url.js';
import { MediaSession } from './session/media-session.js';
import type { Registry } from 'prom-client';
import { mainRenditionName, startAdaptation, validatePins, type Adaptation } from './session/adaptation.js';
import { startTrackRenditions, validateMultitrack } from './session/multitrack.js';
import {
  mediaSessionOptions,
  openStreamerSources,
  outputPlan,
  streamerVideoCodecs,
} from './streamer-media.js';
import { collectStats } from './streamer-stats.js';
import {
  streamerDefaults,
  type StreamerEvents,
  type StreamerOptions,
  type StreamerState,
  type StreamStats,
} from './streamer-options.js';

export * from './streamer-options.js';

/**
 * Captures, encodes once and publishes to one or more RTMP/RTMPS destinations, with bounded latency
 * (GOP-aware video drops), audio never dropped while connected, and automatic reconnection. It
 * assembles the parts (sources, MediaSession, an OutputGroup, a FileRecorder, AdaptiveBitrate) and
 * delegates; none of them waits for another.
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
  #group = new OutputGroup([]);
  #recorder: FileRecorder | null = null;
  #sources: OpenedSources | null = null;
  #adaptation: Adaptation | null = null;
  /** Per output, the rendition it must carry, if any. */
  readonly #pins: (string | undefined)[];
  /** Some output carries every rendition as a track: they are all encoded from the start. */
  readonly #multitrack: boolean;
  /** The video codecs allowed, in order of preference (`video.codec`); null: audio only. */
  readonly #videoCodecs: VideoCodec[] | null;
  /** The video codec every encoder makes and every output sends, once settled; null before, or audio only. */
  #videoCodec: VideoCodec | null = null;
  #codecFallback: CodecFallback | null = null;
  #statsTimer: Timer | null = null;
  #startAbort: AbortController | null = null;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #videoBitrateBps: number | null = null;
  #videoBitrateLowestBps: number | null = null;
  #startedUs = 0;
  #mediaEndUs: number | null = null;
  /** start() resolved: from now on an output's failure is an `error` event, not start()'s rejection. */
  #started = false;
  #lastCaptured = { atUs: 0, frames: 0 };
  #captureFps = 0;
  readonly #listenerFaults = new Set<string>();
  #views: StreamerViews | null = null;
  #unrouteLog: (() => void) | null = null;

  constructor(options: Partial<StreamerOptions> & Pick<StreamerOptions, 'outputs'>) {
    super();
    this.#clock = options.clock ?? new MonotonicClock();
    this.#options = { ...streamerDefaults(), ...options, clock: this.#clock };
    const { outputs, recordPath, video, audio } = this.#options;
    if (!Array.isArray(outputs) || (outputs.length === 0 && !recordPath)) {
      throw new ConfigError('outputs', outputs, 'give at least one rtmp:// or rtmps:// URL');
    }
    if (!video && !audio) throw new ConfigError('video/audio', null, 'enable video, audio or both');
    this.#videoCodecs = streamerVideoCodecs(this.#options);
    if (recordPath) validateRecordPath(recordPath); // before anything connects
    this.#pins = outputs.map((spec) => (typeof spec === 'string' ? undefined : spec.rendition));
    validatePins(this.#pins, video?.renditions ?? []);
    this.#multitrack = outputs.some((spec) => typeof spec !== 'string' && spec.multitrack === true);
    if (this.#multitrack) {
      validateMultitrack({
        renditions: video?.renditions ?? [],
        adaptiveQuality: video?.adaptiveQuality === true,
        adaptiveBitrate: video?.adaptiveBitrate === true,
        pinned: this.#pins.some((p) => p !== undefined),
      });
    }
  }

  /** The summary state. */
  get state(): StreamerState {
    return this.#state;
  }

  /** The streams' configuration (after `start()`), with the video bitrate in use. */
  get config(): StreamConfig | null {
    return this.#session ? this.#streamConfig() : null;
  }

  /**
   * Connects every output, and meanwhile opens the sources and encoders; capture starts as soon as
   * they are open, and what it produces waits for the first connection (bounded by `maxLatencyMs`),
   * so a run's media reaches the server from its first frame. Resolves once the first destination
   * has accepted the stream (past its publish probation); the others go on connecting in the
   * background (watch `state`). Rejects on bad options, an encoder or device failure, when every
   * output failed, or with `ERR_ABORTED` when `signal` aborts or `stop()` is called first.
   */
  start(signal?: AbortSignal): Promise<void> {
    if (this.#stopping)
      return Promise.reject(new InvalidStateError('this Streamer was stopped; create a new one'));
    if (this.#state !== 'idle') return Promise.reject(new InvalidStateError(`start() while ${this.#state}`));
    const abort = new AbortController();
    this.#startAbort = abort;
    const forward = (): void => abort.abort(new AbortError('start() was aborted by its signal'));
    if (signal?.aborted) forward();
    signal?.addEventListener('abort', forward, { once: true });
    this.#starting = this.#start(abort.signal).finally(() => {
      signal?.removeEventListener('abort', forward);
      this.#startAbort = null;
    });
    return this.#starting;
  }

  async #start(signal: AbortSignal): Promise<void> {
    this.#setState('starting');
    this.#unrouteLog = routeFfmpegLog(this.#options.logLevel, (record) => {
      if (this.listenerCount('log') > 0) this.emit('log', record);
      else process.stderr.write(`ffmpeg ${record.level}: ${record.message}\n`);
    });
    try {
      // The outputs need the streams' configuration only at their first packet: they connect while
      // the sources and encoders open.
      this.#group = new OutputGroup(this.#options.outputs.map((spec) => this.#makeOutput(spec)));
      const codecChoice = new VideoCodecChoice(this.#group, this.#videoCodecs ?? []);
      this.#group.start();
      this.#updateState();
      const sources = (this.#sources = await openStreamerSources(this.#clock, this.#options));
      this.#watchDevices(sources);
      throwIfAborted(signal);
      const { codec, fallback } = await codecChoice.settle(signal);
      this.#codecFallback = fallback;
      if (fallback) this.emit('codecfallback', fallback);
      this.#videoCodec = this.#videoCodecs ? codec : null;
      const session = (this.#session = await MediaSession.open(
        this.#clock,
        mediaSessionOptions(this.#options, sources, codec),
      ));
      session.on('error', (error) => this.emit('error', error));
      session.on('sinkfailed', (sink, error) => this.#onSinkFailed(sink, error));
      if (this.#multitrack) await startTrackRenditions(session, this.#options.video?.renditions ?? []);
      for (const output of this.#group.outputs) session.addSink(output);
      if (this.#options.recordPath) {
        const recorder = (this.#recorder = await FileRecorder.open(this.#options.recordPath, session.config));
        recorder.on('failed', (error) => this.emit('recordingfailed', recorder.path, error));
        session.addSink(recorder);
      }
      throwIfAborted(signal);
      this.#startedUs = this.#clock.nowUs();
      this.#lastCaptured = { atUs: this.#startedUs, frames: 0 };
      if (this.#mediaEndUs !== null) session.endAt(this.#mediaEndUs);
      session.start();
      this.emit('capturing', this.#startedUs);
      this.#statsTimer = this.#clock.setTimer(() => this.#statsTick(), this.#options.statsIntervalMs);
      this.#startAdaptation(session);
      if (this.#group.outputs.length === 0) this.#setState('live'); // recording only: live once capturing
      await this.#group.firstAccepted(signal);
      this.#started = true;
      // Another destination gave up while this one was accepted: say so now.
      for (const output of this.#group.outputs) if (output.failure) this.emit('error', output.failure);
    } catch (error) {
      await this.#teardown();
      this.#setState(signal.aborted ? 'stopped' : 'failed');
      throw signal.aborted ? signal.reason : error;
    }
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
    const push: PushVideoSource | null = this.#sources?.pushVideo ?? null;
    if (!push) throw new InvalidStateError('pushVideoFrame() needs video.source "push" and start()');
    push.pushVideoFrame(frame, timing);
  }

  /**
   * Hands PCM to the `push` audio source (any rate and channel count); never blocks. Placed at
   * `format.timestampUs` on the session clock, or, without it, right after the audio queued before.
   */
  pushAudioSamples(samples: Float32Array | Int16Array, format: PushedAudioFormat): void {
    const push: PushAudioSource | null = this.#sources?.pushAudio ?? null;
    if (!push) throw new InvalidStateError('pushAudioSamples() needs an audio source "push" and start()');
    push.pushAudioSamples(samples, format);
  }

  /**
   * Ends the media at `sessionTimeUs` (the session clock, as `capturing` gives it): what is captured
   * at or after it is not encoded, so a run timed by the app (`capturing` time + N s, then `stop()`)
   * holds exactly N s, however late its timer fires.
   */
  endMediaAt(sessionTimeUs: number): void {
    if (!Number.isFinite(sessionTimeUs)) {
      throw new ConfigError(
        'sessionTimeUs',
        sessionTimeUs,
        'pass a time on the session clock, e.g. the capturing time + 10e6',
      );
    }
    this.#mediaEndUs = sessionTimeUs;
    this.#session?.endAt(sessionTimeUs);
  }

  /** Asks the encoder for a keyframe now. */
  requestKeyframe(): void {
    this.#session?.requestKeyframe();
  }

  /** Changes the video bitrate on the running encoder, bits per second (with adaptive bitrate: its ceiling). */
  setVideoBitrate(bitrateBps: number): void {
    checkVideoBitrate(bitrateBps); // before the controller moves its ceiling
    this.#applyVideoBitrate(this.#adaptation ? this.#adaptation.setMaxBitrate(bitrateBps) : bitrateBps);
  }

  /** Resolves when every output has stopped or failed (e.g. a permanent error). */
  finished(): Promise<void> {
    return this.#group.finished();
  }

  /**
   * Graceful stop: capture ends, the encoders flush, queued media is sent (bounded by each output's
   * `stopFlushTimeoutMs`), streams are unpublished and the recording is finalised. A `start()` still
   * pending rejects with `ERR_ABORTED` at once. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const starting = this.#starting;
    if (this.#startAbort) {
      this.#startAbort.abort(new AbortError('stop() was called before the stream started'));
      await starting?.catch(() => undefined); // start() tears down and rejects
      return;
    }
    await starting?.catch(() => undefined);
    if (this.#state === 'idle' || this.#state === 'failed' || this.#state === 'stopped') {
      await this.#teardown();
      if (this.#state === 'idle') this.#setState('stopped');
      return;
    }
    this.#setState('stopping');
    await this.#teardown();
    this.#setState(this.#group.allFailed ? 'failed' : 'stopped');
  }

  /**
   * Serves a live dashboard of this stream (charts, timeline, state; SSE, no network needed) at
   * `{ host, port }` (default 127.0.0.1 and a free port) → `{ url, close() }`. See DashboardOptions.
   */
  serveDashboard(options: DashboardOptions = {}): Promise<DashboardHandle> {
    return this.#observed().serveDashboard(options);
  }

  /** This stream's Prometheus metrics (prom-client), read from the stats at each scrape; merge it into yours. */
  metricsRegistry(): Registry {
    return this.#observed().metricsRegistry();
  }

  #observed(): StreamerViews {
    const urls = this.#options.outputs.map((o) => (typeof o === 'string' ? o : o.url));
    this.#views ??= new StreamerViews(this, this.#clock, urls);
    return this.#views;
  }

  /** A snapshot of every counter. */
  get stats(): StreamStats {
    return collectStats({
      state: this.#state,
      uptimeMs: this.#startedUs ? (this.#clock.nowUs() - this.#startedUs) / 1000 : 0,
      captureFps: this.#captureFps,
      session: this.#session,
      sources: this.#sources,
      group: this.#group,
      recorder: this.#recorder,
      mainRenditionName: mainRenditionName(this.#options.video?.renditions ?? []),
      videoBitrateBps: this.#videoBitrateBps,
      videoBitrateLowestBps: this.#videoBitrateLowestBps,
      videoCodec: this.#videoCodec,
      videoCodecFallback: this.#codecFallback,
    });
  }

  /**
   * Emits to the application's listeners, each on its own: a listener that throws is the app's bug,
   * reported once per event as a process warning, and never breaks the stream (a throw escaping here
   * would end a timer's callback, or a state change half done).
   */
  override emit<E extends keyof StreamerEvents & string>(event: E, ...args: StreamerEvents[E]): boolean {
    return this.emitIsolated(event, args, (error) => {
      if (this.#listenerFaults.has(event)) return;
      this.#listenerFaults.add(event);
      process.emitWarning(`a listener of the Streamer's "${event}" event threw: ${asError(error).message}`, {
        code: 'STEADYCAST_LISTENER_THREW',
        detail: 'steadycast went on; later throws of this listener are not reported.',
      });
    });
  }

  // ------------------------------------------------------------ assembly

  #makeOutput(spec: StreamerOptions['outputs'][number]): Output {
    const { options, nominalBps } = outputPlan(spec, this.#options, this.#videoCodecs);
    const output = new RtmpOutput(this.#clock, () => this.#streamConfig(), options, nominalBps);
    output.on('keyframeRequest', () => this.#session?.requestKeyframe());
    output.on('statechange', () => this.#updateState());
    output.mainRenditionName = mainRenditionName(this.#options.video?.renditions ?? []);
    output.on('dropstatechange', (prev, next) => this.emit('dropstate', output.stats.url, prev, next));
    const secrets = secretsOf(options.url);
    output.on('disconnected', (error) =>
      this.emit('disconnected', output.stats.url, redact(error.message, secrets)),
    );
    output.on('serverreconnect', (outcome, detail) =>
      this.emit('serverreconnect', output.stats.url, outcome, redact(detail, secrets)),
    );
    output.on('retry', (error, delayMs) =>
      this.emit(
        'retry',
        output.stats.url,
        redact(error.message, secrets),
        delayMs,
        error instanceof SteadycastError ? error.code : null,
      ),
    );
    output.on('renditionchange', ({ from, to, reason }) => {
      const name = (r: string | undefined): string => r ?? output.mainRenditionName;
      this.emit('renditionchange', output.stats.url, name(from), name(to), reason);
    });
    output.on('error', (error) => {
      if (this.#started) this.emit('error', error);
      this.#updateState();
    });
    return output;
  }

  #watchDevices(sources: OpenedSources): void {
    for (const device of captureDevices(sources)) {
      device.on('failed', (error) => this.emit('devicefailed', device.name, error));
      device.on('recovered', (outageMs) => this.emit('devicerecovered', device.name, outageMs));
      // One that failed while the others were still opening: say so now, so a recovery pairs with it.
      const { error } = device;
      if (error) queueMicrotask(() => this.emit('devicefailed', device.name, error));
    }
    for (const source of sourcesThatCanFail(sources)) {
      source.on('failed', (error) => this.emit('sourcefailed', source.name, error));
      const { error } = source; // a file that failed while the others were still opening
      if (error) queueMicrotask(() => this.emit('sourcefailed', source.name, error));
    }
  }

  #startAdaptation(session: MediaSession): void {
    const video = this.#options.video;
    this.#adaptation = startAdaptation(
      this.#clock,
      session,
      this.#group.outputs,
      {
        adaptiveQuality: video?.adaptiveQuality === true,
        adaptiveBitrate: video?.adaptiveBitrate === true,
        renditions: video?.renditions ?? [],
        maxExtraEncoders: video?.maxExtraEncoders ?? 2,
        pins: this.#pins,
      },
      {
        mainBitrate: (bitrateBps, reason) => {
          this.#applyVideoBitrate(bitrateBps);
          this.emit('bitrate', bitrateBps, reason);
        },
        error: (error) => this.emit('error', error),
      },
    );
  }

  #applyVideoBitrate(bitrateBps: number): void {
    this.#session?.setVideoBitrate(bitrateBps);
    // What the encoder kept: one that cannot follow a new bitrate (libx265, libsvtav1) stays where it was.
    const applied = this.#session?.videoBitrateBps ?? bitrateBps;
    this.#videoBitrateBps = applied;
    this.#videoBitrateLowestBps = Math.min(this.#videoBitrateLowestBps ?? Infinity, applied);
  }

  /** The streams as they are now: what each new connection's metadata and headers announce. */
  #streamConfig(): StreamConfig {
    const config = this.#session?.config ?? {};
    if (!config.video || this.#videoBitrateBps === null) return config;
    return { ...config, video: { ...config.video, bitrateBps: this.#videoBitrateBps } };
  }

  #onSinkFailed(sink: unknown, error: Error): void {
    const which = sink === this.#recorder ? `the recording ${this.#recorder?.path}` : 'an output';
    this.emit(
      'error',
      new MediaError(`feeding ${which}`, `${error.message} (it was taken out; the rest goes on)`, {
        cause: error,
      }),
    );
  }

  /** Stops everything that runs, in order: timers, capture and encoders (flushed), outputs, recording. */
  async #teardown(): Promise<void> {
    this.#statsTimer?.cancel();
    this.#statsTimer = null;
    this.#adaptation?.stop();
    if (this.#session) await this.#session.stop();
    else this.#closeSources();
    await this.#group.stop();
    await this.#recorder?.close();
  }

  #closeSources(): void {
    this.#sources?.video?.close();
    for (const source of this.#sources?.audio ?? []) source.close();
  }

  // ------------------------------------------------------------ state and stats

  #updateState(): void {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'idle') return;
    const summary = this.#group.summaryState;
    if (summary !== null) this.#setState(summary);
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
    if (next === 'stopped' || next === 'failed') {
      this.#unrouteLog?.();
      this.#unrouteLog = null;
    }
    this.emit('state', prev, next);
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}
