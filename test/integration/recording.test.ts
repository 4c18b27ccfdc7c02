/**
 * `--record` where the disk runs out: a real 2 MB tmpfs, the real CLI, nginx-rtmp receiving the
 * live stream. The recording must fail once, out loud, and leave a playable file; the live stream
 * must not notice.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatsFile, runCli, type CliRun } from '../helpers/cli.js';
import { probeMedia } from '../helpers/media-probe.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { freePort, makeTempDir, requirementSkipReason } from '../helpers/process.js';
import { expectCleanRecording, framesFromStats } from '../helpers/recording-checks.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss', 'mount', 'umount'],
  files: [NGINX_RTMP_MODULE],
  root: true, // mount
});
const dir = makeTempDir('recording');
const mounts: string[] = [];

/** A fresh tmpfs of `size` (e.g. `2m`) mounted in the test's temp folder. */
function tmpfs(name: string, options: string): string {
  const where = join(dir, name);
  mkdirSync(where, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', where]);
  mounts.push(where);
  return where;
}

/** Writes to `path` until the file system is full. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

/** Lines that name the recording's failure (the CLI says it once, when it happens). */
function failureLines(run: CliRun, path: string): string[] {
  return run.stderr.split('\n').filter((line) => line.includes(`recording ${path} failed`));
}

afterAll(() => {
  for (const where of mounts.reverse()) execFileSync('umount', ['-l', where]);
});

describe.skipIf(missing)('--record when the disk runs out', () => {
  let nginx: NginxRtmpHandle;
  beforeAll(async () => {
    nginx = await startNginxRtmp();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('stops the recording once with one line naming the path and the cause, keeps a playable file, and the live stream stays whole', async () => {
    const disk = tmpfs('two-megabytes', 'size=2m');
    const path = join(disk, 'show.mkv');
    const statsFile = join(dir, 'full-disk-stats.jsonl');
    const run = await runCli(
      [
        'stream',
        nginx.url('live', 'fulldisk'),
        '--duration',
        '20',
        '--record',
        path,
        '--stats-file',
        statsFile,
      ],
      60_000,
    );
    const context = run.stderr.slice(-3000);
    // The stream ended normally, but part of what was captured was lost: exit 1 (ERR_RECORDING).
    expect(run.code, context).toBe(1);
    const lines = failureLines(run, path);
    expect(lines, context).toHaveLength(1);
    expect(lines[0]).toMatch(/disk full/);

    // The stats: recording until the disk filled, failed from then on, and the final line written.
    const stats = readStatsFile(statsFile);
    const final = stats.at(-1) as Record<string, unknown> & { recording: Record<string, unknown> };
    expect(final.final).toBe(true);
    expect(final.recording).toMatchObject({ path, state: 'failed' });
    expect(String(final.recording.error)).toMatch(/disk full/);
    const states = stats.map((s) => (s.recording as { state: string } | null)?.state);
    expect(states.indexOf('failed')).toBeGreaterThan(0);
    expect(states.slice(states.indexOf('failed'))).not.toContain('recording');

    // The live stream: all 20 s at the server, decoding without an error.
    const [received] = await nginx.waitForRecordingsClosed();
    if (!received) throw new Error(`nginx recorded nothing:\n${nginx.errorLog()}`);
    expectCleanRecording(await probeMedia(received), { frames: framesFromStats(final, 20), seconds: 20 });

    // The local file: finished (its duration known), what fitted, decoding without an error.
    const local = await probeMedia(path);
    expect(local.decodeErrors, path).toEqual([]);
    expect(local.video?.frameCount).toBeGreaterThan(60);
    expect(local.formatDurationS).toBeGreaterThan(2);
    expect(Math.abs(local.formatDurationS - (local.video?.durationS ?? 0))).toBeLessThan(0.5);
    expect(statSync(path).size).toBe(final.recording.bytesWritten);
  }, 90_000);

  it('reports a disk that another program fills, and leaves a file that decodes', async () => {
    const disk = tmpfs('filled-by-another', 'size=8m');
    const path = join(disk, 'cut.flv');
    const running = runCli(['encode', path, '--duration', '8', '--size', '640x360'], 60_000);
    // After 3 s, take every byte left: the recorder's next write fails with ENOSPC, or its free-space
    // check sees it first; either way it must stop, say so, and leave what it wrote decodable.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    fillUp(join(disk, 'filler'));
    const run = await running;
    expect(run.code, run.stderr).toBe(1);
    const lines = failureLines(run, path);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/disk full/);
    const local = await probeMedia(path);
    expect(local.decodeErrors, path).toEqual([]);
    expect(local.video?.frameCount).toBeGreaterThan(30);
  }, 60_000);

  it.each([
    [
      'a read-only folder',
      (): string => join(tmpfs('read-only', 'ro,size=1m'), 'x.flv'),
      /not writable .*read-only file system \(EROFS\)/,
    ],
    ['a folder', (): string => dir, /it is a folder/],
    ['an unknown extension', (): string => join(dir, 'x.avi'), /end the name with \.flv, \.mp4/],
    ['a missing folder', (): string => join(dir, 'nope', 'x.flv'), /does not exist; create it first/],
  ])(
    'refuses --record to %s in one line, exit 2, before connecting',
    async (_what, target, problem) => {
      // Nothing listens at this port: a run that tried to connect would take seconds and say so.
      const url = `rtmp://127.0.0.1:${await freePort()}/live/key`;
      const started = Date.now();
      const run = await runCli(['stream', url, '--record', target(), '--duration', '5'], 30_000);
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(problem);
      expect(lines[0]).toMatch(/^steadycast: invalid recordPath/);
      expect(Date.now() - started).toBeLessThan(5000);
    },
    30_000,
  );
});

describe.skipIf(missing)('a source that fails mid-stream', () => {
  let server: Server | null = null;
  afterAll(() => server?.close());

  it('is reported once by name, and the recording goes on to the end with the last picture and silence', async () => {
    // A 4 s clip served over TCP; the connection is reset after about half of it: a network source gone.
    const clip = join(dir, 'clip.ts');
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine'],
      ...['-t', '4', '-c:v', 'libx264', '-g', '15', '-c:a', 'aac', '-f', 'mpegts', '-y', clip],
    ]);
    const bytes = readFileSync(clip);
    server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () =>
        setTimeout(() => socket.resetAndDestroy(), 300),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const source = `tcp://127.0.0.1:${port}`;
    const path = join(dir, 'source-gone.mkv');
    const run = await runCli(
      [
        'encode',
        path,
        '--video',
        `file:${source}`,
        '--audio',
        'file',
        '--size',
        '320x240',
        '--fps',
        '15',
        '--duration',
        '6',
      ],
      60_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((line) => line.includes(`file ${source}`));
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/the recording goes on with the last picture or silence/);
    const local = await probeMedia(path);
    expect(local.decodeErrors, path).toEqual([]);
    // Six seconds were recorded although the source gave about two.
    expect(local.video?.durationS).toBeGreaterThan(5.5);
    expect(local.audio?.gaps).toEqual([]);
  }, 60_000);
});
