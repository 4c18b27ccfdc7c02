import { describe, expect, it } from 'vitest';
import { RtmpHandshakeError } from '../../../src/rtmp/errors.js';
import { ClientHandshake } from '../../../src/rtmp/handshake.js';

const fixedRandom = (target: Buffer): void => {
  for (let i = 0; i < target.length; i++) target[i] = i & 0xff;
};

/** S0 + S1 + S2 as a well-behaved server builds them. */
function serverReply(c1: Buffer, echo = true): Buffer {
  const s1 = Buffer.alloc(1536, 0x5a);
  s1.writeUInt32BE(777, 0);
  s1.writeUInt32BE(0, 4);
  const s2 = echo ? Buffer.from(c1) : Buffer.alloc(1536, 0x33);
  return Buffer.concat([Buffer.from([3]), s1, s2]);
}

describe('ClientHandshake', () => {
  it('builds C0 + C1: version 3, the time, four zero bytes and 1528 random bytes (RTMP §5.2.2–5.2.3)', () => {
    const c0c1 = new ClientHandshake(0x01020304, fixedRandom).c0c1();
    expect(c0c1.length).toBe(1537);
    expect(c0c1[0]).toBe(3);
    expect(c0c1.readUInt32BE(1)).toBe(0x01020304);
    expect(c0c1.readUInt32BE(5)).toBe(0);
    expect(c0c1[9]).toBe(0);
    expect(c0c1[10]).toBe(1);
  });

  it('uses fresh random bytes by default', () => {
    expect(new ClientHandshake().c0c1().equals(new ClientHandshake().c0c1())).toBe(false);
  });

  it('answers S1 with C2 = S1 and finishes after S2, whatever the split', () => {
    const hs = new ClientHandshake(5, fixedRandom);
    const c1 = hs.c0c1().subarray(1);
    const reply = serverReply(c1);
    const outputs = [];
    for (let pos = 0; pos < reply.length; pos += 100) outputs.push(hs.push(reply.subarray(pos, pos + 100)));
    const c2s = outputs.filter((o) => o.c2);
    expect(c2s).toHaveLength(1);
    expect(c2s[0]!.c2!.equals(reply.subarray(1, 1537))).toBe(true);
    expect(outputs.at(-1)!.done).toBe(true);
    expect(outputs.slice(0, -1).every((o) => !o.done)).toBe(true);
    expect(hs.info).toEqual({ serverTime: 777, serverVersion: 0, s2EchoMatched: true });
  });

  it('returns bytes that follow S2 as the start of the chunk stream', () => {
    const hs = new ClientHandshake(0, fixedRandom);
    const reply = Buffer.concat([serverReply(hs.c0c1().subarray(1)), Buffer.from([0x02, 0x00])]);
    const progress = hs.push(reply);
    expect(progress.c2).toBeDefined();
    expect(progress.done).toBe(true);
    expect(progress.rest?.toString('hex')).toBe('0200');
  });

  it('accepts an S2 that does not echo C1 and reports it, as digest-handshake servers answer that way', () => {
    const hs = new ClientHandshake(0, fixedRandom);
    expect(hs.push(serverReply(hs.c0c1().subarray(1), false)).done).toBe(true);
    expect(hs.info?.s2EchoMatched).toBe(false);
  });

  it('rejects a server version other than 3, and says when it is not RTMP at all', () => {
    expect(() => new ClientHandshake().push(Buffer.from([6]))).toThrow(RtmpHandshakeError);
    let error: unknown;
    try {
      new ClientHandshake().push(Buffer.from('HTTP/1.1 400 Bad Request'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RtmpHandshakeError);
    expect((error as RtmpHandshakeError).message).toMatch(/not an RTMP server/);
    expect((error as RtmpHandshakeError).retryable).toBe(false);
  });
});
