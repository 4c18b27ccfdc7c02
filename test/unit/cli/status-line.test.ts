import { describe, expect, it } from 'vitest';
import { formatStatusLine, formatSummary } from '../../../src/cli/status-line.js';
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
  queuedPackets: 3,
  congestedMs: 1500,
  congestionEvents: 1,
  rendition: 'main',
  renditionSwitches: { down: 0, up: 0 },
  belowTopRenditionMs: 0,
  reconnectCount: 2,
  connectAttempts: 4,
  lastDisconnectReason: 'connection to 127.0.0.1:1935 reset (ECONNRESET)',
  downtimeMs: 1234,
  lastReconnectMs: 600,
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
  audioOverrunDroppedMs: 0,
  videoPacketsDropped: 12,
  audioPacketsDropped: 0,
  packetsDroppedWhileDisconnected: { video: 3, audio: 4 },
  reconnectCount: 2,
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
