import type { StreamStats } from '../streamer.js';

/** One output in a chart sample: what the dashboard and the report plot per destination. */
export interface OutputSample {
  /** The destination, stream key hidden (`rtmp://host/live/****`). */
  readonly name: string;
  /** The output's state (`live`, `reconnecting`, …). */
  readonly state: string;
  /** Latency now, ms; null while not live (a gap in the chart). */
  readonly latencyMs: number | null;
  /** The drop threshold (the output's maxLatencyMs), ms, when the stats carry it. */
  readonly thresholdMs: number | null;
  /** Delivered rate, bits per second (acknowledged, or as the kernel reports it). */
  readonly deliveryBps: number;
  /** Rate handed to the socket, bits per second. */
  readonly sendBps: number;
  /** Packets waiting in the output's queue. */
  readonly queued: number;
  /** `normal`, or `dropping` while congested. */
  readonly dropState: string;
  /** Video dropped for congestion so far (cumulative). */
  readonly videoDropped: number;
  /** Audio dropped while connected so far (0 by design). */
  readonly audioDropped: number;
  /** Video drops by reason so far (cumulative). */
  readonly dropsByReason: Readonly<Record<string, number>>;
  /** Packets dropped while disconnected so far, video and audio (cumulative). */
  readonly offlineDropped: number;
  /** Reconnections so far. */
  readonly reconnects: number;
  /** Time not live since first live, ms (cumulative). */
  readonly downtimeMs: number;
  /** Bytes sent so far. */
  readonly bytesSent: number;
  /** Why the last connection ended, key hidden. */
  readonly lastReason: string | null;
}

/** One point of every chart: a second of a stream. */
export interface Sample {
  /** When, epoch ms (clock-time labels; durations come from the session clock). */
  readonly t: number;
  /** Milliseconds since capture started. */
  readonly uptimeMs: number;
  /** The Streamer's summary state. */
  readonly state: string;
  /** Capture rate over the last second, frames per second. */
  readonly fps: number;
  /** Frames repeated so far (cumulative). */
  readonly duplicated: number;
  /** Frame deadlines missed so far (cumulative). */
  readonly lagged: number;
  /** Frames skipped by a busy encoder so far (cumulative). */
  readonly skipped: number;
  /** Capture tick lateness p99, ms. */
  readonly captureLateMs: number | null;
  /** Audio engine tick lateness p99, ms. */
  readonly audioLateMs: number | null;
  /** Silence inserted so far, ms (cumulative). */
  readonly silenceMs: number;
  /** The video encoder's bitrate now, bits per second. */
  readonly videoBitrateBps: number;
  /** Each output. */
  readonly outputs: readonly OutputSample[];
  /** Capture devices that are down now, by name. */
  readonly devicesDown: readonly string[];
}

/** The chart sample of one stats snapshot taken at `t` (epoch ms). Pure. */
export function toSample(stats: StreamStats, t: number): Sample {
  return {
    t,
    uptimeMs: stats.uptimeMs,
    state: stats.state,
    fps: round(stats.captureFps, 2),
    duplicated: stats.framesDuplicated,
    lagged: stats.framesLagged,
    skipped: stats.framesSkippedEncoder,
    captureLateMs: stats.captureTickLateness ? round(stats.captureTickLateness.p99Ms, 1) : null,
    audioLateMs: stats.audioTickLateness ? round(stats.audioTickLateness.p99Ms, 1) : null,
    silenceMs: Math.round(stats.silenceInsertedMs),
    videoBitrateBps: stats.videoBitrateBps,
    outputs: stats.outputs.map((o) => {
      // Stats files written before dropThresholdMs existed lack it: no threshold line then.
      const threshold: unknown = o.dropThresholdMs;
      return {
        name: o.url,
        state: o.state,
        latencyMs: o.state === 'live' ? Math.round(o.currentLatencyMs) : null,
        thresholdMs: typeof threshold === 'number' ? threshold : null,
        deliveryBps: Math.round(o.deliveryRateBps),
        sendBps: Math.round(o.sendBitrateBps),
        queued: o.queuedPackets,
        dropState: o.dropState,
        videoDropped: o.videoPacketsDropped,
        audioDropped: o.audioPacketsDropped,
        dropsByReason: { ...o.videoDropsByReason },
        offlineDropped: o.packetsDroppedWhileDisconnected.video + o.packetsDroppedWhileDisconnected.audio,
        reconnects: o.reconnectCount,
        downtimeMs: Math.round(o.downtimeMs),
        bytesSent: o.bytesSent,
        lastReason: o.lastDisconnectReason,
      };
    }),
    devicesDown: stats.devices.filter((d) => d.state === 'down').map((d) => d.name),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
