/**
 * The stats file fails on its own: /dev/full answers every write with ENOSPC, as a full disk does.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { describeSystemError } from '../../../src/core/system-error.js';
import { StatsFileWriter } from '../../../src/observe/stats-file.js';

describe('StatsFileWriter', () => {
  it('writes one JSON object per line and the last one on close', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'steadycast-stats-')), 'stats.jsonl');
    const failures: string[] = [];
    const writer = StatsFileWriter.open(path, '--stats-file', (m) => failures.push(m));
    writer.write({ a: 1 });
    writer.write({ a: 2 });
    await writer.close({ a: 3, final: true });
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([{ a: 1 }, { a: 2 }, { a: 3, final: true }]);
    expect(failures).toEqual([]);
    expect(writer.counts).toEqual({ written: 3, skipped: 0 });
  });

  it.skipIf(!existsSync('/dev/full'))(
    'a full disk is reported once, in words, and every later write is ignored without throwing',
    async () => {
      const failures: string[] = [];
      const writer = StatsFileWriter.open('/dev/full', '--stats-file', (m) => failures.push(m));
      for (let i = 0; i < 5; i++) {
        expect(() => writer.write({ second: i })).not.toThrow();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await writer.close({ final: true });
      expect(failures).toEqual([
        'stats file /dev/full: disk full — no more lines are written to it; the stream goes on',
      ]);
      expect(writer.error).toBe('disk full');
    },
  );

  it.each([
    ['/no/such/folder/stats.jsonl', 'the folder /no/such/folder does not exist'],
    [tmpdir(), 'it is a folder, not a file'],
  ])('a bad path (%s) is a ConfigError naming the option, before anything is written', (path, why) => {
    expect(() => StatsFileWriter.open(path, '--stats-file', () => {})).toThrow(ConfigError);
    expect(() => StatsFileWriter.open(path, '--stats-file', () => {})).toThrow(
      `invalid --stats-file: ${JSON.stringify(path)} — ${why}; choose a file in a folder you can write`,
    );
  });
});

describe('describeSystemError', () => {
  it.each([
    [{ code: 'ENOSPC' }, 'disk full'],
    ['EACCES', 'permission denied'],
    [-28, 'disk full'],
    [28, 'disk full'],
    [{ code: 'EROFS' }, 'read-only file system'],
    [new Error('something else'), 'something else'],
  ])('%j → %s', (error, words) => {
    expect(describeSystemError(error)).toBe(words);
  });
});
