/**
 * Netns scenario (run by runScenarioInNetns): `steadycast stream --multitrack` with a three-rung ladder
 * → the test's own RTMP server (FakeRtmpServer over TCP), which records every message. The server's
 * port is shaped with tc; with `throttle` set it is limited to `rateKbit` from `atS` s after the first
 * video message for `forS` s. Afterwards the recorded messages are written as one enhanced FLV file
 * (what a server recording the stream would hold) and read back with node-av (FFmpeg 8.1), which
 * demuxes each Enhanced RTMP video track as a stream of its own, and decodes every track.
 *
 * Arg: one JSON object (MultitrackScenarioArgs). Prints a MultitrackResult as the LAST stdout line.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeAmf0, encodeAmf0 } from '../../../src/amf0/amf0.js';
import { MessageType } from '../../../src/rtmp/constants.js';
import { readStatsFile } from '../cli.js';
import { FakeRtmpServer } from '../fake-rtmp-server.js';
import { flvFile, type FlvFileTag } from '../flv-file.js';
import { setRate, setupLoopback, shapePort } from '../netns.js';
import { probeWithNodeAv } from '../node-av-probe.js';
import { makeTempDir, sleep, stopProcess } from '../process.js';
import { childCpuSeconds, sleepUntil, spawnPublisher, steadycastCommand, waitFor } from './scenario-steps.js';

/** What to run. */
export interface MultitrackScenarioArgs {
  /** Seconds of media the publisher sends (`--duration`). */
  readonly durationS: number;
  /** `--rendition` values, best first. */
  readonly renditions: readonly string[];
  /** Limit the server's port for a while, or null for a clean run. */
  readonly throttle: { readonly atS: number; readonly forS: number; readonly rateKbit: number } | null;
}

/** One video track as the server received it and FFmpeg decoded it. */
export interface TrackResult {
  /** The Enhanced RTMP track id. */
  readonly id: number;
  /** Coded size FFmpeg read, px. */
  readonly width: number;
  /** Coded size FFmpeg read, px. */
  readonly height: number;
  /** Frames received. */
  readonly frames: number;
  /** Keyframes received. */
  readonly keyframes: number;
  /** Pictures decoded. */
  readonly decodedFrames: number;
  /** Frames missing between the first and the last received (from timestamp gaps at 30 fps). */
  readonly missingFrames: number;
  /** Seconds (from the first video message) at which each run of missing frames began. */
  readonly gapsAtS: readonly number[];
  /** The publisher's own count of this track's congestion drops (final stats). */
  readonly droppedByPublisher: number | null;
  /** Frames the track's encoder handed the output (final stats): what a whole track holds. */
  readonly offeredByPublisher: number | null;
}

/** The scenario's outcome. */
export interface MultitrackResult {
  readonly exitCode: number | string;
  readonly cpuS: number | null;
  readonly connections: number;
  readonly decodeErrors: readonly string[];
  readonly tracks: readonly TrackResult[];
  readonly audioFrames: number;
  readonly decodedAudioFrames: number;
  readonly audioGaps: number;
  readonly metadataTrackIds: readonly string[];
  readonly stderrTail: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as MultitrackScenarioArgs;
const UNLIMITED_KBIT = 10_000_000;
const FRAME_MS = 1000 / 30;

setupLoopback();
const dir = makeTempDir('multitrack');
const server = await FakeRtmpServer.start();
shapePort(server.port);
const statsFile = join(dir, 'stats.jsonl');
const publisher = spawnPublisher(
  steadycastCommand([
    'stream',
    server.url('live', 'multitrack'),
    ...args.renditions.flatMap((r) => ['--rendition', r]),
    '--multitrack',
    '--duration',
    String(args.durationS),
    '--stats-file',
    statsFile,
  ]),
);

const isVideo = (m: { messageTypeId: number }): boolean => m.messageTypeId === MessageType.VIDEO;
await waitFor(() => server.sessions[0]?.messages.find(isVideo), 30_000);
const t0 = performance.now();
if (args.throttle) {
  await sleepUntil(t0 + args.throttle.atS * 1000);
  setRate(server.port, args.throttle.rateKbit);
  await sleepUntil(t0 + (args.throttle.atS + args.throttle.forS) * 1000);
  setRate(server.port, UNLIMITED_KBIT);
}
const exited = await Promise.race([
  publisher.exited,
  sleep((args.durationS + 60) * 1000).then(() => 'timeout'),
]);
if (exited === 'timeout') await stopProcess(publisher, 'SIGINT', 5000);
await server.stop();

// The recording: every media and data message of the publish, as FLV tags at their RTMP timestamps.
const messages = server.sessions[0]?.messages ?? [];
const tags: FlvFileTag[] = [];
let metadataTrackIds: string[] = [];
for (const m of messages) {
  if (m.messageTypeId === MessageType.DATA_AMF0) {
    // `@setDataFrame onMetaData {…}` is recorded as `onMetaData {…}` (what servers write in files).
    const values = decodeAmf0(m.payload);
    const array = values[values.length - 1];
    const properties = (array as { properties?: Record<string, unknown> } | undefined)?.properties;
    metadataTrackIds = Object.keys((properties?.videoTrackIdInfoMap as object | undefined) ?? {});
    tags.push({ type: 18, timestampMs: m.timestamp, body: encodeAmf0('onMetaData', array ?? null) });
  } else if (m.messageTypeId === MessageType.VIDEO || m.messageTypeId === MessageType.AUDIO) {
    tags.push({ type: m.messageTypeId, timestampMs: m.timestamp, body: m.payload });
  }
}
const file = join(dir, 'multitrack.flv');
writeFileSync(file, flvFile(tags));
const report = await probeWithNodeAv(file);
const stats = existsSync(statsFile) ? readStatsFile(statsFile) : [];
const final = stats.at(-1);
const publisherTracks = ((final?.outputs as Record<string, unknown>[] | undefined)?.[0]?.videoTracks ??
  []) as { id: number; written: number; dropped: number }[];
const firstVideoS = Math.min(...report.videoTracks.map((t) => t.packetTimesS[0] ?? Infinity));
const stderr = publisher.stderr();

const result: MultitrackResult = {
  exitCode: exited,
  cpuS: childCpuSeconds(stderr),
  connections: server.sessions.length,
  decodeErrors: report.decodeErrors,
  tracks: report.videoTracks.map((track) => {
    const times = track.packetTimesS.slice().sort((a, b) => a - b);
    const gapsAtS: number[] = [];
    let missingFrames = 0;
    for (let i = 1; i < times.length; i++) {
      const missing = Math.round(((times[i]! - times[i - 1]!) * 1000) / FRAME_MS) - 1;
      if (missing > 0) {
        missingFrames += missing;
        gapsAtS.push(Math.round((times[i - 1]! - firstVideoS) * 10) / 10);
      }
    }
    return {
      id: track.id,
      width: track.width,
      height: track.height,
      frames: track.packets,
      keyframes: track.keyframes,
      decodedFrames: track.decodedFrames,
      missingFrames,
      gapsAtS,
      droppedByPublisher: publisherTracks.find((t) => t.id === track.id)?.dropped ?? null,
      offeredByPublisher: publisherTracks.find((t) => t.id === track.id)?.written ?? null,
    };
  }),
  audioFrames: report.audio?.packetTimesS.length ?? 0,
  decodedAudioFrames: report.decodedAudioFrames,
  audioGaps: report.audio?.gaps.length ?? -1,
  metadataTrackIds,
  stderrTail: stderr.slice(-1500),
};
console.log(JSON.stringify(result));
process.exit(0);
