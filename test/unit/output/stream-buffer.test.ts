import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  StreamBuffer,
  defaultStreamBufferOptions,
  shouldCompact,
} from '../../../src/output/stream-buffer.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { audio, interFrame, keyframe } from './packets.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent because no caller can
// observe the backing array, only what is queued and in which order:
// - #compactIfDue: `if (true)` (never compact), `if (false)` (compact at every call), the negation
//   dropped and an empty body change only memory use and copying; `shouldCompact` itself is pinned by
//   the table below.

function kinds(buffer: StreamBuffer): string {
  return buffer
    .toArray()
    .map((p) => (p.kind === 'audio' ? 'a' : p.keyframe ? 'K' : 'p'))
    .join('');
}

/** Fills a buffer from a pattern: K keyframe, p inter frame, a audio; one packet per ms. */
function fill(buffer: StreamBuffer, pattern: string): void {
  [...pattern].forEach((c, i) => {
    const atMs = i;
    const p = c === 'K' ? keyframe({ atMs }) : c === 'p' ? interFrame({ atMs }) : audio({ atMs });
    expect(buffer.addPacket(p)).toBe(true);
  });
}

describe('StreamBuffer', () => {
  it('defaults to 100 packets, 4 MiB and 2000 ms', () => {
    expect(defaultStreamBufferOptions()).toEqual({
      maxPackets: 100,
      maxBytes: 4 * 1024 * 1024,
      maxLatencyMs: 2000,
    });
  });

  it.each([
    [{ maxPackets: 0 }, 'maxPackets'],
    [{ maxPackets: 1.5 }, 'maxPackets'],
    [{ maxBytes: -1 }, 'maxBytes'],
    [{ maxLatencyMs: 0 }, 'maxLatencyMs'],
    [{ maxLatencyMs: Number.NaN }, 'maxLatencyMs'],
  ])('rejects %o naming the field', (options, field) => {
    expect(() => new StreamBuffer(new FakeClock(), options)).toThrow(ConfigError);
    try {
      new StreamBuffer(new FakeClock(), options);
    } catch (error) {
      expect((error as ConfigError).field).toBe(field);
    }
  });

  it('accepts the smallest caps: one packet, one byte', () => {
    expect(new StreamBuffer(new FakeClock(), { maxPackets: 1, maxBytes: 1 }).options).toMatchObject({
      maxPackets: 1,
      maxBytes: 1,
    });
  });

  it.each([
    // dead slots, total slots → compact?
    [0, 0, true], // empty and nothing dead: trivially
    [5, 5, true], // everything sent: start over at once
    [1023, 1100, false], // fewer than 1024 dead
    [1024, 2048, true], // 1024 dead, half the array
    [1024, 2049, false], // 1024 dead, less than half
    [1500, 2000, true],
    [10, 100, false],
  ])(
    'reclaims %i dead slots of %i: %s (at once when nothing is live, else from 1024 dead making half)',
    (dead, total, expected) => {
      expect(shouldCompact(dead, total)).toBe(expected);
    },
  );

  it('dequeues in arrival order and keeps size, bytes and per-kind counts', () => {
    const buffer = new StreamBuffer(new FakeClock());
    const a = keyframe({ bytes: 100 });
    const b = audio({ bytes: 10 });
    const c = interFrame({ bytes: 50 });
    [a, b, c].forEach((p) => buffer.addPacket(p));
    expect([buffer.size, buffer.bytes, buffer.videoCount, buffer.audioCount]).toEqual([3, 160, 2, 1]);
    expect(buffer.peek()).toBe(a);
    expect(buffer.nextPacket()).toBe(a);
    expect(buffer.nextPacket()).toBe(b);
    expect([buffer.size, buffer.bytes, buffer.videoCount, buffer.audioCount]).toEqual([1, 50, 1, 0]);
    expect(buffer.nextPacket()).toBe(c);
    expect(buffer.nextPacket()).toBeUndefined();
    expect([buffer.size, buffer.bytes]).toEqual([0, 0]);
  });

  it('measures latency as now minus the dts of the oldest queued packet', () => {
    const clock = new FakeClock();
    const buffer = new StreamBuffer(clock);
    expect(buffer.currentLatencyMs).toBe(0);
    clock.advance(1000);
    buffer.addPacket(keyframe({ atMs: 400 }));
    buffer.addPacket(audio({ atMs: 900 }));
    expect(buffer.currentLatencyMs).toBe(600);
    buffer.nextPacket();
    expect(buffer.currentLatencyMs).toBe(100);
    buffer.nextPacket();
    expect(buffer.currentLatencyMs).toBe(0);
  });

  it('refuses a packet beyond the packet cap and reports which cap', () => {
    const buffer = new StreamBuffer(new FakeClock(), { maxPackets: 2 });
    expect(buffer.addPacket(audio())).toBe(true);
    expect(buffer.addPacket(audio())).toBe(true);
    expect(buffer.hardCapExceeded(audio())).toBe('packets');
    expect(buffer.canAcceptPacket(audio())).toBe(false);
    expect(buffer.addPacket(audio())).toBe(false);
    expect(buffer.size).toBe(2);
  });

  it('refuses a packet beyond the byte cap, but an empty buffer takes any one packet', () => {
    const buffer = new StreamBuffer(new FakeClock(), { maxBytes: 1000 });
    expect(buffer.addPacket(keyframe({ bytes: 5000 }))).toBe(true);
    expect(buffer.hardCapExceeded(audio({ bytes: 1 }))).toBe('bytes');
    buffer.nextPacket();
    expect(buffer.addPacket(audio({ bytes: 600 }))).toBe(true);
    expect(buffer.addPacket(audio({ bytes: 400 }))).toBe(true);
    expect(buffer.addPacket(audio({ bytes: 1 }))).toBe(false);
  });

  it('accepts over the bounds only through addPacketOverBound', () => {
    const buffer = new StreamBuffer(new FakeClock(), { maxPackets: 1 });
    buffer.addPacket(audio());
    buffer.addPacketOverBound(audio());
    expect(buffer.size).toBe(2);
  });

  it('reports the latency bound in canAcceptPacket', () => {
    const clock = new FakeClock();
    const buffer = new StreamBuffer(clock, { maxLatencyMs: 500 });
    buffer.addPacket(audio({ atMs: 0 }));
    clock.advance(500);
    expect(buffer.canAcceptPacket(audio())).toBe(true);
    clock.advance(1);
    expect(buffer.canAcceptPacket(audio())).toBe(false);
  });

  it('clear() returns everything it removed, oldest first', () => {
    const buffer = new StreamBuffer(new FakeClock());
    fill(buffer, 'Kap');
    buffer.nextPacket();
    expect(buffer.clear().map((p) => p.kind)).toEqual(['audio', 'video']);
    expect([buffer.size, buffer.bytes, buffer.videoCount]).toEqual([0, 0, 0]);
  });

  it.each([
    // queued (oldest first)  → left after purgeBrokenGop, purged count
    ['KpapKpap', 'Kpapa', 3],
    ['papp', 'a', 3],
    ['pKpa', 'pa', 2],
    ['aaa', 'aaa', 0],
    ['', '', 0],
    ['KpKpKa', 'KpKpa', 1],
  ])(
    'purgeBrokenGop on %s leaves %s (audio stays, video from the last queued keyframe goes)',
    (queued, left, purged) => {
      const buffer = new StreamBuffer(new FakeClock());
      fill(buffer, queued);
      const removed = buffer.purgeBrokenGop();
      expect(kinds(buffer)).toBe(left);
      expect(removed).toHaveLength(purged);
      expect(removed.every((p) => p.kind === 'video')).toBe(true);
      expect(buffer.videoCount).toBe([...left].filter((c) => c !== 'a').length);
    },
  );

  it('purgeAllVideo removes every queued video packet and keeps audio in order', () => {
    const buffer = new StreamBuffer(new FakeClock());
    fill(buffer, 'KapaKpa');
    const before = buffer.toArray().filter((p) => p.kind === 'audio');
    expect(buffer.purgeAllVideo()).toHaveLength(4);
    expect(buffer.toArray()).toEqual(before);
    expect(buffer.bytes).toBe(3 * 400);
  });

  it('purges correctly after the head has moved', () => {
    const buffer = new StreamBuffer(new FakeClock());
    fill(buffer, 'KpppaKpa');
    buffer.nextPacket();
    buffer.nextPacket();
    buffer.purgeBrokenGop();
    expect(kinds(buffer)).toBe('ppaa');
  });

  it('stays FIFO across many enqueues and dequeues (compaction keeps order)', () => {
    const buffer = new StreamBuffer(new FakeClock(), { maxPackets: 10_000 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) buffer.addPacket(audio({ atMs: next++ }));
      for (let i = 0; i < 2990; i++) {
        if (buffer.nextPacket()?.dtsUs !== 1000 * expected++) expect.fail(`out of order at ${expected - 1}`);
      }
    }
    expect(buffer.size).toBe(next - expected);
  });

  it('enqueues and dequeues a million packets without a per-dequeue copy', () => {
    // No timing is asserted (that is a benchmark's job): a dequeue that copied or shifted the array
    // would make this take minutes, and the test's timeout fails it. A head index takes tens of ms.
    const buffer = new StreamBuffer(new FakeClock(), { maxPackets: 1_000_000 });
    const p = audio();
    for (let i = 0; i < 1_000_000; i++) buffer.addPacket(p);
    for (let i = 0; i < 1_000_000; i++) buffer.nextPacket();
    expect(buffer.size).toBe(0);
    expect(buffer.bytes).toBe(0);
  });
});
