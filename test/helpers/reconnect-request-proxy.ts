/**
 * A loopback relay, publisher → proxy → server, that can make the server ask the publisher to
 * reconnect: `requestReconnect()` writes an onStatus `NetConnection.Connect.ReconnectRequest`
 * (Enhanced RTMP v2) into the server → client chunk stream of a relayed connection, as if the server
 * had sent it. Everything else is forwarded byte for byte.
 *
 * Injecting into a live chunk stream needs its state: the relay skips the handshake (S0 S1 S2), reads
 * the server's chunks with a ChunkReader to know its chunk size and whether a message is half sent,
 * and writes the injected message at a message boundary, as one fmt-0 chunk stream of its own
 * (`INJECTED_CSID`, which servers do not use), so the client's per-chunk-stream header state for the
 * server's own chunk streams is untouched (RTMP §5.3.1: each chunk stream keeps its own header state).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Amf0Object } from '../../src/amf0/amf0.js';
import { ChunkReader } from '../../src/rtmp/chunk-reader.js';
import { ChunkWriter } from '../../src/rtmp/chunk-writer.js';
import { HANDSHAKE_SIZE } from '../../src/rtmp/constants.js';
import * as msg from '../../src/rtmp/messages.js';

/** A chunk stream id no server here uses (nginx-rtmp: 2–8): the injected message's own. */
const INJECTED_CSID = 40;

/** One relayed connection. */
export interface RelayedConnection {
  /** 0, 1, … in accept order. */
  readonly id: number;
  /** performance.now() at accept, ms. */
  readonly openedAtMs: number;
  /** performance.now() when the publisher's side ended (FIN or reset), ms. */
  clientClosedAtMs: number | undefined;
  /** performance.now() when a reconnect request was written to the publisher, ms. */
  requestedAtMs: number | undefined;
}

/** A running relay. */
export interface ReconnectRequestProxy {
  /** Port it listens on. */
  readonly port: number;
  /** `rtmp://127.0.0.1:PORT/app/key`. */
  url(app?: string, key?: string): string;
  /** Every connection so far. */
  readonly connections: readonly RelayedConnection[];
  /**
   * Sends the onStatus on connection `id` (default the latest) once the server → client stream is at a
   * message boundary; resolves when written. `info` adds to level/code (e.g. `tcUrl`, `description`).
   */
  requestReconnect(info?: Amf0Object, id?: number): Promise<void>;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

interface Relay {
  state: RelayedConnection;
  client: Socket;
  upstream: Socket;
  reader: ChunkReader;
  handshakeLeft: number;
}

/** Starts the relay on 127.0.0.1 in front of `targetPort`. */
export async function startReconnectRequestProxy(targetPort: number): Promise<ReconnectRequestProxy> {
  const relays: Relay[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const state: RelayedConnection = {
      id: relays.length,
      openedAtMs: performance.now(),
      clientClosedAtMs: undefined,
      requestedAtMs: undefined,
    };
    const relay: Relay = {
      state,
      client,
      upstream,
      reader: new ChunkReader(),
      handshakeLeft: 1 + 2 * HANDSHAKE_SIZE,
    };
    relays.push(relay);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      let rest = data;
      if (relay.handshakeLeft > 0) {
        const skip = Math.min(relay.handshakeLeft, rest.length);
        relay.handshakeLeft -= skip;
        rest = rest.subarray(skip);
      }
      if (rest.length > 0) relay.reader.push(rest);
      if (!client.write(data)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    const clientGone = (): void => {
      state.clientClosedAtMs ??= performance.now();
      upstream.destroy();
    };
    client.on('end', clientGone);
    client.on('close', clientGone);
    client.on('error', clientGone);
    upstream.on('close', () => client.end());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url: (app = 'live', key = 'test') => `rtmp://127.0.0.1:${port}/${app}/${key}`,
    get connections() {
      return relays.map((r) => r.state);
    },
    async requestReconnect(info = {}, id = relays.length - 1) {
      const relay = relays[id];
      if (!relay) throw new Error(`no relayed connection ${id}`);
      // nginx sends little after the publish starts (acknowledgements): a boundary comes quickly.
      for (let i = 0; relay.handshakeLeft > 0 || relay.reader.bufferedBytes > 0; i++) {
        if (i > 500) throw new Error('the server → client stream never reached a message boundary');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const writer = new ChunkWriter();
      writer.setChunkSize(relay.reader.chunkSize); // what the client reads with now
      const message = msg.commandMessage(0, 'onStatus', 0, null, {
        level: 'status',
        code: msg.RECONNECT_REQUEST_CODE,
        ...info,
      });
      relay.client.write(writer.write({ ...message, chunkStreamId: INJECTED_CSID }));
      relay.state.requestedAtMs = performance.now();
    },
    async stop() {
      for (const r of relays) {
        r.client.destroy();
        r.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
