import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { EncodedPacket, VideoCodec } from '../media/packet.js';
import { ConnectionMonitor } from './connection-monitor.js';
import type { DropState } from './drop-policy.js';
import { InFlightGate } from './in-flight-gate.js';
import { LatencyTracker } from './latency-tracker.js';
import { NetworkSender } from './network-sender.js';
import {
  outputDefaults,
  validateOutputOptions,
  type OutputOptions,
  type OutputStats,
} from './output-options.js';
import type { PacketSink } from './packet-sink.js';
import { RateMeter } from './rate-meter.js';
import { RenditionSwitch, type RenditionChange, type RenditionChangeReason } from './rendition-switch.js';
import { Reconnector, type OutputState, type ReconnectorEvents } from './reconnector.js';
import { ServerReconnect, type ServerReconnectOutcome } from './server-reconnect.js';
import { SINGLE_TRACK, StreamMuxer, type VideoTracks } from './stream-muxer.js';
import type {
  CodecNegotiation,
  ServerReconnectRequest,
  Transport,
  TransportConnection,
} from './transport.js';

/** Events of an Output. */
export type OutputEvents = Omit<ReconnectorEvents, 'statechange'> & {
  /** Every state change, `prev → next`. */
  statechange: [prev: OutputState, next: OutputState];
  /** The encoder should produce a keyframe now. */
  keyframeRequest: [];
  /** The drop state changed. */
  dropstatechange: [prev: DropState, next: DropState];
  /** It moved to another rendition of the video, at that rendition's keyframe. */
  renditionchange: [RenditionChange];
  /** A server's reconnect request, step by step (see ServerReconnect); `detail` has the key hidden. */
  serverreconnect: [outcome: ServerReconnectOutcome, detail: string];
};

/**
 * One destination, whatever its protocol (docs/architecture.md: the output layer): a StreamMuxer (GOP-aware
 * drop policy in front of a bounded queue), a NetworkSender behind an InFlightGate (so congestion
 * shows where media can still be dropped), a LatencyTracker (end-to-end latency from
 * acknowledgements or delivery readings), a ConnectionMonitor (errors, closes, stalls → one
 * `disconnected`) and a Reconnector (backoff, classification, probation, the state). The Transport
 * below connects and carries tagged packets. This class only wires them.
 *
 * Media flows from `start()`: what the encoders produce while the first connection is made waits
 * in the queue (bounded by the drop policy like any backlog) and goes out the moment the server
 * starts the publish. After a loss, every packet is dropped (counted) until the next connection,
 * which resumes at the live edge with a keyframe.
 */
export class Output extends TypedEmitter<OutputEvents> implements PacketSink {
  /** The resolved options. */
  readonly options: Readonly<OutputOptions>;
  readonly #clock: Clock;
  readonly #transport: Transport;
  readonly #muxer: StreamMuxer;
  readonly #tracker: LatencyTracker;
  readonly #gate: InFlightGate;
  readonly #sender: NetworkSender;
  readonly #monitor: ConnectionMonitor;
  readonly #reconnector: Reconnector;
  readonly #serverReconnect: ServerReconnect;
  /** Ends the wait of `#serve` for the connection it watches: the sender moved to `next`. */
  #onMoved: ((next: TransportConnection) => void) | null = null;
  /** Detaches the listeners of the connection being served. */
  #unfollow: (() => void) | null = null;
  readonly #rate = new RateMeter();
  readonly #offered = new RateMeter({ windowMs: 2000 });
  #offeredBytes = 0;
  readonly #rendition = new RenditionSwitch();
  #renditionSwitches = { down: 0, up: 0 };
  #belowTopSinceUs: number | null = null;
  #belowTopUs = 0;
  /** How stats name the main rendition (the top of a ladder has a name of its own). */
  mainRenditionName = 'main';
  #live = false;
  #bytesSentBefore = 0;
  #maxLatencyMs = 0;

  /** `nominalRateBps`: the stream's own bitrate, video plus audio (see InFlightGate). */
  constructor(clock: Clock, transport: Transport, options: Partial<OutputOptions>, nominalRateBps: number) {
    super();
    const resolved: OutputOptions = { ...outputDefaults(), ...options };
    validateOutputOptions(resolved);
    this.options = Object.freeze(resolved);
    this.#clock = clock;
    this.#transport = transport;
    const tracks = resolved.videoTracks;
    const videoTracks: VideoTracks =
      tracks.length === 0
        ? SINGLE_TRACK
        : { count: tracks.length, trackOf: (packet) => tracks.indexOf(packet.rendition) };
    this.#muxer = new StreamMuxer(
      clock,
      {
        maxLatencyMs: resolved.maxLatencyMs,
        maxPackets: resolved.maxPackets * videoTracks.count,
        maxBytes: resolved.maxBytes,
        requestKeyframeOnRecovery: resolved.requestKeyframeOnRecovery,
        ...definedOnly({
          lowWatermarkMs: resolved.lowWatermarkMs,
          disposableDropLatencyMs: resolved.disposableDropLatencyMs,
        }),
      },
      videoTracks,
    );
    const ackWindowBytes = transport.ackWindowBytes;
    this.#tracker = new LatencyTracker(clock, { ackWindowBytes });
    this.#muxer.setEndToEndLatencySource(() => (this.#live ? this.#tracker.currentLatencyMs : 0));
    this.#muxer.setTransitSource(() => (this.#live ? this.#tracker.transitMs : 0));
    this.#muxer.on('keyframeRequest', () => this.emit('keyframeRequest'));
    this.#muxer.on('statechange', (prev, next) => this.emit('dropstatechange', prev, next));
    this.#gate = new InFlightGate(clock, this.#tracker, {
      inFlightTargetMs: resolved.inFlightTargetMs,
      nominalRateBps,
    });
    this.#monitor = new ConnectionMonitor(clock, {
      stallTimeoutMs: resolved.stallTimeoutMs,
      ackStallTimeoutMs: resolved.ackStallTimeoutMs,
      ackWindowBytes,
    });
    this.#sender = new NetworkSender(clock, this.#muxer, this.#tracker, this.#gate, resolved, (pending) =>
      this.#monitor.pendingChanged(pending),
    );
    this.#reconnector = new Reconnector(clock, resolved, transport, (connection) => this.#serve(connection));
    this.#reconnector.on('statechange', (prev, next) => {
      if (next === 'failed') this.#muxer.setConnected(false);
      this.emit('statechange', prev, next);
    });
    // An attempt failed before any publish: what was held for it is dropped, as in any outage.
    this.#reconnector.on('retry', () => this.#muxer.setConnected(false));
    this.#serverReconnect = new ServerReconnect(transport);
    this.#serverReconnect.on('progress', (outcome, detail) => this.emit('serverreconnect', outcome, detail));
    this.#serverReconnect.on('ready', (next) => {
      this.#sender.switchAtKeyframe(next, (keyframe) => this.#switchTo(next, keyframe));
      this.emit('keyframeRequest'); // the switch waits for it, as a reconnect does
    });
    this.#serverReconnect.on('abandoned', () => this.#sender.cancelSwitch());
    for (const event of ['established', 'disconnected', 'retry', 'error'] as const) {
      this.#reconnector.on(event, (...args: unknown[]) =>
        (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args),
      );
    }
  }

  /** Where the output is. */
  get state(): OutputState {
    return this.#reconnector.state;
  }

  /** Whether a publish has outlived its probation: the server accepted the stream. */
  get isEstablished(): boolean {
    return this.#reconnector.isEstablished;
  }

  /** Why it gave up, once `failed`; else null. */
  get failure(): Error | null {
    return this.#reconnector.failure;
  }

  /** Starts connecting; failures are retried in the background (watch `statechange` and `error`). */
  start(): void {
    if (this.state !== 'idle') return;
    this.#muxer.setConnected(true); // hold what comes while the first connection is made
    this.#reconnector.start();
  }

  /** Resolves when the output has stopped or failed. */
  finished(): Promise<void> {
    return this.#reconnector.finished();
  }

  /** What the last publish settled with the server about codecs; null before one. */
  get codecNegotiation(): CodecNegotiation | null {
    return this.#transport.codecNegotiation;
  }

  /**
   * The session encodes `codec`: later connections ask for it alone, and a publish whose server did
   * not say it takes `codec` ends now with the transport's refusal (its reconnect is then refused too).
   */
  settleVideoCodec(codec: VideoCodec): void {
    const refusal = this.#transport.settleVideoCodec(codec);
    if (refusal) this.#reconnector.connection?.destroy(refusal);
  }

  /** The rendition it carries now (undefined: the main one). */
  get rendition(): string | undefined {
    return this.#rendition.current;
  }

  /** The rendition it is moving to, waiting for that rendition's keyframe; null when none. */
  get pendingRendition(): string | undefined | null {
    return this.#rendition.pending;
  }

  /** Moves to rendition `name` (undefined: the main one) at its next keyframe. */
  moveToRendition(name: string | undefined, reason: RenditionChangeReason): void {
    this.#rendition.moveTo(name, reason);
  }

  /** Takes one packet from the session: queued, or dropped and counted. Never blocks. */
  writePacket(packet: EncodedPacket): void {
    const state = this.state;
    if (state === 'stopping' || state === 'stopped' || state === 'failed' || state === 'idle') return;
    const tracks = this.options.videoTracks;
    if (tracks.length > 0) {
      // Multitrack: every rendition it carries goes out as its own track; there is nothing to switch.
      if (packet.kind === 'audio' || tracks.includes(packet.rendition)) this.#queue(packet, state);
      return;
    }
    const { packets, change } = this.#rendition.take(packet);
    if (change) this.#onRenditionChange(change);
    for (const taken of packets) this.#queue(taken, state);
  }

  #queue(packet: EncodedPacket, state: OutputState): void {
    this.#offeredBytes += packet.byteLength;
    this.#offered.sample(this.#clock.nowUs(), this.#offeredBytes);
    // The first connection is taking longer than the latency bound: stop holding, resume at the live edge.
    if (state === 'connecting' && !this.#live && this.#muxer.bufferLatencyMs > this.options.maxLatencyMs) {
      this.#muxer.setConnected(false);
    }
    if (packet.kind === 'video') this.#muxer.writeVideoPacket(packet);
    else this.#muxer.writeAudioPacket(packet);
    this.#observe();
    this.#sender.pump();
  }

  /**
   * Graceful stop: no new packets; what is queued is sent for up to `stopFlushTimeoutMs`, then the
   * stream is unpublished and the connection closed. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === 'idle') this.#muxer.setConnected(false);
    const live = this.#live;
    for (const held of this.#rendition.release()) this.#queue(held, this.state);
    this.#reconnector.beginStop();
    if (live) await this.#sender.flush(this.options.stopFlushTimeoutMs);
    await this.#reconnector.stop();
  }

  /** A snapshot of the output's counters. */
  get stats(): OutputStats {
    const muxer = this.#muxer.stats;
    this.#observe();
    const connection = this.#reconnector.connection;
    return {
      state: this.state,
      url: this.#transport.redactedUrl,
      codecNegotiation: this.codecNegotiation,
      dropState: muxer.state,
      videoPacketsDropped: muxer.videoPacketsDropped,
      audioPacketsDropped: muxer.audioPacketsDropped,
      videoDropsByReason: muxer.videoDropsByReason,
      packetsDroppedWhileDisconnected: muxer.packetsDroppedWhileDisconnected,
      dropThresholdMs: this.options.maxLatencyMs,
      currentLatencyMs: this.#live ? this.#muxer.currentLatencyMs : 0,
      maxLatencyMs: this.#maxLatencyMs,
      latencyMeasure: this.#tracker.measure,
      ackState: this.#tracker.ackState,
      deliveryRateBps: this.#tracker.deliveryRateBps,
      kernelQueueBytes: this.#kernelQueueBytes(connection),
      bytesSent: this.#bytesSent(),
      sendBitrateBps: this.#rate.rateBps(this.#clock.nowUs(), this.#bytesSent()),
      offeredBitrateBps: this.#offered.rateBps(this.#clock.nowUs(), this.#offeredBytes),
      queuedPackets: this.#muxer.queuedPackets,
      congestedMs: muxer.congestedMs,
      congestionEvents: muxer.congestionEvents,
      rendition: this.#rendition.current ?? this.mainRenditionName,
      renditionSwitches: { ...this.#renditionSwitches },
      videoTracks: muxer.tracks.slice(0, this.options.videoTracks.length).map((track, id) => ({
        id,
        rendition: this.options.videoTracks[id] ?? this.mainRenditionName,
        dropState: track.state,
        written: track.written,
        sent: track.sent,
        dropped: track.dropped,
      })),
      belowTopRenditionMs:
        (this.#belowTopUs +
          (this.#belowTopSinceUs === null ? 0 : this.#clock.nowUs() - this.#belowTopSinceUs)) /
        1000,
      ...this.#reconnector.stats,
      ...this.#serverReconnect.stats,
    };
  }

  /**
   * Publishing on `connection` until it is lost; resolves with why. A server's reconnect request
   * moves the stream to a new connection within the same call (see `#switchTo`).
   */
  async #serve(connection: TransportConnection): Promise<Error> {
    const nowUs = this.#clock.nowUs();
    this.#tracker.reset();
    this.#gate.reset();
    this.#follow(connection);
    // Resume at the live edge: timestamps follow the session clock (or restart at 0 if asked).
    this.#sender.attach(
      connection,
      this.options.restartTimestampsPerConnection ? Math.round(nowUs / 1000) : 0,
    );
    this.#live = true;
    this.#muxer.setConnected(true);
    let reason: Error | null = null;
    while (reason === null) {
      const lost = this.#monitor.watch(connection).then((error) => ({ error }));
      const moved = new Promise<{ next: TransportConnection }>((resolve) => {
        this.#onMoved = (next) => resolve({ next });
      });
      this.#sender.pump();
      const outcome = await Promise.race([lost, moved]);
      if ('error' in outcome) reason = outcome.error;
      else connection = outcome.next;
    }
    this.#onMoved = null;
    this.#serverReconnect.cancel();
    this.#unfollow?.();
    this.#unfollow = null;
    this.#live = false;
    this.#sender.detach();
    this.#bytesSentBefore += this.#tracker.bytesWritten;
    this.#tracker.reset();
    this.#muxer.setConnected(false);
    return reason;
  }

  /** Listens to the connection being served (drain, acknowledgements, delivery, reconnect requests). */
  #follow(connection: TransportConnection): void {
    this.#unfollow?.();
    const pump = (): void => this.#sender.pump();
    const onAck = (offset: number): void => {
      this.#tracker.onAcknowledgement(offset);
      pump();
    };
    const onDelivery = (reading: Parameters<InFlightGate['onDelivery']>[0]): void => {
      this.#gate.onDelivery(reading);
      this.#tracker.onTransportDelivered(reading.handedOverBytes - reading.undeliveredBytes);
      pump();
    };
    const onRequest = (request: ServerReconnectRequest): void => this.#serverReconnect.request(request);
    connection
      .on('drain', pump)
      .on('acknowledged', onAck)
      .on('delivery', onDelivery)
      .on('reconnectRequest', onRequest);
    this.#unfollow = () =>
      connection
        .off('drain', pump)
        .off('acknowledged', onAck)
        .off('delivery', onDelivery)
        .off('reconnectRequest', onRequest);
  }

  /**
   * The sender moves to `next` at a keyframe (make before break): from here on media goes there only,
   * measured afresh; later connections go to where the server sent us; the old connection is closed
   * gracefully (what it holds is flushed, within its close timeout).
   */
  #switchTo(next: TransportConnection, keyframe: EncodedPacket): void {
    const old = this.#reconnector.connection;
    this.#follow(next);
    // Timestamps go on from the same epoch, unless asked to restart at 0 on each connection.
    if (this.options.restartTimestampsPerConnection) {
      this.#sender.attach(next, Math.round(keyframe.dtsUs / 1000));
    }
    this.#bytesSentBefore += this.#tracker.bytesWritten;
    this.#tracker.reset();
    this.#gate.reset();
    this.#transport.moveTo(this.#serverReconnect.switched());
    this.#reconnector.replaceConnection(next);
    this.#onMoved?.(next); // before the old one's close can settle its watch
    void old?.close();
  }

  #onRenditionChange(change: RenditionChange): void {
    const nowUs = this.#clock.nowUs();
    if (change.reason === 'congested') {
      this.#renditionSwitches.down++;
      this.#muxer.dropQueuedVideo(); // the new rendition starts at its keyframe, now: skip the backlog
    }
    if (change.reason === 'recovered') this.#renditionSwitches.up++;
    if (change.to === undefined && this.#belowTopSinceUs !== null) {
      this.#belowTopUs += nowUs - this.#belowTopSinceUs;
      this.#belowTopSinceUs = null;
    } else if (change.to !== undefined && this.#belowTopSinceUs === null) {
      this.#belowTopSinceUs = nowUs;
    }
    this.emit('renditionchange', change);
  }

  #observe(): void {
    this.#rate.sample(this.#clock.nowUs(), this.#bytesSent());
    if (!this.#live) return;
    const latency = this.#muxer.currentLatencyMs;
    if (latency > this.#maxLatencyMs) this.#maxLatencyMs = latency;
  }

  #bytesSent(): number {
    return this.#bytesSentBefore + (this.#live ? this.#tracker.bytesWritten : 0);
  }

  #kernelQueueBytes(connection: TransportConnection | null): number | null {
    if (!connection || !this.#live || this.#tracker.ackState === 'acknowledging') return null;
    const bytes = this.#gate.undeliveredBytes(connection);
    return bytes === null ? null : Math.round(bytes);
  }
}

function definedOnly<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
