/**
 * Types and pure helpers of the two-destination scenario (scenarios/destinations.ts), shared by
 * test/integration/destinations.test.ts and bench/destinations.ts.
 */
import type { AudioGap } from '../media-probe.js';
import type { LatencyReport, PhaseMarks } from './congestion-analysis.js';
import { ffmpegDefaultStreamArgs } from './scenario-steps.js';

/** What to run: one publisher, destinations A (clean) and B (throttled from leadS for throttleS). */
export interface DestinationsScenarioArgs {
  /**
   * `quality`: steadycast with per-output quality (--adaptive-quality); `abr`: the shared adaptive
   * bitrate (--adaptive-bitrate); `fixed`: neither (GOP drops only); `ffmpeg-tee`: Debian's ffmpeg
   * with the tee muxer and the same encode settings.
   */
  publisher: 'quality' | 'abr' | 'fixed' | 'ffmpeg-tee';
  /** 2: A and B; 1: A alone (the CPU baseline; nothing is throttled). */
  outputs: 1 | 2;
  /** B's rate during the throttle, kbit/s. */
  rateKbit: number;
  /** Clean seconds before the throttle. */
  leadS: number;
  /** Seconds of B at `rateKbit`. */
  throttleS: number;
  /** Clean seconds after it. */
  recoverS: number;
}

/** The quality an output carried at one stats line. */
export interface QualityPoint {
  /** ms after the first video frame reached A's tap. */
  atMs: number;
  /** The rendition's name. */
  rendition: string;
  /** Its video bitrate, kbit/s. */
  videoKbps: number;
}

/** What one destination received, and what steadycast said about it. */
export interface DestinationReport {
  /** `a` (clean) or `b` (throttled). */
  key: string;
  /** TCP connections its tap accepted (1 = no reconnect). */
  tapConnections: number;
  tapParseError: string | null;
  /** Receiver-side latency (arrival − RTMP timestamp) over the run and over the throttle + 3 s. */
  latency: LatencyReport;
  videoFramesAtTap: number;
  /** Video frames captured during the throttle that reached the tap (at any time). */
  videoFramesInThrottle: number;
  /** Frames captured during the throttle (its length × 30 fps). */
  framesDueInThrottle: number;
  videoFramesPerSecond: number[];
  /** The server's recording of this destination, probed with ffprobe/ffmpeg. */
  recording: {
    path: string;
    videoFrames: number;
    videoKbps: number;
    /** Coded widths of its frames, in order, each run of the same width once: one entry per switch + 1. */
    widths: number[];
    audioDurationS: number;
    audioGaps: AudioGap[];
    decodeErrors: number;
    decodeErrorSample: string[];
  } | null;
  /** steadycast's stats file, this output's entries (null for ffmpeg). */
  steadycast: {
    videoPacketsDropped: number;
    audioPacketsDropped: number;
    renditionSwitches: { down: number; up: number };
    belowTopRenditionMs: number;
    quality: QualityPoint[];
  } | null;
}

/** A scenario's result (the JSON line it prints). */
export interface DestinationsResult {
  args: DestinationsScenarioArgs;
  /** The publisher's exit code, or 'timeout'. */
  exitCode: number | string;
  /** CPU seconds (user + system) of the publisher; null if unknown. */
  cpuS: number | null;
  marks: PhaseMarks;
  /** steadycast's frames captured (null for ffmpeg). */
  framesCaptured: number | null;
  /** The final stats' running renditions (JSON), to show what the extra encoders did. */
  extraEncoderNote: string | null;
  destinations: DestinationReport[];
  stderrTail: string;
}

/** The rendition and bitrate of output `index` at each stats line, on the scenario's time axis. */
export function qualityTimeline(
  lines: readonly Record<string, unknown>[],
  index: number,
  t0EpochMs: number,
): QualityPoint[] {
  const points: QualityPoint[] = [];
  for (const line of lines) {
    const output = (line.outputs as Record<string, unknown>[] | undefined)?.[index];
    if (!output || typeof line.t !== 'number') continue;
    points.push({
      atMs: Math.round(line.t - t0EpochMs),
      rendition: String(output.rendition),
      videoKbps: Math.round(Number(output.videoBitrateBps ?? 0) / 1000),
    });
  }
  return points;
}

/**
 * ms from `restoredMs` until the output is back on `top` for good (every later point on it); null
 * when it never is, or when the timeline ends before it.
 */
export function backOnTopMs(points: readonly QualityPoint[], top: string, restoredMs: number): number | null {
  let since: number | null = null;
  for (const point of points) {
    if (point.rendition !== top) since = null;
    else since ??= point.atMs;
  }
  if (since === null) return null;
  return Math.max(0, since - restoredMs);
}

/**
 * Debian ffmpeg publishing steadycast's default stream (720p30 2500k CBR, AAC 160k 48 kHz) to every
 * URL through the tee muxer; a destination that fails is dropped without stopping the others.
 */
export function ffmpegTeeArgs(urls: readonly string[], seconds: number): string[] {
  return ffmpegDefaultStreamArgs(seconds, ['-map', '0:v', '-map', '1:a']).concat(
    ['-flags', '+global_header'],
    ['-f', 'tee', urls.map((url) => `[f=flv:onfail=ignore]${url}`).join('|')],
  );
}
