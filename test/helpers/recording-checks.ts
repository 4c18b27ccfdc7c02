import { expect } from 'vitest';
import type { MediaReport } from './media-probe.js';

/** What a recording should hold, when a test knows it. */
export interface ExpectedRecording {
  /** Video frames, ± 2. */
  frames: number;
  /** Audio duration, ± 0.1 s. */
  seconds: number;
}

/**
 * The checks every clean publish must pass on what the server recorded: both streams, zero decode
 * errors, a keyframe first, monotonic dts, 48 kHz audio without gaps; and the expected frame count and
 * duration when given. Failures name the file.
 */
export function expectCleanRecording(report: MediaReport, expected?: ExpectedRecording): void {
  const file = report.file;
  expect(report.decodeErrors, file).toEqual([]);
  const { video, audio } = report;
  if (!video || !audio) throw new Error(`the recording ${file} lacks a stream`);
  expect(video.firstPacketIsKeyframe, file).toBe(true);
  expect(video.dtsMonotonic, file).toBe(true);
  expect(audio.dtsMonotonic, file).toBe(true);
  expect(audio.sampleRate, file).toBe(48000);
  expect(audio.gaps, file).toEqual([]);
  if (!expected) return;
  expect(Math.abs(video.frameCount - expected.frames), file).toBeLessThanOrEqual(2);
  expect(Math.abs(audio.durationS - expected.seconds), file).toBeLessThan(0.1);
}
