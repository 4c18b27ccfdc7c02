/**
 * The Prometheus registry: text that a strict parser accepts, names by Prometheus' conventions, counters
 * equal to the stats, and labels that never carry a stream key.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../../src/observe/metrics.js';
import { outputStats, streamStats } from './fixtures.js';

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

async function scrape(stats: ReturnType<typeof streamStats>): Promise<{ text: string; families: Family[] }> {
  const registry = createMetricsRegistry({ stats });
  const text = await registry.metrics();
  return { text, families: parsePrometheusTextFormat(text) as Family[] };
}

function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!metric) throw new Error(`no ${name} ${JSON.stringify(labels)}`);
  return Number(metric.value);
}

describe('metrics registry', () => {
  it('is valid exposition text with steadycast_ names, _total counters and base units', async () => {
    const { families } = await scrape(streamStats());
    expect(families.length).toBeGreaterThan(20);
    for (const f of families) {
      expect(f.name).toMatch(/^steadycast_[a-z0-9_]+$/);
      expect(f.help.length).toBeGreaterThan(5);
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
      else expect(f.name).not.toMatch(/_total$/);
      expect(f.name).not.toMatch(/_(ms|milliseconds|kbit|bits|bps)(_|$)/);
    }
  });

  it('counters equal the stats: drops by kind and reason, reconnects, bytes, frames', async () => {
    const stats = streamStats();
    const { families } = await scrape(stats);
    const output = 'rtmp://127.0.0.1:1935/live/****';
    const dropped = (kind: string, reason: string): number =>
      value(families, 'steadycast_packets_dropped_total', { output, kind, reason });
    expect(
      dropped('video', 'congestion-latency') +
        dropped('video', 'congestion-packets') +
        dropped('video', 'congestion-bytes') +
        dropped('video', 'gop-broken'),
    ).toBe(stats.videoPacketsDropped);
    expect(dropped('video', 'disconnected')).toBe(stats.packetsDroppedWhileDisconnected.video);
    expect(dropped('audio', 'disconnected')).toBe(stats.packetsDroppedWhileDisconnected.audio);
    expect(dropped('audio', 'congestion')).toBe(stats.audioPacketsDropped);
    expect(value(families, 'steadycast_reconnects_total', { output })).toBe(stats.reconnectCount);
    const o = stats.outputs[0];
    expect(value(families, 'steadycast_server_requested_reconnects_total', { output })).toBe(
      o?.serverRequestedReconnects,
    );
    expect(value(families, 'steadycast_server_reconnect_failures_total', { output })).toBe(
      o?.serverReconnectFailures,
    );
    expect(value(families, 'steadycast_sent_bytes_total', { output })).toBe(stats.bytesSent);
    expect(value(families, 'steadycast_frames_captured_total')).toBe(stats.framesCaptured);
    expect(value(families, 'steadycast_frames_duplicated_total')).toBe(stats.framesDuplicated);
    expect(value(families, 'steadycast_frames_lagged_total')).toBe(stats.framesLagged);
    expect(value(families, 'steadycast_latency_seconds', { output })).toBeCloseTo(0.3124, 6);
    expect(value(families, 'steadycast_output_state', { output, state: 'live' })).toBe(1);
    expect(value(families, 'steadycast_output_state', { output, state: 'reconnecting' })).toBe(0);
  });

  it('follows the stats from one scrape to the next', async () => {
    let stats = streamStats();
    const registry = createMetricsRegistry({
      get stats() {
        return stats;
      },
    });
    await registry.metrics();
    stats = streamStats({ framesCaptured: 5000, outputs: [outputStats({ reconnectCount: 7 })] });
    const families = parsePrometheusTextFormat(await registry.metrics()) as Family[];
    expect(value(families, 'steadycast_frames_captured_total')).toBe(5000);
    expect(value(families, 'steadycast_reconnects_total')).toBe(7);
  });

  it('labels outputs by their redacted URL, never by the key', async () => {
    const { text } = await scrape(streamStats());
    expect(text).toContain('output="rtmp://127.0.0.1:1935/live/****"');
  });
});
