import type { TypedEmitter } from '../core/typed-emitter.js';
import type { EncodedPacket, VideoCodec } from '../media/packet.js';

/** Result of one write to a transport connection. */
export interface TransportWrite {
  /** `bytesWritten` after this packet: once the peer has it up to here, the packet is delivered. */
  readonly endOffset: number;
  /** False: the connection's own buffer is full, wait for `drain` before writing more. */
  readonly ok: boolean;
}

/** What the layer under a transport (the kernel's TCP, SRT's sender) says is not delivered yet. */
export interface DeliveryReading {
  /** When the reading started, µs on the session clock. */
  readonly atUs: number;
  /** Bytes handed below our buffer (to the kernel) when it started. */
  readonly handedOverBytes: number;
  /** Of those, bytes the peer had not received yet. */
  readonly undeliveredBytes: number;
}

/** Where a server asked the publisher to move (Enhanced RTMP's Reconnect Request); only its transport can open it. */
export interface ReconnectTarget {
  /** The destination, secrets hidden. */
  readonly redactedUrl: string;
}

/** A server's request that the publisher move to a new connection, as a transport connection reports it. */
export interface ServerReconnectRequest {
  /** Where to open the next connection; null when the request cannot be followed (see `problem`). */
  readonly target: ReconnectTarget | null;
  /** Why it cannot be followed (secrets hidden); null when it can. */
  readonly problem: string | null;
  /** The server's text (secrets hidden). */
  readonly description: string;
}

/** Events of a transport connection. */
export type TransportConnectionEvents = {
  /** The server asks the publisher to move: open `target`, switch, then close this one (make before break). */
  reconnectRequest: [ServerReconnectRequest];
  /** The connection's own buffer drained after a write returned `ok: false`. */
  drain: [];
  /** The peer acknowledged everything up to `offset` (counted like `endOffset`; it only grows). */
  acknowledged: [offset: number];
  /** A reading asked for with `requestDeliveryReading()`. */
  delivery: [DeliveryReading];
};

/**
 * One published connection of a transport: it takes tagged packets and reports how far they got.
 * Everything that decides — what to drop, when the connection is dead, when to reconnect — sits
 * above it and sees only this.
 */
export interface TransportConnection extends TypedEmitter<TransportConnectionEvents> {
  /**
   * Settles once, when the connection ends: the cause, or undefined for our own `close()`. A promise
   * rather than an event, so a watcher that comes late cannot miss it. Never rejects.
   */
  readonly closed: Promise<Error | undefined>;
  /** Bytes written on this connection (the offsets `acknowledged` counts in). */
  readonly bytesWritten: number;
  /** Of those, bytes still in our own (user-space) socket buffer, held ones included. */
  readonly bufferedBytes: number;
  /** Of those, bytes `limitHandOver` holds back: not given to the socket yet. */
  readonly heldBytes: number;
  /** Whether `requestDeliveryReading()` can work here (false once the layer below turned out opaque). */
  readonly deliveryVisible: boolean;
  /**
   * Whether `write()` may be called: false once the connection stopped publishing, which can happen
   * in the same read that published it, before `closed` settles.
   */
  readonly writable: boolean;
  /** Writes one packet, preceded by whatever the protocol needs before it (metadata, headers). */
  write(packet: EncodedPacket, timestampMs: number): TransportWrite;
  /**
   * Paces what reaches the socket: from now on, at most `bytes` more of what was written go to it,
   * until the next call; the rest is held, in order, counted in `heldBytes` (and `bufferedBytes`).
   * Infinity (the start) lets everything through. A large message (a keyframe) thus enters a slow
   * path in pieces, as it drains, instead of in one burst that overflows the bottleneck's queue
   * (measured: an 83 KB keyframe into a 65 KB queue, 32 packets lost, a 1.1 s retransmission timeout
   * with nothing delivered).
   */
  limitHandOver(bytes: number): void;
  /** Asks for a `delivery` reading; coalesced, and skipped once the peer acknowledges by itself. */
  requestDeliveryReading(): void;
  /** Graceful end (unpublish, flush, close), bounded in time; idempotent. */
  close(): Promise<void>;
  /** Immediate end; `closed` settles with `error`. */
  destroy(error: Error): void;
}

/** What a publish settled with the server about codecs (Enhanced RTMP's connect negotiation). */
export interface CodecNegotiation {
  /** The video codec sent: the session's, once settled (see `Transport.settleVideoCodec`). */
  readonly videoCodec: VideoCodec;
  /**
   * `confirmed`: the server said it takes it; `unconfirmed`: the server said nothing about codecs (a
   * legacy server), so what was asked is sent unconfirmed; `not-asked`: H.264 only, nothing to ask.
   */
  readonly state: 'confirmed' | 'unconfirmed' | 'not-asked';
  /** The codecs asked for that the server takes, in order of preference (all of them unless `confirmed`). */
  readonly accepted: readonly VideoCodec[];
}

/** One destination's protocol: opens connections to it. */
export interface Transport {
  /** What the last publish settled about codecs; null before any, or where the protocol has no negotiation. */
  readonly codecNegotiation: CodecNegotiation | null;
  /** The destination, secrets hidden (for stats, logs and errors). */
  readonly redactedUrl: string;
  /** The peer is asked to acknowledge every this many bytes (whether it does is for the tracker to find out). */
  readonly ackWindowBytes: number;
  /**
   * Opens a connection and starts publishing; resolves once media may flow. Rejects with a typed
   * SteadycastError, or `signal.reason` once aborted. `publishedBefore`: this destination accepted
   * the stream earlier (failures then read as "not ready" rather than "wrong server"). `target`: where
   * a server asked to move (default: the destination).
   */
  open(signal: AbortSignal, publishedBefore: boolean, target?: ReconnectTarget): Promise<TransportConnection>;
  /**
   * The session encodes `codec`: later connections ask for it alone (a server that cannot take it
   * refuses the publish). Returns the error to end the current publish with when its server did not
   * say it takes `codec`, else null.
   */
  settleVideoCodec(codec: VideoCodec): Error | null;
  /** Later connections go to `target`: the publisher moved there at a server's request. */
  moveTo(target: ReconnectTarget): void;
  /** How this protocol names a publish the server accepted and then dropped at once (a rejection). */
  rejectedAfterStart(cause: Error): Error;
}
