import { basename, join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatsFile, runCli } from '../helpers/cli.js';
import { checkRecordingStart, readFlvTags } from '../helpers/flv-tags.js';
import { probeMedia } from '../helpers/media-probe.js';
import { expectCleanRecording, framesFromStats } from '../helpers/recording-checks.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { startNodeMediaServer, type NodeMediaServerHandle } from '../helpers/node-media-server.js';
import { freePort, makeTempDir, requirementSkipReason } from '../helpers/process.js';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss', 'openssl'],
  files: [NGINX_RTMP_MODULE],
});
const dir = makeTempDir('stream-test');

describe.skipIf(missing)('steadycast stream against real servers', () => {
  let nginx: NginxRtmpHandle;
  beforeAll(async () => {
    nginx = await startNginxRtmp();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('publishes 20 s to nginx-rtmp: 600 frames, both sequence headers then a keyframe, gapless audio, zero decode errors', async () => {
    const statsFile = join(dir, 'nginx-stats.jsonl');
    const run = await runCli([
      'stream',
      nginx.url('live', 'twenty'),
      '--duration',
      '20',
      '--stats-file',
      statsFile,
    ]);
    expect(run.stderr).not.toContain('twenty');
    expect(run.code).toBe(0);
    const [recording] = await nginx.waitForRecordingsClosed();
    if (!recording) throw new Error(`nginx recorded nothing:\n${nginx.errorLog()}`);
    const stats = readStatsFile(statsFile);
    const frames = framesFromStats(stats.at(-1) ?? {}, 20);
    expectCleanRecording(await probeMedia(recording), { frames, seconds: 20 });
    expect(checkRecordingStart(readFlvTags(recording)).problems).toEqual([]);
    expect(stats.length).toBeGreaterThanOrEqual(19);
    const final = stats[stats.length - 1];
    expect(final).toMatchObject({
      final: true,
      state: 'stopped',
      videoPacketsDropped: 0,
      audioPacketsDropped: 0,
    });
    expect(JSON.stringify(stats)).not.toContain('twenty');
  }, 60_000);

  it('publishes 20 s to node-media-server with the same result', async () => {
    const nms: NodeMediaServerHandle = await startNodeMediaServer({ publishGraceMs: 0 });
    try {
      const statsFile = join(dir, 'nms-stats.jsonl');
      const run = await runCli([
        'stream',
        nms.url('live', 'nms'),
        '--duration',
        '20',
        '--stats-file',
        statsFile,
        '--quiet',
      ]);
      expect(run.code).toBe(0);
      await nms.stop();
      const [recording] = nms.recordings();
      if (!recording) throw new Error(`node-media-server recorded nothing:\n${nms.log()}`);
      const frames = framesFromStats(readStatsFile(statsFile).at(-1) ?? {}, 20);
      expectCleanRecording(await probeMedia(recording), { frames, seconds: 20 });
      expect(checkRecordingStart(readFlvTags(recording)).problems).toEqual([]);
    } finally {
      await nms.stop();
    }
  }, 60_000);

  describe('over RTMPS through a TLS terminator', () => {
    let proxy: TlsProxy;
    let caFile: string;
    beforeAll(async () => {
      proxy = await startTlsProxy({ targetPort: nginx.port });
      caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, proxy.certificates.caPem);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('publishes when the certificate is trusted', async () => {
      const run = await runCli([
        'stream',
        proxy.url('live', 'secure'),
        '--duration',
        '5',
        '--ca',
        caFile,
        '--stats-file',
        join(dir, 'tls-stats.jsonl'),
        '--quiet',
      ]);
      expect(run.stderr).toBe(run.stderr.replace('secure', ''));
      expect(run.code).toBe(0);
      const recordings = await nginx.waitForRecordingsClosed();
      const recording = recordings.find((file) => basename(file).startsWith('secure'));
      if (!recording) throw new Error('nginx recorded nothing through the TLS proxy');
      const frames = framesFromStats(readStatsFile(join(dir, 'tls-stats.jsonl')).at(-1) ?? {}, 5);
      expectCleanRecording(await probeMedia(recording), { frames, seconds: 5 });
    }, 30_000);

    it('refuses an untrusted certificate with a clear error and exit code 6, without retrying forever', async () => {
      proxy.setCertificate('untrusted');
      try {
        const started = Date.now();
        const run = await runCli(['stream', proxy.url('live', 'secure'), '--duration', '5', '--quiet']);
        expect(run.code).toBe(6);
        expect(run.stderr).toMatch(/TLS certificate .* rejected/);
        expect(run.stderr).not.toContain('    at ');
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        proxy.setCertificate('trusted');
      }
    }, 30_000);
  });

  describe('bad input ends with a one-line error and a distinct exit code', () => {
    const cases: [string, () => Promise<string[]>, number, RegExp][] = [
      ['a malformed URL', async () => ['stream', 'rtmp//127.0.0.1/live/key'], 2, /URL/],
      [
        'an unknown option value',
        async () => ['stream', 'rtmp://127.0.0.1/live/key', '--video', 'tv'],
        2,
        /--video/,
      ],
      ['an unreachable host', async () => ['stream', 'rtmp://no-such-host.invalid/live/key'], 3, /not found/],
      [
        'a refused connection',
        async () => ['stream', `rtmp://127.0.0.1:${await freePort()}/live/key`],
        4,
        /refused/,
      ],
    ];
    for (const [what, args, code, message] of cases) {
      it(`${what}`, async () => {
        const run = await runCli([...(await args()), '--duration', '3', '--quiet'], 30_000);
        expect(run.code).toBe(code);
        expect(run.stderr).toMatch(message);
        expect(run.stderr).not.toContain('    at ');
        expect(run.stderr).not.toMatch(/\/key\b/);
      }, 40_000);
    }

    it('a server that denies publishing', async () => {
      const denying = await startNginxRtmp({ denyPublish: true });
      try {
        const run = await runCli(
          ['stream', denying.url('live', 'denied'), '--duration', '3', '--quiet'],
          30_000,
        );
        expect(run.code).toBe(5);
        expect(run.stderr).toMatch(/rejected|denied|refused the publish/i);
        expect(run.stderr).not.toContain('denied'.concat('/'));
        expect(run.stderr).not.toContain('    at ');
      } finally {
        await denying.stop();
      }
    }, 40_000);
  });
});
