/**
 * The report's numbers: outages with their durations from the output's own downtime counter, the
 * worst minute, time below full quality; and the timeline redacts stream keys whatever says them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../src/core/typed-emitter.js';
import { readStatsFile, reportPathFor, writeReport } from '../../../src/observe/report.js';
import { summarize } from '../../../src/observe/report-summary.js';
import { toSample, type Sample } from '../../../src/observe/sample.js';
import { StreamTimeline } from '../../../src/observe/timeline.js';
import type { StreamerEvents, StreamStats } from '../../../src/streamer.js';
import { outputStats, streamStats } from './fixtures.js';

const T0 = Date.UTC(2026, 10, 30, 21, 39, 30);

/** A stream of `states.length` seconds; `downtime` is the output's cumulative downtime each second. */
function run(states: string[], downtimeMs: number[], dropped: number[] = []): Sample[] {
  return states.map((state, i) =>
    toSample(
      streamStats({
        uptimeMs: i * 1000,
        outputs: [
          outputStats({
            state: state as StreamStats['state'] & 'live',
            downtimeMs: downtimeMs[i] ?? 0,
            videoPacketsDropped: dropped[i] ?? 0,
            packetsDroppedWhileDisconnected: { video: 0, audio: 0 },
            dropState: 'normal',
            reconnectCount: state === 'live' && i > 3 ? 1 : 0,
          }),
        ],
      }),
      T0 + i * 1000,
    ),
  );
}

describe('report summary', () => {
  it('finds an outage and takes its duration from the downtime counter, reason included', () => {
    const samples = run(
      ['live', 'live', 'reconnecting', 'reconnecting', 'reconnecting', 'live', 'live'],
      [0, 0, 400, 1400, 2400, 3150, 3150],
    );
    const summary = summarize(samples, [
      {
        t: T0 + 1600,
        kind: 'disconnected',
        text: 'connection lost: reset',
        output: samples[0]?.outputs[0]?.name ?? '',
      },
    ]);
    expect(summary?.outages).toEqual([
      {
        output: 'rtmp://127.0.0.1:1935/live/****',
        from: T0 + 1600,
        to: T0 + 5000,
        durationMs: 3150,
        recovered: true,
        reason: 'reset',
      },
    ]);
    expect(summary?.belowFullQualityMs).toBe(3000); // each sample stands for the second before it
    expect(summary?.reconnects).toBe(1);
  });

  it('an outage still open at the end counts up to the last sample', () => {
    const samples = run(['live', 'reconnecting', 'reconnecting'], [0, 500, 1500]);
    expect(summarize(samples, [])?.outages[0]).toMatchObject({ recovered: false, durationMs: 1500 });
  });

  it('the worst minute is the clock minute with the most drops', () => {
    const states = Array.from({ length: 90 }, () => 'live');
    const dropped = states.map((_, i) => (i < 40 ? 0 : i < 50 ? (i - 40) * 10 : 100));
    const summary = summarize(run(states, [], dropped), []);
    expect(summary?.worstMinute).toMatchObject({ from: Date.UTC(2026, 10, 30, 21, 40), dropped: 100 });
  });

  it('a clean stream has no outage, no worst minute and nothing below full quality', () => {
    const summary = summarize(run(['live', 'live', 'live'], []), []);
    expect(summary).toMatchObject({ outages: [], worstMinute: null, belowFullQualityMs: 0 });
  });
});

describe('report file', () => {
  it('reads a stats file (skipping a cut last line) and writes one self-contained HTML file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steadycast-report-'));
    const stats = join(dir, 'stats.jsonl');
    const lines = [0, 1, 2].map((i) =>
      JSON.stringify({ ...streamStats({ uptimeMs: i * 1000 }), t: T0 + i * 1000, events: [] }),
    );
    writeFileSync(stats, `${lines.join('\n')}\n{"state":"li`);
    const contents = await readStatsFile(stats);
    expect(contents.samples).toHaveLength(3);
    expect(contents.badLines).toBe(1);
    const out = reportPathFor(stats);
    expect(out).toBe(join(dir, 'stats.html'));
    await writeReport(stats, out);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(/);
    // The only address in it is uPlot's licence comment.
    expect(html.match(/https?:\/\/[\w./-]+/g)).toEqual(['https://github.com/leeoniya/uPlot']);
    expect(html).toContain('window.STEADYCAST_REPORT');
  });

  it('a file with no stats lines is a clear error', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'steadycast-report-')), 'empty.jsonl');
    writeFileSync(path, 'hello\n');
    await expect(readStatsFile(path)).rejects.toThrow(/holds no stats lines/);
  });
});

describe('timeline', () => {
  it('hides the stream key in every event, whatever the message', () => {
    const source = Object.assign(new TypedEmitter<StreamerEvents>(), { stats: streamStats() });
    const timeline = new StreamTimeline(source, () => T0, ['SECRETKEY']);
    source.emit('disconnected', 'rtmp://h/live/****', 'server said NetStream.Publish.BadName for SECRETKEY');
    source.emit('error', new Error('rejected SECRETKEY'));
    source.emit('retry', 'rtmp://h/live/****', 'refused', 1200, 'ERR_RTMP_CONNECTION_REFUSED');
    expect(JSON.stringify(timeline.events)).not.toContain('SECRETKEY');
    expect(timeline.events.map((e) => e.kind)).toEqual(['disconnected', 'error', 'retry']);
    expect(timeline.events[2]?.text).toBe('attempt failed: refused; next in 1.2 s');
    expect(timeline.since(1)).toHaveLength(2);
  });

  it('keeps a server-requested move as one entry per step, key hidden', () => {
    const source = Object.assign(new TypedEmitter<StreamerEvents>(), { stats: streamStats() });
    const timeline = new StreamTimeline(source, () => T0, ['SECRETKEY']);
    source.emit(
      'serverreconnect',
      'rtmp://h/live/****',
      'opening',
      'server asked to reconnect ("SECRETKEY"): opening rtmp://b/live/****',
    );
    source.emit(
      'serverreconnect',
      'rtmp://h/live/****',
      'switched',
      'moved to rtmp://b/live/**** at a keyframe',
    );
    expect(timeline.events.map((e) => [e.kind, e.output])).toEqual([
      ['server-reconnect', 'rtmp://h/live/****'],
      ['server-reconnect', 'rtmp://h/live/****'],
    ]);
    expect(JSON.stringify(timeline.events)).not.toContain('SECRETKEY');
  });
});
