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
 * errors, a keyframe first, dts always increasing, 48 kHz audio without gaps; and the expected frame count and
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
  expect(video.dtsRepeats, file).toEqual([]);
  expect(audio.dtsRepeats, file).toEqual([]);
  expect(audio.sampleRate, file).toBe(48000);
  expect(audio.gaps, file).toEqual([]);
  if (!expected) return;
  expect(Math.abs(video.frameCount - expected.frames), file).toBeLessThanOrEqual(2);
  expect(Math.abs(audio.durationS - expected.seconds), file).toBeLessThan(0.1);
}

/**
 * The video frames a run's final stats say reached the encoder — captured, minus those a busy encoder
 * skipped — after checking that each of the `seconds × fps` frame deadlines was either captured or
 * counted as lagged (the last one may fall after the stop). What a server received must then be
 * exactly these: a frame missed for load is counted, never silently lost.
 */
export function framesFromStats(final: Record<string, unknown>, seconds: number, fps = 30): number {
  const captured = Number(final.framesCaptured);
  const lagged = Number(final.framesLagged);
  const deadlines = Math.round(seconds * fps);
  const accounted = `${captured} captured + ${lagged} lagged of ${deadlines} deadlines`;
  expect(captured + lagged, accounted).toBeGreaterThanOrEqual(deadlines - 1);
  expect(captured + lagged, accounted).toBeLessThanOrEqual(deadlines);
  return captured - Number(final.framesSkippedEncoder);
}
