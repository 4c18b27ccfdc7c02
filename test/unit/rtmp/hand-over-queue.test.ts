import { describe, expect, it } from 'vitest';
import { HandOverQueue } from '../../../src/rtmp/hand-over-queue.js';

/** A socket that records what it was given; `full` makes it answer false (past its high-water mark). */
function sink(full = false): { write: (piece: Buffer) => boolean; pieces: Buffer[]; bytes: () => Buffer } {
  const pieces: Buffer[] = [];
  return {
    pieces,
    write: (piece) => {
      pieces.push(piece);
      return !full;
    },
    bytes: () => Buffer.concat(pieces),
  };
}

describe('HandOverQueue', () => {
  it('without a limit, passes every buffer through whole', () => {
    const queue = new HandOverQueue();
    const out = sink();
    queue.push(Buffer.from('abc'));
    queue.push(Buffer.from('defg'));
    expect(queue.release(out.write)).toBe(true);
    expect(out.pieces.map(String)).toEqual(['abc', 'defg']);
    expect(queue.heldBytes).toBe(0);
  });

  it('gives out no more than the limit, cutting a buffer where it falls, and the rest in order later', () => {
    const queue = new HandOverQueue();
    const out = sink();
    queue.limit(5);
    queue.push(Buffer.from('abc'));
    queue.push(Buffer.from('defgh'));
    queue.release(out.write);
    expect(String(out.bytes())).toBe('abcde');
    expect(queue.heldBytes).toBe(3);
    queue.push(Buffer.from('ij'));
    queue.release(out.write); // no room left: nothing more
    expect(String(out.bytes())).toBe('abcde');
    queue.limit(4);
    queue.release(out.write);
    expect(String(out.bytes())).toBe('abcdefghi');
    expect(queue.heldBytes).toBe(1);
    queue.limit(Infinity);
    queue.release(out.write);
    expect(String(out.bytes())).toBe('abcdefghij');
    expect(queue.heldBytes).toBe(0);
  });

  it('gives a buffer that fits the room exactly whole, once', () => {
    const queue = new HandOverQueue();
    const out = sink();
    queue.limit(3);
    queue.push(Buffer.from('abc'));
    queue.release(out.write);
    queue.limit(Infinity);
    queue.release(out.write);
    expect(out.pieces.map(String)).toEqual(['abc']);
  });

  it('counts only whole bytes of a fractional limit (and never spins on the fraction)', () => {
    const queue = new HandOverQueue();
    const out = sink();
    queue.limit(2.9);
    queue.push(Buffer.from('abcdef'));
    queue.release(out.write);
    expect(String(out.bytes())).toBe('ab');
    queue.limit(0.5);
    queue.release(out.write);
    expect(String(out.bytes())).toBe('ab');
    queue.limit(-3);
    queue.release(out.write);
    expect(queue.heldBytes).toBe(4);
  });

  it("returns the socket's last answer, and true when it gave nothing", () => {
    const queue = new HandOverQueue();
    const full = sink(true);
    queue.push(Buffer.from('abc'));
    expect(queue.release(full.write)).toBe(false);
    queue.limit(0);
    queue.push(Buffer.from('d'));
    expect(queue.release(full.write)).toBe(true);
  });

  it('forgets what waits on clear()', () => {
    const queue = new HandOverQueue();
    const out = sink();
    queue.limit(0);
    queue.push(Buffer.from('abc'));
    queue.clear();
    queue.limit(Infinity);
    queue.release(out.write);
    expect(out.pieces).toEqual([]);
    expect(queue.heldBytes).toBe(0);
  });
});
