import { resolve } from 'node:path';
import type { Clock } from '../core/clock.js';
import { describeSystemError } from '../core/system-error.js';
import type { DashboardHandle } from '../observe/dashboard-server.js';
import { parseListenAddress, type ListenAddress } from '../observe/listen-address.js';
import { serveMetrics, type MetricsHandle } from '../observe/metrics.js';
import { reportPathFor, writeReport } from '../observe/report.js';
import { StatsFileWriter } from '../observe/stats-file.js';
import { StreamerViews } from '../observe/views.js';
import type { Streamer, StreamStats } from '../streamer.js';

/** What the command line asked to watch a run with. */
export interface ObserveOptions {
  /** `--stats-file` path, or undefined. */
  readonly statsFile: string | undefined;
  /** `--dashboard [HOST:]PORT`, or undefined. */
  readonly dashboard?: string | undefined;
  /** `--dashboard-token`, or undefined. */
  readonly dashboardToken?: string | undefined;
  /** `--metrics [HOST:]PORT`, or undefined. */
  readonly metrics?: string | undefined;
}

/** The checked form of ObserveOptions: parse before anything starts, so a bad one is exit 2 at once. */
export interface CheckedObserveOptions {
  readonly statsFile: StatsFileWriter | null;
  readonly dashboard: ListenAddress | null;
  readonly dashboardToken: string | null;
  readonly metrics: ListenAddress | null;
}

/** Checks the options and creates the stats file (a bad path is a ConfigError naming `--stats-file`). */
export function checkObserveOptions(
  options: ObserveOptions,
  warn: (line: string) => void,
): CheckedObserveOptions {
  const dashboard =
    options.dashboard === undefined ? null : parseListenAddress('--dashboard', options.dashboard);
  const metrics = options.metrics === undefined ? null : parseListenAddress('--metrics', options.metrics);
  const statsFile =
    options.statsFile === undefined ? null : StatsFileWriter.open(options.statsFile, '--stats-file', warn);
  return { statsFile, dashboard, dashboardToken: options.dashboardToken ?? null, metrics };
}

/** A run being watched: stats file lines, dashboard and metrics servers. */
export interface RunObservers {
  /** Ends the watch: final stats line, servers closed, report written; resolves to the summary's lines. */
  finish(final: StreamStats): Promise<string[]>;
}

/**
 * Starts watching `streamer` (before `start()`, so the page works while it connects): one stats line a
 * second with the events since the line before, the dashboard and the metrics endpoint if asked.
 */
export async function observeRun(
  streamer: Streamer,
  clock: Clock,
  outputUrls: readonly string[],
  checked: CheckedObserveOptions,
  say: (line: string) => void,
): Promise<RunObservers> {
  const views = new StreamerViews(streamer, clock, outputUrls);
  const timeline = views.timeline;
  const { statsFile } = checked;
  let cursor = 0;
  const line = (stats: StreamStats): object => {
    const events = timeline.since(cursor);
    cursor = timeline.total;
    return { ...stats, t: views.now(), events };
  };
  const onStats = (stats: StreamStats): void => statsFile?.write(line(stats));
  streamer.on('stats', onStats);

  let dashboard: DashboardHandle | null = null;
  let metrics: MetricsHandle | null = null;
  try {
    if (checked.dashboard) {
      dashboard = await views.serveDashboard({
        ...checked.dashboard,
        ...(checked.dashboardToken === null ? {} : { token: checked.dashboardToken }),
        warn: say,
      });
      say(`dashboard: ${dashboard.url}`);
    }
    if (checked.metrics) {
      metrics = await serveMetrics(views.metricsRegistry(), { ...checked.metrics, warn: say });
      say(`metrics: ${metrics.url}`);
    }
  } catch (error) {
    await dashboard?.close();
    await statsFile?.close();
    throw error;
  }

  return {
    async finish(final: StreamStats): Promise<string[]> {
      streamer.off('stats', onStats);
      await dashboard?.close();
      await metrics?.close();
      timeline.close();
      const lines: string[] = [];
      if (!statsFile) return lines;
      await statsFile.close({ ...line(final), final: true });
      const path = resolve(statsFile.path);
      if (statsFile.error !== null) {
        lines.push(`  stats file: ${path} (incomplete: ${statsFile.error})`);
        return lines;
      }
      lines.push(`  stats file: ${path}`);
      const reportPath = reportPathFor(path);
      try {
        await writeReport(path, reportPath);
        lines.push(`  report: ${reportPath} — open it in a browser: ${openCommand(reportPath)}`);
      } catch (error) {
        const why = error instanceof Error && 'field' in error ? error.message : describeSystemError(error);
        lines.push(`  no report: ${why}; make one later with: steadycast report ${quote(path)}`);
      }
      return lines;
    },
  };
}

/** The command that opens a file in the default browser, on this platform. */
export function openCommand(path: string): string {
  if (process.platform === 'darwin') return `open ${quote(path)}`;
  if (process.platform === 'win32') return `start "" ${quote(path)}`;
  return `xdg-open ${quote(path)}`;
}

function quote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
