import type { Sample } from './sample.js';
import type { TimelineEvent } from './timeline.js';

/** One outage of one output: from losing the connection to publishing again (or the end). */
export interface Outage {
  /** The destination, key hidden. */
  readonly output: string;
  /** When it went down, epoch ms. */
  readonly from: number;
  /** When it was live again (or the stream ended), epoch ms. */
  readonly to: number;
  /** How long it was down, ms (from the output's own downtime counter when it came back). */
  readonly durationMs: number;
  /** Whether it came back before the end. */
  readonly recovered: boolean;
  /** Why the connection was lost (the event's reason, else the last failure seen), key hidden. */
  readonly reason: string | null;
}

/** The worst clock minute of a stream. */
export interface WorstMinute {
  /** Start of the minute, epoch ms. */
  readonly from: number;
  /** Video frames dropped in it (congestion and offline). */
  readonly dropped: number;
  /** Seconds in it not live. */
  readonly offlineS: number;
  /** Highest latency in it, ms. */
  readonly maxLatencyMs: number;
}

/** The numbers of a report's summary table. */
export interface ReportSummary {
  /** First and last sample, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Stream duration (capture uptime at the last sample), ms. */
  readonly durationMs: number;
  /** Bytes sent, all outputs. */
  readonly bytesSent: number;
  /** Video dropped for congestion, all outputs. */
  readonly videoDropped: number;
  /** Audio dropped while connected (0 by design). */
  readonly audioDropped: number;
  /** Packets dropped while offline, all outputs. */
  readonly offlineDropped: number;
  /** Successful reconnections. */
  readonly reconnects: number;
  /** Every outage with its duration. */
  readonly outages: readonly Outage[];
  /** The minute with the most dropped and offline time, or null when nothing went wrong. */
  readonly worstMinute: WorstMinute | null;
  /** Time below full quality (dropping, offline, bitrate lowered, a device down), ms. */
  readonly belowFullQualityMs: number;
  /** Highest latency seen, ms. */
  readonly maxLatencyMs: number;
  /** The final state. */
  readonly finalState: string;
}

/** Computes the summary table from a stream's samples and events (oldest first). Pure. */
export function summarize(
  samples: readonly Sample[],
  events: readonly TimelineEvent[],
): ReportSummary | null {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) return null;
  const sum = (pick: (o: Sample['outputs'][number]) => number): number =>
    last.outputs.reduce((t, o) => t + pick(o), 0);
  const topBitrate = Math.max(...samples.map((s) => s.videoBitrateBps));
  let belowMs = 0;
  let maxLatencyMs = 0;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i] as Sample;
    const spanMs = s.t - (samples[i - 1] as Sample).t;
    const degraded =
      s.outputs.some((o) => o.state !== 'live' || o.dropState === 'dropping') ||
      s.videoBitrateBps < topBitrate ||
      s.devicesDown.length > 0;
    if (degraded && s.state !== 'stopping' && s.state !== 'stopped') belowMs += spanMs;
  }
  for (const s of samples) for (const o of s.outputs) maxLatencyMs = Math.max(maxLatencyMs, o.latencyMs ?? 0);
  return {
    from: first.t,
    to: last.t,
    durationMs: last.uptimeMs,
    bytesSent: sum((o) => o.bytesSent),
    videoDropped: sum((o) => o.videoDropped),
    audioDropped: sum((o) => o.audioDropped),
    offlineDropped: sum((o) => o.offlineDropped),
    reconnects: sum((o) => o.reconnects),
    outages: findOutages(samples, events),
    worstMinute: worstMinute(samples),
    belowFullQualityMs: belowMs,
    maxLatencyMs,
    finalState: last.state,
  };
}

/** Runs of samples where an output that had been live was not, with durations from its downtime counter. */
export function findOutages(samples: readonly Sample[], events: readonly TimelineEvent[]): Outage[] {
  const outages: Outage[] = [];
  const names = [...new Set(samples.flatMap((s) => s.outputs.map((o) => o.name)))];
  for (const name of names) {
    let wasLive = false;
    let before: { t: number; downtimeMs: number } | null = null;
    let reason: string | null = null;
    for (const s of samples) {
      const o = s.outputs.find((x) => x.name === name);
      if (!o) continue;
      const down = o.state === 'reconnecting' || o.state === 'connecting';
      if (o.state === 'live') {
        if (before) {
          const lost = lostEvent(events, name, before.t, s.t);
          outages.push({
            output: name,
            from: lost?.t ?? before.t,
            to: s.t,
            durationMs: o.downtimeMs - before.downtimeMs,
            recovered: true,
            reason: lost ? lost.text.replace(/^connection lost: /, '') : reason,
          });
          before = null;
        }
        wasLive = true;
      } else if (down && wasLive && !before) {
        const prev = samples[samples.indexOf(s) - 1]?.outputs.find((x) => x.name === name);
        before = { t: samples[samples.indexOf(s) - 1]?.t ?? s.t, downtimeMs: prev?.downtimeMs ?? 0 };
      }
      if (before && o.lastReason) reason = o.lastReason;
    }
    const last = samples[samples.length - 1];
    const lastOut = last?.outputs.find((x) => x.name === name);
    if (before && last && lastOut) {
      const lost = lostEvent(events, name, before.t, last.t);
      outages.push({
        output: name,
        from: lost?.t ?? before.t,
        to: last.t,
        durationMs: lastOut.downtimeMs - before.downtimeMs,
        recovered: false,
        reason: lost ? lost.text.replace(/^connection lost: /, '') : reason,
      });
    }
  }
  return outages.sort((a, b) => a.from - b.from);
}

/** The `disconnected` event of `output` between `from` and `to`, if the stats file has events. */
function lostEvent(
  events: readonly TimelineEvent[],
  output: string,
  from: number,
  to: number,
): TimelineEvent | undefined {
  return events.find((e) => e.kind === 'disconnected' && e.output === output && e.t >= from && e.t <= to);
}

/** The clock minute with the most trouble: dropped frames, then offline seconds, then latency. */
export function worstMinute(samples: readonly Sample[]): WorstMinute | null {
  const minutes = new Map<number, { dropped: number; offlineS: number; maxLatencyMs: number }>();
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i] as Sample;
    const p = samples[i - 1] as Sample;
    const from = Math.floor(s.t / 60_000) * 60_000;
    const m = minutes.get(from) ?? { dropped: 0, offlineS: 0, maxLatencyMs: 0 };
    for (const o of s.outputs) {
      const po = p.outputs.find((x) => x.name === o.name);
      m.dropped += o.videoDropped - (po?.videoDropped ?? 0) + (o.offlineDropped - (po?.offlineDropped ?? 0));
      if (o.state === 'reconnecting') m.offlineS += (s.t - p.t) / 1000;
      m.maxLatencyMs = Math.max(m.maxLatencyMs, o.latencyMs ?? 0);
    }
    minutes.set(from, m);
  }
  let worst: WorstMinute | null = null;
  for (const [from, m] of minutes) {
    if (m.dropped === 0 && m.offlineS === 0) continue;
    const better =
      !worst ||
      m.dropped > worst.dropped ||
      (m.dropped === worst.dropped && m.offlineS > worst.offlineS) ||
      (m.dropped === worst.dropped && m.offlineS === worst.offlineS && m.maxLatencyMs > worst.maxLatencyMs);
    if (better) worst = { from, ...m };
  }
  return worst;
}
