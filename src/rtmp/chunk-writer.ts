import { DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP_MARKER, MAX_MESSAGE_LENGTH } from './constants.js';
import { RtmpProtocolError } from './errors.js';

/** One RTMP message with the chunk stream it travels on (RTMP §6.1). */
export interface RtmpMessage {
  /** Chunk stream id, 2–65599 (RTMP §5.3.1.1). */
  readonly chunkStreamId: number;
  /** Message type id, e.g. `MessageType.VIDEO`. */
  readonly messageTypeId: number;
  /** Message stream id: 0 for control and NetConnection commands, the created stream otherwise. */
  readonly messageStreamId: number;
  /** Timestamp, milliseconds, 32-bit wrapping (RTMP §4: "time format"). */
  readonly timestamp: number;
  /** The message payload. */
  readonly payload: Buffer;
}

interface StreamState {
  timestamp: number;
  length: number;
  typeId: number;
  streamId: number;
  /** Delta carried by the last fmt 1/2 header; undefined after fmt 0 (see `write`). */
  delta: number | undefined;
}

/** Converts milliseconds to the 32-bit wrapping RTMP timestamp. */
export function toRtmpTimestamp(ms: number): number {
  const t = Math.floor(ms) % 0x1_0000_0000;
  return t < 0 ? t + 0x1_0000_0000 : t;
}

/**
 * Turns messages into chunks (RTMP §5.3) with the most compact header per chunk stream.
 * Pure: no I/O. One output Buffer per message (one copy of the payload, no per-byte work).
 */
export class ChunkWriter {
  #chunkSize = DEFAULT_CHUNK_SIZE;
  readonly #streams = new Map<number, StreamState>();

  /** Our outgoing maximum chunk size, bytes. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Changes the chunk size of every later chunk; send Set Chunk Size with the OLD size first. */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) {
      throw new RangeError(`chunk size ${size} outside 1..2147483647 (RTMP §5.4.1)`);
    }
    this.#chunkSize = Math.min(size, MAX_MESSAGE_LENGTH);
  }

  /** Chunks one message; returns the bytes to send. */
  write(message: RtmpMessage): Buffer {
    const { chunkStreamId: csid, messageTypeId: typeId, messageStreamId: streamId, payload } = message;
    const length = payload.length;
    if (length > MAX_MESSAGE_LENGTH) {
      throw new RtmpProtocolError(`message of ${length} bytes exceeds the 24-bit length field`);
    }
    if (!Number.isInteger(csid) || csid < 2 || csid > 65599) {
      throw new RangeError(`chunk stream id ${csid} outside 2..65599 (RTMP §5.3.1.1)`);
    }
    const timestamp = toRtmpTimestamp(message.timestamp);
    const prev = this.#streams.get(csid);

    // Header choice (RTMP §5.3.1.2): fmt 0 at the start of a chunk stream, when the message stream
    // changes and whenever the timestamp goes backward (also at the 2^32 wrap); otherwise a delta.
    let fmt: 0 | 1 | 2 | 3;
    let field: number; // the absolute timestamp (fmt 0) or the delta (fmt 1–3)
    if (!prev || prev.streamId !== streamId || timestamp < prev.timestamp) {
      fmt = 0;
      field = timestamp;
    } else {
      field = timestamp - prev.timestamp;
      if (prev.length !== length || prev.typeId !== typeId) fmt = 1;
      // fmt 3 for a new message only repeats a delta some fmt 1/2 stated: after fmt 0 readers
      // disagree on what the implied delta is (§5.3.1.2.4 says the fmt 0 timestamp; some use 0).
      else if (prev.delta === field && field < EXTENDED_TIMESTAMP_MARKER) fmt = 3;
      else fmt = 2;
    }
    const extended = field >= EXTENDED_TIMESTAMP_MARKER;

    const basicSize = csid < 64 ? 1 : csid < 320 ? 2 : 3;
    const messageHeaderSize = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    const extSize = extended ? 4 : 0;
    const chunkSize = this.#chunkSize;
    const chunks = Math.max(1, Math.ceil(length / chunkSize));
    // RTMP §5.3.1.3: the Extended Timestamp is repeated on every fmt 3 continuation chunk too
    // (FFmpeg's rtmppkt.c and nginx-rtmp write and read it there).
    const total = basicSize + messageHeaderSize + extSize + length + (chunks - 1) * (basicSize + extSize);
    const out = Buffer.allocUnsafe(total);

    let pos = writeBasicHeader(out, 0, fmt, csid, basicSize);
    const field24 = extended ? EXTENDED_TIMESTAMP_MARKER : field;
    if (fmt <= 2) pos = out.writeUIntBE(field24, pos, 3);
    if (fmt <= 1) {
      pos = out.writeUIntBE(length, pos, 3);
      out[pos++] = typeId;
    }
    if (fmt === 0) pos = out.writeUInt32LE(streamId >>> 0, pos); // little-endian (§5.3.1.2.5)
    if (extended) pos = out.writeUInt32BE(field, pos);

    let offset = 0;
    for (let i = 0; i < chunks; i++) {
      if (i > 0) {
        pos = writeBasicHeader(out, pos, 3, csid, basicSize);
        if (extended) pos = out.writeUInt32BE(field, pos);
      }
      const end = Math.min(offset + chunkSize, length);
      pos += payload.copy(out, pos, offset, end);
      offset = end;
    }

    this.#streams.set(csid, {
      timestamp,
      length,
      typeId,
      streamId,
      delta: fmt === 0 ? undefined : field,
    });
    return out;
  }
}

function writeBasicHeader(out: Buffer, pos: number, fmt: number, csid: number, size: number): number {
  if (size === 1) {
    out[pos] = (fmt << 6) | csid;
    return pos + 1;
  }
  if (size === 2) {
    out[pos] = fmt << 6;
    out[pos + 1] = csid - 64;
    return pos + 2;
  }
  out[pos] = (fmt << 6) | 1;
  out.writeUInt16LE(csid - 64, pos + 1); // (third byte)*256 + second byte (§5.3.1.1)
  return pos + 3;
}
