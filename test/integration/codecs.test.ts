/**
 * `steadycast stream --codec hevc|av1` (libx265, libsvtav1) at 640x360 to node-media-server 4, which
 * ingests Enhanced RTMP and records it, plus an H.264 control run; each run also records locally
 * (--record). What the server recorded is read with node-av (Debian's ffmpeg 5.1 cannot read enhanced
 * FLV): the codec, the frames (every one the encoder made; at least half of the deadlines on this
 * loaded 2-core machine), a keyframe every --keyint, zero decode errors, gapless audio.
 *
 * Length: 20 s for HEVC and AV1, 10 s for the H.264 control (its path is tested at length elsewhere)
 * and 10 s for `--codec hevc,h264`: about 75 s in all, each run costing some 2.5 s more for the
 * server's start and stop and the decoding. node-media-server 4 says nothing about codecs in its
 * connect _result, so the negotiation stays `unconfirmed` (the first codec asked for is sent, with a
 * list too: the encoder opens once the server has answered, and there is no fallback).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStatsFile, runCli } from '../helpers/cli.js';
import { probeWithNodeAv, type NodeAvReport } from '../helpers/node-av-probe.js';
import { startNodeMediaServer } from '../helpers/node-media-server.js';
import { makeTempDir, requirementSkipReason } from '../helpers/process.js';
import { expectCleanRecording, framesFromStats } from '../helpers/recording-checks.js';
import type { VideoCodec } from '../../src/media/packet.js';

const missing = requirementSkipReason({ tools: ['ss'] });
const dir = makeTempDir('codecs-test');
const KEYINT_S = 2;
const FPS = 30;

/** What one run gave, for the summary printed at the end. */
const summary: string[] = [];
afterAll(() => {
  if (summary.length > 0) process.stdout.write(`codecs.test.ts:\n${summary.join('\n')}\n`);
});

/** The checks on one recording of `seconds` of `codec`, with `encoded` frames made by the encoder. */
function expectRecording(report: NodeAvReport, codec: VideoCodec, seconds: number, encoded: number): void {
  const file = report.file;
  expectCleanRecording(report); // both streams, no decode error, keyframe first, dts in order, no audio gap
  const video = report.video;
  if (!video) throw new Error(`${file} has no video`);
  expect(video.codecName, file).toBe(codec);
  expect([video.width, video.height], file).toEqual([640, 360]);
  expect(video.frameCount, file).toBeGreaterThanOrEqual((seconds * FPS) / 2);
  // Nothing was dropped on the way (the stats say 0 drops): the server holds every frame encoded.
  expect(Math.abs(video.frameCount - encoded), file).toBeLessThanOrEqual(2);
  expect(report.decodedVideoFrames, file).toBe(video.frameCount);
  // A keyframe every KEYINT_S (one frame later where the encoder skipped the frame it was due on).
  const keys = video.keyframeTimesS;
  expect(keys.length, file).toBe(Math.ceil(seconds / KEYINT_S));
  const steps = keys.slice(1).map((t, i) => t - (keys[i] ?? 0));
  for (const step of steps) expect(step, `${file}: keyframe steps ${steps.join(', ')}`).toBeCloseTo(2, 0);
  expect(Math.max(...steps) - Math.min(...steps), file).toBeLessThan(0.2);
  expect(report.decodedAudioFrames, file).toBeGreaterThan(0);
  expect(Math.abs((report.audio?.durationS ?? 0) - seconds), file).toBeLessThan(0.5);
}

describe.skipIf(missing)(`steadycast stream --codec to node-media-server 4 ${missing ?? ''}`, () => {
  it.each([
    ['hevc', 'hevc', 20],
    ['av1', 'av1', 20],
    ['h264', 'h264', 10],
    // A list to a server that says nothing about codecs: the first is sent, unconfirmed, no fallback.
    ['hevc,h264', 'hevc', 10],
  ] as const)(
    '--codec %s (%s) for %i s at 640x360: the server records that codec, every frame encoded, a keyframe every 2 s, zero decode errors, gapless audio',
    async (typed, codec, seconds) => {
      const nms = await startNodeMediaServer({ publishGraceMs: 0 });
      try {
        const statsFile = join(dir, `${typed}-stats.jsonl`);
        const local = join(dir, `${typed}-local.flv`);
        const run = await runCli(
          [
            'stream',
            nms.url('live', codec),
            '--codec',
            typed,
            '--size',
            '640x360',
            '--video-bitrate',
            '1000k',
            '--keyint',
            String(KEYINT_S),
            '--duration',
            String(seconds),
            '--record',
            local,
            '--stats-file',
            statsFile,
            '--quiet',
          ],
          (seconds + 30) * 1000,
        );
        expect(run.code, run.stderr).toBe(0);
        await nms.stop(); // NMS closes its recordings
        const [recording] = nms.recordings();
        if (!recording) throw new Error(`node-media-server recorded nothing:\n${nms.log()}`);
        const stats = readStatsFile(statsFile);
        const final = stats.at(-1) ?? {};
        expect(final).toMatchObject({ final: true, videoPacketsDropped: 0, audioPacketsDropped: 0 });
        expect(final).toMatchObject({ videoCodec: codec, videoCodecFallback: null });
        expect(run.stderr).not.toContain('does not take');
        const negotiation = (final.outputs as { codecNegotiation?: unknown }[])[0]?.codecNegotiation;
        expect(negotiation).toEqual({
          videoCodec: codec,
          state: codec === 'h264' ? 'not-asked' : 'unconfirmed',
          accepted: typed.split(','),
        });
        const encoded = framesFromStats(final, seconds, FPS);
        const received = await probeWithNodeAv(recording);
        expectRecording(received, codec, seconds, encoded);
        const recorded = await probeWithNodeAv(local);
        expectRecording(recorded, codec, seconds, encoded);
        summary.push(
          `  ${typed}: ${seconds} s, encoded ${encoded} (skipped ${String(final.framesSkippedEncoder)}), ` +
            `server ${received.video?.frameCount} frames, ${received.video?.keyframeTimesS.length} keyframes, ` +
            `${received.decodeErrors.length} decode errors, audio ${received.audio?.durationS.toFixed(2)} s ` +
            `with ${received.audio?.gaps.length} gaps; local ${recorded.video?.frameCount} frames; ${JSON.stringify(negotiation)}`,
        );
      } finally {
        await nms.stop();
      }
    },
    90_000,
  );
});
