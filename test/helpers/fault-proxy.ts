/**
 * A loopback TCP proxy, publisher → proxy → server, for the faults tc cannot make: a clean cut (FIN),
 * a reset (RST), and a black hole (connections stay open, nothing moves). Use tc, not this proxy, for
 * bandwidth: a user-space proxy that reads slowly hides congestion in kernel buffers.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy currently does with traffic. */
export type FaultMode = 'forward' | 'blackHole' | 'refuse';

/** Options of `startFaultProxy()`. */
export interface FaultProxyOptions {
  /** Port of the real server on 127.0.0.1. */
  targetPort: number;
  /** Port to listen on; default a free one. */
  listenPort?: number;
}

/** Traffic counters, bytes and connections since start. */
export interface FaultProxyStats {
  /** Bytes forwarded client → server. */
  bytesToServer: number;
  /** Bytes forwarded server → client. */
  bytesToClient: number;
  /** Connections accepted (including refused ones). */
  accepted: number;
  /** Connections currently relayed. */
  active: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** Port the proxy listens on. */
  readonly port: number;
  /** `rtmp://127.0.0.1:PROXYPORT/app/key`. */
  url(app?: string, key?: string): string;
  /** Current mode. */
  readonly mode: FaultMode;
  /** Snapshot of the counters. */
  stats(): FaultProxyStats;
  /** Closes both sides of every connection (FIN); with refuseNew, new connections are closed at once until heal(). */
  cut(options?: { refuseNew?: boolean }): void;
  /** Resets both sides of every connection (RST via socket.resetAndDestroy()); refuseNew as for cut(). */
  reset(options?: { refuseNew?: boolean }): void;
  /**
   * Keeps connections open but stops forwarding and reading both ways, so kernel buffers fill up; new
   * connections are accepted and frozen too, unless `existingOnly` (a dead path, e.g. a NAT mapping lost,
   * while new connections get through).
   */
  blackHole(options?: { existingOnly?: boolean }): void;
  /** Back to forwarding: frozen connections resume, new ones are relayed. */
  heal(): void;
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  closing: boolean;
  frozen: boolean;
}

/** Starts a fault proxy on 127.0.0.1 in front of `targetPort`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  const stats: FaultProxyStats = { bytesToServer: 0, bytesToClient: 0, accepted: 0, active: 0 };
  let mode: FaultMode = 'forward';

  const freeze = (pair: Pair): void => {
    pair.frozen = true;
    pair.client.pause();
    pair.upstream.pause();
  };
  const thaw = (pair: Pair): void => {
    pair.frozen = false;
    pair.client.resume();
    pair.upstream.resume();
  };
  const server: Server = createServer((client) => {
    stats.accepted++;
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(options.targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, closing: false, frozen: false };
    pairs.add(pair);
    stats.active = pairs.size;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(
      pair,
      client,
      upstream,
      (n) => (stats.bytesToServer += n),
      () => mode === 'forward' && !pair.frozen,
    );
    forward(
      pair,
      upstream,
      client,
      (n) => (stats.bytesToClient += n),
      () => mode === 'forward' && !pair.frozen,
    );
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
      stats.active = pairs.size;
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
    if (mode === 'blackHole') freeze(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped: Promise<void> | undefined;

  return {
    port,
    url: (app = 'live', key = 'test') => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    get mode() {
      return mode;
    },
    stats: () => ({ ...stats }),
    cut: (opts = {}) => {
      mode = opts.refuseNew === true ? 'refuse' : 'forward';
      // FIN both ways; keep reading (and discarding) so that unread data does not turn it into a RST.
      for (const pair of pairs) {
        pair.closing = true;
        thaw(pair);
        pair.client.end();
        pair.upstream.end();
        setTimeout(() => {
          pair.client.destroy();
          pair.upstream.destroy();
        }, 2000).unref();
      }
    },
    reset: (opts = {}) => {
      mode = opts.refuseNew === true ? 'refuse' : 'forward';
      for (const pair of pairs) {
        pair.client.resetAndDestroy();
        pair.upstream.resetAndDestroy();
      }
    },
    blackHole: (opts = {}) => {
      mode = opts.existingOnly === true ? 'forward' : 'blackHole';
      for (const pair of pairs) freeze(pair);
    },
    heal: () => {
      mode = 'forward';
      for (const pair of pairs) thaw(pair);
    },
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const pair of pairs) {
          pair.client.destroy();
          pair.upstream.destroy();
        }
      });
      return stopped;
    },
  };
}

// Forwards with backpressure; while not forwarding (black hole) the source stays paused.
function forward(
  pair: Pair,
  from: Socket,
  to: Socket,
  count: (bytes: number) => void,
  flowing: () => boolean,
): void {
  from.on('data', (chunk: Buffer) => {
    if (pair.closing) return;
    count(chunk.length);
    if (!to.write(chunk) || !flowing()) from.pause();
  });
  to.on('drain', () => {
    if (flowing() && !pair.closing) from.resume();
  });
  from.on('end', () => to.end());
}
