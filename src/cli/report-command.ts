import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { reportPathFor, writeReport } from '../observe/report.js';
import {
  defineCommand,
  formatOptionHelp,
  parseCommandLine,
  RUN_OPTION_SPECS,
  VERSION_OPTION_SPEC,
} from './options.js';
import { openCommand } from './run-observers.js';

/** The options of `steadycast report`. */
export const REPORT_OPTIONS = defineCommand('report', {
  output: {
    type: 'string',
    short: 'o',
    arg: 'FILE',
    help: 'where to write the report (default: the stats file with .html)',
  },
  quiet: RUN_OPTION_SPECS.quiet,
  help: RUN_OPTION_SPECS.help,
  ...VERSION_OPTION_SPEC,
});

/** Usage of `steadycast report`. */
export const REPORT_USAGE = `steadycast report <stats.jsonl> [-o report.html]
  Writes one self-contained HTML file (charts and data inlined, opens with no network) from a
  --stats-file: latency, bitrate, drops and capture over the whole stream, the event timeline, and a
  summary (duration, bytes, drops, each outage with its length, the worst minute, time below full quality).

${formatOptionHelp(REPORT_OPTIONS)}`;

/** Runs `steadycast report`; resolves to the exit code. */
export async function reportCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandLine('report', argv, REPORT_OPTIONS);
  if (values.help) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  const input = positionals[0];
  if (!input || positionals.length > 1) {
    const got = positionals.length === 0 ? 'none given' : `${positionals.length} files`;
    throw new ConfigError('stats file', got, 'name one file written by --stats-file, e.g. stats.jsonl');
  }
  const output = resolve(values.output ?? reportPathFor(input));
  const { samples, badLines } = await writeReport(input, output);
  if (!values.quiet) {
    const skipped = badLines > 0 ? ` (${badLines} unreadable lines skipped)` : '';
    log(`report of ${samples} seconds${skipped}: ${output}`);
    log(`open it in a browser: ${openCommand(output)}`);
  }
  return 0;
}
