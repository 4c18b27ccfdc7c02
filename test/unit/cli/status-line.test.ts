import { describe, expect, it } from 'vitest';
import { formatRenditionChange, formatStatusLine, formatSummary } from '../../../src/cli/status-line.js';
import type { RtmpOutputStats } from '../../../src/output/rtmp-output.js';
import type { StreamStats } from '../../../src/streamer.js';

const output: RtmpOutputStats = {
  state: 'live',
  url: 'rtmp://host/live/****',
  codecNegotiation: null,
  dropState: 'normal',
  videoPacketsDropped: 12,
  audioPacketsDropped: 0,
  videoDropsByReason: {
    'congestion-latency': 1,
    'congestion-packets': 0,
    'congestion-bytes': 0,
    'gop-broken': 11,
    disconnected: 3,
  },
  packetsDroppedWhileDisconnected: { video: 3, audio: 4 },
  dropThresholdMs: 2000,
  currentLatencyMs: 312.4,
  maxLatencyMs: 2100.2,
  latencyMeasure: 'acknowledged',
  ackState: 'acknowledging',
  deliveryRateBps: 2_000_000,
  kernelQueueBytes: null,
  bytesSent: 5_000_000,
  sendBitrateBps: 2_612_345,
  offeredBitrateBps: 2_640_000,
  queuedPackets: 3,
  congestedMs: 1500,
  congestionEvents: 1,
  rendition: 'main',
  renditionSwitches: { down: 0, up: 0 },
  belowTopRenditionMs: 0,
  videoTracks: [],
  reconnectCount: 2,
  connectAttempts: 4,
  lastDisconnectReason: 'connection to 127.0.0.1:1935 reset (ECONNRESET)',
  downtimeMs: 1234,
  lastReconnectMs: 600,
  serverRequestedReconnects: 0,
  serverReconnectFailures: 0,
};

const stats: StreamStats = {
  audioEncoder: { name: 'libfdk_aac', note: null },
  state: 'live',
  uptimeMs: 61_000,
  framesCaptured: 1830,
  framesDuplicated: 2,
  framesLagged: 1,
  framesReplaced: 0,
  framesDroppedOverflow: 0,
  framesDroppedLate: 0,
  framesSkippedEncoder: 0,
  captureFps: 29.97,
  silenceInsertedMs: 0,
  silenceAtStartMs: 0,
  audioOverrunDroppedMs: 0,
  videoPacketsDropped: 12,
  audioPacketsDropped: 0,
  packetsDroppedWhileDisconnected: { video: 3, audio: 4 },
  reconnectCount: 2,
  serverRequestedReconnects: 0,
  currentLatencyMs: 312.4,
  maxLatencyMs: 2100.2,
  bytesSent: 5_000_000,
  sendBitrateBps: 2_612_345,
  captureTickLateness: null,
  audioTickLateness: null,
  outputs: [{ ...output, videoBitrateBps: 2_500_000 }],
  renditions: [
    {
      name: 'main',
      width: 1280,
      height: 720,
      bitrateBps: 2_500_000,
      outputs: 1,
      framesEncoded: 900,
      framesSkippedBusy: 0,
    },
  ],
  videoCodec: 'h264',
  videoCodecFallback: null,
  videoBitrateBps: 2_500_000,
  videoBitrateLowestBps: 2_500_000,
  devices: [
    { name: 'screen :0.0', state: 'ok', failures: 0, reopens: 0, downtimeMs: 0, lastError: null },
    {
      name: 'mic @DEFAULT_SOURCE@',
      state: 'down',
      failures: 2,
      reopens: 1,
      downtimeMs: 4321,
      lastError: 'mic @DEFAULT_SOURCE@ ended',
    },
  ],
  framesDroppedFailed: 0,
  interleave: null,
  recording: null,
};

describe('the live status line', () => {
  it('shows state, fps, bitrate, latency with its measure, drops and reconnects on one line', () => {
    const line = formatStatusLine(stats);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^live\s/);
    for (const part of [
      '30.0 fps',
      '2612 kbit/s',
      'latency 312 ms (acked, max 2100)',
      'dropped v12 a0',
      'offline-dropped 7',
      'reconnects 2',
      'mic @DEFAULT_SOURCE@ DOWN',
    ]) {
      expect(line).toContain(part);
    }
  });

  it('summarises a run with the drops by cause and the last problem, key redacted', () => {
    const summary = formatSummary(stats);
    expect(summary).toContain('1830 frames captured (2 duplicated, 1 lagged');
    expect(summary).toContain('video dropped 12 (congestion), audio dropped 0');
    expect(summary).toContain('dropped while offline: 3 video, 4 audio');
    expect(summary).toContain(
      'rtmp://host/live/****: live, 2 reconnects, 4 attempts, downtime 1.2 s, last problem: connection to',
    );
    expect(summary).toContain(
      'mic @DEFAULT_SOURCE@: failed 2×, reopened 1×, down 4.3 s (still down), last error: mic @DEFAULT_SOURCE@ ended',
    );
    expect(summary).not.toContain('screen :0.0');
  });
});

/** Three destinations: `a` on the main encode, `b` moved down the ladder, `c` reconnecting. */
const ladder = { quality: true, rungs: ['high', 'low'] };
const rung = (name: string, width: number, height: number, bitrateBps: number, outputs: number) => ({
  name,
  width,
  height,
  bitrateBps,
  outputs,
  framesEncoded: 900,
  framesSkippedBusy: 0,
});
const a = { ...output, url: 'rtmp://a.example/live/****', rendition: 'high', videoBitrateBps: 2_500_000 };
const b = {
  ...output,
  url: 'rtmps://b.example/app/****',
  rendition: 'low',
  videoBitrateBps: 800_000,
  currentLatencyMs: 1840.4,
  dropState: 'dropping' as const,
  renditionSwitches: { down: 2, up: 1 },
  belowTopRenditionMs: 12_340,
  lastDisconnectReason: null,
};
const c = { ...output, url: 'rtmp://c.example/live/****', state: 'reconnecting' as const, rendition: 'high' };
const three: StreamStats = {
  ...stats,
  devices: [],
  outputs: [a, b, { ...c, videoBitrateBps: 2_500_000 }],
  renditions: [rung('high', 1280, 720, 2_500_000, 2), rung('low', 640, 360, 800_000, 1)],
};

describe('the live status line with several destinations', () => {
  it('one destination with per-destination quality: the line of today plus the bitrate it carries', () => {
    const plain = formatStatusLine(stats);
    const withQuality = formatStatusLine(stats, { quality: true, rungs: [] });
    expect(withQuality).toBe(plain.replace('2612 kbit/s  ', '2612 kbit/s  video 2500k  '));
  });

  it('one destination without adaptive quality looks exactly as before', () => {
    expect(formatStatusLine(stats)).toBe(
      'live          30.0 fps  2612 kbit/s  latency 312 ms (acked, max 2100)  dropped v12 a0  offline-dropped 7  reconnects 2  mic @DEFAULT_SOURCE@ DOWN',
    );
  });

  it('two destinations: one short part each, lettered, with the bitrate or the rung each carries', () => {
    const line = formatStatusLine({ ...three, outputs: [a, b] }, ladder);
    expect(line).toBe('live  30.0 fps  2612 kbit/s  a: live 2500k 312 ms  b: live low 1840 ms dropping');
  });

  it('three destinations fit in 100 columns; one not live shows only its state', () => {
    const line = formatStatusLine(three, ladder);
    expect(line).toBe(
      'live  30.0 fps  2612 kbit/s  a: live 2500k 312 ms  b: live low 1840 ms dropping  c: reconnecting',
    );
    expect(line.length).toBeLessThanOrEqual(100);
  });

  it('without a ladder, a destination on an encode made on demand shows that encode’s bitrate', () => {
    const onDemand = {
      ...b,
      rendition: 'adaptive-1',
      videoBitrateBps: 1_200_000,
      dropState: 'normal' as const,
    };
    const line = formatStatusLine({ ...three, outputs: [a, onDemand] }, { quality: true, rungs: [] });
    expect(line).toContain('a: live 2500k 312 ms  b: live 1200k 1840 ms');
  });

  it('without adaptive quality, several destinations show state and latency only', () => {
    const line = formatStatusLine({ ...three, outputs: [a, a] });
    expect(line).toContain('a: live 312 ms  b: live 312 ms');
    expect(line).not.toContain('2500k');
  });

  it('a capture device that is down still shows after the destinations', () => {
    const line = formatStatusLine({ ...three, devices: stats.devices }, ladder);
    expect(line.endsWith('c: reconnecting  mic @DEFAULT_SOURCE@ DOWN')).toBe(true);
  });
});

describe('the summary with several destinations', () => {
  it('lists every destination, with its moves between renditions when it made any', () => {
    const summary = formatSummary(three);
    expect(summary).toContain(
      '  rtmp://a.example/live/****: live, 2 reconnects, 4 attempts, downtime 1.2 s, last problem: connection to',
    );
    expect(summary).toContain(
      '  rtmps://b.example/app/****: live, 2 reconnects, 4 attempts, downtime 1.2 s, quality 2 down 1 up, 12.3 s below the top, ended on low\n',
    );
    expect(summary).toContain('  rtmp://c.example/live/****: reconnecting, 2 reconnects');
  });

  it('gives a multitrack destination’s video drops per track, track 0 first', () => {
    const track = (id: number, dropped: number) => ({
      id,
      rendition: `r${id}`,
      dropState: 'normal' as const,
      written: 300,
      sent: 300 - dropped,
      dropped,
    });
    const multitrack = { ...three.outputs[0]!, videoTracks: [track(0, 0), track(1, 0), track(2, 196)] };
    expect(formatSummary({ ...three, outputs: [multitrack] })).toContain(
      'downtime 1.2 s, video dropped by track 0/0/196 (track 0 first), last problem',
    );
  });
});

describe('the notice when a destination switches rendition', () => {
  it('names the destination, both renditions with size and bitrate, and why', () => {
    expect(
      formatRenditionChange('rtmps://b.example/app/****', 'high', 'low', 'congested', three.renditions),
    ).toBe(
      'rtmps://b.example/app/****: video high 1280x720 2500k -> low 640x360 800k (congested; the other destinations keep theirs)',
    );
    expect(formatRenditionChange('rtmp://h/live/****', 'adaptive-1', 'main', 'recovered', [])).toBe(
      'rtmp://h/live/****: video adaptive-1 -> main (its path keeps up again)',
    );
  });

  it.each([
    'rtmp://h/live/SECRETKEY',
    'rtmps://h:443/app/inst/SECRETKEY?token=SECRETTOKEN',
    'rtmp://user:SECRETKEY@h/live/SECRETKEY',
  ])('never contains the stream key, whatever URL it is given (%s)', (url) => {
    const line = formatRenditionChange(url, 'high', 'low', 'congested', three.renditions);
    expect(line).not.toMatch(/SECRET/);
    expect(line).toContain('****');
    expect(line.split('\n')).toHaveLength(1);
  });
});
