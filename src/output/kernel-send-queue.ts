import { readFile } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';

/** The ports that name a TCP connection in the kernel's socket table. */
export interface TcpPorts {
  /** Our (ephemeral) port. */
  readonly localPort: number;
  /** The server's port. */
  readonly remotePort: number;
}

// /proc/net/tcp{,6} state column: 01 = ESTABLISHED (include/net/tcp_states.h).
const TCP_ESTABLISHED = '01';

/**
 * The `tx_queue` of one socket in the text of /proc/net/tcp or /proc/net/tcp6, bytes, or undefined when
 * the socket is not listed (or is listed twice and none is established). For a connected socket the kernel
 * prints `write_seq − snd_una` there: bytes handed to the kernel that the peer's TCP has not acknowledged,
 * i.e. unsent plus in flight (net/ipv4/tcp_ipv4.c, get_tcp4_sock). Ports are matched, not addresses: their
 * hex form depends on the host's byte order, and a (local port, remote port) pair is unique in practice.
 */
export function parseTxQueue(procNetTcp: string, ports: TcpPorts): number | undefined {
  const local = `:${hex4(ports.localPort)}`;
  const remote = `:${hex4(ports.remotePort)}`;
  let found: { state: string; txQueue: number }[] = [];
  for (const line of procNetTcp.split('\n')) {
    // "  sl: local_address rem_address st tx_queue:rx_queue …"
    const fields = line.trim().split(/\s+/);
    const [, localAddress, remoteAddress, state, queues] = fields;
    if (!localAddress?.endsWith(local) || !remoteAddress?.endsWith(remote) || !queues) continue;
    const txQueue = Number.parseInt(queues.split(':')[0] ?? '', 16);
    if (Number.isFinite(txQueue)) found.push({ state: state ?? '', txQueue });
  }
  if (found.length > 1) found = found.filter((f) => f.state === TCP_ESTABLISHED);
  return found.length === 1 ? found[0]?.txQueue : undefined;
}

function hex4(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** Options of a KernelSendQueue. */
export interface KernelSendQueueOptions {
  /** Shortest time between the starts of two reads, ms; default 20. */
  minIntervalMs: number;
  /**
   * Reads may take at most this share of the time, default 0.02: listing the socket table costs time
   * proportional to the kernel's hash table (4 ms on the CI VM, 50 µs on a desktop), so reads space out.
   */
  maxCostShare: number;
  /**
   * Reads are never further apart than this, ms; default 250. A read's measured cost includes its
   * wait for a libuv thread, which the encoders keep busy: at start-up one read took 60 ms, the next
   * was put off 3 s, and meanwhile the latency measure, blind, read 3 s and video was dropped on a
   * clean link. The cap bounds how stale the reading gets (4 ms every 250 ms is still 1.6 %).
   */
  maxIntervalMs: number;
  /** Reads the socket table; default fs.promises.readFile (off the event loop). Tests inject one. */
  readTable: (file: string) => Promise<string>;
  /** Give up after this many reads in a row that do not find the socket; default 3. */
  maxMisses: number;
}

/** Default KernelSendQueue options. */
export function defaultKernelSendQueueOptions(): KernelSendQueueOptions {
  return {
    minIntervalMs: 20,
    maxCostShare: 0.02,
    maxIntervalMs: 250,
    readTable: (file) => readFile(file, 'latin1'),
    maxMisses: 3,
  };
}

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'] as const;

/**
 * How many bytes of one TCP connection sit in the kernel, not yet received by the peer: the part of the
 * send path that Node cannot see (it has no SO_SNDBUF, TCP_INFO or SIOCOUTQ) and that grows to megabytes,
 * seconds of media, at low bandwidth (measured: 790 KB, 9.5 s, at 665 kbit/s). Linux lists it per socket
 * in /proc/net/tcp; elsewhere, or when the socket cannot be found, `visible` turns false and the caller
 * falls back to what it can see.
 *
 * Reads run off the event loop (the capture and audio ticks never wait for them), one at a time,
 * at most every `minIntervalMs`, and spaced so that they take at most `maxCostShare` of the time, but
 * never more than `maxIntervalMs` apart.
 */
export class KernelSendQueue {
  /** The resolved options. */
  readonly options: Readonly<KernelSendQueueOptions>;
  readonly #clock: Clock;
  readonly #ports: TcpPorts;
  #table: string | undefined;
  #lastStartUs = -Infinity;
  #intervalUs: number;
  #reading = false;
  #misses = 0;
  #disabled: boolean;

  /** `ports` undefined (not connected, or not TCP): never visible. */
  constructor(clock: Clock, ports: TcpPorts | undefined, options: Partial<KernelSendQueueOptions> = {}) {
    this.options = Object.freeze({ ...defaultKernelSendQueueOptions(), ...options });
    this.#clock = clock;
    this.#ports = ports ?? { localPort: 0, remotePort: 0 };
    this.#intervalUs = this.options.minIntervalMs * 1000;
    this.#disabled = ports === undefined || (options.readTable === undefined && process.platform !== 'linux');
  }

  /** Whether the kernel's queue is visible (false once reading failed or the socket was not found). */
  get visible(): boolean {
    return !this.#disabled;
  }

  /** Time between the starts of two reads now, ms (grows when reading is slow). */
  get intervalMs(): number {
    return this.#intervalUs / 1000;
  }

  /**
   * Starts a read unless one is running or the last one started too recently; `onRead(bytes)` follows
   * with the unacknowledged bytes in the kernel (not called when the socket was not found).
   */
  request(onRead: (bytes: number) => void): void {
    if (this.#disabled || this.#reading) return;
    const startUs = this.#clock.nowUs();
    if (startUs - this.#lastStartUs < this.#intervalUs) return;
    this.#lastStartUs = startUs;
    this.#reading = true;
    void this.#readNow().then((bytes) => {
      this.#reading = false;
      const costUs = this.#clock.nowUs() - startUs;
      const { minIntervalMs, maxIntervalMs, maxCostShare } = this.options;
      this.#intervalUs = Math.min(
        maxIntervalMs * 1000,
        Math.max(minIntervalMs * 1000, costUs / maxCostShare),
      );
      if (bytes === undefined) {
        if (++this.#misses >= this.options.maxMisses) this.#disabled = true;
        return;
      }
      this.#misses = 0;
      if (!this.#disabled) onRead(bytes);
    });
  }

  /** Stops reading (the connection is gone). */
  close(): void {
    this.#disabled = true;
  }

  async #readNow(): Promise<number | undefined> {
    const tables = this.#table === undefined ? TABLES : [this.#table];
    for (const table of tables) {
      let text: string;
      try {
        text = await this.options.readTable(table);
      } catch {
        continue;
      }
      const bytes = parseTxQueue(text, this.#ports);
      if (bytes !== undefined) {
        this.#table = table;
        return bytes;
      }
    }
    return undefined;
  }
}
