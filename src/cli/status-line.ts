import type { RenditionChangeReason } from '../output/rendition-switch.js';
import { redactUrl } from '../rtmp/url.js';
import type { RenditionStats, StreamStats } from '../streamer.js';
import { destinationLabel } from './destinations.js';

const kbps = (bps: number): string => `${Math.round(bps / 1000)} kbit/s`;
const k = (bps: number): string => `${Math.round(bps / 1000)}k`;

type OutputStats = StreamStats['outputs'][number];

/** What the status line shows beyond the stats. */
export interface StatusLineOptions {
  /** Show each destination's video quality (with --adaptive-quality or --rendition). */
  readonly quality: boolean;
  /** The --rendition names, main first: a destination on a lower rung is shown by the rung's name. */
  readonly rungs: readonly string[];
}

const PLAIN: StatusLineOptions = { quality: false, rungs: [] };

/**
 * The one-line live status: state, fps, bitrate, latency, drops, reconnects. With several destinations,
 * one short part each instead of the latency and counters (`a: live 2500k 84 ms  b: live low 310 ms`,
 * the letters as the start line gives them); the counters are in the summary.
 */
export function formatStatusLine(s: StreamStats, options: StatusLineOptions = PLAIN): string {
  const down = s.devices.filter((d) => d.state === 'down').map((d) => `${d.name} DOWN`);
  const rate = [`${s.captureFps.toFixed(1)} fps`, kbps(s.sendBitrateBps)];
  if (s.outputs.length > 1) {
    // The state unpadded: the parts after it move anyway, and three must fit in 100 columns.
    const parts = s.outputs.map((o, i) => `${destinationLabel(i)}: ${outputPart(o, s, options)}`);
    return [s.state, ...rate, ...parts, ...down].join('  ');
  }
  const out = s.outputs[0];
  const measure = out ? (out.latencyMeasure === 'acknowledged' ? 'acked' : 'sent') : '';
  return [
    s.state.padEnd(12),
    ...rate,
    ...(out && options.quality ? [`video ${qualityOf(out, s, options.rungs)}`] : []),
    `latency ${Math.round(s.currentLatencyMs)} ms (${measure}, max ${Math.round(s.maxLatencyMs)})`,
    `dropped v${s.videoPacketsDropped} a${s.audioPacketsDropped}`,
    `offline-dropped ${s.packetsDroppedWhileDisconnected.video + s.packetsDroppedWhileDisconnected.audio}`,
    `reconnects ${s.reconnectCount}`,
    ...down,
  ].join('  ');
}

/** One destination among several: its state, and while live its quality, latency and congestion. */
function outputPart(o: OutputStats, s: StreamStats, options: StatusLineOptions): string {
  if (o.state !== 'live') return o.state;
  return [
    'live',
    ...(options.quality ? [qualityOf(o, s, options.rungs)] : []),
    `${Math.round(o.currentLatencyMs)} ms`,
    ...(o.dropState === 'dropping' ? ['dropping'] : []),
  ].join(' ');
}

/**
 * The quality a destination carries: a lower rung of the ladder by its name (its bitrate is fixed),
 * else the bitrate, which moves (the main encode's, or one made on demand for this path).
 */
export function qualityOf(o: OutputStats, s: StreamStats, rungs: readonly string[]): string {
  if (rungs.indexOf(o.rendition) > 0) return o.rendition;
  return k(o.videoBitrateBps > 0 ? o.videoBitrateBps : s.videoBitrateBps);
}

const REASON_WORDS: Readonly<Record<RenditionChangeReason, string>> = {
  congested: 'congested; the other destinations keep theirs',
  recovered: 'its path keeps up again',
  pinned: 'pinned to it',
  stopped: 'that encoder stopped',
};

/**
 * The line said when a destination moves to another rendition, e.g.
 * `rtmp://host/live/****: video high 1280x720 2500k -> low 640x360 800k (congested; …)`. The URL is
 * redacted here whatever the caller passes.
 */
export function formatRenditionChange(
  url: string,
  from: string,
  to: string,
  reason: RenditionChangeReason,
  renditions: readonly RenditionStats[],
): string {
  const named = (name: string): string => {
    const r = renditions.find((each) => each.name === name);
    return r ? `${name} ${r.width}x${r.height} ${k(r.bitrateBps)}` : name;
  };
  return `${redactUrl(url)}: video ${named(from)} -> ${named(to)} (${REASON_WORDS[reason]})`;
}

/** The summary printed when a run ends. */
export function formatSummary(s: StreamStats): string {
  const lines = [
    `summary: ${(s.uptimeMs / 1000).toFixed(1)} s, ${s.framesCaptured} frames captured ` +
      `(${s.framesDuplicated} duplicated, ${s.framesLagged} lagged, ${s.framesSkippedEncoder} skipped by a busy encoder)`,
    `  sent ${(s.bytesSent / 1e6).toFixed(2)} MB; latency max ${Math.round(s.maxLatencyMs)} ms; ` +
      `video dropped ${s.videoPacketsDropped} (congestion), audio dropped ${s.audioPacketsDropped}; ` +
      `dropped while offline: ${s.packetsDroppedWhileDisconnected.video} video, ${s.packetsDroppedWhileDisconnected.audio} audio`,
  ];
  for (const out of s.outputs) {
    lines.push(
      `  ${out.url}: ${out.state}, ${out.reconnectCount} reconnects, ${out.connectAttempts} attempts, ` +
        `${out.serverRequestedReconnects > 0 ? `${out.serverRequestedReconnects} moved by the server, ` : ''}` +
        `downtime ${(out.downtimeMs / 1000).toFixed(1)} s${qualitySummary(out, s)}${tracksSummary(out)}` +
        `${out.lastDisconnectReason ? `, last problem: ${out.lastDisconnectReason}` : ''}`,
    );
  }
  const rec = s.recording;
  if (rec) {
    lines.push(
      `  recording ${rec.path}: ${rec.state}, ${(rec.bytesWritten / 1024).toFixed(0)} KiB` +
        `${rec.error ? ` (${rec.error})` : ''}`,
    );
  }
  for (const d of s.devices.filter((device) => device.failures > 0)) {
    lines.push(
      `  ${d.name}: failed ${d.failures}×, reopened ${d.reopens}×, down ${(d.downtimeMs / 1000).toFixed(1)} s` +
        `${d.state === 'down' ? ' (still down)' : ''}${d.lastError ? `, last error: ${d.lastError}` : ''}`,
    );
  }
  return lines.join('\n');
}

/** A destination's moves between renditions, for the summary; nothing when it never moved. */
function qualitySummary(out: OutputStats, s: StreamStats): string {
  const { down, up } = out.renditionSwitches;
  if (down + up === 0) return '';
  const main = s.renditions[0]?.name;
  const ended = main !== undefined && out.rendition !== main ? `, ended on ${out.rendition}` : '';
  return `, quality ${down} down ${up} up, ${(out.belowTopRenditionMs / 1000).toFixed(1)} s below the top${ended}`;
}

/** A multitrack output's video drops per track, track 0 first; nothing for one rendition at a time. */
function tracksSummary(out: OutputStats): string {
  if (out.videoTracks.length === 0) return '';
  return `, video dropped by track ${out.videoTracks.map((t) => t.dropped).join('/')} (track 0 first)`;
}

/** The line said when a capture device fails: its error names it. `goesOn`: what continues meanwhile. */
export function formatDeviceFailed(error: Error, goesOn: 'stream' | 'recording'): string {
  return `${error.message}; reopening it — the ${goesOn} goes on with the last picture or silence`;
}

/** The line said when a failed capture device works again. */
export function formatDeviceBack(name: string, outageMs: number): string {
  return `${name} is back after ${(outageMs / 1000).toFixed(1)} s`;
}

/** The line said when the recording stops early: the error names the path and the cause in words. */
export function formatRecordingFailed(error: Error, goesOn: 'stream' | null): string {
  const kept = 'recording stopped, the file keeps what was written so far';
  return `${error.message} — ${kept}${goesOn ? `; the ${goesOn} goes on` : ''}`;
}

/** The line said when a source fails for good mid-stream (a file, pushed audio that cannot be converted). */
export function formatSourceFailed(name: string, error: Error, goesOn: 'stream' | 'recording'): string {
  const message = error.message.includes(name) ? error.message : `${name}: ${error.message}`;
  return `${message} — the ${goesOn} goes on with the last picture or silence`;
}
