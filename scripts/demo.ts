/**
 * npm run demo — the main job on a fresh machine, with no account: starts a local RTMP ingest
 * (node-media-server, installed by `npm ci`), streams the built-in test pattern and tone to it with
 * `steadycast stream` on its defaults for DEMO_SECONDS (default 10), then reports what the server
 * recorded: its FLV tags read here, and a full decode with ffprobe/ffmpeg when installed. Exits 1 if the
 * recording has a problem.
 */
import { spawn } from 'node:child_process';
import { CLI } from '../test/helpers/cli.js';
import { checkRecordingStart, readFlvTags } from '../test/helpers/flv-tags.js';
import { probeMedia } from '../test/helpers/media-probe.js';
import { startNodeMediaServer } from '../test/helpers/node-media-server.js';
import { missingTools } from '../test/helpers/process.js';

const seconds = Number(process.env.DEMO_SECONDS ?? 10);
const server = await startNodeMediaServer({ publishGraceMs: 0 });
const url = server.url('live', 'demo');
console.log(`local ingest (node-media-server) listening on ${server.url('live', '')}`);
console.log(`$ steadycast stream ${url} --duration ${seconds}\n`);
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [CLI, 'stream', url, '--duration', String(seconds)], {
    stdio: 'inherit',
  });
  child.on('close', (exit) => resolve(exit ?? 1));
});
await server.stop();
const [recording] = server.recordings();
if (code !== 0 || !recording) {
  console.error(`\nthe stream did not complete (exit ${code}); server log:\n${server.log()}`);
  process.exit(1);
}
console.log(`\nthe server recorded ${recording}`);
// Read the recording's FLV tags ourselves (no tools needed), then decode it with ffmpeg when installed.
const tags = readFlvTags(recording);
const videoFrames = tags.filter((t) => t.video?.packetType === 'nalu');
const audioFrames = tags.filter((t) => t.audio?.packetType === 'raw').length;
const keyframesS = videoFrames.filter((t) => t.video?.keyframe).map((t) => (t.timestampMs / 1000).toFixed(1));
const problems = checkRecordingStart(tags).problems;
console.log(
  `  video: ${videoFrames.length} frames, keyframes at ${keyframesS.join(', ')} s\n` +
    `  audio: ${audioFrames} AAC frames (${((audioFrames * 1024) / 48000).toFixed(2)} s at 48 kHz)`,
);
if (missingTools(['ffprobe', 'ffmpeg']).length > 0) {
  console.log('  (install ffmpeg, e.g. apt-get install ffmpeg, to have it decoded and checked for gaps too)');
} else {
  const report = await probeMedia(recording);
  const gaps = report.audio?.gaps.length ?? 0;
  console.log(
    `  decoded: ${report.video?.width}x${report.video?.height}, ${gaps} audio gaps, ${report.decodeErrors.length} decode errors`,
  );
  if (gaps > 0) problems.push(`${gaps} gaps in the audio`);
  if (report.decodeErrors.length > 0) problems.push(`decode errors, e.g. ${report.decodeErrors[0]}`);
}
if (videoFrames.length < seconds * 25)
  problems.push(`only ${videoFrames.length} video frames in ${seconds} s`);
if (problems.length > 0) {
  console.error(`\nthe recording has problems:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nall good: the recording starts with both sequence headers and a keyframe and decodes cleanly');
