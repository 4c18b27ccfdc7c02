/**
 * node-media-server 4.x (devDependency) as a CHILD PROCESS, so a test can SIGKILL it like a crash, and a
 * generic ffmpeg subscriber for checking what any server relays.
 *
 * Facts about NMS 4.4.3 (from its source and runs here):
 * - it records: `record: { path, auto: true }` writes `<path>/<app>/<key>/<Date.now()>.flv`;
 * - it never sends RTMP Acknowledgements (it announces a 5000000 window but has no ack logic);
 * - a publisher that reconnects from the same IP within `publishGraceMs` (30 s) is stitched into the
 *   SAME recording, with timestamps shifted past the previous last dts; set `publishGraceMs: 0` here to
 *   get one recording per publish (the child patches each broadcast's `publishGraceMs`).
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  freePort,
  makeTempDir,
  sleep,
  spawnTracked,
  stopProcess,
  waitForListening,
  type TrackedProcess,
} from './process.js';

/** Options of `startNodeMediaServer()`. */
export interface NodeMediaServerOptions {
  /** RTMP port on 127.0.0.1; default a free one. */
  port?: number;
  /** Record every publish (record.auto); default true. */
  record?: boolean;
  /** Grace window in which a same-IP republish continues the previous publish, ms; default NMS's 30000. */
  publishGraceMs?: number;
  /** Readiness timeout, ms; default 15000. */
  startTimeoutMs?: number;
}

/** A running node-media-server child process. */
export interface NodeMediaServerHandle {
  /** RTMP port on 127.0.0.1. */
  readonly port: number;
  /** Temp dir of this instance (config, store, recordings). */
  readonly dir: string;
  /** Root of the recordings (`<recordDir>/<app>/<key>/<ms>.flv`). */
  readonly recordDir: string;
  /** `rtmp://127.0.0.1:PORT/app/key`. */
  url(app?: string, key?: string): string;
  /** Every .flv under recordDir, oldest first. */
  recordings(): string[];
  /** NMS log (its stdout and stderr). */
  log(): string;
  /** SIGTERM (NMS closes its recordings), SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts NMS again on the same port (after stop or kill). */
  restart(): Promise<void>;
  /** Whether the child is running. */
  isRunning(): boolean;
}

// Runs in the child (CommonJS, plain node). argv: nmsEntry, configJson.
const CHILD_SCRIPT = `
const path = require('node:path');
const [entry, configJson] = process.argv.slice(1);
const NodeMediaServer = require(entry);
const Context = require(path.join(path.dirname(entry), 'core', 'context.js'));
const config = JSON.parse(configJson);
const nms = new NodeMediaServer(config, path.join(process.cwd(), 'config.json'));
if (typeof config.publishGraceMs === 'number') {
  nms.on('postPublish', (session) => {
    const broadcast = Context.broadcasts.get(session.streamPath);
    if (broadcast) broadcast.publishGraceMs = config.publishGraceMs;
  });
}
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await nms.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
nms.run();
`;

/** Starts node-media-server in a child process and waits until `ss -ltn` shows its RTMP port. */
export async function startNodeMediaServer(
  options: NodeMediaServerOptions = {},
): Promise<NodeMediaServerHandle> {
  const port = options.port ?? (await freePort());
  const dir = makeTempDir('nms');
  const recordDir = join(dir, 'record');
  const entry = createRequire(import.meta.url).resolve('node-media-server');
  const config = {
    bind: '127.0.0.1',
    rtmp: { port },
    notify: { url: '' },
    auth: { play: false, publish: false, secret: '' },
    store: { path: join(dir, 'data') },
    record: { path: recordDir, auto: options.record ?? true },
    webadmin: { enable: false },
    publishGraceMs: options.publishGraceMs,
  };
  let proc: TrackedProcess | undefined;
  const start = async (): Promise<void> => {
    const current = spawnTracked(process.execPath, ['-e', CHILD_SCRIPT, entry, JSON.stringify(config)], {
      cwd: dir,
    });
    proc = current;
    await waitForListening(port, {
      timeoutMs: options.startTimeoutMs ?? 15_000,
      what: 'node-media-server',
      failed: () => current.hasExited(),
      diagnostics: () => `${current.stdout()}\n${current.stderr()}`,
    });
  };
  await start();
  return {
    port,
    dir,
    recordDir,
    url: (app = 'live', key = 'test') => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    recordings: () =>
      listFlvRecursive(recordDir).sort(
        (a, b) => statSync(a).birthtimeMs - statSync(b).birthtimeMs || (a < b ? -1 : 1),
      ),
    log: () => (proc === undefined ? '' : `${proc.stdout()}\n${proc.stderr()}`),
    stop: async () => {
      if (proc !== undefined) await stopProcess(proc, 'SIGTERM', 5000);
    },
    kill: async () => {
      if (proc !== undefined) await stopProcess(proc, 'SIGKILL');
    },
    restart: async () => {
      if (proc !== undefined) await stopProcess(proc, 'SIGTERM', 5000);
      await start();
    },
    isRunning: () => proc !== undefined && !proc.hasExited(),
  };
}

function listFlvRecursive(folder: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return listFlvRecursive(path);
    return name.endsWith('.flv') ? [path] : [];
  });
}

/** A running `ffmpeg -i URL -c copy OUT.flv` subscriber. */
export interface FfmpegSubscriber {
  /** The FLV file it writes. */
  readonly outputFile: string;
  /** Resolves with ffmpeg's exit code once it ends (the publisher left, or stop()). */
  readonly exited: Promise<number | string>;
  /** ffmpeg's stderr so far. */
  stderr(): string;
  /** Makes ffmpeg finish the file (SIGINT twice), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Plays `url` with Debian's ffmpeg and copies it into an FLV file: a way to see what any RTMP server
 * relays. Start it before or after the publisher; ffmpeg waits up to `waitS` for the stream to appear.
 */
export function startFfmpegSubscriber(
  url: string,
  options: { outputFile?: string; waitS?: number } = {},
): FfmpegSubscriber {
  const outputFile = options.outputFile ?? join(makeTempDir('sub'), 'subscriber.flv');
  const proc = spawnTracked('ffmpeg', [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-rw_timeout',
    String((options.waitS ?? 15) * 1_000_000),
    '-i',
    url,
    '-c',
    'copy',
    // Write every packet at once: an interrupted ffmpeg 5.1 otherwise loses its whole buffered output.
    '-flush_packets',
    '1',
    '-f',
    'flv',
    '-y',
    outputFile,
  ]);
  return {
    outputFile,
    exited: proc.exited,
    stderr: proc.stderr,
    stop: async () => {
      // ffmpeg 5.1 only interrupts a blocking network read on the SECOND signal; it then still writes
      // out the file cleanly (a third signal would abort).
      if (proc.hasExited()) return;
      proc.child.kill('SIGINT');
      await Promise.race([proc.exited, sleep(300)]);
      if (!proc.hasExited()) proc.child.kill('SIGINT');
      await Promise.race([proc.exited, sleep(5000)]);
      await stopProcess(proc, 'SIGKILL');
    },
  };
}

/** Folder of the installed node-media-server package (for tests that read its source). */
export function nodeMediaServerDir(): string {
  return dirname(dirname(createRequire(import.meta.url).resolve('node-media-server')));
}
