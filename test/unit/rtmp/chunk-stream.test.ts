import { describe, expect, it } from 'vitest';
import { ChunkReader } from '../../../src/rtmp/chunk-reader.js';
import { ChunkWriter, toRtmpTimestamp, type RtmpMessage } from '../../../src/rtmp/chunk-writer.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { RtmpProtocolError } from '../../../src/rtmp/errors.js';
import { setChunkSizeMessage } from '../../../src/rtmp/messages.js';
import { mulberry32, randomBytes, randomInt } from '../../helpers/prng.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - ChunkReader `#pending.length > 0` → `>= 0`/`true`: concatenating an empty carry-over changes nothing;
// - `next < 0` → `<= 0`: a header always ends after the byte it starts at, so `next` is never 0;
// - `available < 2` → `false` for a two-byte basic header: the message-header length check right
//   after it finds the same input too short;
// - `if (fmt <= 2) stream.extended = extended` → `if (true)`: for fmt 3, `extended` is that value;
// - `parts.length === 1 ? parts[0] : concat` → always concat: the same bytes, copied;
// - not reached: `stream?.extended ?? false` (only fmt 0 meets an unknown stream, and it reads its
//   own marker) and the `{ cause }` of a non-protocol error (nothing in #push throws one).

const message = (over: Partial<RtmpMessage> & { payload: Buffer }): RtmpMessage => ({
  chunkStreamId: 3,
  messageTypeId: MessageType.AUDIO,
  messageStreamId: 1,
  timestamp: 0,
  ...over,
});

const fill = (length: number, byte = 0xab): Buffer => Buffer.alloc(length, byte);

/** A writer using the largest chunks, and the Set Chunk Size message that tells a reader so. */
const largeChunks = (): { writer: ChunkWriter; announce: Buffer } => {
  const writer = new ChunkWriter();
  const announce = writer.write(setChunkSizeMessage(0xffffff));
  writer.setChunkSize(0xffffff);
  return { writer, announce };
};

/** Pushes `bytes` one byte at a time, to prove any split works. */
const pushBytewise = (reader: ChunkReader, bytes: Buffer): RtmpMessage[] => {
  const out: RtmpMessage[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(...reader.push(bytes.subarray(i, i + 1)));
  return out;
};

describe('ChunkWriter', () => {
  it('splits a 307-byte video message into 128-byte chunks with fmt 3 continuations (RTMP §5.3.2.2)', () => {
    const writer = new ChunkWriter();
    const out = writer.write(
      message({
        chunkStreamId: 4,
        messageTypeId: 9,
        messageStreamId: 12346,
        timestamp: 1000,
        payload: fill(307),
      }),
    );
    expect(out.length).toBe(140 + 129 + 52);
    expect(out.subarray(0, 12).toString('hex')).toBe('04' + '0003e8' + '000133' + '09' + '3a300000');
    expect(out[140]).toBe(0xc4);
    expect(out[140 + 129]).toBe(0xc4);
  });

  it('compresses headers fmt 0, 2, 3, 3 for equal audio messages 20 ms apart (RTMP §5.3.2.1)', () => {
    const writer = new ChunkWriter();
    const sizes = [1000, 1020, 1040, 1060].map(
      (timestamp) => writer.write(message({ messageStreamId: 12345, timestamp, payload: fill(32) })).length,
    );
    expect(sizes).toEqual([44, 36, 33, 33]);
    const second = writer.write(message({ messageStreamId: 12345, timestamp: 1090, payload: fill(32) }));
    expect(second.subarray(0, 4).toString('hex')).toBe('83' + '00001e'); // fmt 2, delta 30
  });

  it('uses fmt 1 when the length or the type changes, keeping the delta', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 10, payload: fill(10) }));
    const out = writer.write(message({ timestamp: 25, payload: fill(11) }));
    expect(out.subarray(0, 8).toString('hex')).toBe('43' + '00000f' + '00000b' + '08');
  });

  it('uses fmt 1 when only the message type changes', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 10, payload: fill(10) }));
    const out = writer.write(message({ timestamp: 20, messageTypeId: MessageType.VIDEO, payload: fill(10) }));
    expect(out.subarray(0, 8).toString('hex')).toBe('43' + '00000a' + '00000a' + '09');
  });

  it('never uses fmt 3 for a repeated delta of exactly 0xFFFFFF (it needs the extended field)', () => {
    const writer = new ChunkWriter();
    const step = 0xffffff;
    writer.write(message({ timestamp: 0, payload: fill(4) }));
    writer.write(message({ timestamp: step, payload: fill(4) }));
    const out = writer.write(message({ timestamp: 2 * step, payload: fill(4) }));
    expect(out[0]! >> 6).toBe(2);
    expect(out.readUInt32BE(4)).toBe(step);
  });

  it('uses fmt 0 when the timestamp goes backward or the message stream changes', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 100, payload: fill(4) }));
    expect(writer.write(message({ timestamp: 50, payload: fill(4) }))[0]! >> 6).toBe(0);
    expect(writer.write(message({ timestamp: 60, messageStreamId: 2, payload: fill(4) }))[0]! >> 6).toBe(0);
  });

  it('writes 0xFFFFFE in the 24-bit field without an extended timestamp', () => {
    const out = new ChunkWriter().write(message({ timestamp: 0xfffffe, payload: fill(4) }));
    expect(out.length).toBe(12 + 4);
    expect(out.readUIntBE(1, 3)).toBe(0xfffffe);
  });

  it('writes the 0xFFFFFF marker and an extended timestamp from 0xFFFFFF on (RTMP §5.3.1.3)', () => {
    const out = new ChunkWriter().write(message({ timestamp: 0xffffff, payload: fill(4) }));
    expect(out.length).toBe(12 + 4 + 4);
    expect(out.readUIntBE(1, 3)).toBe(0xffffff);
    expect(out.readUInt32BE(12)).toBe(0xffffff);
  });

  it('repeats the extended timestamp on every fmt 3 continuation chunk, as FFmpeg and nginx-rtmp expect', () => {
    const out = new ChunkWriter().write(message({ timestamp: 0x12345678, payload: fill(300, 0x11) }));
    // [12 hdr][4 ext][128] [1][4 ext][128] [1][4 ext][44]
    expect(out.length).toBe(16 + 128 + 5 + 128 + 5 + 44);
    expect(out.readUInt32BE(12)).toBe(0x12345678);
    expect(out[16 + 128]).toBe(0xc3);
    expect(out.readUInt32BE(16 + 128 + 1)).toBe(0x12345678);
    expect(out.readUInt32BE(16 + 128 + 5 + 128 + 1)).toBe(0x12345678);
  });

  it('sends an extended delta on a fmt 1 header and its continuations', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 5, payload: fill(10) }));
    const out = writer.write(message({ timestamp: 5 + 0x1000000, payload: fill(200) }));
    expect(out[0]! >> 6).toBe(1);
    expect(out.readUIntBE(1, 3)).toBe(0xffffff);
    expect(out.readUInt32BE(8)).toBe(0x1000000);
    expect(out.readUInt32BE(12 + 128 + 1)).toBe(0x1000000);
  });

  it('wraps timestamps to 32 bits', () => {
    expect(toRtmpTimestamp(2 ** 32 + 7)).toBe(7);
    expect(toRtmpTimestamp(1234.9)).toBe(1234);
    expect(toRtmpTimestamp(0)).toBe(0);
    expect(toRtmpTimestamp(-1)).toBe(0xffffffff); // a time before the epoch wraps the same way
    const out = new ChunkWriter().write(message({ timestamp: 2 ** 32 + 0x1000000, payload: fill(1) }));
    expect(out.readUInt32BE(12)).toBe(0x1000000);
  });

  it('encodes chunk stream ids 64–319 in two bytes and 320+ in three (RTMP §5.3.1.1)', () => {
    const writer = new ChunkWriter();
    expect(
      writer
        .write(message({ chunkStreamId: 64, payload: fill(1) }))
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('0000');
    expect(
      writer
        .write(message({ chunkStreamId: 319, payload: fill(1) }))
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('00ff');
    expect(
      writer
        .write(message({ chunkStreamId: 365, payload: fill(1) }))
        .subarray(0, 3)
        .toString('hex'),
    ).toBe('012d01');
  });

  it('writes one header only for a message that fits a larger chunk size', () => {
    const writer = new ChunkWriter();
    writer.setChunkSize(4096);
    expect(writer.write(message({ payload: fill(4096) })).length).toBe(12 + 4096);
    expect(writer.write(message({ timestamp: 1, payload: fill(4097) })).length).toBe(8 + 4096 + 1 + 1);
  });

  it('takes chunk sizes 1 to 0x7FFFFFFF and uses at most the 24-bit message length beyond it (RTMP §5.4.1)', () => {
    const writer = new ChunkWriter();
    writer.setChunkSize(1);
    expect(writer.chunkSize).toBe(1);
    expect(writer.write(message({ payload: fill(3) })).length).toBe(12 + 1 + 2 * (1 + 1));
    writer.setChunkSize(0x7fffffff);
    expect(writer.chunkSize).toBe(0xffffff);
  });

  it.each([0, -1, 1.5, 0x80000000, Number.NaN])('refuses chunk size %s with a RangeError', (size) => {
    const writer = new ChunkWriter();
    expect(() => writer.setChunkSize(size)).toThrow(RangeError);
    expect(writer.chunkSize).toBe(128);
  });

  it.each([1, 65600, 2.5])(
    'refuses chunk stream id %s with a RangeError naming the id and the range (RTMP §5.3.1.1: 2..65599)',
    (csid) => {
      const write = (): Buffer => new ChunkWriter().write(message({ chunkStreamId: csid, payload: fill(1) }));
      expect(write).toThrow(RangeError);
      expect(write).toThrow(`chunk stream id ${csid} outside 2..65599`);
    },
  );

  it('writes the lowest and highest chunk stream ids, 2 and 65599', () => {
    const writer = new ChunkWriter();
    expect(writer.write(message({ chunkStreamId: 2, payload: fill(1) }))[0]).toBe(0x02);
    const high = writer.write(message({ chunkStreamId: 65599, payload: fill(1) }));
    expect(high.subarray(0, 3).toString('hex')).toBe('01ffff');
  });

  it('switches from two to three basic-header bytes exactly at chunk stream 320', () => {
    const writer = new ChunkWriter();
    expect(writer.write(message({ chunkStreamId: 63, payload: fill(1) }))[0]).toBe(63);
    expect(
      writer
        .write(message({ chunkStreamId: 320, payload: fill(1) }))
        .subarray(0, 3)
        .toString('hex'),
    ).toBe('010001');
  });

  it('refuses a message longer than the 24-bit length field, and writes one that just fits', () => {
    const { writer } = largeChunks();
    expect(() => writer.write(message({ payload: Buffer.alloc(0x1000000) }))).toThrow(RtmpProtocolError);
    expect(writer.write(message({ payload: Buffer.alloc(0xffffff) })).length).toBe(12 + 0xffffff);
  });

  it('sends a message with the same timestamp as a delta of 0 (fmt 2), not a new fmt 0 header', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 40, payload: fill(4) }));
    const out = writer.write(message({ timestamp: 40, payload: fill(4) }));
    expect(out.subarray(0, 4).toString('hex')).toBe('83000000');
  });

  it('never repeats a fmt 0 timestamp as an implied fmt 3 delta: the message after fmt 0 gets fmt 2', () => {
    const writer = new ChunkWriter();
    writer.write(message({ timestamp: 20, payload: fill(4) }));
    // delta 20 equals the fmt 0 timestamp, which readers disagree about (§5.3.1.2.4)
    expect(writer.write(message({ timestamp: 40, payload: fill(4) }))[0]! >> 6).toBe(2);
    expect(writer.write(message({ timestamp: 60, payload: fill(4) }))[0]! >> 6).toBe(3);
  });

  it('never uses fmt 3 for an extended delta, even when it repeats', () => {
    const writer = new ChunkWriter();
    const step = 0x1000000;
    writer.write(message({ timestamp: 0, payload: fill(4) }));
    writer.write(message({ timestamp: step, payload: fill(4) }));
    const out = writer.write(message({ timestamp: 2 * step, payload: fill(4) }));
    expect(out[0]! >> 6).toBe(2);
    expect(out.readUIntBE(1, 3)).toBe(0xffffff);
    expect(out.readUInt32BE(4)).toBe(step);
  });

  it('writes a zero-length message as one header and no chunks', () => {
    expect(new ChunkWriter().write(message({ payload: Buffer.alloc(0) })).length).toBe(12);
  });
});

describe('ChunkReader', () => {
  it('reads back the spec examples, byte by byte', () => {
    const writer = new ChunkWriter();
    const sent = [
      message({
        chunkStreamId: 4,
        messageTypeId: 9,
        messageStreamId: 12346,
        timestamp: 1000,
        payload: fill(307),
      }),
      ...[1000, 1020, 1040, 1060].map((timestamp) =>
        message({ messageStreamId: 12345, timestamp, payload: fill(32) }),
      ),
    ];
    const bytes = Buffer.concat(sent.map((m) => writer.write(m)));
    expect(pushBytewise(new ChunkReader(), bytes)).toEqual(sent);
  });

  it('reads extended timestamps at 0xFFFFFE, 0xFFFFFF and above, also on continuation chunks', () => {
    const writer = new ChunkWriter();
    const sent = [0xfffffe, 0xffffff, 0x1000000, 0x7fffffff, 0xffffffff].map((timestamp) =>
      message({ messageStreamId: 2, timestamp, payload: fill(300) }),
    );
    const bytes = Buffer.concat(sent.map((m) => writer.write(m)));
    expect(pushBytewise(new ChunkReader(), bytes)).toEqual(sent);
  });

  it('applies the peer’s Set Chunk Size to the chunks after it, mid-stream', () => {
    const writer = new ChunkWriter();
    const big = message({ timestamp: 1, payload: randomBytes(mulberry32(1), 5000) });
    const parts = [writer.write(message({ payload: fill(200) })), writer.write(setChunkSizeMessage(4096))];
    writer.setChunkSize(4096);
    parts.push(writer.write(big));
    const reader = new ChunkReader();
    const out = reader.push(Buffer.concat(parts));
    expect(out.map((m) => m.payload.length)).toEqual([200, 4, 5000]);
    expect(out[2]).toEqual(big);
    expect(reader.chunkSize).toBe(4096);
  });

  it('reassembles interleaved chunk streams', () => {
    const writer = new ChunkWriter();
    const a = message({ chunkStreamId: 4, payload: randomBytes(mulberry32(2), 300) });
    const b = message({ chunkStreamId: 6, messageTypeId: 9, payload: randomBytes(mulberry32(3), 200) });
    const wa = writer.write(a); // [12+128][1+128][1+44]
    const wb = writer.write(b); // [12+128][1+72]
    const interleaved = Buffer.concat([
      wa.subarray(0, 140),
      wb.subarray(0, 140),
      wa.subarray(140, 269),
      wb.subarray(140),
      wa.subarray(269),
    ]);
    const out = new ChunkReader().push(interleaved);
    expect(out).toEqual([b, a]);
  });

  it('reads a fmt 3 new message after fmt 0 with the fmt 0 timestamp as its delta (RTMP §5.3.1.2.4)', () => {
    const first = Buffer.from('03' + '000064' + '000001' + '08' + '01000000' + 'aa', 'hex');
    const out = new ChunkReader().push(Buffer.concat([first, Buffer.from('c3bb', 'hex')]));
    expect(out.map((m) => m.timestamp)).toEqual([100, 200]);
    expect(out[1]!.payload.toString('hex')).toBe('bb');
  });

  it('discards a partial message on Abort', () => {
    const writer = new ChunkWriter();
    const partial = writer.write(message({ chunkStreamId: 5, payload: fill(300) })).subarray(0, 140);
    const abort = new ChunkWriter().write({
      chunkStreamId: 2,
      messageTypeId: MessageType.ABORT,
      messageStreamId: 0,
      timestamp: 0,
      payload: Buffer.from('00000005', 'hex'),
    });
    const reader = new ChunkReader();
    expect(reader.push(Buffer.concat([partial, abort])).map((m) => m.messageTypeId)).toEqual([
      MessageType.ABORT,
    ]);
    expect(reader.bufferedBytes).toBe(0);
    // a new fmt 0 message on the aborted stream is accepted
    const next = message({ chunkStreamId: 5, payload: fill(3) });
    expect(reader.push(new ChunkWriter().write(next))).toEqual([next]);
  });

  it.each([
    ['two-byte', 70, 'c006'],
    ['three-byte', 400, 'c15001'],
  ])(
    'completes a zero-length message as soon as its %s fmt 3 header is in, when the input ends there',
    (_name, csid, header) => {
      const reader = new ChunkReader();
      const first = message({ chunkStreamId: csid, payload: Buffer.alloc(0) });
      expect(reader.push(new ChunkWriter().write(first))).toEqual([first]);
      expect(reader.push(Buffer.from(header, 'hex'))).toEqual([first]); // fmt 3: same header, delta 0
    },
  );

  it('delivers zero-length messages', () => {
    const m = message({ payload: Buffer.alloc(0) });
    expect(new ChunkReader().push(new ChunkWriter().write(m))).toEqual([m]);
  });

  it.each([
    ['a fmt 1 header on an unknown chunk stream', '43 000000 000001 08'],
    ['a message larger than the limit', '03 000000 ffffff 08 00000000'],
    ['Set Chunk Size 0', '02 000000 000004 01 00000000 00000000'],
    ['Set Chunk Size with the top bit set', '02 000000 000004 01 00000000 80000000'],
  ])('throws RtmpProtocolError for %s', (_name, input) => {
    expect(() => new ChunkReader().push(Buffer.from(input.replace(/\s+/g, ''), 'hex'))).toThrow(
      RtmpProtocolError,
    );
  });

  it('throws RtmpProtocolError for a fmt 0 header inside an incomplete message', () => {
    const writer = new ChunkWriter();
    const partial = writer.write(message({ payload: fill(300) })).subarray(0, 140);
    const next = new ChunkWriter().write(message({ payload: fill(3) }));
    expect(() => new ChunkReader().push(Buffer.concat([partial, next]))).toThrow(/incomplete message/);
  });

  it('stays failed after an error, even for input that is valid on its own', () => {
    const reader = new ChunkReader();
    expect(() => reader.push(Buffer.from('4300000000000108', 'hex'))).toThrow(RtmpProtocolError);
    const valid = new ChunkWriter().write(message({ payload: fill(3) }));
    expect(new ChunkReader().push(valid)).toHaveLength(1);
    expect(() => reader.push(valid)).toThrow(/fmt 1 header/);
  });

  it('accepts a message of exactly maxMessageBytes and refuses one byte more', () => {
    const writer = new ChunkWriter();
    const reader = new ChunkReader({ maxMessageBytes: 300 });
    expect(reader.push(writer.write(message({ payload: fill(300) })))).toHaveLength(1);
    expect(() => reader.push(writer.write(message({ timestamp: 1, payload: fill(301) })))).toThrow(
      /exceeds the limit of 300/,
    );
  });

  it('limits messages to 1 MiB by default', () => {
    const { writer, announce } = largeChunks();
    expect(
      new ChunkReader().push(
        Buffer.concat([announce, writer.write(message({ payload: Buffer.alloc(1 << 20) }))]),
      ),
    ).toHaveLength(2);
    const over = writer.write(message({ chunkStreamId: 4, payload: Buffer.alloc((1 << 20) + 1) }));
    expect(() => new ChunkReader().push(Buffer.concat([announce, over]))).toThrow(/limit of 1048576/);
  });

  it('holds up to maxBufferedBytes of incomplete messages, and refuses one byte more', () => {
    const writer = new ChunkWriter();
    const first = writer.write(message({ chunkStreamId: 3, payload: fill(300) })).subarray(0, 12 + 128);
    const second = writer.write(message({ chunkStreamId: 4, payload: fill(300) })).subarray(0, 12 + 128);
    const exact = new ChunkReader({ maxBufferedBytes: 256 });
    exact.push(Buffer.concat([first, second]));
    expect(exact.bufferedBytes).toBe(256);
    const over = new ChunkReader({ maxBufferedBytes: 255 });
    expect(() => over.push(Buffer.concat([first, second]))).toThrow(/more than 255 bytes/);
  });

  it('buffers 4 MiB of incomplete messages by default', () => {
    const { writer, announce } = largeChunks();
    const reader = new ChunkReader({ maxMessageBytes: 0xffffff });
    reader.push(announce);
    const big = writer.write(message({ payload: Buffer.alloc(5 << 20) }));
    reader.push(big.subarray(0, 12 + (4 << 20)));
    expect(reader.bufferedBytes).toBe(4 << 20);
    expect(() => reader.push(big.subarray(12 + (4 << 20), 12 + (4 << 20) + 1))).toThrow(/more than 4194304/);
  });

  it('tracks up to maxChunkStreams chunk streams (256 by default) and refuses one more', () => {
    const opens = (n: number): Buffer => {
      const writer = new ChunkWriter();
      return Buffer.concat(
        Array.from({ length: n }, (_, i) =>
          writer.write(message({ chunkStreamId: 3 + i, payload: fill(1) })),
        ),
      );
    };
    expect(new ChunkReader().push(opens(256))).toHaveLength(256);
    expect(() => new ChunkReader().push(opens(257))).toThrow(/more than 256 chunk streams/);
    expect(new ChunkReader({ maxChunkStreams: 2 }).push(opens(2))).toHaveLength(2);
  });

  it('takes Set Chunk Size up to 0x7FFFFFFF, reading chunks of at most the 24-bit message length', () => {
    const reader = new ChunkReader();
    reader.push(new ChunkWriter().write(setChunkSizeMessage(0x7fffffff)));
    expect(reader.chunkSize).toBe(0xffffff);
  });

  it.each([
    ['Set Chunk Size', MessageType.SET_CHUNK_SIZE],
    ['Abort', MessageType.ABORT],
  ])('refuses a %s message shorter than 4 bytes', (_name, type) => {
    const short = new ChunkWriter().write({
      chunkStreamId: 2,
      messageTypeId: type,
      messageStreamId: 0,
      timestamp: 0,
      payload: Buffer.from('000080', 'hex'),
    });
    expect(() => new ChunkReader().push(short)).toThrow(/shorter than 4 bytes/);
  });

  it('ignores an Abort for a chunk stream with no incomplete message', () => {
    const writer = new ChunkWriter();
    const reader = new ChunkReader();
    const done = message({ chunkStreamId: 5, payload: fill(3) });
    const partial = writer.write(message({ chunkStreamId: 6, payload: fill(300) })).subarray(0, 140);
    const abort = (csid: number): Buffer =>
      new ChunkWriter().write({
        chunkStreamId: 2,
        messageTypeId: MessageType.ABORT,
        messageStreamId: 0,
        timestamp: 0,
        payload: Buffer.from([0, 0, 0, csid]),
      });
    reader.push(Buffer.concat([writer.write(done), partial, abort(5), abort(9)]));
    expect(reader.bufferedBytes).toBe(128);
  });

  it('bounds the number of chunk streams and the bytes held in incomplete messages', () => {
    const streams = new ChunkReader({ maxChunkStreams: 4 });
    const writer = new ChunkWriter();
    const opens = [3, 4, 5, 6, 7].map((csid) =>
      writer.write(message({ chunkStreamId: csid, payload: fill(300) })),
    );
    expect(() => streams.push(Buffer.concat(opens.map((b) => b.subarray(0, 140))))).toThrow(/chunk streams/);
    const buffered = new ChunkReader({ maxBufferedBytes: 500 });
    expect(() => buffered.push(Buffer.concat(opens.map((b) => b.subarray(0, 140))))).toThrow(/incomplete/);
  });
});

describe('ChunkWriter → ChunkReader round trip', () => {
  it('returns many random messages unchanged with random chunk sizes and random input splits', () => {
    const random = mulberry32(0xc0ffee);
    for (let round = 0; round < 40; round++) {
      const writer = new ChunkWriter();
      const reader = new ChunkReader({ maxMessageBytes: 0xffffff, maxBufferedBytes: 64 << 20 });
      const sent: RtmpMessage[] = [];
      const bytes: Buffer[] = [];
      const lastTimestamp = new Map<number, number>();
      for (let i = 0; i < 60; i++) {
        if (random() < 0.05) {
          const size = randomInt(random, 1, 70000);
          const m = setChunkSizeMessage(size);
          bytes.push(writer.write(m));
          sent.push(m);
          writer.setChunkSize(size);
          continue;
        }
        const chunkStreamId = [3, 4, 6, 70, 400][randomInt(random, 0, 4)]!;
        const previous = lastTimestamp.get(chunkStreamId) ?? randomInt(random, 0, 0xffffffff);
        const jump = random() < 0.1 ? randomInt(random, 0, 0x1ffffff) : randomInt(random, 0, 40);
        const timestamp = random() < 0.05 ? randomInt(random, 0, 0xffffffff) : (previous + jump) % 2 ** 32;
        lastTimestamp.set(chunkStreamId, timestamp);
        const length = random() < 0.5 ? randomInt(random, 0, 50) : randomInt(random, 0, 20000);
        const m: RtmpMessage = {
          chunkStreamId,
          messageTypeId: random() < 0.5 ? MessageType.VIDEO : MessageType.AUDIO,
          messageStreamId: random() < 0.9 ? 1 : randomInt(random, 0, 0xffffffff),
          timestamp,
          payload: randomBytes(random, length),
        };
        bytes.push(writer.write(m));
        sent.push(m);
      }
      const all = Buffer.concat(bytes);
      const received: RtmpMessage[] = [];
      for (let pos = 0; pos < all.length;) {
        const step = randomInt(random, 1, random() < 0.5 ? 20 : 9000);
        received.push(...reader.push(all.subarray(pos, pos + step)));
        pos += step;
      }
      // Buffers compared with equals(): a deep toEqual over megabytes is needlessly slow.
      expect(received.map(({ payload: _p, ...header }) => header)).toEqual(
        sent.map(({ payload: _p, ...header }) => header),
      );
      received.forEach((m, i) => expect(m.payload.equals(sent[i]!.payload)).toBe(true));
    }
  });
});

describe('ChunkReader fuzz', () => {
  it('throws only RtmpProtocolError for thousands of random, mutated and truncated inputs', () => {
    const random = mulberry32(0xf022);
    const writer = new ChunkWriter();
    const valid = Buffer.concat([
      writer.write(setChunkSizeMessage(200)),
      writer.write(message({ timestamp: 0x1000000, payload: fill(500) })),
      writer.write(message({ chunkStreamId: 300, timestamp: 5, payload: fill(50) })),
    ]);
    for (let i = 0; i < 4000; i++) {
      let input: Buffer;
      if (i % 3 === 0) input = valid.subarray(0, randomInt(random, 0, valid.length));
      else if (i % 3 === 1) {
        input = Buffer.from(valid);
        for (let k = 0; k < 4; k++) input[randomInt(random, 0, input.length - 1)] = randomInt(random, 0, 255);
      } else input = randomBytes(random, randomInt(random, 0, 400));
      const reader = new ChunkReader();
      try {
        for (let pos = 0; pos < input.length; pos += 7) reader.push(input.subarray(pos, pos + 7));
      } catch (error) {
        expect(error).toBeInstanceOf(RtmpProtocolError);
      }
      expect(reader.bufferedBytes).toBeLessThanOrEqual(input.length);
    }
  });
});
