import { ConfigError } from '../core/errors.js';
import type { RtmpConnectionOptions } from '../rtmp/rtmp-connection-options.js';
import { parseRtmpUrl } from '../rtmp/url.js';
import type { BackoffOptions } from './backoff.js';
import type { OutputState } from './reconnector.js';
import type { DropReason, DropState } from './drop-policy.js';
import type { AckState, LatencyMeasure } from './latency-tracker.js';
import type { KindCounts } from './stream-muxer.js';
import type { CodecNegotiation } from './transport.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { MAX_VIDEO_TRACK_ID } from '../flv/multitrack-tags.js';

export type { OutputState };

/** Options of one destination, whatever its protocol. */
export interface OutputOptions {
  /** Drop threshold: video is dropped above this end-to-end latency, ms; default 2000. */
  maxLatencyMs: number;
  /** Queue bound, packets; default 100. */
  maxPackets: number;
  /** Queue bound, bytes; default 4 MiB (at usual bitrates the latency bound acts first; this caps memory). */
  maxBytes: number;
  /** Dropping ends once latency is under this, at a keyframe, ms; default (undefined) maxLatencyMs / 2. */
  lowWatermarkMs: number | undefined;
  /**
   * Above this latency (and under maxLatencyMs) only non-reference frames are dropped, ms; Infinity turns
   * it off; default (undefined) 0.75 × maxLatencyMs.
   */
  disposableDropLatencyMs: number | undefined;
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
  /**
   * Enhanced RTMP multitrack: the renditions carried together, as video tracks 0, 1, … in this order
   * (undefined names the main one); track 0 drops last. `maxPackets` then counts per track. Default
   * empty: one rendition at a time.
   */
  videoTracks: readonly (string | undefined)[];
}

/** Options of one RTMP destination. */
export interface RtmpOutputOptions extends OutputOptions {
  /** `rtmp[s]://host[:port]/app[/instance]/streamKey`. */
  url: string;
  /** Socket-level options (timeouts, TLS trust, Window Acknowledgement Size, an injected connector). */
  connection: Partial<Omit<RtmpConnectionOptions, 'url' | 'publishedBefore'>>;
}

/** Default options of every output. */
export function outputDefaults(): OutputOptions {
  return {
    maxLatencyMs: MEDIA_DEFAULTS.maxLatencyMs,
    maxPackets: 100,
    maxBytes: 4 * 1024 * 1024,
    lowWatermarkMs: undefined,
    disposableDropLatencyMs: undefined,
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
    videoTracks: [],
  };
}

/** Default RtmpOutput options, without the URL. */
export function rtmpOutputDefaults(): Omit<RtmpOutputOptions, 'url'> {
  return { ...outputDefaults(), connection: {} };
}

/** Throws a ConfigError naming the first bad option (the URL is checked by parseRtmpUrl). */
export function validateRtmpOutputOptions(o: RtmpOutputOptions): void {
  parseRtmpUrl(o.url);
  validateOutputOptions(o);
}

/** Throws a ConfigError naming the first bad option of any output. */
export function validateOutputOptions(o: OutputOptions): void {
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
  const tracks = o.videoTracks;
  if (
    !Array.isArray(tracks) ||
    new Set(tracks).size !== tracks.length ||
    tracks.length > MAX_VIDEO_TRACK_ID + 1
  ) {
    throw new ConfigError(
      'videoTracks',
      Array.isArray(tracks) ? tracks.map((t) => t ?? 'main').join(',') : tracks,
      `list each rendition once, at most ${MAX_VIDEO_TRACK_ID + 1}`,
    );
  }
}

/** One video track of a multitrack output. */
export interface VideoTrackStats {
  /** The Enhanced RTMP track id. */
  readonly id: number;
  /** The rendition it carries. */
  readonly rendition: string;
  /** Its own drop state. */
  readonly dropState: DropState;
  /** Video packets its encoder handed the output. */
  readonly written: number;
  /** Video packets handed to the sender. */
  readonly sent: number;
  /** Video packets dropped while connected (congestion, broken GOP). */
  readonly dropped: number;
}

/** A snapshot of one output's counters. */
export interface OutputStats {
  /** Where the output is. */
  readonly state: OutputState;
  /** The destination, stream key redacted. */
  readonly url: string;
  /** What the last publish settled with the server about codecs (null before one). */
  readonly codecNegotiation: CodecNegotiation | null;
  /** `normal`, or `dropping` while congested. */
  readonly dropState: DropState;
  /** Video dropped for congestion while connected (GOP-aware). */
  readonly videoPacketsDropped: number;
  /** Audio dropped while connected (what the muxer's purges removed): 0 by design. */
  readonly audioPacketsDropped: number;
  /** Video drops by reason. */
  readonly videoDropsByReason: Readonly<Record<DropReason, number>>;
  /** Packets dropped while disconnected, by kind (counted apart from congestion). */
  readonly packetsDroppedWhileDisconnected: KindCounts;
  /** The drop threshold in force (the maxLatencyMs option), ms. */
  readonly dropThresholdMs: number;
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
  /** What the encoders handed this output over the last 2 s (its stream's actual rate), bits per second. */
  readonly offeredBitrateBps: number;
  /** Packets waiting in the buffer. */
  readonly queuedPackets: number;
  /** Time spent dropping, ms. */
  readonly congestedMs: number;
  /** Times congestion began. */
  readonly congestionEvents: number;
  /** The rendition of the video it carries now (`main` without a ladder). */
  readonly rendition: string;
  /** Moves to a lower rendition (congested) and back up (recovered). */
  readonly renditionSwitches: { readonly down: number; readonly up: number };
  /** Time spent carrying a rendition below the top one, ms. */
  readonly belowTopRenditionMs: number;
  /** A multitrack output's video tracks, by id; empty for one rendition at a time. */
  readonly videoTracks: readonly VideoTrackStats[];
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
  /** Moves to a new connection at the server's request (Enhanced RTMP Reconnect Request), make before break; not in reconnectCount. */
  readonly serverRequestedReconnects: number;
  /** Server reconnect requests whose new connection failed: the stream stayed on the old one. */
  readonly serverReconnectFailures: number;
}

/** The stats of an RTMP output (the same as any output's). */
export type RtmpOutputStats = OutputStats;
