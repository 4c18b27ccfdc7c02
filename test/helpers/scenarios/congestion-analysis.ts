/**
 * Pure analysis of what a wire tap saw during a congestion scenario (scenarios/congestion.ts): the
 * receiver-side latency per phase, video frames per second, and how long full frame rate took to come
 * back after the link recovered. Shared by test/integration/congestion.test.ts and bench/congestion.ts.
 */
import type { LatenessSummary } from '../../../src/core/lateness.js';
import type { AudioGap } from '../media-probe.js';
import type { MediaArrival } from '../wire-tap.js';
import type { VideoCodec } from '../../../src/media/packet.js';

/** What to run: one publisher through one throttle episode to one server. */
export interface CongestionScenarioArgs {
  /** The receiving server, behind the wire tap. */
  server: 'nginx' | 'nms';
  /** Who publishes: the real `steadycast stream` CLI, or Debian's ffmpeg with the same settings. */
  publisher: 'steadycast' | 'ffmpeg';
  /** The throttled rate of the tap's port, kbit/s; null for a clean run. */
  rateKbit: number | null;
  /** Clean seconds before the throttle (from the first video frame at the tap). */
  leadS: number;
  /** Seconds at `rateKbit`. */
  throttleS: number;
  /** Clean seconds after it. */
  recoverS: number;
  /** steadycast only: run with `--adaptive-bitrate`. */
  adaptiveBitrate?: boolean;
  /**
   * steadycast only: `--codec`, `--size`, `--video-bitrate` and `--audio-bitrate` (CLI spellings, e.g.
   * `hevc`, `640x360`, `1000k`, `64k`); default the CLI's (H.264, 720p, 2500k, 160k). A codec other
   * than H.264 is recorded as enhanced FLV, which is then read with node-av (Debian's ffmpeg 5.1 cannot).
   */
  media?: { codec: VideoCodec; size: string; videoBitrate: string; audioBitrate: string };
}

/** When the throttle started and ended, ms after the first video frame reached the tap (NaN: none). */
export interface PhaseMarks {
  /** Throttle on. */
  throttleStartMs: number;
  /** Throttle off (link restored). */
  throttleEndMs: number;
}

/** Receiver-side latency percentiles, ms. */
export interface LatencyStats {
  /** Media frames counted. */
  count: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** Largest. */
  max: number;
}

/** Receiver-side latency over the whole run and over the throttled part. */
export interface LatencyReport {
  /** Every media frame of the run. */
  all: LatencyStats;
  /** Frames that arrived from throttle start to throttle end + 3 s (the backlog drains then). */
  throttled: LatencyStats;
  /** Audio frames alone over the same span (audio is never dropped: it shows the real queue). */
  throttledAudio: LatencyStats;
}

/** A scenario's result (the JSON line it prints). */
export interface CongestionResult {
  /** What ran. */
  args: CongestionScenarioArgs;
  /** The publisher's exit code, or 'timeout'. */
  exitCode: number | string;
  /** CPU seconds (user + system) of the publisher process; null if unknown. */
  cpuS: number | null;
  /** Phase times. */
  marks: PhaseMarks;
  /** TCP connections the tap accepted (1 = no reconnect). */
  tapConnections: number;
  /** The tap's first parse error, if any. */
  tapParseError: string | null;
  /** Receiver-side latency (arrival − RTMP timestamp, relative to the run's smallest offset). */
  latency: LatencyReport;
  /** Video frames that reached the tap. */
  videoFramesAtTap: number;
  /** Audio frames that reached the tap. */
  audioFramesAtTap: number;
  /** Video frames arriving at the tap per second since the first one. */
  videoFramesPerSecond: number[];
  /** The highest receiver latency among the frames arriving in each whole second, ms (0: none arrived). */
  latencyMaxPerSecond: number[];
  /** ms from the link's recovery until full frame rate at the tap (null: never; see frameRateRecoveryMs). */
  recoveryMs: number | null;
  /** The longest pauses between video arrivals once the link is back (diagnostics for recoveryMs). */
  videoPausesAfterRestore: { atMs: number; pauseMs: number }[];
  /** What the server recorded (probed with ffprobe/ffmpeg, or node-av for enhanced FLV). */
  recording: {
    /** The video stream's codec, as the demuxer names it (h264, hevc). */
    videoCodec: string;
    videoFrames: number;
    keyframes: number;
    audioDurationS: number;
    audioGaps: AudioGap[];
    decodeErrors: number;
    decodeErrorSample: string[];
  } | null;
  /** steadycast's own stats file (null for ffmpeg). */
  steadycast: {
    reconnectCount: number;
    /** Times the output entered `dropping` (its stats), and the CLI's "congested" lines. */
    congestionEvents: number;
    congestionNotices: number;
    videoPacketsDropped: number;
    audioPacketsDropped: number;
    /** Frames the encoder skipped because it was behind (a CPU shortage, not the path). */
    framesSkippedEncoder: number;
    maxLatencyMs: number;
    latencyMeasure: string;
    ackState: string;
    latencyMeasures: string[];
    ackStates: string[];
    maxDeliveryRateBps: number;
    currentLatencyMs: number[];
    /** The video encoder's bitrate at each stats line, kbit/s. */
    videoBitrateKbps: number[];
    captureTickLateness: LatenessSummary | null;
    audioTickLateness: LatenessSummary | null;
  } | null;
  /** The end of the publisher's stderr (bash `times` included). */
  stderrTail: string;
  /** `tc -s qdisc` at the end of the throttle ('' for a clean run). */
  tcStats: string;
}

/** Frames per second that count as "full frame rate" at 30 fps (allowing for arrival jitter). */
export const FULL_RATE_FRAMES = 27;
/** The span after the throttle still counted as throttled: the queued backlog arrives then. */
export const DRAIN_GRACE_MS = 3000;

/** Nearest-rank percentile, p in 0..100; NaN for an empty list. */
export function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

function stats(values: readonly number[]): LatencyStats {
  return {
    count: values.length,
    p50: Math.round(percentileOf(values, 50)),
    p95: Math.round(percentileOf(values, 95)),
    max: Math.round(values.reduce((a, b) => Math.max(a, b), values.length === 0 ? NaN : -Infinity)),
  };
}

/**
 * Receiver-side latency of each frame: (arrival − RTMP timestamp) minus the smallest such offset of the
 * run, i.e. how much older than the freshest frame ever was this frame reached the receiver. `media`
 * holds frames only (no sequence headers), arrival times in ms relative to any origin.
 */
export function receiverLatenciesMs(media: readonly MediaArrival[]): number[] {
  if (media.length === 0) return [];
  const offsets = media.map((m) => m.arrivalMs - m.timestampMs);
  const base = offsets.reduce((a, b) => Math.min(a, b));
  return offsets.map((o) => o - base);
}

/** Latency over the run, over the throttle (+ DRAIN_GRACE_MS), and audio alone over the throttle. */
export function latencySummary(media: readonly MediaArrival[], marks: PhaseMarks): LatencyReport {
  const latencies = receiverLatenciesMs(media);
  const inThrottle = (m: MediaArrival): boolean =>
    m.arrivalMs >= marks.throttleStartMs && m.arrivalMs <= marks.throttleEndMs + DRAIN_GRACE_MS;
  const throttled = latencies.filter((_, i) => inThrottle(media[i]!));
  const throttledAudio = latencies.filter((_, i) => inThrottle(media[i]!) && media[i]!.type === 8);
  return { all: stats(latencies), throttled: stats(throttled), throttledAudio: stats(throttledAudio) };
}

/** The highest receiver latency (see receiverLatenciesMs) of the frames arriving in each whole second since 0. */
export function latencyMaxPerSecond(media: readonly MediaArrival[]): number[] {
  const latencies = receiverLatenciesMs(media);
  const maxima: number[] = [];
  media.forEach((m, i) => {
    if (m.arrivalMs < 0) return;
    const second = Math.floor(m.arrivalMs / 1000);
    while (maxima.length <= second) maxima.push(0);
    maxima[second] = Math.max(maxima[second]!, Math.round(latencies[i]!));
  });
  return maxima;
}

/** Video frames arriving in each whole second since time 0 (arrival times in ms from 0). */
export function videoFramesPerSecond(media: readonly MediaArrival[]): number[] {
  const counts: number[] = [];
  for (const m of media) {
    if (m.type !== 9 || m.arrivalMs < 0) continue;
    const second = Math.floor(m.arrivalMs / 1000);
    while (counts.length <= second) counts.push(0);
    counts[second]!++;
  }
  return counts;
}

/** The largest step between consecutive video timestamps that still means "no frame missing" at 30 fps. */
export const MAX_FRAME_STEP_MS = 50;

/**
 * How long after `restoredMs` full frame rate was back at the receiver, ms: the arrival of the first
 * video frame after `restoredMs` such that
 * - no video frame is missing from it to the end (consecutive timestamps ≤ MAX_FRAME_STEP_MS apart:
 *   the publisher dropped nothing more), and
 * - the 1-s window from its arrival holds at least FULL_RATE_FRAMES frames (they arrive in real time).
 * Null when that never happens, or less than a second of video followed `restoredMs`. Counting missing
 * timestamps rather than arrivals per sliding window keeps a momentary stall on a busy machine (frames
 * late by 150 ms, then all there) from reading as lost frame rate.
 */
export function frameRateRecoveryMs(media: readonly MediaArrival[], restoredMs: number): number | null {
  const video = media.filter((m) => m.type === 9);
  const lastArrival = video[video.length - 1]?.arrivalMs;
  if (lastArrival === undefined || lastArrival - restoredMs < 1000) return null;
  let firstComplete = 0;
  for (let i = 1; i < video.length; i++) {
    if (video[i]!.timestampMs - video[i - 1]!.timestampMs > MAX_FRAME_STEP_MS) firstComplete = i;
  }
  for (const frame of video.slice(firstComplete)) {
    if (frame.arrivalMs < restoredMs) continue;
    if (frame.arrivalMs + 1000 > lastArrival) return null;
    const inWindow = video.filter(
      (v) => v.arrivalMs >= frame.arrivalMs && v.arrivalMs < frame.arrivalMs + 1000,
    );
    if (inWindow.length >= FULL_RATE_FRAMES) return Math.round(frame.arrivalMs - restoredMs);
  }
  return null;
}

/** The `count` longest pauses between consecutive video arrivals after `fromMs`, longest first. */
export function longestVideoPauses(
  media: readonly MediaArrival[],
  fromMs: number,
  count: number,
): { atMs: number; pauseMs: number }[] {
  const arrivals = media.filter((m) => m.type === 9 && m.arrivalMs >= fromMs).map((m) => m.arrivalMs);
  const pauses = arrivals
    .slice(1)
    .map((at, i) => ({ atMs: Math.round(at), pauseMs: Math.round(at - arrivals[i]!) }));
  return pauses.sort((a, b) => b.pauseMs - a.pauseMs).slice(0, count);
}
