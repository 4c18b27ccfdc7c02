/**
 * An in-memory TCP connection for unit tests: two Duplex ends, each delivering what the other
 * writes on a later turn of the event loop (so a write never re-enters the writer), with the
 * socket's backpressure (`write()` false past the high-water mark, then `drain`), a close that
 * reaches the peer, and a reset. No ports, no kernel, no wall clock: tests advance turns with
 * `ioTurns()` and time with a FakeClock.
 */
import { Duplex } from 'node:stream';

/** One end of an in-memory connection; what RtmpConnection needs of a `net.Socket`. */
export class MemorySocket extends Duplex {
  /** The other end. */
  peer: MemorySocket | null = null;
  /** No kernel: the kernel send queue is not visible. */
  readonly localPort: number | undefined = undefined;
  /** No kernel: the kernel send queue is not visible. */
  readonly remotePort: number | undefined = undefined;
  /** Everything written at this end, in order (what the peer was sent). */
  readonly written: Buffer[] = [];
  /** When set, writes are held (a peer that stops reading) until `release()`. */
  #holding = false;
  #held: (() => void)[] = [];

  constructor(highWaterMark = 16 * 1024) {
    super({ allowHalfOpen: false, writableHighWaterMark: highWaterMark });
  }

  /** No-op (Nagle does not exist here). */
  setNoDelay(): this {
    return this;
  }

  /** No-op (no keep-alive probes here). */
  setKeepAlive(): this {
    return this;
  }

  /** Stops delivering this end's writes: they pile up in its buffer as behind a dead path. */
  hold(): void {
    this.#holding = true;
  }

  /** Delivers what was held and goes on delivering. */
  release(): void {
    this.#holding = false;
    for (const deliver of this.#held.splice(0)) deliver();
  }

  /** Ends the connection with an error at this end and a plain close at the other (a TCP reset). */
  reset(code = 'ECONNRESET'): void {
    this.destroy(Object.assign(new Error(`read ${code}`), { code }));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written.push(chunk);
    const deliver = (): void => {
      setImmediate(() => {
        if (this.peer && !this.peer.destroyed) this.peer.push(chunk);
        callback();
      });
    };
    if (this.#holding) this.#held.push(deliver);
    else deliver();
  }

  override _final(callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      if (this.peer && !this.peer.destroyed) this.peer.push(null);
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer && !peer.destroyed) setImmediate(() => peer.destroy());
    callback(error);
  }
}

/** A connected pair: `[client, server]`. */
export function socketPair(): [MemorySocket, MemorySocket] {
  const client = new MemorySocket();
  const server = new MemorySocket();
  client.peer = server;
  server.peer = client;
  return [client, server];
}

/** Lets in-memory I/O happen: `turns` turns of the event loop (no wall-clock time is waited for). */
export async function ioTurns(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Runs the event loop until `predicate` holds; fails after `maxTurns` turns (a stuck test fails, it never hangs). */
export async function untilTrue(
  predicate: () => boolean,
  what = 'the condition',
  maxTurns = 5000,
): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    if (predicate()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`${what} did not happen within ${maxTurns} event-loop turns`);
}
