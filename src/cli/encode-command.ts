import { statSync } from 'node:fs';
import { sleep } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { Streamer } from '../streamer.js';
import { silenceStreamerLog } from './ffmpeg-log.js';
import { inFlagTerms, parseMediaOptions, streamerMedia } from './media-options.js';
import {
  defineCommand,
  formatOptionHelp,
  MEDIA_OPTION_SPECS,
  parseCommandLine,
  RUN_OPTION_SPECS,
  VERSION_OPTION_SPEC,
} from './options.js';
import { parsePositive } from './parse.js';
import { checkObserveOptions, observeRun } from './run-observers.js';
import {
  formatDeviceBack,
  formatDeviceFailed,
  formatRecordingFailed,
  formatSourceFailed,
} from './status-line.js';
import { stopSignals } from './stop-signals.js';

/** The options of `steadycast encode`: the same as `stream`'s where they mean the same. */
export const ENCODE_OPTIONS = defineCommand('encode', {
  ...MEDIA_OPTION_SPECS,
  duration: {
    type: 'string',
    arg: 'SECONDS',
    help: 'how long to record (default 10); Ctrl-C ends it sooner',
  },
  ...RUN_OPTION_SPECS,
  ...VERSION_OPTION_SPEC,
});

/** Usage of `steadycast encode`. */
export const ENCODE_USAGE = `steadycast encode <file.flv|.mp4|.mkv> [options]
  Records through the real pipeline (capture clock, encoders, muxer) to a local file; no network.

${formatOptionHelp(ENCODE_OPTIONS)}`;

type EncodeValues = ReturnType<typeof parseCommandLine<typeof ENCODE_OPTIONS>>['values'];

/** Runs `steadycast encode`; resolves to the exit code. */
export async function encodeCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandLine('encode', argv, ENCODE_OPTIONS);
  if (values.help) {
    process.stdout.write(`${ENCODE_USAGE}\n`);
    return 0;
  }
  try {
    return await encode(values, positionals, log);
  } catch (error) {
    throw inFlagTerms(error, values);
  }
}

async function encode(
  values: EncodeValues,
  positionals: string[],
  log: (line: string) => void,
): Promise<number> {
  const path = positionals[0];
  if (!path || positionals.length > 1) {
    const got = positionals.length === 0 ? 'none given' : `${positionals.length} arguments`;
    throw new ConfigError('output file', got, 'name one file, e.g. out.flv');
  }
  const media = parseMediaOptions(values);
  const durationS = parsePositive('--duration', values.duration ?? '10', 'seconds');
  const checked = checkObserveOptions({ statsFile: values['stats-file'] }, log);
  const clock = new MonotonicClock();
  // A Streamer with no network output and a recording: the same assembly as `stream`.
  const streamer = new Streamer({
    clock,
    logLevel: 'error',
    outputs: [],
    recordPath: path,
    ...streamerMedia(media),
  });
  silenceStreamerLog(streamer);
  const observers = await observeRun(streamer, clock, [], checked, log);
  streamer.on('devicefailed', (_name, error) => log(formatDeviceFailed(error, 'recording')));
  streamer.on('devicerecovered', (name, outageMs) => log(formatDeviceBack(name, outageMs)));
  streamer.on('recordingfailed', (_path, error) => log(formatRecordingFailed(error, null)));
  streamer.on('sourcefailed', (name, error) => log(formatSourceFailed(name, error, 'recording')));
  streamer.on('error', (error) => log(`warning: ${error.message}`));
  const stop = stopSignals(log);
  try {
    if (!values.quiet) log(`encoding ${durationS} s to ${path}`);
    // The file holds exactly --duration of media, counted from the first frame, however late the timer.
    streamer.once('capturing', (startUs) => streamer.endMediaAt(startUs + durationS * 1e6));
    await streamer.start();
    await sleep(clock, durationS * 1000, stop.signal).catch(() => {});
    await streamer.stop();
  } catch (error) {
    await observers.finish(streamer.stats);
    throw error;
  } finally {
    stop.dispose();
  }
  const stats = streamer.stats;
  const files = await observers.finish(stats);
  log(
    `done: ${stats.framesCaptured} video frames (${stats.framesDuplicated} duplicated, ${stats.framesLagged} lagged), ` +
      `${(sizeOf(path) / 1024).toFixed(0)} KiB written to ${path}` +
      `${stats.recording?.state === 'failed' ? ' before the recording failed' : ''}`,
  );
  for (const line of files) log(line);
  return stats.recording?.state === 'failed' ? 1 : 0; // EXIT.failure; the cause was said when it happened
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
