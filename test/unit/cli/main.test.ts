/**
 * The CLI's contract with scripts: one line on stderr naming the problem, a stable exit code per kind
 * of failure, and never the stream key, even when the command line is wrong.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT, exitCodeFor, main } from '../../../src/cli/main.js';
import { ConfigError, StallError } from '../../../src/core/errors.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { FourCcInfoMask } from '../../../src/rtmp/enhanced-negotiation.js';
import { RtmpConnectionError, RtmpServerError, mapSocketError } from '../../../src/rtmp/errors.js';
import { FakeRtmpServer } from '../../helpers/fake-rtmp-server.js';

function captureStderr(): { text: () => string } {
  let text = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  return { text: () => text };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('steadycast stream with a wrong command line', () => {
  it.each([
    ['a URL and an argument that is not one', ['rtmp://127.0.0.1/live/SECRETKEY', 'extra']],
    ['the key given apart from the URL', ['rtmp://127.0.0.1/live', 'SECRETKEY']],
  ])('%s: usage exit, one line naming the argument by its place, no stream key', async (_, args) => {
    const stderr = captureStderr();
    const code = await main(['stream', ...args]);
    expect(code).toBe(EXIT.usage);
    expect(stderr.text()).toMatch(/^steadycast: invalid url: "argument 2 of 2" — it is not a URL/);
    expect(stderr.text().trim().split('\n')).toHaveLength(1);
    expect(stderr.text()).not.toContain('SECRETKEY');
  });

  it('the same destination twice: usage exit, key hidden', async () => {
    const stderr = captureStderr();
    const url = 'rtmp://127.0.0.1/live/SECRETKEY';
    expect(await main(['stream', url, url])).toBe(EXIT.usage);
    expect(stderr.text()).toContain('the same destination as argument 1');
    expect(stderr.text()).not.toContain('SECRETKEY');
  });

  it.each([
    [['--rendition', 'high'], 'invalid --rendition: "high" — write NAME=WIDTHxHEIGHT@BITRATE'],
    [
      ['--rendition', 'high=1280x720@2500k', '--rendition', 'high=640x360@800k'],
      'invalid --rendition: "high=640x360@800k" — "high" is taken',
    ],
    [['--rendition', 'low=641x360@800k'], 'invalid --rendition: "low=641x360@800k" — use an even width'],
    [['--rendition', 'high=1280x720@2500k', '--size', '1920x1080'], 'invalid --size: "1920x1080"'],
    [['--adaptive-quality', '--adaptive-bitrate'], 'invalid --adaptive-bitrate: true'],
  ])('%j: usage exit, one line naming the flag, before anything connects', async (args, message) => {
    const stderr = captureStderr();
    expect(
      await main(['stream', 'rtmp://127.0.0.1/live/SECRETKEY', 'rtmp://127.0.0.2/live/k', ...args]),
    ).toBe(EXIT.usage);
    expect(stderr.text()).toContain(`steadycast: ${message}`);
    expect(stderr.text().trim().split('\n')).toHaveLength(1);
    expect(stderr.text()).not.toContain('SECRETKEY');
  });

  it('no URL at all: usage exit naming what is missing', async () => {
    const stderr = captureStderr();
    expect(await main(['stream'])).toBe(EXIT.usage);
    expect(stderr.text()).toContain('invalid url: "none given"');
  });

  it('a malformed URL: usage exit, key hidden', async () => {
    const stderr = captureStderr();
    expect(await main(['stream', 'rtmp:/127.0.0.1/live/SECRETKEY'])).toBe(EXIT.usage);
    expect(stderr.text()).not.toContain('SECRETKEY');
  });

  it.each([
    ['hevc,vp9', 'use one of h264, hevc, av1 (not "vp9"), each once, e.g. hevc,h264'],
    ['hevc,h264,hevc', 'name each codec once, e.g. hevc,h264'],
  ])('--codec %s: usage exit, one line saying what to type', async (codec, fix) => {
    const stderr = captureStderr();
    expect(await main(['stream', 'rtmp://127.0.0.1/live/SECRETKEY', '--codec', codec])).toBe(EXIT.usage);
    expect(stderr.text()).toBe(`steadycast: invalid --codec: "${codec}" — ${fix}\n`);
  });
});

describe('steadycast stream --codec hevc,h264', () => {
  it('to a server that answers without HEVC but with AVC: one stderr line says the fallback (key hidden), H.264 is sent, exit 0', async () => {
    const server = await FakeRtmpServer.start({
      connectResult: { properties: { videoFourCcInfoMap: { avc1: FourCcInfoMask.CanDecode } } },
    });
    try {
      const stderr = captureStderr();
      const url = server.url('live', 'SECRETKEY');
      const args = [
        '--codec',
        'hevc,h264',
        '--size',
        '320x180',
        '--audio',
        'none',
        '--duration',
        '1',
        '--quiet',
      ];
      expect(await main(['stream', url, ...args])).toBe(EXIT.ok);
      const fallback = stderr
        .text()
        .split('\n')
        .filter((line) => line.includes('does not take'));
      expect(fallback).toEqual([
        `rtmp://127.0.0.1:${server.port}/live/****: does not take hevc; sending h264 (--codec hevc,h264)`,
      ]);
      expect(stderr.text()).not.toContain('SECRETKEY');
      const video = server.sessions[0]?.messages.filter((m) => m.messageTypeId === MessageType.VIDEO) ?? [];
      expect(video[0]?.payload.subarray(0, 2).toString('hex')).toBe('1700'); // an AVC sequence header
    } finally {
      await server.stop();
    }
  });
});

describe('exit codes by failure', () => {
  const where = '192.0.2.1:1935';
  const socketError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

  it.each([
    ['ENOTFOUND', EXIT.unreachable],
    ['EHOSTUNREACH', EXIT.unreachable],
    ['ENETUNREACH', EXIT.unreachable],
    ['ECONNREFUSED', EXIT.refused],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', EXIT.tlsCertificate],
    ['ECONNRESET', EXIT.connectionLost],
    ['EPIPE', EXIT.connectionLost],
    ['EPROTO', EXIT.connectionLost],
  ])('socket error %s → exit %i', (code, exit) => {
    expect(exitCodeFor(mapSocketError(socketError(code), where))).toBe(exit);
  });

  it.each([
    ['ERR_RTMP_CLOSED_BY_SERVER', EXIT.connectionLost],
    ['ERR_RTMP_PUBLISH_TIMEOUT', EXIT.rejected],
    ['ERR_RTMP_CONNECT_TIMEOUT', EXIT.unreachable],
    ['ERR_RTMP_TLS_HANDSHAKE_TIMEOUT', EXIT.connectionLost],
  ] as const)('%s → exit %i', (code, exit) => {
    expect(exitCodeFor(new RtmpConnectionError(code, 'x'))).toBe(exit);
  });

  it.each([
    [
      'a rejected publish',
      new RtmpServerError('publish', 'NetStream.Publish.BadName', '', 'h:1935'),
      EXIT.rejected,
    ],
    ['a stall', new StallError('no progress'), EXIT.connectionLost],
    ['a bad option', new ConfigError('video.fps', 0, 'use 1 to 240'), EXIT.usage],
  ])('%s → exit %i', (_what, error, exit) => {
    expect(exitCodeFor(error)).toBe(exit);
  });

  it('a failure of no known kind → exit 1', () => {
    expect(exitCodeFor(new Error('boom'))).toBe(EXIT.failure);
  });
});
