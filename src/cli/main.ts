import { Log } from 'node-av';
import { AV_LOG_ERROR } from 'node-av/constants';
import { SteadycastError } from '../core/errors.js';
import { ENCODE_USAGE, encodeCommand } from './encode-command.js';

/** Exit codes of the CLI, stable for scripts. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

const USAGE = `usage: steadycast <command> [options]

commands:
${ENCODE_USAGE}`;

/** The CLI entry point; resolves to the process exit code. Known failures print one line, no stack. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // FFmpeg's encoders chat on stderr at info level; the CLI prints its own status instead.
  if (!process.env.STEADYCAST_FFMPEG_LOG) Log.setLevel(AV_LOG_ERROR);
  try {
    switch (command) {
      case 'encode':
        return await encodeCommand(rest, log);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        log(`steadycast: unknown command "${command}" — run "steadycast --help" for the list`);
        return EXIT.usage;
    }
  } catch (error) {
    return reportFailure(error, log);
  }
}

function reportFailure(error: unknown, log: (line: string) => void): number {
  if (error instanceof SteadycastError) {
    log(`steadycast: ${error.message}`);
    return error.code === 'ERR_CONFIG' ? EXIT.usage : EXIT.failure;
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
