import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Registry } from 'prom-client';
import type { StreamStats } from '../streamer.js';
import { listen } from './dashboard-server.js';
import { exposureWarning, urlOf } from './listen-address.js';

/**
 * prom-client, loaded on first use: it and the OpenTelemetry API it brings cost 85 ms of CPU at start-up
 * (a fifth of the CLI's), and most runs never create a registry. A bundle that inlines steadycast must
 * keep prom-client external (resolvable from steadycast's own location), as it must node-av.
 */
let promClient: typeof PromClient | undefined;
function prom(): typeof PromClient {
  if (promClient) return promClient;
  try {
    promClient = createRequire(import.meta.url)('prom-client') as typeof PromClient;
  } catch (error) {
    throw new Error(
      `loading prom-client for the metrics registry failed (${error instanceof Error ? error.message : String(error)}): ` +
        'it is a dependency of steadycast; if your app bundles steadycast, keep prom-client external',
      { cause: error },
    );
  }
  return promClient;
}

/** Every output state a gauge reports (one series each, 1 for the current one). */
const OUTPUT_STATES = [
  'idle',
  'connecting',
  'live',
  'reconnecting',
  'stopping',
  'stopped',
  'failed',
] as const;
/** Every summary state of a Streamer. */
const STREAMER_STATES = ['idle', 'starting', ...OUTPUT_STATES.filter((s) => s !== 'idle')] as const;
/** Video drop reasons counted under congestion (the `disconnected` ones come from the offline counts). */
const CONGESTION_REASONS = [
  'congestion-latency',
  'congestion-packets',
  'congestion-bytes',
  'gop-broken',
] as const;

/** Where the metrics come from: a Streamer, or anything with the same stats. */
export interface MetricsSource {
  /** A snapshot of every counter. */
  readonly stats: StreamStats;
}

/** The label of an output: its name, or its URL with the stream key hidden (from the stats). */
export type OutputLabeler = (redactedUrl: string, index: number) => string;

/**
 * A prom-client Registry whose metrics read the Streamer's stats at each scrape (nothing is kept
 * twice, so counters always equal the stats). Names follow Prometheus: prefix `steadycast_`, counters
 * end in `_total`, base units (`_seconds`, `_bytes`); one `output` label per destination, which is the
 * URL with the key hidden, or a name you give. Merge it into your own with `Registry.merge()`.
 */
export function createMetricsRegistry(source: MetricsSource, label: OutputLabeler = (url) => url): Registry {
  const { Counter, Gauge, Registry } = prom();
  const registry = new Registry();
  let cached: StreamStats | null = null;
  // One stats snapshot per scrape: every metric's collect() runs in the same synchronous pass.
  const stats = (): StreamStats => {
    if (cached === null) {
      cached = source.stats;
      queueMicrotask(() => (cached = null));
    }
    return cached;
  };
  const outputs = (): { label: string; o: StreamStats['outputs'][number] }[] =>
    stats().outputs.map((o, i) => ({ label: label(o.url, i), o }));

  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };

  counter(
    'steadycast_packets_dropped_total',
    'Packets dropped, by output, kind (video, audio) and reason (congestion-*, gop-broken, disconnected).',
    ['output', 'kind', 'reason'],
    (c) => {
      for (const { label: output, o } of outputs()) {
        for (const reason of CONGESTION_REASONS) {
          c.inc({ output, kind: 'video', reason }, o.videoDropsByReason[reason] ?? 0);
        }
        c.inc({ output, kind: 'audio', reason: 'congestion' }, o.audioPacketsDropped);
        c.inc({ output, kind: 'video', reason: 'disconnected' }, o.packetsDroppedWhileDisconnected.video);
        c.inc({ output, kind: 'audio', reason: 'disconnected' }, o.packetsDroppedWhileDisconnected.audio);
      }
    },
  );
  const perOutput = (pick: (o: StreamStats['outputs'][number]) => number) => (m: Counter | Gauge) => {
    for (const { label: output, o } of outputs()) {
      if (m instanceof Counter) m.inc({ output }, pick(o));
      else m.set({ output }, pick(o));
    }
  };
  counter(
    'steadycast_reconnects_total',
    'Successful reconnections.',
    ['output'],
    perOutput((o) => o.reconnectCount),
  );
  counter(
    'steadycast_server_requested_reconnects_total',
    "Moves to a new connection at the server's request (Enhanced RTMP Reconnect Request), make before break.",
    ['output'],
    perOutput((o) => o.serverRequestedReconnects),
  );
  counter(
    'steadycast_server_reconnect_failures_total',
    'Server reconnect requests whose new connection failed (the stream stayed on the old one).',
    ['output'],
    perOutput((o) => o.serverReconnectFailures),
  );
  counter(
    'steadycast_connect_attempts_total',
    'Connection attempts, successful or not.',
    ['output'],
    perOutput((o) => o.connectAttempts),
  );
  counter(
    'steadycast_sent_bytes_total',
    'Bytes handed to the socket.',
    ['output'],
    perOutput((o) => o.bytesSent),
  );
  counter(
    'steadycast_congestion_episodes_total',
    'Times the output started dropping video for congestion.',
    ['output'],
    perOutput((o) => o.congestionEvents),
  );
  counter(
    'steadycast_congested_seconds_total',
    'Time spent dropping video for congestion.',
    ['output'],
    perOutput((o) => o.congestedMs / 1000),
  );
  counter(
    'steadycast_downtime_seconds_total',
    'Time not live since first live (the current outage included).',
    ['output'],
    perOutput((o) => o.downtimeMs / 1000),
  );
  const global = (pick: (s: StreamStats) => number) => (m: Counter | Gauge) =>
    m instanceof Counter ? m.inc(pick(stats())) : m.set(pick(stats()));
  counter(
    'steadycast_frames_captured_total',
    'Video frames captured (new and repeated).',
    [],
    global((s) => s.framesCaptured),
  );
  counter(
    'steadycast_frames_duplicated_total',
    'Frames repeated because the source had nothing new.',
    [],
    global((s) => s.framesDuplicated),
  );
  counter(
    'steadycast_frames_lagged_total',
    'Frame deadlines missed because the capture loop ran late.',
    [],
    global((s) => s.framesLagged),
  );
  counter(
    'steadycast_frames_skipped_total',
    'Frames skipped because the encoder was behind.',
    [],
    global((s) => s.framesSkippedEncoder),
  );
  counter(
    'steadycast_audio_silence_inserted_seconds_total',
    'Silence inserted where an audio source was short.',
    [],
    global((s) => s.silenceInsertedMs / 1000),
  );

  gauge(
    'steadycast_latency_seconds',
    'Age of the oldest media the server has not received (0 while not live).',
    ['output'],
    perOutput((o) => o.currentLatencyMs / 1000),
  );
  gauge(
    'steadycast_latency_max_seconds',
    'Highest latency seen.',
    ['output'],
    perOutput((o) => o.maxLatencyMs / 1000),
  );
  gauge(
    'steadycast_delivery_rate_bytes_per_second',
    'Delivered rate (acknowledged, or as the kernel reports it); 0 when unknown.',
    ['output'],
    perOutput((o) => o.deliveryRateBps / 8),
  );
  gauge(
    'steadycast_send_rate_bytes_per_second',
    'Rate handed to the socket over the last seconds.',
    ['output'],
    perOutput((o) => o.sendBitrateBps / 8),
  );
  gauge(
    'steadycast_queued_packets',
    'Packets waiting in the output queue.',
    ['output'],
    perOutput((o) => o.queuedPackets),
  );
  gauge(
    'steadycast_dropping',
    '1 while the output drops video for congestion, else 0.',
    ['output'],
    perOutput((o) => (o.dropState === 'dropping' ? 1 : 0)),
  );
  gauge('steadycast_output_state', 'The output state: 1 for the current one.', ['output', 'state'], (g) => {
    for (const { label: output, o } of outputs()) {
      for (const state of OUTPUT_STATES) g.set({ output, state }, o.state === state ? 1 : 0);
    }
  });
  gauge('steadycast_state', 'The summary state: 1 for the current one.', ['state'], (g) => {
    for (const state of STREAMER_STATES) g.set({ state }, stats().state === state ? 1 : 0);
  });
  gauge(
    'steadycast_video_bitrate_bytes_per_second',
    'The video encoder bitrate now (moves with adaptive bitrate).',
    [],
    global((s) => s.videoBitrateBps / 8),
  );
  gauge(
    'steadycast_capture_frames_per_second',
    'Capture rate over the last second.',
    [],
    global((s) => s.captureFps),
  );
  gauge(
    'steadycast_tick_lateness_p99_seconds',
    'How late engine ticks ran, 99th percentile.',
    ['engine'],
    (g) => {
      const s = stats();
      if (s.captureTickLateness) g.set({ engine: 'capture' }, s.captureTickLateness.p99Ms / 1000);
      if (s.audioTickLateness) g.set({ engine: 'audio' }, s.audioTickLateness.p99Ms / 1000);
    },
  );
  gauge('steadycast_device_up', 'Capture devices: 1 when working, 0 while down.', ['device'], (g) => {
    for (const d of stats().devices) g.set({ device: d.name }, d.state === 'ok' ? 1 : 0);
  });
  return registry;
}

/** A running `/metrics` endpoint. */
export interface MetricsHandle {
  /** `http://host:port/metrics`. */
  readonly url: string;
  /** Stops the server. Idempotent. */
  close(): Promise<void>;
}

/** Serves `registry` at `/metrics` in the Prometheus text format; warns when beyond loopback. */
export async function serveMetrics(
  registry: Registry,
  options: { host?: string; port?: number; warn?: (line: string) => void } = {},
): Promise<MetricsHandle> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await listen(server, host, options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  const warning = exposureWarning('metrics endpoint', host, port, false);
  if (warning) (options.warn ?? ((line) => void process.stderr.write(`${line}\n`)))(warning);
  let closing: Promise<void> | null = null;
  return {
    url: urlOf(host, port, '/metrics'),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
