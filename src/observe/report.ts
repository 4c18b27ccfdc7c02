import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ConfigError } from '../core/errors.js';
import { describeSystemError } from '../core/system-error.js';
import type { StreamStats } from '../streamer.js';
import { readAsset } from './assets.js';
import { summarize, type ReportSummary } from './report-summary.js';
import { toSample, type Sample } from './sample.js';
import type { TimelineEvent } from './timeline.js';

/** Charts draw at most this many points per series; longer streams are thinned, keeping each spike. */
const MAX_POINTS = 20_000;

/** A stats file, read: its samples, its events, and what could not be read. */
export interface StatsFileContents {
  /** One chart sample per stats line, oldest first. */
  readonly samples: Sample[];
  /** Every timeline event the file carries, oldest first. */
  readonly events: TimelineEvent[];
  /** Lines that were not JSON stats (e.g. the last one cut by a full disk). */
  readonly badLines: number;
}

/**
 * Reads a `--stats-file` (one StreamStats per line, with `t` (epoch ms) and the `events` since the
 * line before). Lines from older versions without `t` are placed one second apart.
 */
export async function readStatsFile(path: string): Promise<StatsFileContents> {
  const samples: Sample[] = [];
  const events: TimelineEvent[] = [];
  let badLines = 0;
  const input = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new ConfigError('stats file', path, `cannot read it: ${describeSystemError(error)}`);
  }
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    let record: Partial<StreamStats> & { t?: unknown; events?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      badLines++;
      continue;
    }
    if (!Array.isArray(record.outputs) || typeof record.uptimeMs !== 'number') {
      badLines++;
      continue;
    }
    const t = typeof record.t === 'number' ? record.t : (samples[samples.length - 1]?.t ?? 0) + 1000;
    samples.push(toSample(record as StreamStats, t));
    if (Array.isArray(record.events)) events.push(...(record.events as TimelineEvent[]));
  }
  if (samples.length === 0) {
    throw new ConfigError(
      'stats file',
      path,
      'it holds no stats lines; give the file a stream wrote with --stats-file',
    );
  }
  return { samples, events, badLines };
}

/** Keeps at most `max` samples: per bucket, the one with the highest latency (so spikes stay visible). */
export function thin(samples: readonly Sample[], max = MAX_POINTS): Sample[] {
  if (samples.length <= max) return [...samples];
  const size = Math.ceil(samples.length / max);
  const out: Sample[] = [];
  for (let i = 0; i < samples.length; i += size) {
    const bucket = samples.slice(i, i + size);
    const worst = bucket.reduce((a, b) => (latencyOf(b) > latencyOf(a) ? b : a));
    out.push(worst);
  }
  return out;
}

function latencyOf(s: Sample): number {
  return Math.max(0, ...s.outputs.map((o) => o.latencyMs ?? 0));
}

/** The data a report page gets inlined. */
export interface ReportData {
  /** The stats file's name, as given. */
  readonly source: string;
  readonly samples: readonly Sample[];
  readonly events: readonly TimelineEvent[];
  readonly summary: ReportSummary | null;
}

/** The report as one self-contained HTML file: uPlot, the styles, the charts and the data, inlined. */
export function reportHtml(data: ReportData): string {
  // JSON inside <script>: `<` escaped so no string in the data can close the element.
  const json = JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, ' ');
  const title = `steadycast report — ${new Date(data.summary?.from ?? 0).toISOString().slice(0, 16).replace('T', ' ')}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${readAsset('uplot.css')}</style>
<style>${readAsset('style.css')}</style>
</head>
<body class="report">
<div id="app"></div>
<script>window.STEADYCAST_REPORT = ${json};</script>
<script>${readAsset('uplot.js')}</script>
<script>${readAsset('chart-kit.js')}</script>
<script>${readAsset('charts.js')}</script>
<script>${readAsset('report.js')}</script>
</body>
</html>
`;
}

/** Reads `statsPath` and writes its report to `outPath`; resolves to what the report covers. */
export async function writeReport(
  statsPath: string,
  outPath: string,
): Promise<{ summary: ReportSummary | null; samples: number; badLines: number }> {
  const contents = await readStatsFile(statsPath);
  const summary = summarize(contents.samples, contents.events);
  const html = reportHtml({
    source: statsPath.split(/[\\/]/).pop() ?? statsPath,
    samples: thin(contents.samples),
    events: contents.events,
    summary,
  });
  try {
    await writeFile(outPath, html);
  } catch (error) {
    throw new ConfigError('report', outPath, `cannot write it: ${describeSystemError(error)}`);
  }
  return { summary, samples: contents.samples.length, badLines: contents.badLines };
}

/** The report's path for a stats file: `stats.jsonl` → `stats.html`. */
export function reportPathFor(statsPath: string): string {
  return /\.(jsonl|ndjson|json|log|txt)$/i.test(statsPath)
    ? statsPath.replace(/\.[^.\\/]+$/, '.html')
    : `${statsPath}.html`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
