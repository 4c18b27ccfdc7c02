import { describe, expect, it } from 'vitest';
import { frameByteLength } from '../../../src/media/frames.js';
import { readTestPatternCode, TestPatternSource } from '../../../src/capture/test-pattern.js';

describe('TestPatternSource', () => {
  it('codes the frame index and session time into the picture so a receiver can read them back', () => {
    const source = new TestPatternSource(640, 360);
    for (const [index, us] of [
      [0, 0],
      [1, 33_333],
      [12345, 411_500_000],
      [2 ** 31 + 7, 4_000_000_000_000],
    ] as const) {
      const frame = source.grab(index, us);
      expect(frame.data.length).toBe(frameByteLength('i420', 640, 360));
      expect(readTestPatternCode(frame.data, 640)).toEqual({
        frameIndex: index,
        timeMs: Math.floor(us / 1000) % 2 ** 32,
      });
    }
  });

  it('changes the picture on every frame', () => {
    const source = new TestPatternSource(320, 240);
    const a = source.grab(10, 0).data;
    const b = source.grab(11, 0).data;
    expect(a.equals(b)).toBe(false);
  });

  it('keeps a grabbed picture unchanged until as many more as its ring holds are grabbed', () => {
    const source = new TestPatternSource(320, 240, 4);
    const first = source.grab(0, 0);
    const copy = Buffer.from(first.data);
    for (let i = 1; i < 4; i++) source.grab(i, i * 33_333);
    expect(first.data.equals(copy)).toBe(true);
    // The fifth grab reuses the first picture's memory.
    expect(source.grab(4, 133_333).data.buffer).toBe(first.data.buffer);
  });
});
