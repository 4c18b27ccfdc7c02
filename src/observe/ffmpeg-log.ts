import { Log } from 'node-av/lib';
import { AV_LOG_DEBUG, AV_LOG_ERROR, AV_LOG_INFO, AV_LOG_WARNING, type AVLogLevel } from 'node-av/constants';

/** How much of FFmpeg's log to take, most severe first. */
export type LogLevel = 'error' | 'warning' | 'info' | 'debug';

/** One line of FFmpeg's log. */
export interface LogRecord {
  /** Its severity. */
  readonly level: LogLevel;
  /** Where it comes from (FFmpeg's libraries, through node-av). */
  readonly source: 'ffmpeg';
  /** The line, without its trailing newline (e.g. `[libx264 @ 0x…] using cpu capabilities: …`). */
  readonly message: string;
}

const AV_LEVEL: Readonly<Record<LogLevel, AVLogLevel>> = {
  error: AV_LOG_ERROR,
  warning: AV_LOG_WARNING,
  info: AV_LOG_INFO,
  debug: AV_LOG_DEBUG,
};
const ORDER: readonly LogLevel[] = ['error', 'warning', 'info', 'debug'];

interface Route {
  readonly level: LogLevel;
  readonly handler: (record: LogRecord) => void;
}

const routes = new Set<Route>();

function levelOf(av: number): LogLevel {
  if (av <= AV_LOG_ERROR) return 'error';
  if (av <= AV_LOG_WARNING) return 'warning';
  if (av <= AV_LOG_INFO) return 'info';
  return 'debug';
}

// FFmpeg's log is one per process: one callback, at the most verbose level any route wants, hands each
// line to every route that asked for its level.
function install(): void {
  if (routes.size === 0) {
    // Nobody listens: FFmpeg's own printing, warnings and errors only (its default is info: x264's
    // banner, "Qavg: nan").
    Log.setCallback(null);
    Log.resetCallback();
    Log.setLevel(AV_LOG_WARNING);
    return;
  }
  const most = Math.max(...[...routes].map((r) => ORDER.indexOf(r.level)));
  const level = AV_LEVEL[ORDER[most] ?? 'warning'];
  Log.setLevel(level);
  Log.setCallback(
    (av, message) => {
      const record: LogRecord = { level: levelOf(av), source: 'ffmpeg', message: message.replace(/\n$/, '') };
      if (record.message.trim() === '') return;
      const rank = ORDER.indexOf(record.level);
      for (const route of routes) if (rank <= ORDER.indexOf(route.level)) route.handler(record);
    },
    { maxLevel: level },
  );
}

/**
 * Sends FFmpeg's log lines at `level` or more severe to `handler` instead of stderr; returns a function
 * that stops it. Several routes may be active (e.g. several Streamers): each gets every line it asked
 * for, as FFmpeg's log cannot tell which stream a line is about.
 */
export function routeFfmpegLog(level: LogLevel, handler: (record: LogRecord) => void): () => void {
  const route: Route = { level, handler };
  routes.add(route);
  install();
  return () => {
    if (routes.delete(route)) install();
  };
}
