import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { EncodedPacket, MediaKind } from '../media/packet.js';
import {
  DropPolicy,
  resolveDropPolicyOptions,
  trackDropPolicyOptions,
  type DropPolicyOptions,
  type DropReason,
  type DropState,
  type QueueLoad,
} from './drop-policy.js';
import {
  StreamBuffer,
  defaultStreamBufferOptions,
  type HardCap,
  type StreamBufferOptions,
} from './stream-buffer.js';

/** Options of one output's muxer: the buffer's bounds plus the drop policy (one `maxLatencyMs` for both). */
export interface StreamMuxerOptions extends StreamBufferOptions, DropPolicyOptions {}

/** Default StreamMuxer options (docs/architecture.md, "Defaults"). */
export function defaultStreamMuxerOptions(): StreamMuxerOptions {
  return resolveStreamMuxerOptions({});
}

/** Fills unset options; the policy's thresholds follow a custom `maxLatencyMs`. */
export function resolveStreamMuxerOptions(partial: Partial<StreamMuxerOptions>): StreamMuxerOptions {
  const buffer = { ...defaultStreamBufferOptions() };
  for (const key of ['maxPackets', 'maxBytes', 'maxLatencyMs'] as const) {
    const value = partial[key];
    if (value !== undefined) buffer[key] = value;
  }
  return { ...buffer, ...resolveDropPolicyOptions({ ...partial, maxLatencyMs: buffer.maxLatencyMs }) };
}

/** The load a track waiting for the tracks below it is decided on: it keeps dropping. */
const HELD: QueueLoad = Object.freeze({ latencyMs: Infinity, packetsFull: false, bytesFull: false });

/** How a muxer tells the video tracks of its output apart (Enhanced RTMP multitrack). */
export interface VideoTracks {
  /** How many there are: track ids run 0 … count − 1; track 0 is kept longest, the highest dropped first. */
  readonly count: number;
  /** The track of a video packet. */
  trackOf(packet: EncodedPacket): number;
}

/** One video track: what a single-rendition output carries. */
export const SINGLE_TRACK: VideoTracks = Object.freeze({ count: 1, trackOf: () => 0 });

/** One video track's counters. written = sent + dropped + dropped while disconnected + queued. */
export interface TrackCounts {
  /** The track's own drop state. */
  readonly state: DropState;
  /** Video packets offered. */
  readonly written: number;
  /** Video packets handed to the sender. */
  readonly sent: number;
  /** Video packets dropped while connected (congestion, broken GOP, purged). */
  readonly dropped: number;
}

/** Why the muxer asks the encoder for a keyframe. */
export type KeyframeRequestReason = 'recovery' | 'reconnected';

/** Events of a StreamMuxer. */
export type StreamMuxerEvents = {
  /** The drop state changed: `prev -> next`. */
  statechange: [prev: DropState, next: DropState];
  /** Ask the encoder for a keyframe now (so a drop episode or a reconnect freezes briefly). */
  keyframeRequest: [reason: KeyframeRequestReason];
};

/** Per-kind packet counts. */
export interface KindCounts {
  /** Video packets. */
  readonly video: number;
  /** Audio packets. */
  readonly audio: number;
}

/** A snapshot of the muxer's counters. Per kind: written = sent + dropped + droppedWhileDisconnected + queued. */
export interface StreamMuxerStats {
  /** `normal` or `dropping`. */
  readonly state: DropState;
  /** The latency the policy acts on: max(buffer, end-to-end), ms. */
  readonly currentLatencyMs: number;
  /** Age of the oldest queued packet, ms. */
  readonly bufferLatencyMs: number;
  /** Packets queued, per kind. */
  readonly queued: KindCounts;
  /** Bytes queued. */
  readonly queuedBytes: number;
  /** Packets offered by the encoders, per kind. */
  readonly written: KindCounts;
  /** Packets handed to the sender, per kind. */
  readonly sent: KindCounts;
  /** Video dropped while connected (congestion, broken GOP; purged queued frames included). */
  readonly videoPacketsDropped: number;
  /**
   * Audio dropped while connected: audio packets any purge removed. The buffer's purges take video
   * only, so this stays 0; it counts what was actually removed, so a purge that ever took audio shows.
   */
  readonly audioPacketsDropped: number;
  /** Video drops per reason; `disconnected` counts the video part of packetsDroppedWhileDisconnected. */
  readonly videoDropsByReason: Readonly<Record<DropReason, number>>;
  /** Packets dropped while disconnected, or queued at the disconnect, or video awaiting the first keyframe after it. */
  readonly packetsDroppedWhileDisconnected: KindCounts;
  /** Audio packets queued beyond the packet/byte cap because no video was left to purge. */
  readonly audioPacketsOverBound: number;
  /** Time spent in `dropping`, ms (the current episode included). */
  readonly congestedMs: number;
  /** Number of `normal -> dropping` transitions. */
  readonly congestionEvents: number;
  /** Keyframe requests raised. */
  readonly keyframeRequests: number;
  /** Per video track, by track id (one entry for a single-rendition output). */
  readonly tracks: readonly TrackCounts[];
}

/**
 * One output's muxer: the drop policy in front of a StreamBuffer. Video may be dropped, GOP-aware;
 * audio is never dropped while connected (room is made by purging video, or it goes over the bound).
 * No I/O, no timers: the sender pulls with `nextPacket()`.
 *
 * A multitrack output has a policy per video track, each with the thresholds of
 * `trackDropPolicyOptions()`: the highest track loses its GOPs first and track 0 last, and a track
 * that drops resumes at its own next keyframe. A hard cap sheds the tracks above the packet's first.
 * `state` is `dropping` while any track is.
 */
export class StreamMuxer extends TypedEmitter<StreamMuxerEvents> {
  /** The resolved, validated options. */
  readonly options: Readonly<StreamMuxerOptions>;
  readonly #clock: Clock;
  readonly #buffer: StreamBuffer;
  readonly #tracks: VideoTracks;
  /** One per video track, by track id. */
  readonly #policies: readonly DropPolicy[];
  readonly #perTrack: { written: number; sent: number; dropped: number }[];
  /** Per track: a new connection must start at one of its keyframes. */
  readonly #awaitingKeyframe: boolean[];
  #endToEndLatencyMs: (() => number) | undefined;
  #transitMs: (() => number) | undefined;
  #connected = false;
  #droppingSinceUs = 0;
  #congestedUs = 0;
  #congestionEvents = 0;
  #keyframeRequests = 0;
  #audioOverBound = 0;
  #videoDropped = 0;
  #audioDropped = 0;
  readonly #byReason: Record<DropReason, number> = {
    'congestion-latency': 0,
    'congestion-packets': 0,
    'congestion-bytes': 0,
    'gop-broken': 0,
    disconnected: 0,
  };
  readonly #written = { video: 0, audio: 0 };
  readonly #sent = { video: 0, audio: 0 };
  readonly #droppedDisconnected = { video: 0, audio: 0 };

  /**
   * Starts disconnected: call `setConnected(true)` once the stream is published. `tracks`: the video
   * tracks of a multitrack output (default one).
   */
  constructor(clock: Clock, options: Partial<StreamMuxerOptions> = {}, tracks: VideoTracks = SINGLE_TRACK) {
    super();
    const resolved = resolveStreamMuxerOptions(options);
    // The buffer and the policy each refuse their own bad options with a ConfigError.
    this.options = Object.freeze(resolved);
    this.#clock = clock;
    this.#buffer = new StreamBuffer(clock, resolved);
    this.#policies = Array.from(
      { length: tracks.count },
      (_, track) => new DropPolicy(trackDropPolicyOptions(resolved, track, tracks.count)),
    );
    this.#tracks = tracks;
    this.#perTrack = this.#policies.map(() => ({ written: 0, sent: 0, dropped: 0 }));
    this.#awaitingKeyframe = this.#policies.map(() => true);
  }

  /** `normal`, or `dropping` while any video track drops. */
  get state(): DropState {
    return this.#policies.some((p) => p.state === 'dropping') ? 'dropping' : 'normal';
  }

  /** Whether the output is connected (packets are queued rather than dropped). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Packets queued for the sender. */
  get queuedPackets(): number {
    return this.#buffer.size;
  }

  /** Age of the oldest queued packet, ms. */
  get bufferLatencyMs(): number {
    return this.#buffer.currentLatencyMs;
  }

  /** Bytes queued for the sender. */
  get queuedBytes(): number {
    return this.#buffer.bytes;
  }

  /** Age of the oldest media the server has not received, ms: max(buffer latency, end-to-end latency). */
  get currentLatencyMs(): number {
    const endToEnd = this.#endToEndLatencyMs?.() ?? 0;
    return Math.max(this.#buffer.currentLatencyMs, endToEnd);
  }

  /** Sets where the end-to-end latency comes from (the LatencyTracker); undefined: the buffer's alone. */
  setEndToEndLatencySource(source: (() => number) | undefined): void {
    this.#endToEndLatencyMs = source;
  }

  /**
   * Sets where the path's transit time comes from (the LatencyTracker's `transitMs`: how long media
   * written now takes to reach the server); undefined: none. The drop decisions then look ahead.
   */
  setTransitSource(source: (() => number) | undefined): void {
    this.#transitMs = source;
  }

  /**
   * The latency the drop decisions act on: the current one, or what the oldest queued media will have on
   * arrival (its age now plus the path's transit), if that is more. The bytes already in flight cannot
   * be dropped, so waiting for the oldest media's age to cross the threshold lets the audio queued
   * behind them arrive later than it: measured at a link of 25 %, receiver peaks of 2.6–2.85 s against
   * a 2 s threshold, the in-flight drain (0.6 s) on top.
   */
  #decisionLatencyMs(): number {
    const transit = this.#transitMs?.() ?? 0;
    const arriving = transit > 0 ? this.#buffer.currentLatencyMs + transit : 0;
    return Math.max(this.currentLatencyMs, arriving);
  }

  /** Queues or drops one video packet; returns false when it is dropped. */
  writeVideoPacket(packet: EncodedPacket): boolean {
    const track = this.#trackOf(packet);
    this.#written.video++;
    this.#perTrack[track]!.written++;
    if (!this.#connected) {
      this.#dropDisconnected('video');
      return false;
    }
    if (this.#awaitingKeyframe[track]) {
      // A new connection must start at a keyframe; the GOP before it began while disconnected.
      if (!packet.keyframe) {
        this.#dropDisconnected('video');
        return false;
      }
      this.#awaitingKeyframe[track] = false;
    }
    const prev = this.state;
    let cap = this.#buffer.hardCapExceeded(packet);
    if (cap !== null) cap = this.#shedAbove(track, packet);
    const latencyMs = this.#decisionLatencyMs();
    const policy = this.#policies[track]!;
    // The lower tracks are favoured: a track comes back only while every track below it flows.
    const held =
      policy.state === 'dropping' && this.#policies.slice(0, track).some((p) => p.state === 'dropping');
    const decision = policy.decideVideo(
      packet,
      held ? HELD : { latencyMs, packetsFull: cap === 'packets', bytesFull: cap === 'bytes' },
    );
    if (decision.purge) {
      this.#countPurged(this.#purgeFor(decision.reason, track), 'gop-broken');
      this.#dropAbove(track, decision.reason);
    }
    this.#onStateChange(prev, this.state);
    if (!decision.keep) {
      this.#countVideoDrops(1, decision.reason ?? 'gop-broken', track);
      this.#checkRecovery(latencyMs);
      return false;
    }
    this.#buffer.addPacket(packet);
    return true;
  }

  /** Queues one audio packet; returns false only while disconnected (audio is never dropped while connected). */
  writeAudioPacket(packet: EncodedPacket): boolean {
    this.#written.audio++;
    if (!this.#connected) {
      this.#dropDisconnected('audio');
      return false;
    }
    if (this.#buffer.hardCapExceeded(packet) !== null) this.#makeRoomForAudio(packet);
    if (!this.#buffer.addPacket(packet)) {
      this.#buffer.addPacketOverBound(packet);
      this.#audioOverBound++;
    }
    this.#checkRecovery(this.#decisionLatencyMs());
    return true;
  }

  /** Dequeues the oldest packet for the sender. */
  nextPacket(): EncodedPacket | undefined {
    const packet = this.#buffer.nextPacket();
    if (packet !== undefined) {
      this.#sent[packet.kind]++;
      if (packet.kind === 'video') this.#perTrack[this.#trackOf(packet)]!.sent++;
    }
    if (this.state === 'dropping') this.#checkRecovery(this.#decisionLatencyMs());
    return packet;
  }

  /** The oldest queued packet, without removing it. */
  peek(): EncodedPacket | undefined {
    return this.#buffer.peek();
  }

  /**
   * Drops the queued video, counted as congestion drops; audio stays. For a move to a lower rendition
   * whose keyframe comes next: a backlog of the old one would only hold the latency up while the
   * slower stream drains it.
   */
  dropQueuedVideo(): void {
    this.#countPurged(this.#buffer.purgeAllVideo(), 'congestion-latency');
  }

  /** A copy of the queued packets, oldest first (diagnostics and tests). */
  queuedPacketsSnapshot(): EncodedPacket[] {
    return this.#buffer.toArray();
  }

  /**
   * Connection state from the ConnectionMonitor/Reconnector. Going down drops what is queued (counted
   * as dropped while disconnected); coming up starts clean at the live edge: video waits for a keyframe,
   * and one is requested.
   */
  setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    for (const packet of this.#buffer.clear()) this.#dropDisconnected(packet.kind);
    const prev = this.state;
    for (const policy of this.#policies) policy.reset();
    this.#onStateChange(prev, 'normal');
    this.#awaitingKeyframe.fill(true);
    if (connected) {
      this.#keyframeRequests++;
      this.emit('keyframeRequest', 'reconnected');
    }
  }

  /** A snapshot of the counters. */
  get stats(): StreamMuxerStats {
    const state = this.state;
    const episodeUs = state === 'dropping' ? this.#clock.nowUs() - this.#droppingSinceUs : 0;
    return {
      state,
      currentLatencyMs: this.currentLatencyMs,
      bufferLatencyMs: this.#buffer.currentLatencyMs,
      queued: { video: this.#buffer.videoCount, audio: this.#buffer.audioCount },
      queuedBytes: this.#buffer.bytes,
      written: { ...this.#written },
      sent: { ...this.#sent },
      videoPacketsDropped: this.#videoDropped,
      audioPacketsDropped: this.#audioDropped,
      videoDropsByReason: { ...this.#byReason },
      packetsDroppedWhileDisconnected: { ...this.#droppedDisconnected },
      audioPacketsOverBound: this.#audioOverBound,
      congestedMs: (this.#congestedUs + episodeUs) / 1000,
      congestionEvents: this.#congestionEvents,
      keyframeRequests: this.#keyframeRequests,
      tracks: this.#perTrack.map((counts, track) => ({ state: this.#policies[track]!.state, ...counts })),
    };
  }

  // Audio at the hard cap: purge video, GOP-aware, never audio, the highest track first. The purged
  // video of a track is a suffix of its sequence, so entering `dropping` (the track waits for its
  // keyframe) keeps it decodable.
  #makeRoomForAudio(packet: EncodedPacket): void {
    if (this.#buffer.videoCount === 0) return;
    const prev = this.state;
    for (let track = this.#tracks.count - 1; track >= 0; track--) {
      this.#policies[track]!.enterDropping();
      this.#countPurged(this.#buffer.purgeBrokenGop(this.#inTrack(track)), 'gop-broken');
      if (this.#buffer.hardCapExceeded(packet) === null) break;
    }
    for (let track = this.#tracks.count - 1; track >= 0; track--) {
      if (this.#buffer.hardCapExceeded(packet) === null) break;
      this.#countPurged(this.#buffer.purgeAllVideo(this.#inTrack(track)), 'gop-broken');
    }
    this.#onStateChange(prev, this.state);
  }

  // A video packet of `track` at the hard cap: the tracks above it drop first (from the highest, their
  // unsent GOP tails purged) until it fits. Returns the cap it still exceeds, or null.
  #shedAbove(track: number, packet: EncodedPacket): HardCap | null {
    let cap = this.#buffer.hardCapExceeded(packet);
    for (let above = this.#tracks.count - 1; above > track && cap !== null; above--) {
      this.#policies[above]!.enterDropping();
      this.#countPurged(this.#buffer.purgeAllVideo(this.#inTrack(above)), 'gop-broken');
      cap = this.#buffer.hardCapExceeded(packet);
    }
    return cap;
  }

  /**
   * The queued video a congestion drop removes (always a suffix of the video sequence, so the stream
   * stays decodable once video waits for a keyframe). Over the latency bound, all of it: the oldest
   * queued media is already at the bound and everything queued behind it arrives later still, so a
   * whole GOP kept in the queue (one that began after a recovery keyframe) would arrive seconds late.
   * Measured at a link of 25 %: 170–300 KB of such GOPs left queued, receiver peaks of 2.6–2.85 s
   * against the 2 s bound. At a packet or byte cap, only the GOP being broken: room is what is short.
   * Only `track`'s video (a multitrack output's other tracks follow their own bounds).
   */
  #purgeFor(reason: DropReason | null, track: number): EncodedPacket[] {
    const inTrack = this.#inTrack(track);
    return reason === 'congestion-latency'
      ? this.#buffer.purgeAllVideo(inTrack)
      : this.#buffer.purgeBrokenGop(inTrack);
  }

  // A track starts dropping: every track above it drops too, and loses at least as much of its queued
  // video (the same purge), so no higher track ever carries media a lower one lost — also when the
  // purge lowers the latency, or a higher track dropped earlier for a cap and kept older GOPs queued.
  #dropAbove(track: number, reason: DropReason | null): void {
    for (let above = track + 1; above < this.#tracks.count; above++) {
      this.#policies[above]!.enterDropping();
      this.#countPurged(this.#purgeFor(reason, above), 'gop-broken');
    }
  }

  #checkRecovery(latencyMs: number): void {
    // Every policy is asked, so each one's latch moves; one request serves them all (keyframes are aligned).
    let requested = false;
    for (const policy of this.#policies) requested = policy.takeKeyframeRequest(latencyMs) || requested;
    if (!requested) return;
    this.#keyframeRequests++;
    this.emit('keyframeRequest', 'recovery');
  }

  #trackOf(packet: EncodedPacket): number {
    const track = this.#tracks.trackOf(packet);
    if (!(Number.isInteger(track) && track >= 0 && track < this.#tracks.count)) {
      throw new RangeError(`video track ${track} is not one of the output's ${this.#tracks.count}`);
    }
    return track;
  }

  #inTrack(track: number): (packet: EncodedPacket) => boolean {
    return this.#tracks.count === 1 ? () => true : (packet) => this.#tracks.trackOf(packet) === track;
  }

  #countPurged(packets: readonly EncodedPacket[], reason: DropReason): void {
    let video = 0;
    for (const packet of packets) {
      if (packet.kind !== 'video') continue;
      video++;
      this.#perTrack[this.#trackOf(packet)]!.dropped++;
    }
    this.#audioDropped += packets.length - video;
    this.#countVideoDrops(video, reason);
  }

  #countVideoDrops(count: number, reason: DropReason, track?: number): void {
    if (count === 0) return;
    this.#byReason[reason] += count;
    if (reason === 'disconnected') return;
    this.#videoDropped += count;
    if (track !== undefined) this.#perTrack[track]!.dropped += count;
  }

  #dropDisconnected(kind: MediaKind): void {
    this.#droppedDisconnected[kind]++;
    if (kind === 'video') this.#byReason.disconnected++;
  }

  #onStateChange(prev: DropState, next: DropState): void {
    if (prev === next) return;
    const nowUs = this.#clock.nowUs();
    if (next === 'dropping') {
      this.#droppingSinceUs = nowUs;
      this.#congestionEvents++;
    } else {
      this.#congestedUs += nowUs - this.#droppingSinceUs;
    }
    this.emit('statechange', prev, next);
  }
}
