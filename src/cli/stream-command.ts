import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sleep } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { parseRtmpUrl, redactUrl } from '../rtmp/url.js';
import { Streamer, type StreamStats } from '../streamer.js';
import { MEDIA_OPTIONS, MEDIA_USAGE, parseMediaOptions } from './media-options.js';
import { parsePositive } from './parse.js';
import { printDeviceList } from './sources.js';
import { formatDeviceBack, formatDeviceFailed, formatStatusLine, formatSummary } from './status-line.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** Usage of `steadycast stream`. */
export const STREAM_USAGE = `steadycast stream <url> [options]
  Publishes to rtmp[s]://host[:port]/app/streamKey with bounded latency and automatic reconnect.
${MEDIA_USAGE}
  --list-devices               list the screens and audio devices this machine offers, and exit
  --max-latency MS             drop threshold (default ${MEDIA_DEFAULTS.maxLatencyMs})
  --adaptive-bitrate           lower the video bitrate under sustained congestion, raise it back after
  --duration SECONDS           stop by itself after this long (default: until Ctrl-C)
  --stats-file PATH            one JSON object per second, and a final one with "final": true
  --record PATH                also record locally (.flv/.mp4/.mkv); never drops
  --ca FILE                    trust this CA certificate (PEM) for rtmps://
  --quiet                      no live status line`;

/** Runs `steadycast stream`; resolves to the exit code. */
export async function streamCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...MEDIA_OPTIONS,
      'list-devices': { type: 'boolean', default: false },
      'max-latency': { type: 'string', default: String(MEDIA_DEFAULTS.maxLatencyMs) },
      'adaptive-bitrate': { type: 'boolean', default: false },
      duration: { type: 'string' },
      'stats-file': { type: 'string' },
      record: { type: 'string' },
      ca: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (values['list-devices']) {
    await printDeviceList((text) => void process.stdout.write(text));
    return 0;
  }
  const url = positionals[0];
  if (!url || positionals.length > 1) {
    // Never echo the arguments: one of them may be the stream key, given apart from the URL by mistake.
    const got = positionals.length === 0 ? 'none given' : `${positionals.length} arguments`;
    throw new ConfigError(
      'url',
      got,
      'give one URL with the stream key in it, quoted if it has spaces, e.g. rtmp://127.0.0.1/live/mykey',
    );
  }
  parseRtmpUrl(url);
  const media = parseMediaOptions(values);
  const durationS =
    values.duration === undefined ? null : parsePositive('--duration', values.duration, 'seconds');
  const ca = values.ca === undefined ? undefined : readCa(values.ca);
  const statsFile = values['stats-file'];
  if (statsFile) writeFileSync(statsFile, '');

  const clock = new MonotonicClock();
  const streamer = new Streamer({
    clock,
    outputs: [{ url, ...(ca ? { connection: { tls: { ca } } } : {}) }],
    maxLatencyMs: parsePositive('--max-latency', values['max-latency'], 'milliseconds'),
    recordPath: values.record ?? null,
    video:
      media.video === null
        ? null
        : {
            source: media.video,
            width: media.width,
            height: media.height,
            fps: media.fps,
            bitrateBps: media.videoBitrateBps,
            keyframeIntervalS: media.keyframeIntervalS,
            encoder: media.encoder,
            preset: media.preset,
            adaptiveBitrate: values['adaptive-bitrate'],
          },
    audio: media.audio.length === 0 ? null : { sources: media.audio, bitrateBps: media.audioBitrateBps },
  });

  const live = !values.quiet && process.stderr.isTTY === true;
  const status = (line: string): void => {
    if (live) process.stderr.write(`\r\x1b[2K${line}`);
  };
  const say = (line: string): void => {
    if (live) process.stderr.write('\r\x1b[2K');
    log(line);
  };
  let fatal: Error | null = null;
  streamer.on('stats', (stats) => {
    status(formatStatusLine(stats));
    if (statsFile) appendFileSync(statsFile, `${JSON.stringify(stats)}\n`);
  });
  streamer.on('state', (prev, next) => {
    if (!live && !values.quiet) say(`state: ${prev} -> ${next}`);
  });
  streamer.on('dropstate', (url, _prev, next) => {
    if (values.quiet) return;
    const latencyMs = Math.round(streamer.stats.currentLatencyMs);
    say(
      next === 'dropping'
        ? `${url}: congested (latency ${latencyMs} ms): dropping video, GOP-aware; audio continues`
        : `${url}: congestion over (latency ${latencyMs} ms): video resumes at a keyframe`,
    );
  });
  streamer.on('error', (error) => {
    fatal ??= error;
    say(`error: ${error.message}`);
  });
  // A capture device that fails is reopened by itself; say so, since the picture freezes meanwhile.
  let bitrateChanges = 0;
  streamer.on('bitrate', (bitrateBps, reason) => {
    bitrateChanges++;
    if (values.quiet) return;
    const kbit = Math.round(bitrateBps / 1000);
    if (reason === 'congested') say(`video bitrate lowered to ${kbit} kbit/s (congested)`);
    else if (bitrateBps >= media.videoBitrateBps) say(`video bitrate back to ${kbit} kbit/s`);
  });
  streamer.on('devicefailed', (_name, error) => say(formatDeviceFailed(error, 'stream')));
  streamer.on('devicerecovered', (name, outageMs) => say(formatDeviceBack(name, outageMs)));

  const stopRequested = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) {
      say('stopping now');
      process.exit(130);
    }
    say('stopping (Ctrl-C again to quit at once)…');
    stopRequested.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`streaming to ${redactUrl(url)}${durationS ? ` for ${durationS} s` : ' (Ctrl-C to stop)'}`);
    // --duration counts media: from the moment capture starts, which is before start() resolves.
    let captureStartUs: number | null = null;
    streamer.once('capturing', (atUs) => (captureStartUs = atUs));
    await streamer.start();
    const waits: Promise<unknown>[] = [streamer.finished(), once(stopRequested.signal)];
    if (durationS !== null) {
      const capturedMs = captureStartUs === null ? 0 : (clock.nowUs() - captureStartUs) / 1000;
      waits.push(sleep(clock, durationS * 1000 - capturedMs, stopRequested.signal).catch(() => {}));
    }
    await Promise.race(waits);
    await streamer.stop();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const final = streamer.stats;
  if (statsFile) appendFileSync(statsFile, `${JSON.stringify({ ...final, final: true })}\n`);
  say(formatSummary(final));
  if (bitrateChanges > 0) {
    say(
      `  adaptive bitrate: ${bitrateChanges} changes, lowest ${Math.round(final.videoBitrateLowestBps / 1000)} kbit/s, ` +
        `at the end ${Math.round(final.videoBitrateBps / 1000)} kbit/s`,
    );
  }
  if (fatal) throw fatal;
  return 0;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--ca', path, `cannot read it (${(error as Error).message}); give a PEM file`);
  }
}

function once(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Re-exported for tests of the status line. */
export type { StreamStats };
