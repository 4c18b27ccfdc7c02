/**
 * nginx with the RTMP module, started by a test in its own temp dir. Every publishing connection is
 * recorded to its own FLV file so a test can check, connection by connection, what the server received.
 *
 * Facts about nginx-rtmp that tests rely on (libnginx-mod-rtmp 1.2.2):
 * - it acknowledges (RTMP §5.4.3) only when the CLIENT sends Window Acknowledgement Size; `ack_window`
 *   only sets the window nginx announces to the client (default 5000000), not how often nginx acks;
 * - a recording starts with the AAC and AVC sequence headers it cached, then the frames; timestamps in
 *   the file are relative to the first frame of that connection (so absolute RTMP timestamps are only
 *   visible on the wire: use the wire tap);
 * - `record_unique` names files `<key>-<unix seconds>.flv` and opens them with O_TRUNC, so two
 *   connections in the same second would share a file: this helper therefore moves every finished
 *   recording to `done/<key>-<unix ns>.flv` (exec_record_done), see `recordings()`.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import {
  freePort,
  makeTempDir,
  sleep,
  spawnTracked,
  stopProcess,
  waitForListening,
  type TrackedProcess,
} from './process.js';

/** Path of the RTMP dynamic module installed by Debian's libnginx-mod-rtmp. */
export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** Options of `startNginxRtmp()`. */
export interface NginxRtmpOptions {
  /** Loopback port to listen on; default: a free port. */
  port?: number;
  /** Add `deny publish all;` to the `live` application, so every publish is refused; default false. */
  denyPublish?: boolean;
  /** `ack_window` in bytes: the Window Acknowledgement Size nginx announces to clients; default nginx's 5000000. */
  ackWindow?: number;
  /** `chunk_size` nginx uses towards clients, bytes; default nginx's 4096. */
  chunkSize?: number;
  /**
   * `drop_idle_publisher` in seconds: nginx drops a publisher that sent nothing this long. Without it
   * nginx keeps a dead publisher's stream name for a long time (RTMP ping 10 s + 5 s did not drop one within
   * 35 s here), answering a republish with Publish.BadName until then.
   */
  dropIdlePublisherS?: number;
  /** Readiness timeout, ms; default 10000. */
  startTimeoutMs?: number;
}

/** A running nginx-rtmp server. */
export interface NginxRtmpHandle {
  /** The loopback port nginx listens on. */
  readonly port: number;
  /** The temp dir holding nginx.conf, logs and recordings. */
  readonly dir: string;
  /** Folder the in-progress recordings are written to (finished ones move to `done/` under it). */
  readonly recordDir: string;
  /** `rtmp://127.0.0.1:PORT/app/key`; app defaults to `live`, key to `test`. */
  url(app?: string, key?: string): string;
  /** FLV recordings, one per publishing connection: finished ones in closing order, then open ones. */
  recordings(): string[];
  /** Waits until no recording is still open (every publisher has left), up to `timeoutMs`. */
  waitForRecordingsClosed(timeoutMs?: number): Promise<string[]>;
  /** nginx's error log so far (for assertion messages). */
  errorLog(): string;
  /** Stops nginx (SIGTERM: fast shutdown that closes publishers, then SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs nginx: a server crash. With `master_process off` no worker survives it. */
  kill(): Promise<void>;
  /** Starts nginx again on the same port with the same config (after `kill()` or `stop()`). */
  restart(): Promise<void>;
  /** Whether the nginx process is running. */
  isRunning(): boolean;
}

function nginxConf(dir: string, recordDir: string, port: number, options: NginxRtmpOptions): string {
  const server = [
    `listen 127.0.0.1:${port};`,
    options.ackWindow === undefined ? '' : `ack_window ${options.ackWindow};`,
    options.chunkSize === undefined ? '' : `chunk_size ${options.chunkSize};`,
  ].filter((line) => line !== '');
  return `# written by test/helpers/nginx-rtmp.ts
load_module ${NGINX_RTMP_MODULE};
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
worker_rlimit_nofile 1024;
events { worker_connections 256; }
rtmp {
  server {
    ${server.join('\n    ')}
    application live {
      live on;
      ${options.denyPublish === true ? 'deny publish all;' : ''}
      ${options.dropIdlePublisherS === undefined ? '' : `drop_idle_publisher ${options.dropIdlePublisherS}s;`}
      record all;
      record_path ${recordDir};
      record_unique on;
      exec_record_done /bin/sh ${dir}/record-done.sh $path;
    }
  }
}
`;
}

// Moves a finished recording out of the way before a reconnect in the same second reuses its name.
const RECORD_DONE_SCRIPT = `#!/bin/sh
set -eu
src="$1"
dir="$(dirname "$src")"
base="$(basename "$src" .flv)"
mv "$src" "$dir/done/$base-$(date +%s%N).flv"
`;

/** Starts nginx-rtmp in a fresh temp dir and waits until `ss -ltn` shows it listening. */
export async function startNginxRtmp(options: NginxRtmpOptions = {}): Promise<NginxRtmpHandle> {
  const port = options.port ?? (await freePort());
  const dir = makeTempDir('nginx');
  const recordDir = join(dir, 'record');
  mkdirSync(join(recordDir, 'done'), { recursive: true });
  // nginx-rtmp may drop privileges to `nobody` (worker processes): the folder must be writable by it.
  chmodSync(dir, 0o755);
  chmodSync(recordDir, 0o777);
  chmodSync(join(recordDir, 'done'), 0o777);
  writeFileSync(join(dir, 'record-done.sh'), RECORD_DONE_SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, recordDir, port, options));
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  let proc: TrackedProcess | undefined;

  const errorLog = (): string => {
    const file = join(dir, 'error.log');
    return existsSync(file) ? readText(file) : '';
  };
  const start = async (): Promise<void> => {
    const current = spawnTracked('nginx', args);
    proc = current;
    await waitForListening(port, {
      timeoutMs: options.startTimeoutMs ?? 10_000,
      what: 'nginx-rtmp',
      failed: () => current.hasExited(),
      diagnostics: () => `stderr:\n${current.stderr()}\nerror.log:\n${errorLog()}`,
    });
  };
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc !== undefined) await stopProcess(proc, signal);
  };
  const listFlv = (folder: string): string[] =>
    readdirSync(folder)
      .filter((name) => name.endsWith('.flv'))
      .map((name) => join(folder, name));

  await start();
  return {
    port,
    dir,
    recordDir,
    url: (app = 'live', key = 'test') => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    recordings: () => {
      // nginx moves a recording into done/ when it closes, at any moment: list the open ones first and
      // done/ after, so one that moves in between is found in done/ (and not twice); one that moved
      // before its stat is skipped here, since done/ is read after.
      const open = listFlv(recordDir).flatMap((file) => {
        try {
          return [{ file, mtimeMs: statSync(file).mtimeMs }];
        } catch {
          return [];
        }
      });
      const done = listFlv(join(recordDir, 'done')).sort(); // names end in the closing time, ns
      const doneNames = new Set(done.map((file) => basename(file)));
      const stillOpen = open.filter(({ file }) => !doneNames.has(basename(file)));
      return [...done, ...stillOpen.sort((a, b) => a.mtimeMs - b.mtimeMs).map(({ file }) => file)];
    },
    waitForRecordingsClosed: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (listFlv(recordDir).length > 0 && Date.now() < deadline) await sleep(50);
      const open = listFlv(recordDir);
      if (open.length > 0) throw new Error(`nginx still records ${open.join(', ')} after ${timeoutMs} ms`);
      return listFlv(join(recordDir, 'done')).sort();
    },
    errorLog,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await start();
    },
    isRunning: () => proc !== undefined && !proc.hasExited(),
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
