import { describe, expect, it } from 'vitest';
import { PlaybackTimeline } from '../../../src/capture/playback-timeline.js';

describe('PlaybackTimeline', () => {
  it("starts at 0 whatever the file's first timestamp", () => {
    const t = new PlaybackTimeline();
    expect(t.map(1_400_000, 40_000)).toBe(0);
    expect(t.map(1_440_000, 40_000)).toBe(40_000);
  });

  it('continues after a loop from the end of the previous pass: never backwards', () => {
    const t = new PlaybackTimeline();
    const pass = [0, 40_000, 80_000];
    const seen: number[] = [];
    for (let loop = 0; loop < 3; loop++) {
      for (const pts of pass) seen.push(t.map(pts, 40_000));
      t.wrap();
    }
    expect(seen).toEqual([0, 40_000, 80_000, 120_000, 160_000, 200_000, 240_000, 280_000, 320_000]);
    expect(t.loops).toBe(3);
    expect(t.endUs).toBe(360_000);
  });

  it('keeps each stream monotonic on its own, and the pass ends at the longer stream', () => {
    const t = new PlaybackTimeline();
    expect(t.map(0, 40_000, 'video')).toBe(0);
    expect(t.map(0, 21_333, 'audio')).toBe(0);
    expect(t.map(40_000, 40_000, 'video')).toBe(40_000);
    expect(t.map(21_333, 21_333, 'audio')).toBe(21_333);
    expect(t.map(30_000, 40_000, 'video')).toBe(40_000); // a step back is held at the previous time
    t.wrap();
    expect(t.map(0, 40_000, 'video')).toBe(80_000);
    expect(t.map(0, 21_333, 'audio')).toBe(80_000);
  });

  it('places items without a timestamp right after the previous one', () => {
    const t = new PlaybackTimeline();
    t.map(0, 10_000, 'audio');
    expect(t.map(null, 10_000, 'audio')).toBe(0);
  });
});
