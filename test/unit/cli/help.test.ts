/**
 * The CLI explains itself: `--help` for every command, `--version`, the same options meaning the same
 * in every command, and unknown options answered with the nearest known one (never echoing a value).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENCODE_OPTIONS } from '../../../src/cli/encode-command.js';
import { EXIT, main } from '../../../src/cli/main.js';
import { editDistance, nearestName } from '../../../src/cli/options.js';
import { REPORT_OPTIONS } from '../../../src/cli/report-command.js';
import { STREAM_OPTIONS } from '../../../src/cli/stream-command.js';

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  return { out: () => out, err: () => err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('--help', () => {
  it.each([
    [
      'stream',
      [
        'steadycast stream <url> [<url>…]',
        '--dashboard [HOST:]PORT',
        '--metrics [HOST:]PORT',
        '--stats-file PATH',
        '--duration SECONDS',
        '--rendition NAME=WxH@RATE',
        '--adaptive-quality',
        '--codec CODEC',
      ],
    ],
    ['encode', ['--stats-file PATH', '--quiet', '--duration SECONDS', '--fps N']],
    ['report', ['-o, --output FILE', 'self-contained HTML']],
    ['devices', ['screens and audio capture devices']],
  ])('steadycast %s --help prints that command’s usage on stdout and exits 0', async (command, expected) => {
    for (const flag of ['--help', '-h']) {
      const io = capture();
      expect(await main([command, flag])).toBe(EXIT.ok);
      expect(io.out()).toContain(`steadycast ${command}`);
      for (const text of expected) expect(io.out()).toContain(text);
      expect(io.err()).toBe('');
      vi.restoreAllMocks();
    }
  });

  it('steadycast help stream is the same text as steadycast stream --help', async () => {
    let io = capture();
    await main(['help', 'stream']);
    const viaHelp = io.out();
    vi.restoreAllMocks();
    io = capture();
    await main(['stream', '--help']);
    expect(io.out()).toBe(viaHelp);
  });

  it('steadycast --help lists every command and the exit codes, including 130 for a second Ctrl-C', async () => {
    const io = capture();
    expect(await main(['--help'])).toBe(EXIT.ok);
    for (const command of ['stream <url>', 'encode <file>', 'report <stats.jsonl>', 'devices']) {
      expect(io.out()).toContain(command);
    }
    expect(io.out()).toContain('130 a second Ctrl-C');
  });
});

describe('--version', () => {
  it.each([[['--version']], [['stream', '--version']], [['encode', '--version']], [['report', '--version']]])(
    'steadycast %j prints the package version',
    async (argv) => {
      const io = capture();
      expect(await main(argv)).toBe(EXIT.ok);
      expect(io.out()).toBe(`steadycast ${version}\n`);
    },
  );
});

describe('options mean the same in every command', () => {
  it.each(['stats-file', 'quiet', 'duration', 'help', 'version', 'video', 'audio', 'fps', 'size'])(
    '--%s has the same spec in stream and encode',
    (name) => {
      const s = (STREAM_OPTIONS as Record<string, { type: string; arg?: string }>)[name];
      const e = (ENCODE_OPTIONS as Record<string, { type: string; arg?: string }>)[name];
      expect(s).toBeDefined();
      expect(e?.type).toBe(s?.type);
      expect(e?.arg).toBe(s?.arg);
    },
  );

  it('report takes --quiet and --help as the others do', () => {
    expect(REPORT_OPTIONS.quiet).toBe(STREAM_OPTIONS.quiet);
    expect(REPORT_OPTIONS.help).toBe(STREAM_OPTIONS.help);
  });

  it('encode takes --stats-file and --quiet (a bad stats folder is the same one-line exit 2 as for stream)', async () => {
    for (const command of [
      ['encode', 'out.flv'],
      ['stream', 'rtmp://127.0.0.1/live/SECRETKEY'],
    ]) {
      const io = capture();
      const code = await main([...command, '--quiet', '--stats-file', '/no/such/folder/stats.jsonl']);
      expect(code).toBe(EXIT.usage);
      expect(io.err()).toBe(
        'steadycast: invalid --stats-file: "/no/such/folder/stats.jsonl" — the folder /no/such/folder does not exist; choose a file in a folder you can write\n',
      );
      vi.restoreAllMocks();
    }
  });

  it('a stats file path that is a folder is refused before anything starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steadycast-help-'));
    const io = capture();
    expect(await main(['encode', 'out.flv', '--stats-file', dir])).toBe(EXIT.usage);
    expect(io.err()).toContain('it is a folder, not a file');
    expect(io.err().trim().split('\n')).toHaveLength(1);
  });
});

describe('unknown options and commands', () => {
  it.each([
    [
      ['encode', 'x.flv', '--durtion', '3'],
      'unknown option --durtion for "encode" — did you mean --duration?',
    ],
    [['stream', 'rtmp://h/live/k', '--stats', 'f'], 'did you mean --stats-file?'],
    [['stream', 'rtmp://h/live/k', '--qiuet'], 'did you mean --quiet?'],
    [
      ['encode', 'x.flv', '--max-latency', '100'],
      '--max-latency is an option of "steadycast stream", not of "encode"',
    ],
    [
      ['encode', 'x.flv', '--rendition', 'low=640x360@800k'],
      '--rendition is an option of "steadycast stream", not of "encode"',
    ],
    [['strem'], 'unknown command "strem" — did you mean "stream"?'],
    [['--duration', '3'], '--duration goes after a command'],
  ])('%j → exit 2 with "%s"', async (argv, message) => {
    const io = capture();
    expect(await main(argv)).toBe(EXIT.usage);
    expect(io.err()).toContain(message);
    expect(io.err().trim().split('\n')).toHaveLength(1);
  });

  it('an unknown --name=value option is named without its value (it may be a secret)', async () => {
    const io = capture();
    expect(await main(['stream', 'rtmp://h/live/k', '--stream-key=SECRETKEY'])).toBe(EXIT.usage);
    expect(io.err()).toContain('unknown option --stream-key');
    expect(io.err()).not.toContain('SECRETKEY');
  });

  it('an option without its value says which value it needs', async () => {
    const io = capture();
    expect(await main(['encode', 'x.flv', '--duration'])).toBe(EXIT.usage);
    expect(io.err()).toContain('--duration needs a value');
  });

  it('a value the library refuses names the flag the user typed, with the value as typed', async () => {
    const io = capture();
    const file = join(mkdtempSync(join(tmpdir(), 'steadycast-help-')), 'x.flv');
    expect(await main(['encode', file, '--quiet', '--keyint', '50'])).toBe(EXIT.usage);
    expect(io.err()).toBe('steadycast: invalid --keyint: "50" — use 0.1 to 20 seconds; ingests want 2\n');
  });

  it('nearest names: edit distance with swaps, prefixes, nothing when far', () => {
    expect(editDistance('qiuet', 'quiet')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestName('stats', ['stats-file', 'size'])).toBe('stats-file');
    expect(nearestName('zzzzzz', ['duration', 'quiet'])).toBeNull();
  });
});
