/**
 * npm run demo — the main job on a fresh machine, with no account: starts a local RTMP ingest
 * (node-media-server, installed by `npm ci`), streams the built-in test pattern and tone to it with
 * `steadycast stream` on its defaults for DEMO_SECONDS (default 10), then reports what the server
 * recorded (with ffprobe, when it is installed).
 */
import { spawn } from 'node:child_process';
import { CLI } from '../test/helpers/cli.js';
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
if (missingTools(['ffprobe', 'ffmpeg']).length > 0) {
  console.log('install ffmpeg (apt-get install ffmpeg) to have the recording checked here');
} else {
  const report = await probeMedia(recording);
  console.log(
    `  video: ${report.video?.frameCount ?? 0} frames ${report.video?.width}x${report.video?.height}, ` +
      `keyframes at ${report.video?.keyframeTimesS.map((t) => t.toFixed(1)).join(', ')} s\n` +
      `  audio: ${report.audio?.durationS.toFixed(2)} s at ${report.audio?.sampleRate} Hz, ${report.audio?.gaps.length ?? 0} gaps\n` +
      `  decode errors: ${report.decodeErrors.length}`,
  );
}
