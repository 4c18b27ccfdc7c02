import { readFileSync } from 'node:fs';
import { sleep, type Clock, type Timer } from '../core/clock.js';
import { ConfigError, SteadycastError, type ErrorCode } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { redactUrl } from '../rtmp/url.js';
import type { RenditionSpec } from '../session/video-renditions.js';
import { Streamer, type StreamStats } from '../streamer.js';
import { destinationLabel, parseDestinations } from './destinations.js';
import { silenceStreamerLog } from './ffmpeg-log.js';
import { inFlagTerms, parseMediaOptions, streamerMedia } from './media-options.js';
import {
  defineCommand,
  formatOptionHelp,
  MEDIA_OPTION_SPECS,
  parseCommandLine,
  QUALITY_OPTION_SPECS,
  RUN_OPTION_SPECS,
  VERSION_OPTION_SPEC,
} from './options.js';
import { parsePositive } from './parse.js';
import { parseQualityOptions } from './quality-options.js';
import { multitrackVideoTracks } from '../session/multitrack.js';
import { checkObserveOptions, observeRun } from './run-observers.js';
import { printDeviceList } from './sources.js';
import {
  formatDeviceBack,
  formatDeviceFailed,
  formatRecordingFailed,
  formatRenditionChange,
  formatSourceFailed,
  formatStatusLine,
  formatSummary,
} from './status-line.js';
import { stopSignals } from './stop-signals.js';

/** The options of `steadycast stream`. */
export const STREAM_OPTIONS = defineCommand('stream', {
  ...MEDIA_OPTION_SPECS,
  'max-latency': {
    type: 'string',
    arg: 'MS',
    help: `drop threshold: video is dropped above this latency (default ${MEDIA_DEFAULTS.maxLatencyMs})`,
  },
  ...QUALITY_OPTION_SPECS,
  duration: {
    type: 'string',
    arg: 'SECONDS',
    help: 'stop by itself after this long (default: until Ctrl-C)',
  },
  record: { type: 'string', arg: 'PATH', help: 'also record locally (.flv/.mp4/.mkv); never drops' },
  ca: { type: 'string', arg: 'FILE', help: 'trust this CA certificate (PEM) for rtmps://' },
  dashboard: {
    type: 'string',
    arg: '[HOST:]PORT',
    help: 'serve a live dashboard (default host 127.0.0.1; other hosts print a warning)',
  },
  'dashboard-token': {
    type: 'string',
    arg: 'TOKEN',
    help: 'the dashboard requires this token (8+ characters)',
  },
  metrics: {
    type: 'string',
    arg: '[HOST:]PORT',
    help: 'serve Prometheus metrics at /metrics (default host 127.0.0.1)',
  },
  'list-devices': {
    type: 'boolean',
    help: 'list the screens and audio devices this machine offers, and exit',
  },
  ...RUN_OPTION_SPECS,
  ...VERSION_OPTION_SPEC,
});

/** Usage of `steadycast stream`. */
export const STREAM_USAGE = `steadycast stream <url> [<url>…] [options]
  Publishes to rtmp[s]://host[:port]/app/streamKey with bounded latency and automatic reconnect;
  several URLs: one capture and encode feeds them all, each destination connects and drops on its own.
  Ends with Ctrl-C (exit 0 once stopped gracefully; a second Ctrl-C quits at once, exit 130) or --duration.

${formatOptionHelp(STREAM_OPTIONS)}`;

/** Runs `steadycast stream`; resolves to the exit code. */
export async function streamCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandLine('stream', argv, STREAM_OPTIONS);
  if (values.help) {
    process.stdout.write(`${STREAM_USAGE}\n`);
    return 0;
  }
  if (values['list-devices']) {
    await printDeviceList((text) => void process.stdout.write(text));
    return 0;
  }
  try {
    return await stream(values, positionals, log);
  } catch (error) {
    throw inFlagTerms(error, values);
  }
}

type StreamValues = ReturnType<typeof parseCommandLine<typeof STREAM_OPTIONS>>['values'];

async function stream(
  values: StreamValues,
  positionals: string[],
  log: (line: string) => void,
): Promise<number> {
  const urls = parseDestinations(positionals);
  const quiet = values.quiet ?? false;
  const media = parseMediaOptions(values);
  const quality = parseQualityOptions(values, media.video !== null);
  const top = quality.renditions[0];
  const mainBitrateBps = top?.bitrateBps ?? media.videoBitrateBps;
  const durationS =
    values.duration === undefined ? null : parsePositive('--duration', values.duration, 'seconds');
  const maxLatencyMs = parsePositive(
    '--max-latency',
    values['max-latency'] ?? String(MEDIA_DEFAULTS.maxLatencyMs),
    'milliseconds',
  );
  const ca = values.ca === undefined ? undefined : readCa(values.ca);
  const live = !quiet && process.stderr.isTTY === true;
  const say = (line: string): void => {
    if (live) process.stderr.write('\r\x1b[2K');
    log(line);
  };
  const checked = checkObserveOptions(
    {
      statsFile: values['stats-file'],
      dashboard: values.dashboard,
      dashboardToken: values['dashboard-token'],
      metrics: values.metrics,
    },
    say,
  );

  const clock = new MonotonicClock();
  const streamer = new Streamer({
    clock,
    logLevel: 'error',
    outputs: urls.map((url) => ({
      url,
      ...(ca ? { connection: { tls: { ca } } } : {}),
      ...(quality.multitrack ? { multitrack: true } : {}),
    })),
    maxLatencyMs,
    recordPath: values.record ?? null,
    ...streamerMedia(media, {
      width: top?.width ?? media.width,
      height: top?.height ?? media.height,
      bitrateBps: mainBitrateBps,
      adaptiveBitrate: quality.adaptiveBitrate,
      adaptiveQuality: quality.adaptiveQuality,
      renditions: quality.renditions,
    }),
  });
  silenceStreamerLog(streamer);
  const observers = await observeRun(streamer, clock, urls, checked, say);
  const several = urls.length > 1;

  let fatal: Error | null = null;
  const statusOptions = { quality: quality.adaptiveQuality, rungs: quality.renditions.map((r) => r.name) };
  streamer.on('stats', (stats) => {
    if (live) process.stderr.write(`\r\x1b[2K${formatStatusLine(stats, statusOptions)}`);
  });
  let lostReason: string | null = null;
  streamer.on('disconnected', (outputUrl, reason) => {
    lostReason = reason;
    // Off a terminal the state changes say it, but with several destinations the summary state stays
    // `live` while one of them reconnects: name it.
    if (live || (several && !quiet)) {
      say(`${several ? `${redactUrl(outputUrl)}: ` : ''}connection lost (${reason}); reconnecting`);
    }
  });
  // Rare, and the stream changes server: said even with --quiet when it fails or is ignored.
  streamer.on('serverreconnect', (outputUrl, outcome, detail) => {
    if (!quiet || outcome === 'failed' || outcome === 'ignored') say(`${outputUrl}: ${detail}`);
  });
  // Once, before the first video: what is sent is not what was asked first. Said even with --quiet.
  streamer.on('codecfallback', ({ from, to, refusedBy }) => {
    const who = refusedBy.length > 0 ? refusedBy.join(', ') : 'the server';
    say(`${who}: does not take ${from}; sending ${to} (--codec ${media.codecs.join(',')})`);
  });
  streamer.on('renditionchange', (outputUrl, from, to, reason) => {
    if (!quiet) say(formatRenditionChange(outputUrl, from, to, reason, streamer.stats.renditions));
  });
  streamer.on('state', (prev, next) => {
    if (live || quiet) return;
    // The reason comes with the `disconnected` event right after this state change.
    queueMicrotask(() =>
      say(`state: ${prev} -> ${next}${next === 'reconnecting' && lostReason ? ` (${lostReason})` : ''}`),
    );
  });
  streamer.on('dropstate', (outputUrl, _prev, next) => {
    if (quiet) return;
    const stats = streamer.stats;
    const latencyMs = Math.round(stats.currentLatencyMs);
    say(
      next === 'dropping'
        ? `${outputUrl}: congested (latency ${latencyMs} ms): dropping ${droppingVideo(stats, outputUrl)}, GOP-aware; audio continues`
        : `${outputUrl}: congestion over (latency ${latencyMs} ms): video resumes at a keyframe`,
    );
  });
  streamer.on('error', (error) => {
    fatal ??= error;
    say(`error: ${error.message}`);
  });
  let bitrateChanges = 0;
  streamer.on('bitrate', (bitrateBps, reason) => {
    bitrateChanges++;
    if (quiet) return;
    const kbit = Math.round(bitrateBps / 1000);
    if (reason === 'congested') say(`video bitrate lowered to ${kbit} kbit/s (congested)`);
    else if (bitrateBps >= mainBitrateBps) say(`video bitrate back to ${kbit} kbit/s`);
  });
  // A capture device that fails is reopened by itself; say so even with --quiet: the picture freezes.
  streamer.on('devicefailed', (_name, error) => say(formatDeviceFailed(error, 'stream')));
  streamer.on('devicerecovered', (name, outageMs) => say(formatDeviceBack(name, outageMs)));
  streamer.on('recordingfailed', (_path, error) => say(formatRecordingFailed(error, 'stream')));
  streamer.on('sourcefailed', (name, error) => say(formatSourceFailed(name, error, 'stream')));

  // Armed before start(): --duration and Ctrl-C also end a run that is still connecting. The duration
  // counts media: from the moment capture starts (before start() resolves: what is captured while
  // the server accepts the stream reaches it); until then it bounds the wait for a silent server.
  const stop = stopSignals(say);
  let deadlineFired = false;
  const armDeadline = (): Timer | null =>
    durationS === null
      ? null
      : clock.setTimer(() => {
          deadlineFired = true;
          stop.request();
        }, durationS * 1000);
  let deadline = armDeadline();
  // A run that --duration ends before any destination accepted the stream did not stream: not exit 0.
  let lastFailure: { reason: string; code: ErrorCode | null } | null = null;
  streamer.on('retry', (_url, reason, _delayMs, code) => (lastFailure = { reason, code }));
  streamer.once('capturing', (startUs) => {
    deadline?.cancel();
    deadline = armDeadline();
    // The stream carries exactly --duration of media, however late the timer fires.
    if (durationS !== null) streamer.endMediaAt(startUs + durationS * 1e6);
  });
  try {
    say(`streaming to ${destinationsLine(urls)}${durationS ? ` for ${durationS} s` : ' (Ctrl-C to stop)'}`);
    if (!quiet && quality.renditions.length > 0)
      say(renditionsLine(quality.renditions, urls.length, quality.multitrack));
    const started = streamer.start();
    started.catch(() => {}); // settled below, or abandoned when a stop comes first
    const first = await Promise.race([started.then(() => 'started' as const), stop.requested]);
    if (first === 'started') await Promise.race([streamer.finished(), stop.requested]);
    await streamer.stop();
    if (first !== 'started') {
      await settledUnlessAborted(started, clock);
      if (deadlineFired) fatal ??= new NeverLiveError(durationS ?? 0, lastFailure);
    }
  } catch (error) {
    await observers.finish(streamer.stats);
    throw error;
  } finally {
    deadline?.cancel();
    stop.dispose();
  }
  const final = streamer.stats;
  const files = await observers.finish(final);
  say(formatSummary(final));
  if (bitrateChanges > 0) {
    say(
      `  adaptive bitrate: ${bitrateChanges} changes, lowest ${Math.round(final.videoBitrateLowestBps / 1000)} kbit/s, ` +
        `at the end ${Math.round(final.videoBitrateBps / 1000)} kbit/s`,
    );
  }
  for (const line of files) say(line);
  if (fatal) throw fatal;
  // Part of what was captured was lost: not 0, though the stream itself ended normally (EXIT.failure;
  // the cause was printed when it happened, and the summary repeats it).
  if (final.recording?.state === 'failed') return 1;
  return 0;
}

/**
 * After a stop that came while start() was pending: start() rejects with ERR_ABORTED (a normal end)
 * or with the error that beat the stop; waited for at most a second, so nothing can hold the exit.
 */
async function settledUnlessAborted(started: Promise<void>, clock: Clock): Promise<void> {
  const outcome = await Promise.race([
    started.then(
      () => null,
      (error: unknown) => error,
    ),
    sleep(clock, 1000).then(() => null),
  ]);
  if (outcome instanceof SteadycastError && outcome.code !== 'ERR_ABORTED') throw outcome;
}

/**
 * --duration ended a run that never went live: the exit code of the last failed attempt's error, or,
 * when no attempt failed (a server that never answers), 5 like a publish never answered.
 */
class NeverLiveError extends SteadycastError {
  constructor(durationS: number, last: { reason: string; code: ErrorCode | null } | null) {
    super(
      last?.code ?? 'ERR_RTMP_PUBLISH_TIMEOUT',
      `no destination accepted the stream within ${durationS} s${last ? ` (last attempt: ${last.reason})` : ''}`,
      false,
      {},
    );
  }
}

/** What an output drops: `video`, or a multitrack output's tracks that drop (`track 2 (high)`). */
function droppingVideo(stats: StreamStats, outputUrl: string): string {
  const tracks = stats.outputs.find((o) => o.url === outputUrl)?.videoTracks ?? [];
  const dropping = tracks.filter((t) => t.dropState === 'dropping').map((t) => `${t.id} (${t.rendition})`);
  if (dropping.length === 0) return 'video';
  return `video track${dropping.length > 1 ? 's' : ''} ${dropping.join(', ')}`;
}

/** The destinations, keys hidden; several are lettered as the status line names them. */
function destinationsLine(urls: readonly string[]): string {
  if (urls.length === 1) return redactUrl(urls[0] ?? '');
  return urls.map((url, i) => `${destinationLabel(i)}: ${redactUrl(url)}`).join(', ');
}

/** The --rendition ladder as it will be used (with one destination, only its top rung is). */
function renditionsLine(ladder: readonly RenditionSpec[], destinations: number, multitrack: boolean): string {
  const rungs = ladder.map((r) => `${r.name} ${r.width}x${r.height} ${Math.round(r.bitrateBps / 1000)}k`);
  if (multitrack) {
    const tracks = multitrackVideoTracks(ladder).map((name, id) => `${id} ${name ?? ladder[0]?.name}`);
    return `renditions: ${rungs.join(', ')}, all sent as tracks (${tracks.join(', ')})`;
  }
  const lone =
    destinations === 1 && ladder.length > 1
      ? "; with one destination only the first is used, its bitrate following the path's"
      : '';
  return `renditions: ${rungs.join(', ')} (the first is the main encode${lone})`;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--ca', path, `cannot read it (${(error as Error).message}); give a PEM file`);
  }
}

/** Re-exported for tests of the status line. */
export type { StreamStats };
