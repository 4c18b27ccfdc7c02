import { randomFillSync } from 'node:crypto';
import { HANDSHAKE_SIZE, RTMP_VERSION } from './constants.js';
import { RtmpHandshakeError } from './errors.js';

/** What `ClientHandshake.push()` produced. */
export interface HandshakeProgress {
  /** C2, to send now: present exactly once, as soon as S1 is complete (RTMP §5.2.1). */
  readonly c2?: Buffer;
  /** True once S2 has been received: the chunk stream starts. */
  readonly done: boolean;
  /** Bytes received after S2 (the server's first chunks), when `done`. */
  readonly rest?: Buffer;
}

/** Facts about the server's handshake, for diagnostics. */
export interface HandshakeInfo {
  /** S1's time field (the server's epoch). */
  readonly serverTime: number;
  /** S1 bytes 4–7: zero for a plain handshake, a version for servers using the digest scheme. */
  readonly serverVersion: number;
  /** Whether S2's random echo matched C1's random bytes, as RTMP §5.2.4 says it MUST. */
  readonly s2EchoMatched: boolean;
}

const S0_S1_SIZE = 1 + HANDSHAKE_SIZE;
const TOTAL_SIZE = S0_S1_SIZE + HANDSHAKE_SIZE;

/**
 * The client side of the plain RTMP handshake (RTMP §5.2), as pure code: bytes in, bytes out.
 *
 * Leniency, on purpose: S0 must be version 3 (we speak nothing else), but S2 is not required to
 * echo C1. The digest ("complex") handshake of Flash-era servers answers a plain C1 with an S2 that
 * is not an echo, and clients in the field (librtmp, FFmpeg) do not check it either; a mismatch
 * is reported in `info.s2EchoMatched` instead. C2 is S1 echoed verbatim, as librtmp does: no
 * server checks C2's time2 field, and some digest-scheme servers compare C2 with S1.
 */
export class ClientHandshake {
  readonly #c1: Buffer;
  readonly #received = Buffer.alloc(TOTAL_SIZE);
  #length = 0;
  #c2Sent = false;
  #info: HandshakeInfo | undefined;

  /** `epochMs` goes in C1's time field; `random` fills the 1528 random bytes (tests inject it). */
  constructor(epochMs = 0, random: (target: Buffer) => void = randomFillSync) {
    this.#c1 = Buffer.alloc(HANDSHAKE_SIZE);
    this.#c1.writeUInt32BE(epochMs >>> 0, 0);
    // bytes 4–7 stay zero: RTMP §5.2.3 "MUST be all 0s" (and it asks servers for a plain handshake)
    random(this.#c1.subarray(8));
  }

  /** C0 + C1 (1537 bytes), the first thing the client sends. */
  c0c1(): Buffer {
    return Buffer.concat([Buffer.from([RTMP_VERSION]), this.#c1]);
  }

  /** The server's handshake facts, once S2 has arrived. */
  get info(): HandshakeInfo | undefined {
    return this.#info;
  }

  /** Feeds bytes from the server (any split); throws `RtmpHandshakeError` on a bad S0. */
  push(data: Buffer): HandshakeProgress {
    if (this.#info) return { done: true, rest: data };
    const take = Math.min(data.length, TOTAL_SIZE - this.#length);
    const before = this.#length;
    data.copy(this.#received, this.#length, 0, take);
    this.#length += take;

    if (before === 0 && this.#length > 0) this.#checkVersion(this.#received[0] as number);

    let c2: Buffer | undefined;
    if (!this.#c2Sent && this.#length >= S0_S1_SIZE) {
      this.#c2Sent = true;
      c2 = Buffer.from(this.#received.subarray(1, S0_S1_SIZE));
    }
    if (this.#length < TOTAL_SIZE) return c2 ? { c2, done: false } : { done: false };

    const s1 = this.#received.subarray(1, S0_S1_SIZE);
    const s2 = this.#received.subarray(S0_S1_SIZE);
    this.#info = {
      serverTime: s1.readUInt32BE(0),
      serverVersion: s1.readUInt32BE(4),
      s2EchoMatched: s2.subarray(8).equals(this.#c1.subarray(8)),
    };
    const rest = data.subarray(take);
    return { ...(c2 ? { c2 } : {}), done: true, rest };
  }

  #checkVersion(version: number): void {
    if (version === RTMP_VERSION) return;
    // RTMP §5.2.2: 32–255 are not RTMP at all (a text protocol such as HTTP starts with a letter).
    if (version >= 32) {
      throw new RtmpHandshakeError(
        `server answered with byte 0x${version.toString(16)} instead of RTMP version 3: ` +
          `this is not an RTMP server (wrong port, or rtmp:// to a TLS port?)`,
      );
    }
    throw new RtmpHandshakeError(`server selected RTMP version ${version}; only version 3 is supported`);
  }
}
