import { sleep, type Clock, type Timer } from '../core/clock.js';
import { ConfigError, SteadycastError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { aacSequenceHeaderTag, avcSequenceHeaderTag, packetTag } from '../flv/tags.js';
import type { EncodedPacket, StreamConfig } from '../media/packet.js';
import { RtmpError } from '../rtmp/errors.js';
import { rtmpConnectionDefaults, type RtmpConnectionOptions } from '../rtmp/rtmp-connection-options.js';
import { RtmpConnection, type ServerInfo } from '../rtmp/rtmp-connection.js';
import { parseRtmpUrl, redactUrl } from '../rtmp/url.js';
import { ReconnectSchedule, type BackoffOptions, type FailureKind } from './backoff.js';
import type { DropReason, DropState } from './drop-policy.js';
import { FailureClassifier } from './failure-class.js';
import { KernelSendQueue } from './kernel-send-queue.js';
import { LatencyTracker, type AckState, type LatencyMeasure } from './latency-tracker.js';
import type { PacketSink } from './packet-sink.js';
import { ProgressMonitor } from './progress-monitor.js';
import { StreamMuxer, type KindCounts, type StreamMuxerOptions } from './stream-muxer.js';

// Without acknowledgements, the kernel may hold at least this much (a few TCP segments keep the path busy).
const KERNEL_QUEUE_FLOOR_BYTES = 32 * 1024;

/** Where an output is in its life: `connecting → live → reconnecting → live … → stopped`. */
export type OutputState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'stopping' | 'stopped' | 'failed';

/** Options of one RTMP destination. */
export interface RtmpOutputOptions {
  /** `rtmp[s]://host[:port]/app[/instance]/streamKey`. */
  url: string;
  /** Drop threshold: video is dropped above this end-to-end latency, ms; default 2000. */
  maxLatencyMs: number;
  /** Queue bound, packets; default 100. */
  maxPackets: number;
  /** Ask the encoder for a keyframe as soon as latency is low again after drops; default true. */
  requestKeyframeOnRecovery: boolean;
  /** The socket's own buffer is kept under this many bytes; the rest waits where it can be dropped; default 65536. */
  sendBufferBytes: number;
  /** Unacknowledged bytes are kept under this much of the delivery rate, ms (acknowledging servers); default 500. */
  inFlightTargetMs: number;
  /** No progress at all this long while data is pending means dead, ms; default 15000. */
  stallTimeoutMs: number;
  /** Where the server acknowledges, an acknowledgement overdue this long means dead, ms; default 5000. */
  ackStallTimeoutMs: number;
  /** Connection attempts before the first successful publish before giving up; default 3. */
  initialAttempts: number;
  /**
   * A publish counts as accepted once the connection has lived this long, ms; default 1000. Some
   * servers (nginx-rtmp with `deny publish`) answer Publish.Start and then drop the connection.
   */
  publishProbationMs: number;
  /** Restart RTMP timestamps at 0 on each connection (some ingests want it); default false: follow the session clock. */
  restartTimestampsPerConnection: boolean;
  /** On stop, how long queued media may take to flush, ms; default 3000. */
  stopFlushTimeoutMs: number;
  /** Reconnect schedule (see backoff.ts). */
  reconnect: Partial<BackoffOptions>;
  /** Socket-level options (timeouts, TLS trust, Window Acknowledgement Size). */
  connection: Partial<Omit<RtmpConnectionOptions, 'url'>>;
}

/** Default RtmpOutput options, without the URL. */
export function rtmpOutputDefaults(): Omit<RtmpOutputOptions, 'url'> {
  return {
    maxLatencyMs: 2000,
    maxPackets: 100,
    requestKeyframeOnRecovery: true,
    sendBufferBytes: 65536,
    inFlightTargetMs: 500,
    stallTimeoutMs: 15000,
    ackStallTimeoutMs: 5000,
    initialAttempts: 3,
    publishProbationMs: 1000,
    restartTimestampsPerConnection: false,
    stopFlushTimeoutMs: 3000,
    reconnect: {},
    connection: {},
  };
}

/** Throws a ConfigError naming the first bad option (the URL is checked by parseRtmpUrl). */
export function validateRtmpOutputOptions(o: RtmpOutputOptions): void {
  parseRtmpUrl(o.url);
  const positive = [
    'maxLatencyMs',
    'sendBufferBytes',
    'inFlightTargetMs',
    'stallTimeoutMs',
    'ackStallTimeoutMs',
  ] as const;
  for (const field of positive) {
    if (!(o[field] > 0)) throw new ConfigError(field, o[field], 'use a positive number');
  }
  if (!Number.isInteger(o.initialAttempts) || o.initialAttempts < 1) {
    throw new ConfigError('initialAttempts', o.initialAttempts, 'use 1 or more');
  }
}

/** A snapshot of one output's counters. */
export interface RtmpOutputStats {
  /** Where the output is. */
  readonly state: OutputState;
  /** The destination, stream key redacted. */
  readonly url: string;
  /** `normal`, or `dropping` while congested. */
  readonly dropState: DropState;
  /** Video dropped for congestion while connected (GOP-aware). */
  readonly videoPacketsDropped: number;
  /** Audio dropped while connected: 0 by design. */
  readonly audioPacketsDropped: number;
  /** Video drops by reason. */
  readonly videoDropsByReason: Readonly<Record<DropReason, number>>;
  /** Packets dropped while disconnected, by kind (counted apart from congestion). */
  readonly packetsDroppedWhileDisconnected: KindCounts;
  /** Age of the oldest media the server has not received, ms. */
  readonly currentLatencyMs: number;
  /** Highest latency seen since start, ms. */
  readonly maxLatencyMs: number;
  /** Where the latency comes from: server acknowledgements, or the send side. */
  readonly latencyMeasure: LatencyMeasure;
  /** Whether this server acknowledges. */
  readonly ackState: AckState;
  /** Delivered bits per second: acknowledged, or else as the kernel reports it (Linux); 0 when unknown. */
  readonly deliveryRateBps: number;
  /** Bytes in the kernel not yet received by the server, when it is what gates sending (Linux, no acknowledgements); else null. */
  readonly kernelQueueBytes: number | null;
  /** Bytes handed to sockets since start, all connections. */
  readonly bytesSent: number;
  /** Bits per second handed to the socket over the last few seconds. */
  readonly sendBitrateBps: number;
  /** Packets waiting in the buffer. */
  readonly queuedPackets: number;
  /** Time spent dropping, ms. */
  readonly congestedMs: number;
  /** Times congestion began. */
  readonly congestionEvents: number;
  /** Successful reconnections (the first connection is not one). */
  readonly reconnectCount: number;
  /** Connection attempts, all of them. */
  readonly connectAttempts: number;
  /** Why the last connection ended, or failed (stream key redacted). */
  readonly lastDisconnectReason: string | null;
  /** Time spent not live after first going live, ms (the current outage included). */
  readonly downtimeMs: number;
  /** How long the last reconnection took, from the drop to publishing again, ms. */
  readonly lastReconnectMs: number | null;
}

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
  #pumping = false;
  #kernelQueue: KernelSendQueue | null = null;
  #kernelQueueOf: RtmpConnection | null = null;
  #kernelReading: { connection: RtmpConnection; atUs: number; handedOver: number; inKernel: number } | null =
    null;
  #monitorTimer: Timer | null = null;
  #runPromise: Promise<void> = Promise.resolve();
  #everLive = false;
  #established = false;
  #liveSinceUs = 0;
  #probationTimer: Timer | null = null;
  #probationFailure: Error | null = null;
  #epochMs = 0;
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
      requestKeyframeOnRecovery: resolved.requestKeyframeOnRecovery,
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
    this.#pump();
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
      if (connection && this.#live) await this.#flush(connection);
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
      kernelQueueBytes: this.#kernelQueueBytes(),
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
      connection.on('drain', () => this.#pump());
      connection.on('acknowledgement', (sequence) => {
        this.#tracker.onAcknowledgement(sequence);
        this.#progress.acknowledged(sequence, this.#clock.nowUs() / 1000);
        this.#pump();
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
    const headerMs = this.#timestampMs(nowUs);
    connection.writeMetadata(this.#config, headerMs);
    if (this.#config.video)
      connection.writeVideo(headerMs, avcSequenceHeaderTag(this.#config.video.avcDecoderConfigurationRecord));
    if (this.#config.audio)
      connection.writeAudio(headerMs, aacSequenceHeaderTag(this.#config.audio.audioSpecificConfig));
    this.#live = true;
    this.#muxer.setConnected(true);
    this.#setState('live');
    if (info) this.emit('connected', info);
    this.#pump();
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

  // ------------------------------------------------------------ send loop

  /** Moves packets from the queue to the socket while the socket and the path can take them. */
  #pump(): void {
    const connection = this.#connection;
    if (this.#pumping || !this.#live || !connection) return;
    this.#pumping = true;
    try {
      this.#observeKernel(connection);
      while (connection.writableLength < this.options.sendBufferBytes && !this.#inFlightFull(connection)) {
        const packet = this.#muxer.nextPacket();
        if (!packet) break;
        const body = packetTag(packet);
        const ts = this.#timestampMs(packet.dtsUs);
        const result =
          packet.kind === 'video' ? connection.writeVideo(ts, body) : connection.writeAudio(ts, body);
        this.#tracker.recordSent(result.endOffset, packet.dtsUs);
        if (!result.ok) break;
      }
    } finally {
      this.#pumping = false;
    }
    this.#progress.pendingChanged(
      connection.writableLength + this.#muxer.queuedPackets,
      this.#clock.nowUs() / 1000,
    );
  }

  /**
   * Keeps the bytes past our socket buffer (kernel buffers, the path) to about inFlightTargetMs of the
   * delivery rate, so congestion shows up in the StreamBuffer where video can still be dropped.
   * Acknowledging servers: unacknowledged bytes, never under two windows (or acknowledgements stop).
   * Otherwise, where the kernel's queue is visible (Linux), the bytes in it: without this the kernel
   * soaks up megabytes — measured 10-14 s of media at 665 kbit/s behind node-media-server.
   */
  #inFlightFull(connection: RtmpConnection): boolean {
    const byRate = (this.#tracker.deliveryRateBps / 8) * (this.options.inFlightTargetMs / 1000);
    if (this.#tracker.ackState === 'acknowledging') {
      const window = this.#tracker.effectiveAckWindowBytes;
      return this.#tracker.unacknowledgedBytes >= Math.max(2 * window + 16384, byRate);
    }
    const inKernel = this.#estimatedKernelBytes(connection);
    return inKernel !== null && inKernel >= Math.max(KERNEL_QUEUE_FLOOR_BYTES, byRate);
  }

  /**
   * Bytes in the kernel now: the last reading, plus what was handed over since, minus what the delivery
   * rate drained since. Readings can be 200 ms apart (listing the socket table is slow), and counting
   * everything handed over since as still queued would starve a fast path between readings.
   */
  #estimatedKernelBytes(connection: RtmpConnection): number | null {
    const reading = this.#kernelReading;
    if (reading === null || reading.connection !== connection || !this.#kernelQueue?.visible) return null;
    const handedOverSince = connection.bytesWritten - connection.writableLength - reading.handedOver;
    const drainedSince = (this.#tracker.deliveryRateBps / 8) * ((this.#clock.nowUs() - reading.atUs) / 1e6);
    return Math.max(0, reading.inKernel + handedOverSince - drainedSince);
  }

  #kernelQueueBytes(): number | null {
    const connection = this.#connection;
    if (!this.#live || !connection || this.#tracker.ackState === 'acknowledging') return null;
    const bytes = this.#estimatedKernelBytes(connection);
    return bytes === null ? null : Math.round(bytes);
  }

  /** Non-acknowledging (or not yet acknowledging) servers: what the kernel says the server's TCP got. */
  #observeKernel(connection: RtmpConnection): void {
    if (this.#tracker.ackState === 'acknowledging') return;
    if (this.#kernelQueueOf !== connection) {
      this.#kernelQueue?.close();
      this.#kernelQueueOf = connection;
      this.#kernelQueue = new KernelSendQueue(this.#clock, connection.tcpPorts);
    }
    // Bytes handed to the kernel when the read starts: what it reports is at most that (conservative).
    const handedOver = connection.bytesWritten - connection.writableLength;
    const atUs = this.#clock.nowUs();
    this.#kernelQueue?.request((inKernel) => {
      if (this.#connection !== connection || !this.#live) return;
      this.#kernelReading = { connection, atUs, handedOver, inKernel };
      this.#tracker.onTransportDelivered(handedOver - inKernel);
      this.#pump();
    });
  }

  async #flush(connection: RtmpConnection): Promise<void> {
    const deadlineUs = this.#clock.nowUs() + this.options.stopFlushTimeoutMs * 1000;
    while (this.#live && this.#clock.nowUs() < deadlineUs) {
      this.#pump();
      if (this.#muxer.queuedPackets === 0 && connection.writableLength === 0) return;
      await sleep(this.#clock, 20);
    }
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
      this.#pump();
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
