/**
 * A minimal, independent RTMP chunk-stream reader for the wire tap (RTMP 1.0 §5.3). It skips the
 * handshake (C0+C1+C2 or S0+S1+S2: 1 + 1536 + 1536 bytes), then reassembles messages from chunks with
 * fmt 0–3 headers and extended timestamps, and follows Set Chunk Size sent in its own direction.
 * It keeps only the first bytes of each message: enough for frame types and control values.
 */

/** Bytes of the handshake each side sends before chunks start: C0/S0 + C1/S1 + C2/S2. */
export const HANDSHAKE_BYTES = 1 + 1536 + 1536;
const HEAD_BYTES = 512;
const MAX_CHUNK_SIZE = 0x7fffffff;

/** A reassembled RTMP message (payload truncated to its first bytes). */
export interface RtmpMessage {
  /** When its last byte was read, ms (the caller's clock). */
  arrivalMs: number;
  /** Chunk stream id it came on. */
  chunkStreamId: number;
  /** Message type id (§5.4, §7.1). */
  type: number;
  /** Message stream id. */
  streamId: number;
  /** Absolute timestamp, ms (32 bits). */
  timestampMs: number;
  /** Full payload length, bytes. */
  length: number;
  /** The first bytes of the payload (up to 512). */
  head: Buffer;
}

interface ChunkStreamState {
  timestampMs: number;
  deltaMs: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
  lastFmt: number;
  received: number; // payload bytes of the current message so far; 0 = between messages
  head: Buffer[];
  headBytes: number;
}

/** Turns one direction's byte stream into RTMP messages; `push()` returns an error text once parsing fails. */
export class RtmpChunkReader {
  #skip = HANDSHAKE_BYTES;
  #chunkSize = 128; // §5.4.1: default maximum chunk size
  #pending: Buffer = Buffer.alloc(0);
  #states = new Map<number, ChunkStreamState>();
  #failed: string | undefined;
  readonly #onMessage: (message: RtmpMessage) => void;
  /** Count of new messages that began with fmt 3 right after fmt 0 (readers disagree on their timestamp). */
  ambiguousFmt3 = 0;

  constructor(onMessage: (message: RtmpMessage) => void) {
    this.#onMessage = onMessage;
  }

  /** Feeds bytes read at `nowMs`; returns an error description if the stream cannot be parsed. */
  push(chunk: Buffer, nowMs: number): string | undefined {
    if (this.#failed !== undefined) return this.#failed;
    let data = chunk;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, data.length);
      this.#skip -= skipped;
      data = data.subarray(skipped);
      if (data.length === 0) return undefined;
    }
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    try {
      let offset = 0;
      for (;;) {
        const used = this.#readChunk(this.#pending, offset, nowMs);
        if (used === 0) break;
        offset += used;
      }
      this.#pending = this.#pending.subarray(offset);
    } catch (error) {
      this.#failed = error instanceof Error ? error.message : String(error);
    }
    return this.#failed;
  }

  // Parses one chunk at `at`; returns the bytes used, or 0 if the chunk is not complete yet.
  #readChunk(buf: Buffer, at: number, nowMs: number): number {
    let pos = at;
    if (pos >= buf.length) return 0;
    const b0 = buf.readUInt8(pos++);
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    if (csid === 0) {
      // §5.3.1.1: 2-byte form, ids 64–319
      if (pos + 1 > buf.length) return 0;
      csid = 64 + buf.readUInt8(pos++);
    } else if (csid === 1) {
      // 3-byte form, ids 64–65599
      if (pos + 2 > buf.length) return 0;
      csid = 64 + buf.readUInt8(pos) + buf.readUInt8(pos + 1) * 256;
      pos += 2;
    }
    const headerSize = [11, 7, 3, 0][fmt] ?? 0;
    if (pos + headerSize > buf.length) return 0;
    let state = this.#states.get(csid);
    if (state === undefined) {
      if (fmt !== 0) throw new Error(`chunk stream ${csid} starts with fmt ${fmt}, not 0 (§5.3.1.2)`);
      state = {
        timestampMs: 0,
        deltaMs: 0,
        length: 0,
        type: 0,
        streamId: 0,
        extended: false,
        lastFmt: 0,
        received: 0,
        head: [],
        headBytes: 0,
      };
    }
    const startsMessage = state.received === 0;
    let field = 0;
    if (fmt <= 2) field = buf.readUIntBE(pos, 3);
    const length = fmt <= 1 ? buf.readUIntBE(pos + 3, 3) : state.length;
    const type = fmt <= 1 ? buf.readUInt8(pos + 6) : state.type;
    const streamId = fmt === 0 ? buf.readUInt32LE(pos + 7) : state.streamId;
    pos += headerSize;
    // §5.3.1.3: extended timestamp when the field is 0xFFFFFF; a fmt-3 chunk repeats it when the
    // previous header of this chunk stream had one (what nginx-rtmp, ffmpeg and librtmp expect).
    const extended = fmt <= 2 ? field === 0xffffff : state.extended;
    if (extended) {
      if (pos + 4 > buf.length) return 0;
      if (fmt <= 2) field = buf.readUInt32BE(pos);
      else if (startsMessage) field = buf.readUInt32BE(pos);
      pos += 4;
    }
    const remaining = length - state.received;
    const payload = Math.min(this.#chunkSize, remaining);
    if (pos + payload > buf.length) return 0;

    // Commit the header only now that the whole chunk is here.
    if (startsMessage) {
      if (fmt === 0) {
        state.timestampMs = field >>> 0;
        state.deltaMs = field >>> 0; // a later fmt 3 adds this again (ffmpeg's reading)
      } else if (fmt === 1 || fmt === 2) {
        state.deltaMs = field >>> 0;
        state.timestampMs = (state.timestampMs + state.deltaMs) >>> 0;
      } else {
        if (state.lastFmt === 0) this.ambiguousFmt3++;
        state.timestampMs = (state.timestampMs + state.deltaMs) >>> 0;
      }
      state.length = length;
      state.type = type;
      state.streamId = streamId;
      state.head = [];
      state.headBytes = 0;
    } else if (fmt !== 3) {
      throw new Error(`chunk stream ${csid}: fmt ${fmt} header in the middle of a message`);
    }
    state.extended = extended;
    state.lastFmt = startsMessage ? fmt : state.lastFmt;
    if (state.headBytes < HEAD_BYTES && payload > 0) {
      const take = Math.min(payload, HEAD_BYTES - state.headBytes);
      state.head.push(Buffer.from(buf.subarray(pos, pos + take)));
      state.headBytes += take;
    }
    state.received += payload;
    this.#states.set(csid, state);
    pos += payload;
    if (state.received >= state.length) {
      state.received = 0;
      this.#deliver(csid, state, nowMs);
    }
    return pos - at;
  }

  #deliver(csid: number, state: ChunkStreamState, nowMs: number): void {
    const head = Buffer.concat(state.head);
    const message: RtmpMessage = {
      arrivalMs: nowMs,
      chunkStreamId: csid,
      type: state.type,
      streamId: state.streamId,
      timestampMs: state.timestampMs,
      length: state.length,
      head,
    };
    if (message.type === 1 && head.length >= 4) {
      // §5.4.1 Set Chunk Size: applies to the following chunks of this direction.
      const size = head.readUInt32BE(0) & MAX_CHUNK_SIZE;
      if (size < 1) throw new Error(`Set Chunk Size ${size} is invalid`);
      this.#chunkSize = size;
    }
    if (message.type === 2 && head.length >= 4) {
      // §5.4.2 Abort: drop the partial message of that chunk stream.
      const aborted = this.#states.get(head.readUInt32BE(0));
      if (aborted !== undefined) aborted.received = 0;
    }
    this.#onMessage(message);
  }
}
