/**
 * The real CLI against a scripted hostile RTMP server (test/helpers/fake-rtmp-server.ts). Every case
 * must end within `--duration` + 5 s with its documented exit code, print no stack trace, and never
 * print the stream key (stdout, stderr, the stats file) in any letter case or encoding.
 *
 * | case                                                        | exit code            |
 * | ----------------------------------------------------------- | -------------------- |
 * | Publish.Start + error onStatus in one write, every time     | 5 publish rejected   |
 * | Publish.Start + error onStatus or `close`, on a reconnection | 0 (recovers)        |
 * | Publish.Start + `close` in one write, first connection      | 0 (recovers)         |
 * | garbage, chunk size 0, a 16 MB message, AMF0 10 000 deep    | 0 (reconnects)       |
 * | chunk size 2^31−1, ping flood, acknowledgements backwards   | 0 (no reconnect)     |
 * | key echoed lowercased and percent-encoded                   | 0 (reconnects)       |
 * | accepts TCP and never answers (nothing accepted by the end) | 5 not accepted      |
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliRun } from '../helpers/cli.js';
import { FakeRtmpServer, sendRaw, statusMessage, type FakeSession } from '../helpers/fake-rtmp-server.js';
import { makeTempDir, spawnTracked, stopProcess } from '../helpers/process.js';
import { mulberry32, randomBytes } from '../helpers/prng.js';
import type { RtmpMessage } from '../../src/rtmp/chunk-writer.js';
import { ChunkStreamId, MessageType, UserControlEvent } from '../../src/rtmp/constants.js';
import * as msg from '../../src/rtmp/messages.js';

const DURATION_S = 6;
/** A key with letters of both cases and characters that percent-encoding changes. */
const KEY = 'HostileKey_AbC123?token=S3cr3t+T0ken/x';
const dir = makeTempDir('hostile');
let server: FakeRtmpServer | null = null;

afterEach(async () => {
  await server?.stop();
  server = null;
});

/** What a hostile run gives back. */
interface HostileRun extends CliRun {
  /** Wall time from spawn to exit, ms. */
  readonly elapsedMs: number;
  /** The stats file's lines (the last one is the final summary). */
  readonly stats: Record<string, unknown>[];
  /** The stats file as written. */
  readonly statsText: string;
}

let runs = 0;

async function streamTo(fake: FakeRtmpServer): Promise<HostileRun> {
  const statsFile = join(dir, `stats-${runs++}.jsonl`);
  const startedAt = Date.now();
  const run = await runCli(
    [
      'stream',
      fake.url('live', KEY),
      '--duration',
      String(DURATION_S),
      '--size',
      '320x240',
      '--fps',
      '15',
      '--video-bitrate',
      '300k',
      '--keyint',
      '1',
      '--stats-file',
      statsFile,
    ],
    (DURATION_S + 30) * 1000,
  );
  const elapsedMs = Date.now() - startedAt;
  const statsText = existsSync(statsFile) ? readFileSync(statsFile, 'utf8') : '';
  const stats = statsText
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...run, elapsedMs, stats, statsText };
}

/** Every spelling of the key (and of its parts) a server might echo. */
function keySpellings(): string[] {
  const parts = [KEY, KEY.slice(0, KEY.indexOf('?')), 'S3cr3t+T0ken', 'S3cr3t T0ken'];
  return parts.flatMap((p) => [p, encodeURIComponent(p), encodeURI(p)]).map((s) => s.toLowerCase());
}

/** Ended in time with `code`, no stack trace, no flood of lines, the key nowhere. */
function expectWellBehaved(result: HostileRun, code: number): void {
  const printed = `${result.stdout}\n${result.stderr}`;
  const context = `exit ${result.code} after ${result.elapsedMs} ms\n${printed.slice(-3000)}`;
  expect(result.elapsedMs, context).toBeLessThanOrEqual((DURATION_S + 5) * 1000);
  expect(result.code, context).toBe(code);
  expect(printed, context).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(printed, context).not.toMatch(/unexpected failure|Uncaught|TypeError|RangeError/);
  // A dead output writing on a closed socket printed one line per packet (~70 a second).
  expect(printed.split('\n').length, context).toBeLessThan(60);
  for (const [where, text] of [
    ['stdout', result.stdout],
    ['stderr', result.stderr],
    ['stats file', result.statsText],
  ] as const) {
    for (const secret of keySpellings())
      expect(text.toLowerCase(), `${where} holds ${secret}`).not.toContain(secret);
  }
}

/** The stats file's final line. */
function finalStats(result: HostileRun): Record<string, unknown> {
  const final = result.stats.at(-1);
  expect(final?.final, 'the final stats line was written').toBe(true);
  return final as Record<string, unknown>;
}

/** Video messages the server received on sessions from `from` on (media after a recovery). */
function videoAfter(fake: FakeRtmpServer, from: number): number {
  return fake.sessions
    .slice(from)
    .reduce((n, s) => n + s.messages.filter((m) => m.messageTypeId === MessageType.VIDEO).length, 0);
}

function later(session: FakeSession, ms: number, act: () => void): void {
  const timer = setTimeout(() => {
    if (!session.closed) act();
  }, ms);
  session.socket.on('close', () => clearTimeout(timer));
}

/** A command message (type 20) on the command chunk stream, with this AMF0 body as it is. */
function rawCommand(body: Buffer): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.COMMAND,
    messageTypeId: MessageType.COMMAND_AMF0,
    messageStreamId: 0,
    timestamp: 0,
    payload: body,
  };
}

/** onStatus whose info object nests `depth` objects deep. */
function deeplyNestedStatus(depth: number): Buffer {
  const head = Buffer.from([0x02, 0x00, 0x08, ...Buffer.from('onStatus'), 0x00, ...Buffer.alloc(8), 0x05]);
  const open = Buffer.from([0x03, 0x00, 0x01, 0x61]); // object, key "a"
  const close = Buffer.from([0x00, 0x00, 0x09]);
  return Buffer.concat([
    head,
    ...Array<Buffer>(depth).fill(open),
    Buffer.from([0x05]),
    ...Array<Buffer>(depth).fill(close),
  ]);
}

describe('steadycast stream against a hostile server', () => {
  it('exits 5 when every publish is answered by Publish.Start and an error status in the same write', async () => {
    server = await FakeRtmpServer.start({
      onPublish: (session, answer) =>
        session.sendTogether([
          ...answer,
          statusMessage(
            'error',
            'NetStream.Publish.Denied',
            `publishing ${KEY.toLowerCase()} is not allowed`,
          ),
        ]),
    });
    const result = await streamTo(server);
    expectWellBehaved(result, 5);
    expect(result.stderr).toMatch(/NetStream\.Publish\.Denied/);
  }, 60_000);

  it.each([
    [
      'an error status',
      (): RtmpMessage => statusMessage('error', 'NetStream.Publish.BadName', 'Already publishing'),
    ],
    ['a close command', (): RtmpMessage => msg.commandMessage(0, 'close', 0, null)],
  ])(
    'recovers when Publish.Start comes with %s in one write on a reconnection',
    async (_what, hostile) => {
      server = await FakeRtmpServer.start({
        onPublish: (session, answer) =>
          session.sendTogether(session.index === 1 ? [...answer, hostile()] : answer),
        // The first connection is cut mid-stream, so the hostile answer comes on a reconnection.
        afterPublish: (session) => {
          if (session.index === 0) later(session, 1500, () => session.socket.destroy());
        },
      });
      const result = await streamTo(server);
      expectWellBehaved(result, 0);
      expect(server.sessions.length).toBeGreaterThanOrEqual(3);
      expect(videoAfter(server, 2)).toBeGreaterThan(15);
      expect(finalStats(result).reconnectCount).toBeGreaterThanOrEqual(1);
    },
    60_000,
  );

  it('recovers when Publish.Start comes with a close command in one write on the first connection', async () => {
    server = await FakeRtmpServer.start({
      onPublish: (session, answer) =>
        session.sendTogether(
          session.index === 0 ? [...answer, msg.commandMessage(0, 'close', 0, null)] : answer,
        ),
    });
    const result = await streamTo(server);
    expectWellBehaved(result, 0);
    expect(videoAfter(server, 1)).toBeGreaterThan(15);
  }, 60_000);

  it.each<[string, (session: FakeSession) => void]>([
    ['garbage bytes', (s) => sendRaw(s, randomBytes(mulberry32(9), 8192))],
    ['a chunk size of 0', (s) => s.send(msg.setChunkSizeMessage(0))],
    ['a 16 MB message', (s) => s.send(rawCommand(Buffer.alloc(0xffffff, 0x05)))],
    ['AMF0 nested 10 000 deep', (s) => s.send(rawCommand(deeplyNestedStatus(10_000)))],
  ])(
    'reconnects and goes on after %s mid-stream',
    async (_what, hostile) => {
      server = await FakeRtmpServer.start({
        afterPublish: (session) => {
          if (session.index === 0) later(session, 1000, () => hostile(session));
        },
      });
      const result = await streamTo(server);
      expectWellBehaved(result, 0);
      expect(server.sessions.length).toBeGreaterThanOrEqual(2);
      expect(videoAfter(server, 1)).toBeGreaterThan(15);
      expect(finalStats(result).reconnectCount).toBeGreaterThanOrEqual(1);
    },
    60_000,
  );

  it.each<[string, (session: FakeSession) => void]>([
    [
      'a chunk size of 2^31−1',
      (s) => {
        s.send(msg.setChunkSizeMessage(0x7fffffff));
        s.setChunkSize(0x7fffffff);
        s.sendStatus('status', 'NetStream.Publish.Start', 'still published');
      },
    ],
    [
      'a flood of 20 000 pings',
      (s) => {
        let sent = 0;
        const timer = setInterval(() => {
          if (s.closed || sent >= 20_000) return clearInterval(timer);
          const burst = Array.from({ length: 500 }, () =>
            msg.userControlMessage(UserControlEvent.PING_REQUEST, sent++),
          );
          s.sendTogether(burst);
        }, 50);
      },
    ],
    [
      'acknowledgements that go backwards',
      (s) => {
        s.send(msg.acknowledgementMessage(0xffffff00));
        later(s, 300, () => s.send(msg.acknowledgementMessage(10)));
        later(s, 600, () => s.send(msg.acknowledgementMessage(0)));
      },
    ],
  ])(
    'streams on through %s without reconnecting',
    async (_what, hostile) => {
      server = await FakeRtmpServer.start({
        afterPublish: (session) => later(session, 1000, () => hostile(session)),
      });
      const result = await streamTo(server);
      expectWellBehaved(result, 0);
      const final = finalStats(result);
      expect(final.reconnectCount).toBe(0);
      expect(server.sessions).toHaveLength(1);
      // Media kept flowing after the hostile part: at least 3 s of 15 fps.
      expect(videoAfter(server, 0)).toBeGreaterThan(60);
      expect(Number(final.currentLatencyMs)).toBeLessThan(2000);
    },
    60_000,
  );

  it('never prints the key a server echoes lowercased or percent-encoded', async () => {
    server = await FakeRtmpServer.start({
      onPublish: (session, answer) => {
        if (session.index > 0) return session.sendTogether(answer);
        const echo = `${KEY.toLowerCase()} / ${encodeURIComponent(KEY)} / ${encodeURIComponent(KEY).toLowerCase()}`;
        session.sendTogether([statusMessage('error', 'NetStream.Publish.BadName', `busy: ${echo}`)]);
      },
    });
    const result = await streamTo(server);
    expectWellBehaved(result, 0);
    expect(videoAfter(server, 1)).toBeGreaterThan(15);
  }, 60_000);

  it('ends at --duration, exit 5, against a server that accepts TCP and never answers', async () => {
    server = await FakeRtmpServer.start({ silentHandshake: true });
    const result = await streamTo(server);
    // No destination accepted the stream and no attempt failed yet (the handshake waits 10 s).
    expectWellBehaved(result, 5);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(DURATION_S * 1000 - 500);
  }, 60_000);

  it('streams on with a --duration longer than a timer can hold (30 days), until Ctrl-C', async () => {
    // Node turns a setTimeout above 2^31 − 1 ms (24.8 days) into 1 ms: this run used to stop at once.
    server = await FakeRtmpServer.start();
    const cli = spawnTracked(process.execPath, [
      CLI,
      'stream',
      server.url('live', KEY),
      '--duration',
      '2592000',
      ...['--size', '320x240', '--fps', '15', '--video-bitrate', '300k', '--quiet'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(cli.hasExited(), cli.stderr()).toBe(false);
    expect(videoAfter(server, 0)).toBeGreaterThan(45); // 3 s and more of 15 fps reached the server
    await stopProcess(cli, 'SIGINT', 5000);
    expect(await cli.exited).toBe(0);
  }, 30_000);
});
