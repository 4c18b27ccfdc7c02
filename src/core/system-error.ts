import { constants } from 'node:os';

/** Words for the system errors a user can fix (disk, permissions, paths). */
const WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error (the disk may be failing or gone)',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'it already exists',
};

const NAME_BY_ERRNO = new Map<number, string>(
  Object.entries(constants.errno).map(([name, errno]) => [errno, name]),
);

/**
 * The cause of a failed file operation in words: `ENOSPC` → "disk full". Takes a Node system error
 * (its `code`), a code name, or an errno number, positive or negative as FFmpeg returns it
 * (AVERROR(ENOSPC) is -28 on Linux). Anything else falls back to the error's own message.
 */
export function describeSystemError(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined) return WORDS[code] ?? code;
  if (error instanceof Error) return error.message;
  return String(error);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'number') return NAME_BY_ERRNO.get(Math.abs(error));
  if (typeof error === 'string') return /^E[A-Z]+$/.test(error) ? error : undefined;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code } = error as { code: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    if (typeof code === 'number') return NAME_BY_ERRNO.get(Math.abs(code));
  }
  return undefined;
}
