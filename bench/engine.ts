/**
 * bench:engine — encode speed at 720p30 and 1080p30, and the engines' tick lateness with and
 * without encoding in the same run (the proof that encoding does not hold the clock).
 */
import { Log } from 'node-av';
import { AV_LOG_ERROR } from 'node-av/constants';
import { AudioEngine } from '../src/capture/audio-engine.js';
import { CaptureLoop } from '../src/capture/capture-loop.js';
import { TestPatternSource } from '../src/capture/test-pattern.js';
import { ToneSource } from '../src/capture/tone-source.js';
import { sleep } from '../src/core/clock.js';
import type { LatenessSummary } from '../src/core/lateness.js';
import { MonotonicClock } from '../src/core/monotonic-clock.js';
import { VideoEncoder } from '../src/encode/video-encoder.js';
import { MediaSession } from '../src/session/media-session.js';

Log.setLevel(AV_LOG_ERROR);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

async function encodeSpeed(width: number, height: number, frames: number) {
  const clock = new MonotonicClock();
  const encoder = await VideoEncoder.open(clock, { width, height, fps: 30, maxPendingFrames: frames + 1 });
  const source = new TestPatternSource(width, height, 30); // all 30 pictures kept at once
  const pictures = Array.from({ length: 30 }, (_, i) => source.grab(i, (i * 1e6) / 30));
  let packets = 0;
  encoder.on('packet', () => packets++);
  const cpu0 = process.cpuUsage();
  const t0 = clock.nowUs();
  for (let i = 0; i < frames; i++) {
    const frame = pictures[i % pictures.length];
    if (frame) encoder.encode({ frame, index: i, ptsUs: Math.round((i * 1e6) / 30), duplicate: false });
    if (i % 8 === 7) await encoder.drained();
  }
  await encoder.close();
  const wallS = (clock.nowUs() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return {
    size: `${width}x${height}`,
    fps: frames / wallS,
    cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames,
    realtimeFactor: frames / wallS / 30,
    packets,
  };
}

function row(label: string, l: LatenessSummary): string {
  return `${label.padEnd(34)} ${l.p50Ms.toFixed(2).padStart(8)} ${l.p99Ms.toFixed(2).padStart(8)} ${l.maxMs.toFixed(2).padStart(8)}`;
}

async function idleEngines() {
  // The same engines on the same clock, but their output thrown away: the baseline.
  const clock = new MonotonicClock();
  const source = new TestPatternSource(1280, 720);
  const loop = new CaptureLoop(clock, source, () => {}, { fps: 30 });
  const audio = new AudioEngine(clock, () => {});
  audio.addSource(new ToneSource(48000, 2));
  loop.start();
  audio.start();
  await sleep(clock, seconds * 1000);
  loop.stop();
  audio.stop();
  return { capture: loop.stats.tickLateness, audio: audio.stats.tickLateness };
}

async function encodingEngines(width: number, height: number) {
  const clock = new MonotonicClock();
  const session = await MediaSession.open(clock, {
    video: { source: new TestPatternSource(width, height), encoder: { width, height } },
    audio: { sources: [new ToneSource(48000, 2)], encoder: {} },
  });
  let bytes = 0;
  session.addSink({ writePacket: (p) => void (bytes += p.byteLength) });
  session.start();
  await sleep(clock, seconds * 1000);
  const stats = session.stats;
  await session.stop();
  return {
    capture: stats.capture?.tickLateness,
    audio: stats.audio?.tickLateness,
    skipped: stats.videoEncoder?.framesSkippedBusy ?? 0,
    lagged: stats.capture?.framesLagged ?? 0,
    kbps: (bytes * 8) / seconds / 1000,
  };
}

const speeds = [await encodeSpeed(1280, 720, 300), await encodeSpeed(1920, 1080, 300)];
console.log(`\nEncode speed (libx264 veryfast zerolatency, CBR 2500k, test pattern, 300 frames):`);
console.log(
  `${'size'.padEnd(12)} ${'frames/s'.padStart(10)} ${'CPU ms/frame'.padStart(14)} ${'x realtime@30'.padStart(14)}`,
);
for (const s of speeds) {
  console.log(
    `${s.size.padEnd(12)} ${s.fps.toFixed(1).padStart(10)} ${s.cpuMsPerFrame.toFixed(2).padStart(14)} ${s.realtimeFactor.toFixed(2).padStart(14)}`,
  );
}

const idle = await idleEngines();
const e720 = await encodingEngines(1280, 720);
const e1080 = await encodingEngines(1920, 1080);
console.log(`\nTick lateness over ${seconds} s each (ms):`);
console.log(`${'engine / run'.padEnd(34)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}`);
console.log(row('CaptureLoop, engines only', idle.capture));
console.log(row('CaptureLoop, encoding 720p30', e720.capture ?? idle.capture));
console.log(row('CaptureLoop, encoding 1080p30', e1080.capture ?? idle.capture));
console.log(row('AudioEngine, engines only', idle.audio));
console.log(row('AudioEngine, encoding 720p30', e720.audio ?? idle.audio));
console.log(row('AudioEngine, encoding 1080p30', e1080.audio ?? idle.audio));
console.log(
  `\n720p30: ${e720.kbps.toFixed(0)} kbit/s out, ${e720.skipped} frames skipped (encoder busy), ${e720.lagged} lagged` +
    `\n1080p30: ${e1080.kbps.toFixed(0)} kbit/s out, ${e1080.skipped} frames skipped (encoder busy), ${e1080.lagged} lagged`,
);
