import { sleep, type Clock, type Timer } from '../core/clock.js';
import { SteadycastError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { aacSequenceHeaderTag, avcSequenceHeaderTag } from '../flv/tags.js';
import type { EncodedPacket, MediaKind, StreamConfig } from '../media/packet.js';
import { RtmpError } from '../rtmp/errors.js';
import { rtmpConnectionDefaults } from '../rtmp/rtmp-connection-options.js';
import { RtmpConnection, type ServerInfo } from '../rtmp/rtmp-connection.js';
import { redactUrl } from '../rtmp/url.js';
import { ReconnectSchedule, type FailureKind } from './backoff.js';
import type { DropState } from './drop-policy.js';
import { FailureClassifier } from './failure-class.js';
import { LatencyTracker } from './latency-tracker.js';
import { NetworkSender } from './network-sender.js';
import type { PacketSink } from './packet-sink.js';
import { ProgressMonitor } from './progress-monitor.js';
import {
  rtmpOutputDefaults,
  validateRtmpOutputOptions,
  type OutputState,
  type RtmpOutputOptions,
  type RtmpOutputStats,
} from './rtmp-output-options.js';
import { StreamMuxer, type StreamMuxerOptions } from './stream-muxer.js';

export {
  rtmpOutputDefaults,
  validateRtmpOutputOptions,
  type OutputState,
  type RtmpOutputOptions,
  type RtmpOutputStats,
} from './rtmp-output-options.js';

/** Events of an RtmpOutput. */
export type RtmpOutputEvents = {
  /** Every state change, `prev → next`. */
  statechange: [prev: OutputState, next: OutputState];
  /** Publishing started on a connection (the first one or a reconnection). */
  connected: [ServerInfo];
  /** The first connection outlived its probation: the server accepted the stream. */
  established: [];
  /** A connection was lost; the output retries unless the error is permanent. */
  disconnected: [Error];
  /** An attempt failed; the next one follows after `delayMs`. */
  retry: [error: Error, delayMs: number, kind: FailureKind];
  /** The output gave up: a permanent failure or retries exhausted. */
  error: [Error];
  /** The encoder should produce a keyframe now. */
  keyframeRequest: [];
  /** The drop state changed. */
  dropstatechange: [prev: DropState, next: DropState];
};

/**
 * One RTMP destination: a StreamMuxer (GOP-aware drop policy in front of a bounded queue), an
 * event-driven send loop that keeps both the socket's buffer and the bytes in flight small (so
 * congestion shows up where media can still be dropped), end-to-end latency from acknowledgements,
 * stall detection, and reconnection with backoff that resumes at the live edge.
 */
export class RtmpOutput extends TypedEmitter<RtmpOutputEvents> implements PacketSink {
  /** The resolved options. */
  readonly options: Readonly<RtmpOutputOptions>;
  readonly #clock: Clock;
  readonly #config: StreamConfig;
  readonly #muxer: StreamMuxer;
  readonly #tracker: LatencyTracker;
  readonly #progress: ProgressMonitor;
  readonly #schedule: ReconnectSchedule;
  readonly #classifier = new FailureClassifier();
  readonly #redactedUrl: string;
  readonly #abort = new AbortController();
  #state: OutputState = 'idle';
  #connection: RtmpConnection | null = null;
  #live = false;
  readonly #sender: NetworkSender;
  #monitorTimer: Timer | null = null;
  #runPromise: Promise<void> = Promise.resolve();
  #everLive = false;
  #established = false;
  #liveSinceUs = 0;
  #probationTimer: Timer | null = null;
  #probationFailure: Error | null = null;
  #epochMs = 0;
  #metadataSent = false;
  #bytesSentBefore = 0;
  #lastDrainedOffset = 0;
  #rateSamples: { atUs: number; bytes: number }[] = [];
  #maxLatencyMs = 0;
  #reconnectCount = 0;
  #attempts = 0;
  #lastReason: string | null = null;
  #downSinceUs: number | null = null;
  #downtimeUs = 0;
  #lastReconnectMs: number | null = null;

  constructor(clock: Clock, config: StreamConfig, options: Partial<RtmpOutputOptions> & { url: string }) {
    super();
    const resolved: RtmpOutputOptions = { ...rtmpOutputDefaults(), ...options };
    validateRtmpOutputOptions(resolved);
    this.options = Object.freeze(resolved);
    this.#clock = clock;
    this.#config = config;
    this.#redactedUrl = redactUrl(resolved.url);
    const muxerOptions: Partial<StreamMuxerOptions> = {
      maxLatencyMs: resolved.maxLatencyMs,
      maxPackets: resolved.maxPackets,
      maxBytes: resolved.maxBytes,
      requestKeyframeOnRecovery: resolved.requestKeyframeOnRecovery,
      ...(resolved.lowWatermarkMs === undefined ? {} : { lowWatermarkMs: resolved.lowWatermarkMs }),
      ...(resolved.disposableDropLatencyMs === undefined
        ? {}
        : { disposableDropLatencyMs: resolved.disposableDropLatencyMs }),
    };
    this.#muxer = new StreamMuxer(clock, muxerOptions);
    // The window the connection announces (RTMP §5.4.4): the tracker must expect acknowledgements exactly
    // that often, or it would wait for a larger gap before counting unacknowledged media as late.
    const ackWindowBytes =
      resolved.connection.windowAckSizeBytes ?? rtmpConnectionDefaults().windowAckSizeBytes;
    this.#tracker = new LatencyTracker(clock, { ackWindowBytes });
    this.#muxer.setEndToEndLatencySource(() => (this.#live ? this.#tracker.currentLatencyMs : 0));
    this.#muxer.on('keyframeRequest', () => this.emit('keyframeRequest'));
    this.#muxer.on('statechange', (prev, next) => this.emit('dropstatechange', prev, next));
    this.#progress = new ProgressMonitor({
      stallTimeoutMs: resolved.stallTimeoutMs,
      ackStallTimeoutMs: resolved.ackStallTimeoutMs,
      ackWindowBytes,
    });
    this.#schedule = new ReconnectSchedule(resolved.reconnect);
    this.#sender = new NetworkSender(
      clock,
      this.#muxer,
      this.#tracker,
      {
        sendBufferBytes: resolved.sendBufferBytes,
        inFlightTargetMs: resolved.inFlightTargetMs,
        nominalRateBps: (config.video?.bitrateBps ?? 0) + (config.audio?.bitrateBps ?? 0),
      },
      {
        timestampMs: (dtsUs) => this.#timestampMs(dtsUs),
        beforeFirstPacket: (connection, kind, timestampMs) =>
          this.#writeHeaders(connection, kind, timestampMs),
        onPumped: (pendingBytes) => this.#progress.pendingChanged(pendingBytes, this.#clock.nowUs() / 1000),
      },
    );
  }

  /** Where the output is. */
  get state(): OutputState {
    return this.#state;
  }

  /** Whether a publish has outlived its probation: the server accepted the stream. */
  get isEstablished(): boolean {
    return this.#established;
  }

  /** Starts connecting; failures are retried in the background (watch `statechange` and `error`). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#setState('connecting');
    this.#monitorTimer = this.#clock.setTimer(() => this.#monitorTick(), 1000);
    this.#runPromise = this.#run();
  }

  /** Resolves when the output has stopped or failed. */
  finished(): Promise<void> {
    return this.#runPromise;
  }

  /** Takes one packet from the session: queued, or dropped and counted. Never blocks. */
  writePacket(packet: EncodedPacket): void {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'failed') return;
    if (packet.kind === 'video') this.#muxer.writeVideoPacket(packet);
    else this.#muxer.writeAudioPacket(packet);
    this.#observeLatency();
    this.#sender.pump();
  }

  /**
   * Graceful stop: no new packets; what is queued is sent for up to `stopFlushTimeoutMs`, then the
   * stream is unpublished and the connection closed. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    if (this.#state !== 'stopping') {
      this.#setState('stopping');
      const connection = this.#connection;
      if (connection && this.#live) await this.#sender.flush(this.options.stopFlushTimeoutMs);
      this.#abort.abort(new SteadycastError('ERR_STOPPED', 'stopped'));
      await connection?.close();
    }
    await this.#runPromise;
  }

  /** A snapshot of the output's counters. */
  get stats(): RtmpOutputStats {
    const muxer = this.#muxer.stats;
    const nowUs = this.#clock.nowUs();
    this.#observeLatency();
    return {
      state: this.#state,
      url: this.#redactedUrl,
      dropState: muxer.state,
      videoPacketsDropped: muxer.videoPacketsDropped,
      audioPacketsDropped: muxer.audioPacketsDropped,
      videoDropsByReason: muxer.videoDropsByReason,
      packetsDroppedWhileDisconnected: muxer.packetsDroppedWhileDisconnected,
      currentLatencyMs: this.#live ? this.#muxer.currentLatencyMs : 0,
      maxLatencyMs: this.#maxLatencyMs,
      latencyMeasure: this.#tracker.measure,
      ackState: this.#tracker.ackState,
      deliveryRateBps: this.#tracker.deliveryRateBps,
      kernelQueueBytes: this.#live ? this.#sender.kernelQueueBytes : null,
      bytesSent: this.#bytesSent(),
      sendBitrateBps: this.#sendBitrateBps(nowUs),
      queuedPackets: this.#muxer.queuedPackets,
      congestedMs: muxer.congestedMs,
      congestionEvents: muxer.congestionEvents,
      reconnectCount: this.#reconnectCount,
      connectAttempts: this.#attempts,
      lastDisconnectReason: this.#lastReason,
      downtimeMs: (this.#downtimeUs + (this.#downSinceUs === null ? 0 : nowUs - this.#downSinceUs)) / 1000,
      lastReconnectMs: this.#lastReconnectMs,
    };
  }

  // ------------------------------------------------------------ connection loop

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#attempts++;
      const connection = new RtmpConnection(
        { ...this.options.connection, url: this.options.url },
        this.#clock,
      );
      this.#connection = connection;
      let info: ServerInfo | null = null;
      connection.once('publishing', (published) => (info = published));
      let failure: Error;
      try {
        await connection.connect(signal);
        failure = await this.#serve(connection, info);
      } catch (error) {
        failure = asError(error);
      }
      this.#connection = null;
      this.#probationTimer?.cancel();
      if (signal.aborted) break;
      if (failure === this.#probationFailure) failure = this.#rejectedInProbation(failure);
      this.#lastReason = failure.message;
      const nowMs = this.#clock.nowUs() / 1000;
      let kind = this.#classifier.classify(failureOf(failure), nowMs);
      if (!this.#established && this.#attempts >= this.options.initialAttempts) kind = 'permanent';
      const delayMs = this.#schedule.nextDelayMs(kind, nowMs);
      if (delayMs === null) {
        this.#fail(failure);
        return;
      }
      this.emit('retry', failure, delayMs, kind);
      try {
        await sleep(this.#clock, delayMs, signal);
      } catch {
        break;
      }
    }
    this.#finish();
  }

  /** Publishing on `connection` until it is lost; resolves with why. */
  #serve(connection: RtmpConnection, info: ServerInfo | null): Promise<Error> {
    return new Promise<Error>((resolve) => {
      connection.on('closed', (error) => {
        const failure =
          error ?? new RtmpError('ERR_RTMP_CLOSED', 'the server closed the connection', { retryable: true });
        const inProbation = this.#clock.nowUs() - this.#liveSinceUs < this.options.publishProbationMs * 1000;
        this.#goDown(failure);
        if (inProbation && !(error instanceof SteadycastError && error.code === 'ERR_RTMP_STALLED')) {
          this.#probationFailure = failure;
        }
        resolve(failure);
      });
      connection.on('drain', () => this.#sender.pump());
      connection.on('acknowledgement', (sequence) => {
        this.#tracker.onAcknowledgement(sequence);
        this.#progress.acknowledged(sequence, this.#clock.nowUs() / 1000);
        this.#sender.pump();
      });
      this.#goLive(connection, info);
    });
  }

  #goLive(connection: RtmpConnection, info: ServerInfo | null): void {
    const nowUs = this.#clock.nowUs();
    this.#tracker.reset();
    this.#progress.reset();
    this.#lastDrainedOffset = 0;
    this.#liveSinceUs = nowUs;
    this.#probationFailure = null;
    this.#probationTimer = this.#clock.setTimer(() => this.#passProbation(), this.options.publishProbationMs);
    this.#schedule.onConnected(nowUs / 1000);
    if (this.#downSinceUs !== null) {
      this.#downtimeUs += nowUs - this.#downSinceUs;
      this.#lastReconnectMs = (nowUs - this.#downSinceUs) / 1000;
      this.#downSinceUs = null;
    }
    if (this.#everLive) this.#reconnectCount++;
    this.#everLive = true;
    // Resume at the live edge: timestamps follow the session clock (or restart at 0 if asked).
    this.#epochMs = this.options.restartTimestampsPerConnection ? Math.round(nowUs / 1000) : 0;
    this.#metadataSent = false;
    this.#live = true;
    this.#sender.attach(connection);
    this.#muxer.setConnected(true);
    this.#setState('live');
    if (info) this.emit('connected', info);
    this.#sender.pump();
  }

  // Metadata goes out first, then each stream's sequence header right before its first packet (video's
  // is a keyframe), at that packet's timestamp: stamping them "now" at connect would put them after the
  // first audio, whose capture time is older by the encoder's delay, and step timestamps backwards.
  #writeHeaders(connection: RtmpConnection, kind: MediaKind, timestampMs: number): void {
    if (!this.#metadataSent) {
      this.#metadataSent = true;
      connection.writeMetadata(this.#config, timestampMs);
    }
    if (kind === 'video' && this.#config.video)
      connection.writeVideo(
        timestampMs,
        avcSequenceHeaderTag(this.#config.video.avcDecoderConfigurationRecord),
      );
    if (kind === 'audio' && this.#config.audio)
      connection.writeAudio(timestampMs, aacSequenceHeaderTag(this.#config.audio.audioSpecificConfig));
  }

  #passProbation(): void {
    if (!this.#live) return;
    this.#classifier.onPublished();
    if (!this.#established) {
      this.#established = true;
      this.emit('established');
    }
  }

  /** A connection the server dropped right after accepting the publish: treated as a rejection. */
  #rejectedInProbation(cause: Error): Error {
    const error = new RtmpError(
      'ERR_RTMP_REJECTED',
      `${this.#redactedUrl} closed the connection right after accepting the publish ` +
        `(${cause.message}): publishing is probably denied for this app or stream key`,
      { cause, retryable: false },
    );
    return Object.assign(error, { statusCode: 'steadycast.Publish.ClosedAfterStart' });
  }

  #goDown(error: Error): void {
    if (!this.#live) return;
    this.#live = false;
    this.#sender.detach();
    this.#bytesSentBefore += this.#tracker.bytesWritten;
    this.#tracker.reset();
    this.#muxer.setConnected(false);
    const nowUs = this.#clock.nowUs();
    this.#schedule.onDisconnected(nowUs / 1000);
    this.#downSinceUs = nowUs;
    if (this.#state === 'stopping') return;
    this.#setState('reconnecting');
    this.emit('disconnected', error);
  }

  #fail(error: Error): void {
    this.#stopMonitor();
    // The error first, so a listener of the `failed` state change already knows why.
    this.emit('error', error);
    this.#setState('failed');
  }

  #finish(): void {
    this.#stopMonitor();
    if (this.#state !== 'failed') this.#setState('stopped');
  }

  // ------------------------------------------------------------ monitoring

  #monitorTick(): void {
    const nowUs = this.#clock.nowUs();
    const connection = this.#connection;
    if (this.#live && connection) {
      const drained = connection.bytesWritten - connection.writableLength;
      this.#progress.bytesDrained(drained - this.#lastDrainedOffset, nowUs / 1000);
      this.#lastDrainedOffset = drained;
      this.#progress.pendingChanged(connection.writableLength + this.#muxer.queuedPackets, nowUs / 1000);
      if (this.#progress.check(nowUs / 1000) === 'stalled') {
        const seconds =
          (this.#progress.stallKind === 'no-acknowledgement'
            ? this.options.ackStallTimeoutMs
            : this.options.stallTimeoutMs) / 1000;
        connection.destroy(
          new RtmpError('ERR_RTMP_STALLED', `no progress for ${seconds} s: the server stopped answering`, {
            retryable: true,
          }),
        );
      }
      this.#sender.pump();
    }
    this.#observeLatency();
    this.#rateSamples.push({ atUs: nowUs, bytes: this.#bytesSent() });
    if (this.#rateSamples.length > 4) this.#rateSamples.shift();
    this.#monitorTimer = this.#clock.setTimer(() => this.#monitorTick(), 1000);
  }

  #stopMonitor(): void {
    this.#monitorTimer?.cancel();
    this.#monitorTimer = null;
  }

  #observeLatency(): void {
    if (!this.#live) return;
    const latency = this.#muxer.currentLatencyMs;
    if (latency > this.#maxLatencyMs) this.#maxLatencyMs = latency;
  }

  #bytesSent(): number {
    return this.#bytesSentBefore + (this.#live ? this.#tracker.bytesWritten : 0);
  }

  #sendBitrateBps(nowUs: number): number {
    const first = this.#rateSamples[0];
    if (!first || nowUs <= first.atUs) return 0;
    return ((this.#bytesSent() - first.bytes) * 8 * 1e6) / (nowUs - first.atUs);
  }

  #timestampMs(us: number): number {
    return Math.max(0, Math.round(us / 1000) - this.#epochMs);
  }

  #setState(next: OutputState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.emit('statechange', prev, next);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function failureOf(error: Error): { code: string; statusCode?: string } {
  const code = error instanceof SteadycastError ? error.code : 'ERR_UNKNOWN';
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'string' ? { code, statusCode } : { code };
}
