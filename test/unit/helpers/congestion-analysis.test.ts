/**
 * The receiver-side "full frame rate is back" measure used by the congestion tests and bench. It must
 * tell lost frames (the publisher still dropping) from late ones (a busy machine stalling a moment).
 */
import { describe, expect, it } from 'vitest';
import { frameRateRecoveryMs } from '../../helpers/scenarios/congestion-analysis.js';
import type { MediaArrival } from '../../helpers/wire-tap.js';

const FRAME_MS = 1000 / 30;

function frame(index: number, arrivalMs: number): MediaArrival {
  return {
    arrivalMs,
    timestampMs: Math.round(index * FRAME_MS),
    type: 9,
    size: 1000,
    keyframe: index % 60 === 0,
    sequenceHeader: false,
    sequenceEnd: false,
  };
}

/** Frames `from`..`to`-1 arriving in real time, `latencyMs` after their timestamps. */
function realTime(from: number, to: number, latencyMs: number): MediaArrival[] {
  const frames: MediaArrival[] = [];
  for (let i = from; i < to; i++) frames.push(frame(i, i * FRAME_MS + latencyMs));
  return frames;
}

describe('frameRateRecoveryMs', () => {
  const restoredMs = 10_000;

  it('is the first frame after the link is back when every frame from there arrives in real time', () => {
    // Throttled until 10 s: frames 1.5 s late, a GOP dropped at 8 s; then a short backlog drains.
    const throttled = realTime(0, 240, 1500);
    const drained = realTime(300, 316, 0).map((f, i) => ({ ...f, arrivalMs: restoredMs + 20 + i * 30 }));
    const media = [...throttled, ...drained, ...realTime(316, 600, 10)];
    expect(frameRateRecoveryMs(media, restoredMs)).toBe(20);
  });

  it('ignores a 150 ms stall on the receiving machine when no frame is missing', () => {
    const media = realTime(300, 600, 10);
    // Frames 480..484 are held and arrive together with frame 485.
    for (let i = 180; i < 185; i++) media[i] = { ...media[i]!, arrivalMs: media[185]!.arrivalMs };
    expect(frameRateRecoveryMs(media, restoredMs)).toBe(10);
  });

  it('starts after the last dropped frame: a GOP dropped 5 s after the link is back', () => {
    const media = [...realTime(300, 450, 10), ...realTime(510, 600, 10)];
    expect(frameRateRecoveryMs(media, restoredMs)).toBe(Math.round(510 * FRAME_MS + 10 - restoredMs));
  });

  it('is null while the publisher still sends every other frame', () => {
    const media = realTime(300, 600, 10).filter((_, i) => i % 2 === 0);
    expect(frameRateRecoveryMs(media, restoredMs)).toBeNull();
  });

  it('is null while every frame is there but arrives at two thirds of real time', () => {
    const media = realTime(300, 600, 10).map((f, i) => ({ ...f, arrivalMs: restoredMs + i * 50 }));
    expect(frameRateRecoveryMs(media, restoredMs)).toBeNull();
  });

  it('is null with less than a second of video after the link is back', () => {
    expect(frameRateRecoveryMs(realTime(0, 320, 0), restoredMs)).toBeNull();
  });
});
