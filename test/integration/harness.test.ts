import { writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishWithFfmpeg } from '../helpers/ffmpeg-publisher.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { checkRecordingStart, readFlvTags } from '../helpers/flv-tags.js';
import { probeMedia, type MediaReport } from '../helpers/media-probe.js';
import { runScenarioInNetns } from '../helpers/netns.js';
import { HANDSHAKE_BYTES, RtmpChunkReader, type RtmpMessage } from '../helpers/rtmp-chunk-reader.js';
import { NGINX_RTMP_MODULE, startNginxRtmp, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { startFfmpegSubscriber, startNodeMediaServer } from '../helpers/node-media-server.js';
import { isListening, makeTempDir, requirementSkipReason, sleep } from '../helpers/process.js';
import { startTlsProxy } from '../helpers/tls-proxy.js';
import { isFrame, messageRate, startWireTap, summarize, type WireTap } from '../helpers/wire-tap.js';

const SCENARIOS = join(import.meta.dirname, '..', 'helpers', 'scenarios');

const serverSkip = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const tlsSkip = requirementSkipReason({
  tools: ['openssl', 'nginx', 'ffmpeg', 'ss'],
  files: [NGINX_RTMP_MODULE],
});
const netnsSkip = requirementSkipReason({ tools: ['unshare', 'tc', 'ip', 'nft'], root: true });
const nmsSkip = requirementSkipReason({ tools: ['ffmpeg', 'ffprobe', 'ss'] });

function expectCleanThreeSecondStream(report: MediaReport): void {
  expect(report.decodeErrors).toEqual([]);
  expect(report.video?.codecName).toBe('h264');
  expect(report.video?.width).toBe(320);
  expect(report.video?.frameCount).toBeGreaterThanOrEqual(85);
  expect(report.video?.frameCount).toBeLessThanOrEqual(92);
  expect(report.video?.firstPacketIsKeyframe).toBe(true);
  expect(report.video?.dtsMonotonic).toBe(true);
  expect(report.audio?.codecName).toBe('aac');
  expect(report.audio?.sampleRate).toBe(48000);
  expect(report.audio?.durationS).toBeGreaterThan(2.8);
  expect(report.audio?.durationS).toBeLessThan(3.3);
  expect(report.audio?.gaps).toEqual([]);
}

describe.skipIf(serverSkip !== undefined)(`nginx-rtmp, media probe and wire tap ${serverSkip ?? ''}`, () => {
  let nginx: NginxRtmpHandle;
  let tap: WireTap;
  let published: Awaited<ReturnType<typeof publishWithFfmpeg>>;

  beforeAll(async () => {
    nginx = await startNginxRtmp();
    tap = await startWireTap({ targetPort: nginx.port });
    published = await publishWithFfmpeg(tap.url('live', 'test'));
    await nginx.waitForRecordingsClosed();
  }, 60_000);

  afterAll(async () => {
    await tap?.stop();
    await nginx?.stop();
  });

  it('records an ffmpeg stream that decodes cleanly: ~90 frames, ~3 s of audio, no gaps', async () => {
    expect(published.code, published.stderr).toBe(0);
    const files = nginx.recordings();
    expect(files).toHaveLength(1);
    expectCleanThreeSecondStream(await probeMedia(files[0] ?? ''));
  });

  it('reads the FLV tags of a recording: both sequence headers, then a keyframe', () => {
    const tags = readFlvTags(nginx.recordings()[0] ?? '');
    const start = checkRecordingStart(tags);
    expect(start.problems).toEqual([]);
    expect(tags.filter((t) => t.video?.packetType === 'nalu')).toHaveLength(90);
  });

  it('wire tap sees every media message with its RTMP timestamp and arrival time, ~30 video msgs/s', () => {
    expect(tap.connections).toHaveLength(1);
    const conn = tap.connections[0];
    if (conn === undefined) throw new Error('no connection');
    expect(conn.parseError).toBeUndefined();
    const video = conn.media.filter((m) => m.type === 9 && isFrame(m));
    expect(video).toHaveLength(90);
    expect(video[0]?.keyframe).toBe(true);
    expect(video[89]?.timestampMs).toBeGreaterThan(2900);
    expect(messageRate(conn, 9)).toBeGreaterThan(24);
    expect(messageRate(conn, 9)).toBeLessThan(45);
    // Arrival follows timestamps in real time (-re): relative latency stays small on an idle link.
    expect(summarize(tap.latenciesMs(conn, 'min')).p50).toBeLessThan(1000);
    const serverCommands = conn.fromServer.map((m) => m.statusCode).filter((c) => c !== undefined);
    expect(serverCommands).toContain('NetStream.Publish.Start');
    // nginx announces its 5000000-byte window; it acks only if the CLIENT sends one (ffmpeg does not).
    expect(conn.fromServer.find((m) => m.type === 5)?.value).toBe(5_000_000);
    expect(conn.fromClient.some((m) => m.type === 5)).toBe(false);
    expect(conn.fromServer.some((m) => m.type === 3)).toBe(false);
  });

  it('gives every publishing connection its own recording, even two in the same second', async () => {
    const server = await startNginxRtmp();
    try {
      // record_unique names files by the second: publish until two publishes share one. Each pair
      // starts just after a second begins, so the second publish (ffmpeg start, connect, 0.1 s of
      // media) usually lands in the same one; a slow machine gets more pairs within the time left.
      const second = (file: string): string => /-(\d+)-\d+\.flv$/.exec(file)?.[1] ?? file;
      const deadline = Date.now() + 20_000;
      let publishes = 0;
      let files: string[] = [];
      while (Date.now() < deadline && new Set(files.map(second)).size === files.length) {
        if (publishes % 2 === 0) await sleep(1000 - (Date.now() % 1000) + 20);
        const run = await publishWithFfmpeg(server.url('live', 'twice'), { durationS: 0.1 });
        expect(run.code, run.stderr).toBe(0);
        publishes++;
        files = await server.waitForRecordingsClosed();
      }
      expect(new Set(files.map(second)).size).toBeLessThan(files.length);
      expect(files).toHaveLength(publishes);
      for (const file of files) expect(checkRecordingStart(readFlvTags(file)).problems).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('refuses publishing when denyPublish is set, and ffmpeg fails', async () => {
    const server = await startNginxRtmp({ denyPublish: true });
    try {
      const run = await publishWithFfmpeg(server.url(), { durationS: 1 });
      expect(run.code).not.toBe(0);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('kill() stops nginx at once and restart() brings it back on the same port', async () => {
    const server = await startNginxRtmp();
    await server.kill();
    expect(server.isRunning()).toBe(false);
    expect(isListening(server.port)).toBe(false);
    await server.restart();
    expect(isListening(server.port)).toBe(true);
    await server.stop();
    expect(isListening(server.port)).toBe(false);
  });
});

describe.skipIf(nmsSkip !== undefined)(`node-media-server ${nmsSkip ?? ''}`, () => {
  it('records what ffmpeg published, one file per publish with publishGraceMs 0; a subscriber sees it too', async () => {
    const nms = await startNodeMediaServer({ publishGraceMs: 0 });
    const tap = await startWireTap({ targetPort: nms.port });
    try {
      const subscriber = startFfmpegSubscriber(nms.url());
      await sleep(300);
      const run = await publishWithFfmpeg(tap.url());
      expect(run.code, run.stderr).toBe(0);
      await subscriber.stop();
      await sleep(300);
      const files = nms.recordings();
      expect(files).toHaveLength(1);
      expectCleanThreeSecondStream(await probeMedia(files[0] ?? ''));
      const seen = await probeMedia(subscriber.outputFile);
      expect(seen.video?.frameCount).toBeGreaterThanOrEqual(80);
      expect(seen.decodeErrors).toEqual([]);
      // NMS never acknowledges, whatever the client does.
      expect(tap.connections[0]?.fromServer.some((m) => m.type === 3)).toBe(false);
    } finally {
      await tap.stop();
      await nms.stop();
    }
  }, 40_000);
});

describe.skipIf(tlsSkip !== undefined)(`TLS proxy ${tlsSkip ?? ''}`, () => {
  it('terminates TLS for a client that trusts the test CA and rejects the untrusted certificate', async () => {
    const echo = await startEchoServer();
    const proxy = await startTlsProxy({ targetPort: (echo.address() as AddressInfo).port });
    try {
      const reply = await tlsRoundTrip(proxy.port, proxy.certificates.caPem, 'hello');
      expect(reply).toBe('hello');
      proxy.setCertificate('untrusted');
      await expect(tlsRoundTrip(proxy.port, proxy.certificates.caPem, 'x')).rejects.toThrow(
        /self[- ]signed/i,
      );
      proxy.setCertificate('wrongHost');
      await expect(tlsRoundTrip(proxy.port, proxy.certificates.caPem, 'x')).rejects.toThrow(/altnames|host/i);
    } finally {
      await proxy.stop();
      echo.close();
    }
  });

  it('carries an ffmpeg RTMPS publish (verifying the test CA) to nginx', async () => {
    const nginx = await startNginxRtmp();
    const proxy = await startTlsProxy({ targetPort: nginx.port });
    try {
      const caFile = join(makeTempDir('ca'), 'ca.pem');
      writeFileSync(caFile, proxy.certificates.caPem);
      const run = await publishWithFfmpeg(proxy.url(), {
        durationS: 1,
        outputArgs: ['-tls_verify', '1', '-ca_file', caFile],
      });
      expect(run.code, run.stderr).toBe(0);
      const files = await nginx.waitForRecordingsClosed();
      expect(files).toHaveLength(1);
      expect((await probeMedia(files[0] ?? '')).decodeErrors).toEqual([]);
    } finally {
      await proxy.stop();
      await nginx.stop();
    }
  }, 30_000);
});

describe('fault proxy', () => {
  it('forwards, black-holes (sender fills up, nothing arrives), heals, then cuts and resets', async () => {
    let received = 0;
    const sink = createServer((s) =>
      s.on('data', (c: Buffer) => (received += c.length)).on('error', () => {}),
    );
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const proxy = await startFaultProxy({ targetPort: (sink.address() as AddressInfo).port });
    try {
      const client = await connectTo(proxy.port);
      client.write(Buffer.alloc(1000));
      await waitFor(() => received === 1000);
      proxy.blackHole();
      const block = Buffer.alloc(64 * 1024);
      let queued = 0;
      const before = received;
      // Write until the kernel buffers are full: write() keeps returning false and bytes pile up.
      for (let i = 0; i < 400 && client.writableLength < 4 * 1024 * 1024; i++) {
        client.write(block);
        queued += block.length;
        await sleep(2);
      }
      await sleep(300);
      expect(client.writableLength).toBeGreaterThan(0);
      expect(received - before).toBeLessThan(queued / 2);
      proxy.heal();
      await waitFor(() => received - before === queued, 10_000);
      expect(proxy.stats().bytesToServer).toBe(received);

      const closed = new Promise<string>((resolve) => {
        client.on('error', (e) => resolve(`error ${e.message}`));
        client.on('end', () => resolve('end'));
      });
      proxy.cut();
      expect(await closed).toBe('end');

      const second = await connectTo(proxy.port);
      const reset = new Promise<string>((resolve) =>
        second.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')),
      );
      await waitFor(() => proxy.stats().active === 1);
      proxy.reset();
      expect(await reset).toBe('ECONNRESET');
    } finally {
      await proxy.stop();
      sink.close();
    }
  });
});

describe.skipIf(netnsSkip !== undefined)(`network namespace shaping ${netnsSkip ?? ''}`, () => {
  it('limits a TCP transfer to the tc rate (±25 %) and changes the rate at runtime', async () => {
    const run = await runScenarioInNetns<{ results: Array<{ rateKbit: number; measuredKbit: number }> }>(
      join(SCENARIOS, 'tcp-throughput.ts'),
      ['1000', '3000'],
    );
    expect(run.code, run.stderr).toBe(0);
    const results = run.json?.results ?? [];
    expect(results).toHaveLength(2);
    for (const { rateKbit, measuredKbit } of results) {
      expect(measuredKbit).toBeGreaterThan(rateKbit * 0.75);
      expect(measuredKbit).toBeLessThan(rateKbit * 1.25);
    }
  }, 40_000);
});

async function startEchoServer(): Promise<Server> {
  const server = createServer((s) => s.pipe(s).on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function tlsRoundTrip(port: number, caPem: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: caPem }, () => {
      socket.write(text);
    });
    socket.setEncoding('utf8');
    socket.once('data', (data: string) => {
      socket.destroy();
      resolve(data);
    });
    socket.once('error', reject);
  });
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('wire tap chunk reader', () => {
  it('reassembles fmt 0–3 chunks with extended timestamps and follows Set Chunk Size', () => {
    const messages: RtmpMessage[] = [];
    const reader = new RtmpChunkReader((m) => messages.push(m));
    const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
    const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
    const video = (first: number, size: number): number[] => [
      first,
      1,
      ...new Array<number>(size - 2).fill(0),
    ];
    // prettier-ignore
    const bytes = [
      ...new Array<number>(HANDSHAKE_BYTES).fill(0),
      // Set Chunk Size 200 on csid 2, fmt 0
      0x02, ...u24(0), ...u24(4), 1, 0, 0, 0, 0, ...u32(200),
      // video, 300 bytes at ts 0x01000000 (extended) on csid 6: fmt 0 + 200 bytes, then fmt 3 (+ext ts) + 100
      0x06, ...u24(0xffffff), ...u24(300), 9, 1, 0, 0, 0, ...u32(0x01000000), ...video(0x17, 300).slice(0, 200),
      0xc6, ...u32(0x01000000), ...video(0x17, 300).slice(200),
      // fmt 1, delta 33 → 0x01000021
      0x46, ...u24(33), ...u24(10), 9, ...video(0x27, 10),
      // fmt 2, delta 34 → 0x01000043
      0x86, ...u24(34), ...video(0x27, 10),
      // fmt 3 starting a message: same delta 34 → 0x01000065
      0xc6, ...video(0x27, 10),
    ];
    const buf = Buffer.from(bytes);
    // Feed in odd slices: the reader must cope with chunks split anywhere.
    for (let i = 0; i < buf.length; i += 7) expect(reader.push(buf.subarray(i, i + 7), i)).toBeUndefined();
    expect(messages.map((m) => [m.type, m.length, m.timestampMs])).toEqual([
      [1, 4, 0],
      [9, 300, 0x01000000],
      [9, 10, 0x01000021],
      [9, 10, 0x01000043],
      [9, 10, 0x01000065],
    ]);
    expect(messages[1]?.head[0]).toBe(0x17);
  });
});
