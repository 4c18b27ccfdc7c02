import { closeSync, createWriteStream, openSync, statSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { describeSystemError } from '../core/system-error.js';

/** Lines waiting for a slow disk beyond this are skipped (and counted), bytes. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * A JSON-lines file that fails on its own: a full disk or a vanished folder stops the file, never the
 * stream. Lines are written in the background (a slow disk never blocks the engines); the first
 * failure is reported once through `onFailure`, then every later line is ignored.
 */
export class StatsFileWriter {
  /** The file, as given. */
  readonly path: string;
  readonly #stream: WriteStream;
  readonly #onFailure: (message: string) => void;
  #error: string | null = null;
  #linesWritten = 0;
  #linesSkipped = 0;
  #closed = false;

  private constructor(path: string, fd: number, onFailure: (message: string) => void) {
    this.path = path;
    this.#onFailure = onFailure;
    this.#stream = createWriteStream('', { fd, flush: false });
    this.#stream.on('error', (error) => this.#fail(error));
  }

  /**
   * Creates (or empties) the file now, so a bad path is a ConfigError before anything connects:
   * `field` names the option in the error (e.g. `--stats-file`).
   */
  static open(path: string, field: string, onFailure: (message: string) => void): StatsFileWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      throw new ConfigError(
        field,
        path,
        `${whyNotWritable(path, error)}; choose a file in a folder you can write`,
      );
    }
    try {
      return new StatsFileWriter(path, fd, onFailure);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Why the file failed, in words ("disk full"), or null while it works. */
  get error(): string | null {
    return this.#error;
  }

  /** Lines handed to the disk, and lines skipped because the disk was too slow. */
  get counts(): { readonly written: number; readonly skipped: number } {
    return { written: this.#linesWritten, skipped: this.#linesSkipped };
  }

  /** Appends one object as a JSON line; never throws. */
  write(record: object): void {
    if (this.#error !== null || this.#closed) return;
    if (this.#stream.writableLength > MAX_BACKLOG_BYTES) {
      this.#linesSkipped++;
      return;
    }
    try {
      this.#stream.write(`${JSON.stringify(record)}\n`);
      this.#linesWritten++;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Writes `last` (if given), then flushes and closes the file; resolves once it is on disk or failed. */
  close(last?: object): Promise<void> {
    if (last) this.write(last);
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((done) => {
      // A failed write destroys the stream at once but emits 'error' (the failure report) and 'close'
      // a tick later: resolving on `destroyed` alone let close() return before the report.
      if (this.#stream.closed) {
        done();
        return;
      }
      this.#stream.once('close', () => done());
      if (!this.#stream.destroyed) this.#stream.end();
    });
  }

  #fail(error: unknown): void {
    if (this.#error !== null) return;
    this.#error = describeSystemError(error);
    this.#stream.destroy();
    this.#onFailure(
      `stats file ${this.path}: ${this.#error} — no more lines are written to it; the stream goes on`,
    );
  }
}

/** Why `path` cannot be written, in words, from the error of opening it. */
function whyNotWritable(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const folder = dirname(resolve(path));
  if (code === 'ENOENT') return `the folder ${folder} does not exist`;
  if (code === 'EISDIR') return 'it is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') {
    return isFolder(folder) ? `no permission to write in ${folder}` : 'permission denied';
  }
  return describeSystemError(error);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
