/**
 * --duration and Ctrl-C work while the CLI is still connecting: against a server that accepts TCP and
 * never answers (the built CLI, a silent server on loopback), the run ends on time: exit 5 when
 * --duration ended it (nothing was streamed), 0 for Ctrl-C.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/cli.js';

let server: Server;
let port = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // reads the handshake, never answers
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Runs the CLI; `interruptAfterMs` sends SIGINT then. Resolves with the exit code and the seconds from start and from the signal. */
function run(
  args: string[],
  interruptAfterMs?: number,
): Promise<{ code: number | null; stderr: string; afterSignalS: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let signalledAt: number | null = null;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      // Interrupt only once the CLI is running (it printed its first line): node-av's load time varies.
      if (interruptAfterMs !== undefined && signalledAt === null && stderr.includes('streaming to')) {
        signalledAt = -1;
        setTimeout(() => {
          signalledAt = Date.now();
          child.kill('SIGINT');
        }, interruptAfterMs);
      }
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({
        code,
        stderr,
        afterSignalS: signalledAt && signalledAt > 0 ? (Date.now() - signalledAt) / 1000 : null,
      });
    });
  });
}

describe('stopping while connecting to a server that never answers', () => {
  it('--duration 2 ends the run after about 2 s; it never went live, so exit 5 and one line saying so', async () => {
    const started = Date.now();
    const r = await run(['stream', `rtmp://127.0.0.1:${port}/live/key`, '--duration', '2', '--quiet']);
    const tookS = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('steadycast: no destination accepted the stream within 2 s\n');
    expect(r.stderr).not.toContain('    at ');
    // node and node-av take a second or two to load on a busy machine; the old CLI ran 30 s here.
    expect(tookS, r.stderr).toBeLessThan(9);
  }, 30_000);

  it('Ctrl-C ends it within about a second, exit 0 (the user chose to stop)', async () => {
    const r = await run(['stream', `rtmp://127.0.0.1:${port}/live/key`, '--quiet'], 1000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('stopping (Ctrl-C again to quit at once)');
    expect(r.afterSignalS ?? Infinity, r.stderr).toBeLessThan(3);
  }, 30_000);
});
