/**
 * Running the congestion scenario (scenarios/congestion.ts) from a test, and the checks every throttled
 * run must pass at the receiver, whatever the server or codec (congestion.test.ts, congestion-hevc.test.ts).
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { runScenarioInNetns } from '../netns.js';
import type { CongestionResult, CongestionScenarioArgs } from './congestion-analysis.js';

const SCENARIO = join(import.meta.dirname, 'congestion.ts');
/** The default drop threshold (maxLatencyMs), ms. */
export const MAX_LATENCY_MS = 2000;
/** Receiver p95 bound of a throttled run, ms. */
export const LATENCY_BOUND_MS = MAX_LATENCY_MS + 500;
/** Full frame rate must be back at the receiver this soon after the link recovers, ms. */
export const RECOVERY_BOUND_MS = 3000;

/** Runs the scenario in a private network namespace; prints its summary; throws when it did not finish. */
export async function runCongestionScenario(args: CongestionScenarioArgs): Promise<CongestionResult> {
  const totalS = args.leadS + args.throttleS + args.recoverS;
  const run = await runScenarioInNetns<CongestionResult>(SCENARIO, [JSON.stringify(args)], {
    timeoutMs: (totalS + 90) * 1000,
  });
  if (run.code !== 0 || run.json === undefined) {
    throw new Error(`scenario failed (${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
  }
  const { tcStats: _tc, stderrTail: _stderr, ...summary } = run.json;
  const codec = args.media?.codec ?? 'h264';
  console.log(
    `congestion ${args.server} ${codec} ${args.rateKbit ?? 'clean'} kbit: ${JSON.stringify(summary)}`,
  );
  return run.json;
}

/**
 * What every throttled run must show at the receiver, whatever the server. `recovery: false` leaves
 * out the full-frame-rate-within-3-s check, for an encoder that skips frames on a loaded machine (a
 * skipped frame reads as a missing one at the receiver: that measures the CPU, not the path).
 */
export function expectBoundedAndDecodable(r: CongestionResult, { recovery = true } = {}): void {
  const why = JSON.stringify({ latency: r.latency, fps: r.videoFramesPerSecond, stderr: r.stderrTail });
  expect(r.exitCode, why).toBe(0);
  expect(r.tapParseError).toBeNull();
  // Latency at the receiver, over the throttle and the 3 s after it.
  expect(r.latency.throttled.count).toBeGreaterThan(1000);
  expect(r.latency.throttled.p95, why).toBeLessThanOrEqual(LATENCY_BOUND_MS);
  // The server's recording: decodes, audio without gaps, all of it there.
  const totalS = r.args.leadS + r.args.throttleS + r.args.recoverS;
  expect(r.recording?.decodeErrorSample).toEqual([]);
  expect(r.recording?.decodeErrors).toBe(0);
  expect(r.recording?.audioGaps).toEqual([]);
  expect(Math.abs((r.recording?.audioDurationS ?? 0) - totalS)).toBeLessThan(1);
  // Congestion really happened and was handled by dropping video, never audio.
  expect(r.steadycast?.videoPacketsDropped).toBeGreaterThan(0);
  expect(r.steadycast?.audioPacketsDropped).toBe(0);
  // Each congestion episode was announced on the CLI's stderr, as the Streamer's dropstate event.
  expect(r.steadycast?.congestionEvents).toBeGreaterThan(0);
  expect(r.steadycast?.congestionNotices).toBe(r.steadycast?.congestionEvents);
  expect(r.recording?.videoFrames).toBe(r.videoFramesAtTap);
  // Full frame rate back at the receiver soon after the link recovers.
  if (recovery) {
    expect(r.recoveryMs, why).not.toBeNull();
    expect(r.recoveryMs ?? Infinity, why).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
  }
  // Slow is not dead: one TCP connection all along.
  expect(r.tapConnections).toBe(1);
  expect(r.steadycast?.reconnectCount).toBe(0);
}
