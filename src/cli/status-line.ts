import type { StreamStats } from '../streamer.js';

const kbps = (bps: number): string => `${Math.round(bps / 1000)} kbit/s`;

/** The one-line live status: state, fps, bitrate, latency, drops, reconnects. */
export function formatStatusLine(s: StreamStats): string {
  const out = s.outputs[0];
  const measure = out ? (out.latencyMeasure === 'acknowledged' ? 'acked' : 'sent') : '';
  return [
    s.state.padEnd(12),
    `${s.captureFps.toFixed(1)} fps`,
    kbps(s.sendBitrateBps),
    `latency ${Math.round(s.currentLatencyMs)} ms (${measure}, max ${Math.round(s.maxLatencyMs)})`,
    `dropped v${s.videoPacketsDropped} a${s.audioPacketsDropped}`,
    `offline-dropped ${s.packetsDroppedWhileDisconnected.video + s.packetsDroppedWhileDisconnected.audio}`,
    `reconnects ${s.reconnectCount}`,
    ...s.devices.filter((d) => d.state === 'down').map((d) => `${d.name} DOWN`),
  ].join('  ');
}

/** The summary printed when a run ends. */
export function formatSummary(s: StreamStats): string {
  const out = s.outputs[0];
  const lines = [
    `summary: ${(s.uptimeMs / 1000).toFixed(1)} s, ${s.framesCaptured} frames captured ` +
      `(${s.framesDuplicated} duplicated, ${s.framesLagged} lagged, ${s.framesSkippedEncoder} skipped by a busy encoder)`,
    `  sent ${(s.bytesSent / 1e6).toFixed(2)} MB; latency max ${Math.round(s.maxLatencyMs)} ms; ` +
      `video dropped ${s.videoPacketsDropped} (congestion), audio dropped ${s.audioPacketsDropped}; ` +
      `dropped while offline: ${s.packetsDroppedWhileDisconnected.video} video, ${s.packetsDroppedWhileDisconnected.audio} audio`,
  ];
  if (out) {
    lines.push(
      `  ${out.url}: ${out.state}, ${out.reconnectCount} reconnects, ${out.connectAttempts} attempts, ` +
        `downtime ${(out.downtimeMs / 1000).toFixed(1)} s${out.lastDisconnectReason ? `, last problem: ${out.lastDisconnectReason}` : ''}`,
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
