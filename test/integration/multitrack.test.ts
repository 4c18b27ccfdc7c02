/**
 * Multitrack renditions (issue 13, Enhanced RTMP v2): `steadycast stream --multitrack` with three
 * renditions (640x360@800k, 426x240@400k, 256x144@150k) in one connection to the test's own RTMP
 * server, which records every message; the recording is read back with node-av (FFmpeg 8.1 demuxes each
 * Enhanced RTMP video track as a stream of its own) and every track decoded. A clean run, then a run
 * throttled with tc in a private network namespace to 1000 kbit/s (the stream is ≈ 1.5 Mbit/s; without
 * its top track ≈ 0.7 Mbit/s); and a clean run to node-media-server 4, whose recording keeps the
 * tracks. About 80 s.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStatsFile, runCli } from '../helpers/cli.js';
import { runScenarioInNetns } from '../helpers/netns.js';
import { probeWithNodeAv } from '../helpers/node-av-probe.js';
import { startNodeMediaServer } from '../helpers/node-media-server.js';
import { makeTempDir, requirementSkipReason } from '../helpers/process.js';
import type {
  MultitrackResult,
  MultitrackScenarioArgs,
  TrackResult,
} from '../helpers/scenarios/multitrack.js';

const SCENARIO = join(import.meta.dirname, '..', 'helpers', 'scenarios', 'multitrack.ts');
const RENDITIONS = ['high=640x360@800k', 'mid=426x240@400k', 'low=256x144@150k'];
const AAC_FRAMES_PER_S = 48000 / 1024;

const missing = requirementSkipReason({ tools: ['unshare', 'tc', 'ip'], root: true });
const missingForNms = requirementSkipReason({ tools: ['ss'] });

async function run(args: MultitrackScenarioArgs): Promise<MultitrackResult> {
  const result = await runScenarioInNetns<MultitrackResult>(SCENARIO, [JSON.stringify(args)], {
    timeoutMs: (args.durationS + 60) * 1000,
  });
  if (result.code !== 0 || result.json === undefined) {
    throw new Error(
      `scenario failed (${result.code}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  const { stderrTail: _tail, ...summary } = result.json;
  console.log(
    `multitrack ${args.throttle ? `${args.throttle.rateKbit} kbit` : 'clean'}: ${JSON.stringify(summary)}`,
  );
  return result.json;
}

const byId = (r: MultitrackResult): TrackResult[] => r.tracks.slice().sort((a, b) => a.id - b.id);

/** What every run must show: three tracks, each decoding every frame it holds; audio whole. */
function expectDecodable(r: MultitrackResult, durationS: number): void {
  const why = r.stderrTail;
  expect(r.exitCode, why).toBe(0);
  expect(r.connections).toBe(1);
  expect(r.decodeErrors).toEqual([]);
  expect(r.metadataTrackIds).toEqual(['1', '2']);
  expect(byId(r).map((t) => [t.id, t.width, t.height])).toEqual([
    [0, 256, 144],
    [1, 426, 240],
    [2, 640, 360],
  ]);
  for (const track of r.tracks) expect(track.decodedFrames, `track ${track.id}`).toBe(track.frames);
  expect(r.decodedAudioFrames).toBe(r.audioFrames);
  expect(r.audioGaps).toBe(0);
  expect(r.audioFrames).toBeGreaterThanOrEqual(Math.floor((durationS - 0.2) * AAC_FRAMES_PER_S));
}

describe.skipIf(missing)('multitrack: three renditions in one connection', () => {
  it('clean: every track holds every frame its encoder made, and decodes', { timeout: 90_000 }, async () => {
    const durationS = 10;
    const r = await run({ durationS, renditions: RENDITIONS, throttle: null });
    expectDecodable(r, durationS);
    for (const track of r.tracks) {
      expect(track.droppedByPublisher, `track ${track.id}`).toBe(0);
      expect(track.frames, `track ${track.id}`).toBe(track.offeredByPublisher);
      expect(track.frames).toBeGreaterThanOrEqual(durationS * 30 * 0.9); // capture may lag at start-up
      expect(track.keyframes).toBeGreaterThanOrEqual(durationS / 2);
    }
  });

  it(
    'under a throttle the top track loses GOPs while track 0 (and here track 1) stays whole',
    { timeout: 120_000 },
    async () => {
      const durationS = 35;
      const r = await run({
        durationS,
        renditions: RENDITIONS,
        throttle: { atS: 5, forS: 22, rateKbit: 1000 },
      });
      expectDecodable(r, durationS);
      const [base, mid, top] = byId(r) as [TrackResult, TrackResult, TrackResult];
      // Track 0 is whole: nothing dropped, every frame its encoder handed the output arrived.
      expect(base.droppedByPublisher).toBe(0);
      expect(base.frames).toBe(base.offeredByPublisher);
      // The top track paid: whole GOPs (60 frames each) of it are missing; the lower ones paid less.
      expect(top.droppedByPublisher).toBeGreaterThanOrEqual(120);
      expect(top.frames).toBeLessThanOrEqual(base.frames - 120);
      expect(mid.droppedByPublisher ?? Infinity).toBeLessThanOrEqual(top.droppedByPublisher ?? 0);
      expect(top.frames + (top.droppedByPublisher ?? 0)).toBe(top.offeredByPublisher);
    },
  );
});

describe.skipIf(missingForNms)('multitrack to node-media-server 4', () => {
  it(
    'records all three tracks: each decodes every frame the publisher sent, with 0 errors',
    { timeout: 60_000 },
    async () => {
      const durationS = 8;
      const dir = makeTempDir('multitrack-nms');
      const nms = await startNodeMediaServer({ publishGraceMs: 0 });
      try {
        const statsFile = join(dir, 'stats.jsonl');
        const run = await runCli(
          ['stream', nms.url('live', 'multitrack'), ...RENDITIONS.flatMap((r) => ['--rendition', r])].concat([
            '--multitrack',
            '--duration',
            String(durationS),
            '--stats-file',
            statsFile,
            '--quiet',
          ]),
          (durationS + 30) * 1000,
        );
        expect(run.code, run.stderr).toBe(0);
        await nms.stop(); // NMS closes its recordings
        const [recording] = nms.recordings();
        if (!recording) throw new Error(`node-media-server recorded nothing:\n${nms.log()}`);
        const report = await probeWithNodeAv(recording);
        const outputs = readStatsFile(statsFile).at(-1)?.outputs as {
          videoTracks: { id: number; sent: number; dropped: number }[];
        }[];
        const sent = outputs[0]?.videoTracks ?? [];
        const tracks = report.videoTracks.slice().sort((a, b) => a.id - b.id);
        console.log(
          `multitrack to node-media-server: ${JSON.stringify(tracks.map((t) => ({ id: t.id, width: t.width, frames: t.packets, decoded: t.decodedFrames })))}, ` +
            `sent ${JSON.stringify(sent)}, audio ${report.decodedAudioFrames}, errors ${report.decodeErrors.length}`,
        );
        expect(report.decodeErrors).toEqual([]);
        expect(tracks.map((t) => [t.id, t.width, t.height])).toEqual([
          [0, 256, 144],
          [1, 426, 240],
          [2, 640, 360],
        ]);
        for (const track of tracks) {
          const publisher = sent.find((t) => t.id === track.id);
          expect(publisher?.dropped, `track ${track.id}`).toBe(0);
          expect(track.packets, `track ${track.id}`).toBe(publisher?.sent);
          expect(track.decodedFrames, `track ${track.id}`).toBe(track.packets);
          expect(track.packets).toBeGreaterThanOrEqual(durationS * 30 * 0.9);
        }
        expect(report.decodedAudioFrames).toBeGreaterThanOrEqual(
          Math.floor((durationS - 0.2) * AAC_FRAMES_PER_S),
        );
        expect(report.audio?.gaps).toEqual([]);
      } finally {
        await nms.stop();
      }
    },
  );
});
