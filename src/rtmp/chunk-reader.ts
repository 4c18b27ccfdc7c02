import type { RtmpMessage } from './chunk-writer.js';
import {
  DEFAULT_CHUNK_SIZE,
  EXTENDED_TIMESTAMP_MARKER,
  MAX_MESSAGE_LENGTH,
  MessageType,
} from './constants.js';
import { RtmpProtocolError } from './errors.js';

/** Limits that keep garbage from allocating memory. */
export interface ChunkReaderOptions {
  /** Largest message accepted, bytes; default 1 MiB (a server sends a publisher only small messages). */
  maxMessageBytes?: number;
  /** Most bytes held in incomplete messages across all chunk streams; default 4 MiB. */
  maxBufferedBytes?: number;
  /** Most chunk streams tracked at once; default 256. */
  maxChunkStreams?: number;
}

interface StreamState {
  readonly csid: number;
  timestamp: number;
  length: number;
  typeId: number;
  streamId: number;
  /** The delta a fmt 3 new message adds; after fmt 0 it is that timestamp (§5.3.1.2.4). */
  delta: number;
  /** The last fmt 0/1/2 header announced an Extended Timestamp (§5.3.1.3). */
  extended: boolean;
  /** Incomplete message: parts received so far; undefined between messages. */
  parts: Buffer[] | undefined;
  received: number;
}

/**
 * Turns bytes from the peer into messages (RTMP §5.3), incrementally: any split of the input
 * gives the same messages. Applies the peer's Set Chunk Size and Abort itself (they change how
 * the next chunks parse) and still returns them. Pure: no I/O. After an error it stays failed.
 */
export class ChunkReader {
  readonly #maxMessageBytes: number;
  readonly #maxBufferedBytes: number;
  readonly #maxChunkStreams: number;
  readonly #streams = new Map<number, StreamState>();
  #chunkSize = DEFAULT_CHUNK_SIZE;
  /** An incomplete chunk header carried over from the last push (at most 18 bytes). */
  #pending: Buffer = Buffer.alloc(0);
  /** The stream whose chunk payload is being read, and how much of that chunk is left. */
  #current: StreamState | undefined;
  #chunkLeft = 0;
  #buffered = 0;
  #failure: RtmpProtocolError | undefined;

  constructor(options: ChunkReaderOptions = {}) {
    this.#maxMessageBytes = Math.min(options.maxMessageBytes ?? 1 << 20, MAX_MESSAGE_LENGTH);
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 4 << 20;
    this.#maxChunkStreams = options.maxChunkStreams ?? 256;
  }

  /** Bytes held in incomplete messages. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The peer's current maximum chunk size, bytes. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Feeds bytes; returns the messages they complete. Throws `RtmpProtocolError` on garbage. */
  push(data: Buffer): RtmpMessage[] {
    if (this.#failure) throw this.#failure;
    try {
      return this.#push(data);
    } catch (error) {
      this.#failure =
        error instanceof RtmpProtocolError
          ? error
          : new RtmpProtocolError(`chunk stream: ${String(error)}`, { cause: error });
      throw this.#failure;
    }
  }

  #push(input: Buffer): RtmpMessage[] {
    const out: RtmpMessage[] = [];
    let data = input;
    if (this.#pending.length > 0) {
      data = Buffer.concat([this.#pending, input]);
      this.#pending = Buffer.alloc(0);
    }
    let pos = 0;
    while (pos < data.length) {
      if (this.#current === undefined) {
        const next = this.#readHeader(data, pos, out);
        if (next < 0) {
          this.#pending = Buffer.from(data.subarray(pos));
          break;
        }
        pos = next;
        continue;
      }
      const stream = this.#current;
      const take = Math.min(this.#chunkLeft, data.length - pos);
      stream.parts?.push(Buffer.from(data.subarray(pos, pos + take)));
      stream.received += take;
      this.#buffered += take;
      if (this.#buffered > this.#maxBufferedBytes) {
        throw new RtmpProtocolError(`more than ${this.#maxBufferedBytes} bytes in incomplete messages`);
      }
      this.#chunkLeft -= take;
      pos += take;
      if (this.#chunkLeft === 0) {
        this.#current = undefined;
        if (stream.received === stream.length) this.#complete(stream, out);
      }
    }
    return out;
  }

  /** Parses one chunk header at `pos`; returns the position after it, or -1 if incomplete. */
  #readHeader(data: Buffer, pos: number, out: RtmpMessage[]): number {
    const available = data.length - pos;
    const first = data[pos] as number;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (available < 2) return -1;
      csid = (data[p] as number) + 64;
      p += 1;
    } else if (csid === 1) {
      if (available < 3) return -1;
      csid = data.readUInt16LE(p) + 64;
      p += 2;
    }
    const headerSize = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (data.length - p < headerSize) return -1;

    let stream = this.#streams.get(csid);
    if (fmt !== 0 && stream === undefined) {
      throw new RtmpProtocolError(`chunk stream ${csid} starts with a fmt ${fmt} header, not fmt 0`);
    }
    const field = fmt <= 2 ? data.readUIntBE(p, 3) : 0;
    const extended = fmt <= 2 ? field === EXTENDED_TIMESTAMP_MARKER : (stream?.extended ?? false);
    if (data.length - p < headerSize + (extended ? 4 : 0)) return -1;

    // The header is complete: commit it.
    const length = fmt <= 1 ? data.readUIntBE(p + 3, 3) : (stream?.length ?? 0);
    const typeId = fmt <= 1 ? (data[p + 6] as number) : (stream?.typeId ?? 0);
    const streamId = fmt === 0 ? data.readUInt32LE(p + 7) : (stream?.streamId ?? 0);
    p += headerSize;
    let value = field;
    if (extended) {
      value = data.readUInt32BE(p);
      p += 4;
    }

    if (stream?.parts !== undefined) {
      // RTMP §5.3.1.2.4: every chunk of a message but the first is fmt 3.
      if (fmt !== 3) {
        throw new RtmpProtocolError(`chunk stream ${csid}: fmt ${fmt} header inside an incomplete message`);
      }
      this.#current = stream;
      this.#chunkLeft = Math.min(this.#chunkSize, stream.length - stream.received);
      return p;
    }

    if (length > this.#maxMessageBytes) {
      throw new RtmpProtocolError(
        `chunk stream ${csid}: message of ${length} bytes exceeds the limit of ${this.#maxMessageBytes}`,
      );
    }
    if (stream === undefined) {
      if (this.#streams.size >= this.#maxChunkStreams) {
        throw new RtmpProtocolError(`more than ${this.#maxChunkStreams} chunk streams in use`);
      }
      stream = {
        csid,
        timestamp: 0,
        length,
        typeId,
        streamId,
        delta: 0,
        extended,
        parts: undefined,
        received: 0,
      };
      this.#streams.set(csid, stream);
    }
    if (fmt === 0) {
      stream.timestamp = value;
      stream.delta = value;
    } else {
      if (fmt !== 3) stream.delta = value;
      stream.timestamp = (stream.timestamp + stream.delta) >>> 0;
    }
    if (fmt <= 2) stream.extended = extended;
    stream.length = length;
    stream.typeId = typeId;
    stream.streamId = streamId;
    stream.parts = [];
    stream.received = 0;
    if (length === 0) {
      this.#complete(stream, out);
      return p;
    }
    this.#current = stream;
    this.#chunkLeft = Math.min(this.#chunkSize, length);
    return p;
  }

  #complete(stream: StreamState, out: RtmpMessage[]): void {
    const parts = stream.parts ?? [];
    const payload = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, stream.received);
    this.#buffered -= stream.received;
    stream.parts = undefined;
    stream.received = 0;
    const message: RtmpMessage = {
      chunkStreamId: stream.csid,
      messageTypeId: stream.typeId,
      messageStreamId: stream.streamId,
      timestamp: stream.timestamp,
      payload,
    };
    this.#applyControl(message);
    out.push(message);
  }

  /** Set Chunk Size and Abort take effect at once, before the next chunk (RTMP §5.4). */
  #applyControl(message: RtmpMessage): void {
    if (message.messageTypeId === MessageType.SET_CHUNK_SIZE) {
      if (message.payload.length < 4) throw new RtmpProtocolError('Set Chunk Size shorter than 4 bytes');
      const size = message.payload.readUInt32BE(0);
      // RTMP §5.4.1: the top bit MUST be zero; 1..0x7FFFFFFF, beyond 0xFFFFFF all equivalent.
      if (size === 0 || size > 0x7fffffff) throw new RtmpProtocolError(`invalid Set Chunk Size ${size}`);
      this.#chunkSize = Math.min(size, MAX_MESSAGE_LENGTH);
    } else if (message.messageTypeId === MessageType.ABORT) {
      if (message.payload.length < 4) throw new RtmpProtocolError('Abort Message shorter than 4 bytes');
      const target = this.#streams.get(message.payload.readUInt32BE(0));
      if (target?.parts !== undefined) {
        this.#buffered -= target.received;
        target.parts = undefined;
        target.received = 0;
      }
    }
  }
}
