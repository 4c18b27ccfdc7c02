import { parseArgs } from 'node:util';
import { SteadycastError } from '../core/errors.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { audioEncoderDefaults } from '../encode/audio-encoder.js';

const V = MEDIA_DEFAULTS.video;
const kbit = (bps: number): string => `${bps / 1000}k`;

/** A command-line mistake (unknown option, missing value): exit 2, one line. */
export class UsageError extends SteadycastError {
  constructor(message: string) {
    super('ERR_CONFIG', message, false, {});
  }
}

/** One option: its parseArgs type, the word shown for its value, and one line of help. */
export interface OptionSpec {
  /** `string` takes a value; `boolean` is a flag. */
  readonly type: 'string' | 'boolean';
  /** May be given more than once (values collected in order). */
  readonly multiple?: boolean;
  /** A one-letter alias, e.g. `o` for `-o`. */
  readonly short?: string;
  /** The placeholder shown in help, e.g. `SECONDS`. */
  readonly arg?: string;
  /** One line of help (continuation lines start with a newline). */
  readonly help: string;
}

/** The options a command takes, by name (without the leading `--`). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Capture and encoding options, the same for `stream` and `encode`. */
export const MEDIA_OPTION_SPECS = {
  video: {
    type: 'string',
    arg: 'SOURCE',
    help: 'screen[:DISPLAY_OR_INDEX] | file:PATH | test | none (default test)',
  },
  audio: {
    type: 'string',
    multiple: true,
    arg: 'SOURCE',
    help: 'system[:NAME] | mic[:NAME] | file[:PATH] | tone | silence | none\n(default tone; repeat to mix, e.g. --audio system --audio mic)',
  },
  loop: { type: 'boolean', help: 'with file sources: start again at the end' },
  size: { type: 'string', arg: 'WxH', help: `picture size (default ${V.width}x${V.height})` },
  fps: { type: 'string', arg: 'N', help: `frames per second (default ${V.fps})` },
  'video-bitrate': {
    type: 'string',
    arg: 'RATE',
    help: `video bitrate, e.g. 2500k or 2.5M (default ${kbit(V.bitrateBps)})`,
  },
  'audio-bitrate': {
    type: 'string',
    arg: 'RATE',
    help: `audio bitrate (default ${kbit(MEDIA_DEFAULTS.audio.bitrateBps)})`,
  },
  keyint: { type: 'string', arg: 'SECONDS', help: `time between keyframes (default ${V.keyframeIntervalS})` },
  codec: {
    type: 'string',
    arg: 'CODEC',
    help: 'h264 (default), hevc or av1; over RTMP, HEVC and AV1 go as Enhanced RTMP\n(a server that takes neither refuses the publish: exit 5); or a list in order of\npreference, e.g. hevc,h264: the first codec every server takes is sent',
  },
  encoder: {
    type: 'string',
    arg: 'NAME',
    help: `the codec's software encoder: ${V.encoder} (default), libx265, libsvtav1;\nor a hardware one, e.g. h264_nvenc, hevc_qsv, av1_amf (no --preset)`,
  },
  preset: {
    type: 'string',
    arg: 'NAME',
    help: `speed as an x264 preset (default ${V.preset}); libx265 runs two presets\nfaster, libsvtav1 at the matching SVT-AV1 preset`,
  },
  'audio-encoder': {
    type: 'string',
    arg: 'NAME',
    help: `${audioEncoderDefaults().encoder} (default; aac when this FFmpeg build has none) or aac`,
  },
} as const satisfies OptionTable;

/** How the video adapts to the destinations' paths (`stream` only: `encode` has no network). */
export const QUALITY_OPTION_SPECS = {
  'adaptive-bitrate': {
    type: 'boolean',
    help: 'lower the video bitrate under sustained congestion, raise it back after\n(one bitrate for every destination: the slowest sets it)',
  },
  'adaptive-quality': {
    type: 'boolean',
    help: 'a destination that falls behind gets a lower quality of its own; the others keep\ntheirs (with one destination, its bitrate follows the path)',
  },
  rendition: {
    type: 'string',
    multiple: true,
    arg: 'NAME=WxH@RATE',
    help: 'a quality ladder, best first: repeat it, e.g. high=1280x720@2500k then low=640x360@800k;\nthe first is the main encode (instead of --size and --video-bitrate), a destination that\nfalls behind moves down. Implies --adaptive-quality',
  },
  multitrack: {
    type: 'boolean',
    help: 'send every --rendition at once to each destination, as Enhanced RTMP video tracks\n(track 0 the lowest; under congestion the highest track drops first). Instead of\n--adaptive-quality',
  },
} as const satisfies OptionTable;

/** Options about a run, the same wherever they appear. */
export const RUN_OPTION_SPECS = {
  'stats-file': {
    type: 'string',
    arg: 'PATH',
    help: 'one JSON object per second (stats and events), a final one with "final": true;\na report is written beside it at the end (PATH with .html)',
  },
  quiet: {
    type: 'boolean',
    help: 'no live status line nor state and congestion notices; warnings, errors and the summary still print',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help and exit' },
} as const satisfies OptionTable;

/** `--version`, accepted by every command. */
export const VERSION_OPTION_SPEC = {
  version: { type: 'boolean', help: 'print the version and exit' },
} as const satisfies OptionTable;

/** The option table of each command, for suggestions across commands. */
export const COMMAND_OPTIONS = new Map<string, OptionTable>();

/** Registers a command's options (so an option of another command is named as such). */
export function defineCommand<T extends OptionTable>(command: string, table: T): T {
  COMMAND_OPTIONS.set(command, table);
  return table;
}

/** Parsed values of an option table: strings, booleans, or lists for `multiple`. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean'
    ? boolean
    : T[K] extends { multiple: true }
      ? string[]
      : string;
};

/**
 * Parses `argv` against `table`: unknown options are a UsageError that suggests the nearest known
 * one, positionals are returned apart. Never echoes a positional (one may be a stream key).
 */
export function parseCommandLine<T extends OptionTable>(
  command: string,
  argv: readonly string[],
  table: T,
): { values: OptionValues<T>; positionals: string[] } {
  checkOptionNames(command, argv, table);
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: table as unknown as NonNullable<Parameters<typeof parseArgs>[0]>['options'],
    });
    return { values: values as OptionValues<T>, positionals };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(-[^' ]+)/.exec((error as Error).message)?.[1] ?? 'an option';
      throw new UsageError(
        `${name} needs a value — see "steadycast ${command} --help" (e.g. ${name} ${exampleOf(table, name)})`,
      );
    }
    throw error;
  }
}

function exampleOf(table: OptionTable, flag: string): string {
  const name = flag.replace(/^--?/, '');
  const spec = table[name] ?? Object.values(table).find((s) => s.short === name);
  return spec?.arg ?? 'VALUE';
}

/** Throws a UsageError for the first option `table` does not know, with the nearest known one. */
function checkOptionNames(command: string, argv: readonly string[], table: OptionTable): void {
  const shorts = new Map(
    Object.entries(table).flatMap(([name, spec]) => (spec.short ? [[spec.short, name] as const] : [])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-') continue;
    const long = arg.startsWith('--');
    // Only the option's name is ever repeated back: `--key=VALUE` may carry a secret.
    const name = long ? (arg.slice(2).split('=')[0] ?? '') : arg.slice(1, 2);
    const known = long ? table[name] : table[shorts.get(name) ?? ''];
    if (!known) throw new UsageError(unknownOptionMessage(command, long ? `--${name}` : `-${name}`, table));
    if (known.type === 'string' && !arg.includes('=') && (long || arg.length === 2)) i++; // skip its value
  }
}

/** The message for an unknown option: the nearest known one, or the command that has it. */
export function unknownOptionMessage(command: string, flag: string, table: OptionTable): string {
  const name = flag.replace(/^--?/, '');
  const help = `run "steadycast ${command} --help" for its options`;
  if (flag.startsWith('--')) {
    const other = [...COMMAND_OPTIONS].find(([c, t]) => c !== command && t[name]);
    if (other) return `--${name} is an option of "steadycast ${other[0]}", not of "${command}" — ${help}`;
  }
  const nearest = nearestName(name, Object.keys(table));
  const hint = nearest ? `did you mean --${nearest}? ` : '';
  return `unknown option ${flag} for "${command}" — ${hint}${help}`;
}

/** The known name closest to `name` (edit distance, or a unique prefix), or null when none is close. */
export function nearestName(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  const prefixed = known.filter((k) => k.startsWith(lower) || lower.startsWith(k));
  if (prefixed.length === 1) return prefixed[0] ?? null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(lower.length / 3)) ? best : null;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
  }
  return (rows[a.length] as number[])[b.length] ?? 0;
}

/** Help lines for the options of `table`, aligned: `  --name ARG   help`. */
export function formatOptionHelp(table: OptionTable): string {
  const entries = Object.entries(table).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    return { head: `  ${short}--${name}${spec.arg ? ` ${spec.arg}` : ''}`, help: spec.help };
  });
  const width = Math.max(...entries.map((e) => e.head.length)) + 2;
  return entries
    .map(({ head, help }) =>
      help
        .split('\n')
        .map((line, i) => (i === 0 ? head.padEnd(width) : ' '.repeat(width)) + line)
        .join('\n'),
    )
    .join('\n');
}
