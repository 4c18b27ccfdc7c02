import { accessSync, constants, statSync, type Stats } from 'node:fs';
import os from 'node:os';
import { dirname, extname, resolve } from 'node:path';
import { FFmpegError } from 'node-av/lib';
import { ConfigError, SteadycastError } from '../core/errors.js';
import { describeSystemError } from '../core/system-error.js';

/** Containers a recording can be written in, by file extension (H.264 + AAC fit each). */
export const RECORD_EXTENSIONS: readonly string[] = ['.flv', '.mp4', '.mov', '.mkv', '.ts'];

/** A recording that failed: disk full, file or folder unwritable, I/O error (`ERR_RECORDING`). */
export class RecordingError extends SteadycastError {
  /** The recording's file. */
  readonly path: string;
  /** The cause in words, without the path, e.g. `disk full (ENOSPC) while writing`. */
  readonly reason: string;

  /** `reason` is in words, e.g. `disk full (ENOSPC) while writing`; `cause` the errno or FFmpeg code. */
  constructor(path: string, reason: string, cause?: unknown) {
    // Retrying the same write cannot help: the disk stays full until someone frees it.
    super(
      'ERR_RECORDING',
      `recording ${path} failed: ${reason}`,
      false,
      cause === undefined ? {} : { cause },
    );
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Throws a ConfigError (field `recordPath`) naming the problem and the fix unless `path` can be
 * recorded to: a known extension, not a folder, in a folder that exists and is writable, and not
 * an existing file we may not overwrite. Cheap and synchronous, so it runs before connecting.
 */
export function validateRecordPath(path: string): void {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ConfigError('recordPath', path, 'name the file to record to, e.g. recording.mkv');
  }
  const existing = statQuietly(path);
  if (existing?.isDirectory()) {
    throw new ConfigError('recordPath', path, 'it is a folder; name a file in it, e.g. recording.mkv');
  }
  const extension = extname(path).toLowerCase();
  if (!RECORD_EXTENSIONS.includes(extension)) {
    throw new ConfigError(
      'recordPath',
      path,
      `end the name with ${RECORD_EXTENSIONS.join(', ')} (the container follows the extension)`,
    );
  }
  const folder = dirname(resolve(path));
  const parent = statQuietly(folder);
  if (!parent)
    throw new ConfigError('recordPath', path, `the folder ${folder} does not exist; create it first`);
  if (!parent.isDirectory()) throw new ConfigError('recordPath', path, `${folder} is not a folder`);
  const [target, what] = existing ? [path, 'the file'] : [folder, `the folder ${folder}`];
  try {
    accessSync(target, constants.W_OK);
  } catch (error) {
    throw new ConfigError('recordPath', path, `${what} is not writable (${describeFileError(error)})`);
  }
}

/** errno names by number (this platform's), for FFmpeg's AVERROR(errno) return values. */
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, errno]) => [errno, name]));

/**
 * A failed file operation in words: a Node error or errno code (`ENOSPC` → "disk full (ENOSPC)"), or
 * an FFmpeg return value: AVERROR(errno) such as -28 the same way, FFmpeg's own codes through
 * av_strerror ("End of file (FFmpeg error -541478725)").
 */
export function describeFileError(cause: unknown): string {
  const code = typeof cause === 'number' ? ERRNO_NAMES.get(Math.abs(cause)) : codeOf(cause);
  if (code) {
    const words = describeSystemError(code);
    return words === code ? code : `${words} (${code})`;
  }
  if (typeof cause === 'number') return `${FFmpegError.strerror(cause)} (FFmpeg error ${cause})`;
  return describeSystemError(cause);
}

function codeOf(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  const { code } = cause as { code: unknown };
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

function statQuietly(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
