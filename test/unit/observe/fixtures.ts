import type { RtmpOutputStats } from '../../../src/output/rtmp-output.js';
import type { StreamStats } from '../../../src/streamer.js';

/** One output's stats, as the Streamer reports them; override what a test is about. */
export function outputStats(
  over: Partial<StreamStats['outputs'][number]> = {},
): RtmpOutputStats & { readonly videoBitrateBps: number } {
  return {
    state: 'live',
    url: 'rtmp://127.0.0.1:1935/live/****',
    codecNegotiation: null,
    dropState: 'normal',
    videoPacketsDropped: 11,
    audioPacketsDropped: 0,
    videoDropsByReason: {
      'congestion-latency': 1,
      'congestion-packets': 2,
      'congestion-bytes': 0,
      'gop-broken': 8,
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
    videoBitrateBps: 2_500_000,
    reconnectCount: 2,
    connectAttempts: 4,
    lastDisconnectReason: 'connection to 127.0.0.1:1935 reset (ECONNRESET)',
    downtimeMs: 1234,
    lastReconnectMs: 600,
    ...over,
  };
}

/** A Streamer's stats with one output; override what a test is about. */
export function streamStats(over: Partial<StreamStats> = {}): StreamStats {
  return {
    state: 'live',
    uptimeMs: 61_000,
    framesCaptured: 1830,
    framesDuplicated: 2,
    framesLagged: 1,
    framesReplaced: 0,
    framesDroppedOverflow: 0,
    framesDroppedLate: 0,
    framesSkippedEncoder: 5,
    captureFps: 29.97,
    silenceInsertedMs: 20,
    audioOverrunDroppedMs: 0,
    videoPacketsDropped: 11,
    audioPacketsDropped: 0,
    packetsDroppedWhileDisconnected: { video: 3, audio: 4 },
    reconnectCount: 2,
    currentLatencyMs: 312.4,
    maxLatencyMs: 2100.2,
    bytesSent: 5_000_000,
    sendBitrateBps: 2_612_345,
    captureTickLateness: { count: 100, p50Ms: 1, p99Ms: 4, maxMs: 9 },
    audioTickLateness: { count: 100, p50Ms: 1, p99Ms: 3, maxMs: 5 },
    outputs: [outputStats()],
    renditions: [
      {
        name: 'main',
        width: 1280,
        height: 720,
        bitrateBps: 2_500_000,
        outputs: 1,
        framesEncoded: 1825,
        framesSkippedBusy: 5,
      },
    ],
    videoBitrateBps: 2_500_000,
    videoBitrateLowestBps: 2_500_000,
    devices: [{ name: 'screen :0.0', state: 'ok', failures: 0, reopens: 0, downtimeMs: 0, lastError: null }],
    audioEncoder: { name: 'libfdk_aac', note: null },
    framesDroppedFailed: 0,
    recording: null,
    ...over,
  };
}
