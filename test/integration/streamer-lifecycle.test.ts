/**
 * The Streamer's lifecycle through its public API, with real encoders and real servers: stop() while
 * start() waits for a server that never answers, listeners that throw, and a recording-only session.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Streamer } from '../../src/streamer.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { probeMedia } from '../helpers/media-probe.js';
import { expectCleanRecording } from '../helpers/recording-checks.js';
import { makeTempDir, requirementSkipReason, sleep } from '../helpers/process.js';
import { isFrame, startWireTap, type WireTap } from '../helpers/wire-tap.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const dir = makeTempDir('lifecycle-test');

/** A TCP server that accepts and never says a word (a firewall, a hung ingest). */
async function silentServer(): Promise<{ port: number; sockets: Set<Socket>; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read (and ignore) what comes, or a paused socket never sees the close
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, sockets, server };
}

describe.skipIf(missing)('Streamer lifecycle', () => {
  let nginx: NginxRtmpHandle;
  let tap: WireTap;
  beforeAll(async () => {
    nginx = await startNginxRtmp();
    tap = await startWireTap({ targetPort: nginx.port });
  });
  afterAll(async () => {
    await tap?.stop();
    await nginx?.stop();
  });

  it('stop() during a start() that a silent server never answers: start() rejects with ERR_ABORTED within 1 s, nothing left open', async () => {
    const silent = await silentServer();
    try {
      const streamer = new Streamer({ outputs: [`rtmp://127.0.0.1:${silent.port}/live/key`] });
      const states: string[] = [];
      streamer.on('state', (_prev, next) => states.push(next));
      const started = streamer.start().then(
        () => null,
        (error: unknown) => error,
      );
      await sleep(1000);
      expect(silent.sockets.size).toBe(1); // connected, waiting for the handshake
      const stopAtMs = performance.now();
      await streamer.stop();
      const error = await started;
      const rejectedAfterMs = performance.now() - stopAtMs;
      console.log(`stop() during start(): start() rejected ${rejectedAfterMs.toFixed(0)} ms after stop()`);
      expect(error).toMatchObject({ code: 'ERR_ABORTED' });
      expect(rejectedAfterMs).toBeLessThan(1000);
      expect(streamer.state).toBe('stopped');
      expect(states.at(-1)).toBe('stopped');
      await sleep(100);
      expect(silent.sockets.size).toBe(0);
    } finally {
      silent.server.close();
    }
  }, 30_000);

  it('an AbortSignal cancels start() the same way', async () => {
    const silent = await silentServer();
    try {
      const streamer = new Streamer({ outputs: [`rtmp://127.0.0.1:${silent.port}/live/key`] });
      const controller = new AbortController();
      const started = streamer.start(controller.signal);
      setTimeout(() => controller.abort(), 500);
      await expect(started).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      expect(streamer.state).toBe('stopped');
    } finally {
      silent.server.close();
    }
  }, 30_000);

  it('listeners that throw (state, stats) break nothing: one publishing connection, the stream goes on, one warning per event', async () => {
    const from = tap.connections.length;
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const streamer = new Streamer({ outputs: [tap.url('live', 'throwing')] });
      streamer.on('state', () => {
        throw new Error('bug in the app (state)');
      });
      streamer.on('stats', () => {
        throw new Error('bug in the app (stats)');
      });
      await streamer.start();
      await sleep(4000);
      expect(streamer.state).toBe('live');
      await streamer.stop();
      const connections = tap.connections.slice(from);
      expect(connections).toHaveLength(1);
      const frames = connections[0]?.media.filter((m) => m.type === 9 && isFrame(m)) ?? [];
      expect(frames.length).toBeGreaterThan(100);
      await sleep(50);
      expect(warnings.filter((w) => w.includes('"state"'))).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('"stats"'))).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  }, 30_000);

  it('a recording-only Streamer (no outputs) reads live while it records, and the file decodes', async () => {
    const path = join(dir, 'only.flv');
    const streamer = new Streamer({ outputs: [], recordPath: path });
    await streamer.start();
    expect(streamer.state).toBe('live');
    await sleep(3000);
    await streamer.stop();
    expect(streamer.state).toBe('stopped');
    const stats = streamer.stats;
    expect(stats.framesCaptured).toBeGreaterThanOrEqual(88); // about 3 s at 30 fps
    expect(stats.framesCaptured).toBeLessThan(110);
    const report = await probeMedia(path);
    expectCleanRecording(report);
    // Every frame encoded is in the file (a busy encoder may skip some: counted apart).
    expect(report.video?.frameCount).toBe(stats.framesCaptured - stats.framesSkippedEncoder);
  }, 30_000);
});
