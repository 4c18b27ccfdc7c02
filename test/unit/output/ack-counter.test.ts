import { describe, expect, it } from 'vitest';
import { AckCounter } from '../../../src/output/ack-counter.js';

const UINT32 = 2 ** 32;

describe('AckCounter', () => {
  it('counts from the first sequence number, clamped to what was written', () => {
    const counter = new AckCounter();
    expect(counter.acknowledge(5000, 10_000)).toBe(5000);
    expect(counter.acknowledge(12_000, 10_000)).toBe(10_000); // a server counting the handshake
  });

  it('never moves backwards on a repeated value', () => {
    const counter = new AckCounter();
    counter.acknowledge(5000, 10_000);
    expect(counter.acknowledge(5000, 10_000)).toBe(5000);
  });

  it('unwraps a sequence number that wrapped at 2^32 when that much was written', () => {
    const counter = new AckCounter();
    counter.acknowledge(UINT32 - 3000, UINT32 - 2000);
    expect(counter.acknowledge(1000, UINT32 + 4000)).toBe(UINT32 + 1000);
    expect(counter.acknowledge(2000, UINT32 + 4000)).toBe(UINT32 + 2000);
    expect(counter.counterEvents).toEqual({ wraps: 1, resets: 0 });
  });

  it('takes a wrap within the slack of what was written (the server counted a little more)', () => {
    const counter = new AckCounter({ slackBytes: 8192 });
    counter.acknowledge(UINT32 - 3000, UINT32 - 3000);
    expect(counter.acknowledge(4000, UINT32)).toBe(UINT32);
    expect(counter.counterEvents.wraps).toBe(1);
  });

  it('re-bases at the last acknowledged byte when the server restarts counting (nginx-rtmp at 0xF0000000)', () => {
    const counter = new AckCounter();
    counter.acknowledge(9_000_000, 10_000_000);
    expect(counter.acknowledge(50_000, 10_100_000)).toBe(9_050_000); // far too small for a wrap
    expect(counter.acknowledge(60_000, 10_100_000)).toBe(9_060_000);
    expect(counter.counterEvents).toEqual({ wraps: 0, resets: 1 });
  });

  it('follows a second wrap from the new base', () => {
    const counter = new AckCounter();
    counter.acknowledge(UINT32 - 10, UINT32 - 10);
    counter.acknowledge(100, UINT32 + 100);
    counter.acknowledge(UINT32 - 10, 2 * UINT32 - 10);
    expect(counter.acknowledge(5, 2 * UINT32 + 5)).toBe(2 * UINT32 + 5);
    expect(counter.counterEvents.wraps).toBe(2);
  });

  it('takes a wrap at exactly the slack past what was written, and re-bases one byte beyond it (default slack 8192)', () => {
    const atSlack = new AckCounter();
    atSlack.acknowledge(UINT32 - 3000, UINT32 - 3000);
    expect(atSlack.acknowledge(8192, UINT32)).toBe(UINT32);
    expect(atSlack.counterEvents).toEqual({ wraps: 1, resets: 0 });
    const beyond = new AckCounter();
    beyond.acknowledge(UINT32 - 3000, UINT32 - 3000);
    expect(beyond.acknowledge(8193, UINT32)).toBe(UINT32); // re-based at UINT32 − 3000, clamped to what was written
    expect(beyond.counterEvents).toEqual({ wraps: 0, resets: 1 });
  });

  it('reads sequence numbers as uint32 (a value past 2^32 from a sloppy peer wraps)', () => {
    const counter = new AckCounter();
    expect(counter.acknowledge(UINT32 + 500, 10_000)).toBe(500);
  });
});
