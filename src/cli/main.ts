import { SteadycastError, type ErrorCode } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { ENCODE_OPTIONS, ENCODE_USAGE, encodeCommand } from './encode-command.js';
import { quietFfmpegLog } from './ffmpeg-log.js';
import { nearestName, parseCommandLine, UsageError, type OptionTable } from './options.js';
import { REPORT_USAGE, reportCommand } from './report-command.js';
import { printDeviceList } from './sources.js';
import { STREAM_OPTIONS, STREAM_USAGE, streamCommand } from './stream-command.js';
import { packageVersion } from './version.js';

/** Exit codes of the CLI, stable for scripts. */
export const EXIT = {
  /** A normal end. */
  ok: 0,
  /** A failure not listed below. */
  failure: 1,
  /** Bad command line, bad option or malformed URL. */
  usage: 2,
  /** The server could not be reached (name not found, timeout, no route). */
  unreachable: 3,
  /** Nothing accepted the connection (refused). */
  refused: 4,
  /** The server rejected the publish (stream key, app, deny rule) or never answered it. */
  rejected: 5,
  /** The server's TLS certificate was not trusted. */
  tlsCertificate: 6,
  /** The connection failed or was lost (reset, closed by the server, stalled) and could not be restored. */
  connectionLost: 7,
} as const;

/** One of the CLI's exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code of every error code: a Record over the ErrorCode union, so adding a code without
 * deciding its exit code does not compile.
 */
const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  ERR_CONFIG: EXIT.usage,
  ERR_INVALID_STATE: EXIT.failure,
  ERR_ABORTED: EXIT.ok,
  ERR_MEDIA: EXIT.failure,
  ERR_DEVICE: EXIT.usage,
  ERR_RECORDING: EXIT.failure,
  ERR_AMF0: EXIT.failure,
  ERR_STALLED: EXIT.connectionLost,
  ERR_RTMP_URL: EXIT.usage,
  ERR_RTMP_DNS: EXIT.unreachable,
  ERR_RTMP_UNREACHABLE: EXIT.unreachable,
  ERR_RTMP_CONNECTION_REFUSED: EXIT.refused,
  ERR_RTMP_CONNECT_TIMEOUT: EXIT.unreachable,
  ERR_RTMP_TLS_HANDSHAKE_TIMEOUT: EXIT.connectionLost,
  ERR_RTMP_TLS_CERTIFICATE: EXIT.tlsCertificate,
  ERR_RTMP_HANDSHAKE: EXIT.connectionLost,
  ERR_RTMP_HANDSHAKE_TIMEOUT: EXIT.connectionLost,
  ERR_RTMP_PUBLISH_TIMEOUT: EXIT.rejected,
  ERR_RTMP_REJECTED: EXIT.rejected,
  ERR_RTMP_CODEC_REFUSED: EXIT.rejected,
  ERR_RTMP_PROTOCOL: EXIT.connectionLost,
  ERR_RTMP_CONNECTION_RESET: EXIT.connectionLost,
  ERR_RTMP_CLOSED_BY_SERVER: EXIT.connectionLost,
  ERR_RTMP_SOCKET: EXIT.connectionLost,
};

const DEVICES_USAGE = `steadycast devices   (or: steadycast --list-devices)
  Lists the screens and audio capture devices this machine offers.`;

const COMMANDS = ['stream', 'encode', 'report', 'devices', 'help'] as const;

const USAGE = `usage: steadycast <command> [options]    (steadycast <command> --help for its options)

commands:
  stream <url>…         publish to one or more RTMP/RTMPS ingests (dashboard, metrics, stats file, report)
  encode <file>         record through the same pipeline to a local file, no network
  report <stats.jsonl>  turn a --stats-file into a self-contained HTML report
  devices               list the screens and audio devices (also: --list-devices)

  --version             print the version
  -h, --help            this help

exit codes: 0 ok (also after Ctrl-C), 2 bad option, path or URL, 3 unreachable, 4 refused,
            5 publish rejected, 6 TLS certificate not trusted, 7 connection lost for good,
            130 a second Ctrl-C (quit at once), 1 other failure`;

/** The CLI entry point; resolves to the exit code. Known failures print one line, no stack. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // FFmpeg's encoders chat on stderr at info level; the CLI prints its own status instead.
  if (!process.env.STEADYCAST_FFMPEG_LOG) {
    quietFfmpegLog(new MonotonicClock(), (line) => void process.stderr.write(line));
    // SVT-AV1 prints its banner and settings itself, past FFmpeg's log: errors only (its SVT_LOG level 1).
    process.env.SVT_LOG ??= '1';
  }
  try {
    if (rest.includes('--version') && command !== undefined && !command.startsWith('-')) {
      process.stdout.write(`steadycast ${packageVersion()}\n`);
      return EXIT.ok;
    }
    switch (command) {
      case 'stream':
        return await streamCommand(rest, log);
      case 'encode':
        return await encodeCommand(rest, log);
      case 'report':
        return await reportCommand(rest, log);
      case '--list-devices':
      case 'devices':
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(`${DEVICES_USAGE}\n`);
          return EXIT.ok;
        }
        parseCommandLine('devices', rest, {});
        await printDeviceList((text) => void process.stdout.write(text));
        return EXIT.ok;
      case '--version':
      case '-v':
        process.stdout.write(`steadycast ${packageVersion()}\n`);
        return EXIT.ok;
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'help':
        process.stdout.write(`${helpOf(rest[0])}\n`);
        return EXIT.ok;
      default:
        throw new UsageError(unknownCommandMessage(command));
    }
  } catch (error) {
    return reportFailure(error, log);
  }
}

/** The help of one command (`steadycast help stream`), or the general usage. */
function helpOf(command: string | undefined): string {
  if (command === 'stream') return STREAM_USAGE;
  if (command === 'encode') return ENCODE_USAGE;
  if (command === 'report') return REPORT_USAGE;
  if (command === 'devices') return DEVICES_USAGE;
  return USAGE;
}

function unknownCommandMessage(command: string): string {
  if (command.startsWith('-')) {
    const name = command.replace(/^--?/, '').split('=')[0] ?? '';
    const owner = (STREAM_OPTIONS as OptionTable)[name]
      ? 'stream'
      : (ENCODE_OPTIONS as OptionTable)[name]
        ? 'encode'
        : null;
    if (owner)
      return `${command.split('=')[0]} goes after a command, e.g. "steadycast ${owner} … ${command.split('=')[0]}"`;
    return `unknown option ${command.split('=')[0]} — run "steadycast --help" for the commands`;
  }
  const nearest = nearestName(command, COMMANDS);
  const hint = nearest ? `did you mean "${nearest}"? ` : '';
  return `unknown command "${command}" — ${hint}run "steadycast --help" for the list`;
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof SteadycastError) return EXIT_BY_CODE[error.code];
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    return EXIT.usage;
  }
  return EXIT.failure;
}

function reportFailure(error: unknown, log: (line: string) => void): number {
  if (error instanceof SteadycastError) {
    log(`steadycast: ${error.message}`);
    return exitCodeFor(error);
  }
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    log(`steadycast: ${error.message} — run "steadycast --help" for the options`);
    return EXIT.usage;
  }
  log(
    `steadycast: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return EXIT.failure;
}
