import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { describeFileError, RecordingError, validateRecordPath } from '../../../src/output/record-path.js';

const dir = mkdtempSync(join(tmpdir(), 'steadycast-record-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configError(path: string): ConfigError {
  try {
    validateRecordPath(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`${path} was accepted`);
}

describe('validateRecordPath', () => {
  it.each(['a.flv', 'a.mp4', 'a.MOV', 'a.mkv', 'a.ts'])('accepts %s in a writable folder', (name) => {
    expect(() => validateRecordPath(join(dir, name))).not.toThrow();
  });

  it('accepts an existing writable file (it is overwritten)', () => {
    writeFileSync(join(dir, 'old.mkv'), 'x');
    expect(() => validateRecordPath(join(dir, 'old.mkv'))).not.toThrow();
  });

  it.each([
    ['an unknown extension', 'a.avi', /\.flv, \.mp4, \.mov, \.mkv, \.ts/],
    ['no extension', 'recording', /end the name with/],
    ['a missing folder', 'nope/a.flv', /folder .*nope does not exist; create it first/],
    ['a file as the folder', 'old.mkv/a.flv', /does not exist|not a folder/],
  ])('refuses %s with one line naming the fix', (_what, name, fix) => {
    const e = configError(join(dir, name));
    expect(e.field).toBe('recordPath');
    expect(e.message).toMatch(fix);
    expect(e.message).not.toContain('\n');
  });

  it('refuses a folder, even one named like a recording', () => {
    mkdirSync(join(dir, 'folder.flv'));
    expect(configError(join(dir, 'folder.flv')).message).toMatch(/it is a folder/);
    expect(configError(dir).message).toMatch(/it is a folder/);
  });

  it('refuses an empty path', () => {
    expect(configError('').message).toMatch(/name the file/);
  });
});

describe('describeFileError', () => {
  it.each<[unknown, string]>([
    [-28, 'disk full (ENOSPC)'],
    [28, 'disk full (ENOSPC)'],
    [-5, 'input/output error (the disk may be failing or gone) (EIO)'],
    [-13, 'permission denied (EACCES)'],
    [-30, 'read-only file system (EROFS)'],
    [{ code: 'ENOSPC', message: 'ENOSPC: no space left on device, write' }, 'disk full (ENOSPC)'],
    [{ code: 'EDQUOT' }, 'disk quota exceeded (EDQUOT)'],
  ])('says %o in words', (cause, words) => {
    expect(describeFileError(cause)).toBe(words);
  });

  it("falls back to FFmpeg's own words for its own codes", () => {
    const AVERROR_EOF = -541478725; // FFERRTAG('E','O','F',' ')
    expect(describeFileError(AVERROR_EOF)).toBe('End of file (FFmpeg error -541478725)');
  });

  it('puts the path and the cause in a RecordingError', () => {
    const e = new RecordingError('/rec/a.mkv', `${describeFileError(-28)} while writing`, -28);
    expect(e.message).toBe('recording /rec/a.mkv failed: disk full (ENOSPC) while writing');
    expect(e.code).toBe('ERR_RECORDING');
    expect(e.path).toBe('/rec/a.mkv');
  });
});
