import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioEngine } from '../../src/capture/audio-engine.js';
import { readTestPatternCode } from '../../src/capture/test-pattern.js';
import { CaptureLoop } from '../../src/capture/capture-loop.js';
import { DeviceVideoSource } from '../../src/capture/device-video-source.js';
import { FileSource } from '../../src/capture/file-source.js';
import { sleep } from '../../src/core/clock.js';
import { MonotonicClock } from '../../src/core/monotonic-clock.js';
import { Streamer, type StreamStats } from '../../src/streamer.js';
import { readStatsFile, runCli } from '../helpers/cli.js';
import { probeMedia } from '../helpers/media-probe.js';
import { expectCleanRecording, framesFromStats } from '../helpers/recording-checks.js';
import { startNginxRtmp, NGINX_RTMP_MODULE, type NginxRtmpHandle } from '../helpers/nginx-rtmp.js';
import { makeTempDir, requirementSkipReason, runCommand } from '../helpers/process.js';
import type { VideoPicture } from '../../src/ffmpeg/shared-picture.js';
import type { CapturedFrame, RawVideoFrame } from '../../src/media/frames.js';
import { startPulse, type PulseHandle } from '../helpers/pulse.js';
import { startXvfb, type XvfbHandle } from '../helpers/xvfb.js';

const missing = requirementSkipReason({
  tools: ['nginx', 'ffmpeg', 'ffprobe', 'ss', 'Xvfb', 'pulseaudio', 'pactl'],
  files: [NGINX_RTMP_MODULE, '/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so'],
});
const dir = makeTempDir('capture-test');

const ROOT_RGB = 0x2040c0;
const RECT = { x: 200, y: 120, width: 400, height: 300, rgb: 0xf0c020 };
const TONE_HZ = 1000;

/** Decodes the frame at `atS` of `file` to packed RGB24 at its own size. */
async function rgbFrameAt(file: string, atS: number): Promise<Buffer> {
  const out = join(dir, `frame-${atS}.rgb`);
  const run = await runCommand('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-ss',
    String(atS),
    '-i',
    file,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    out,
  ]);
  if (run.code !== 0) throw new Error(run.stderr);
  return readFileSync(out);
}

/** Decodes the audio of `file` to mono 48 kHz float. */
async function monoPcm(file: string): Promise<Float32Array> {
  const out = join(dir, 'audio.f32');
  const run = await runCommand('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-i',
    file,
    '-vn',
    '-ac',
    '1',
    '-ar',
    '48000',
    '-f',
    'f32le',
    out,
  ]);
  if (run.code !== 0) throw new Error(run.stderr);
  const bytes = readFileSync(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Frequency (Hz, 10 Hz steps from 100 to 5000) with the most energy in `pcm` (a small DFT). */
function dominantFrequency(pcm: Float32Array, rate: number): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 100; f <= 5000; f += 10) {
    let re = 0;
    let im = 0;
    const w = (2 * Math.PI * f) / rate;
    for (let i = 0; i < pcm.length; i++) {
      re += (pcm[i] ?? 0) * Math.cos(w * i);
      im += (pcm[i] ?? 0) * Math.sin(w * i);
    }
    const power = re * re + im * im;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}

/** Seconds from the start of 48 kHz `pcm` to the first 1 ms window after `fromS` louder than `rms`. */
function toneOnsetS(pcm: Float32Array, fromS: number, rms = 0.08): number {
  for (let i = Math.round(fromS * 48000); i + 48 <= pcm.length; i += 48) {
    let sum = 0;
    for (let j = i; j < i + 48; j++) sum += (pcm[j] ?? 0) ** 2;
    if (Math.sqrt(sum / 48) > rms) return i / 48000;
  }
  return NaN;
}

/** pts (s) of the first video frame of `file` whose mean luma is above `threshold` (0–255). */
async function firstBrightFrameS(file: string, threshold = 128): Promise<number> {
  const run = await runCommand('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-an',
    '-vf',
    'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-',
    '-f',
    'null',
    '-',
  ]);
  if (run.code !== 0) throw new Error(run.stderr);
  let ptsS = NaN;
  for (const line of run.stdout.split('\n')) {
    const frame = /pts_time:([\d.]+)/.exec(line);
    if (frame) ptsS = Number(frame[1]);
    const luma = /YAVG=([\d.]+)/.exec(line);
    if (luma && Number(luma[1]) > threshold) return ptsS;
  }
  return NaN;
}

/** The closed recording of stream `name`. */
/**
 * Starts `streamer` the way a pushing app does: `capturing` resolves with the session time capture
 * started at (push from then on), `started` once a destination accepted the stream.
 */
function startAndWaitForCapture(streamer: Streamer): { capturing: Promise<number>; started: Promise<void> } {
  const capturing = new Promise<number>((resolve) => streamer.once('capturing', resolve));
  const started = streamer.start();
  // Rejections surface through `started` when the test awaits it; `capturing` must not hang meanwhile.
  return { capturing: Promise.race([capturing, started.then(() => capturing)]), started };
}

async function recordingOf(nginx: NginxRtmpHandle, name: string): Promise<string> {
  const recording = (await nginx.waitForRecordingsClosed()).find((f) => basename(f).startsWith(name));
  if (!recording) throw new Error(`nginx recorded no "${name}":\n${nginx.errorLog()}`);
  return recording;
}

function pixel(rgb: Buffer, width: number, x: number, y: number): number {
  const i = (y * width + x) * 3;
  return ((rgb[i] ?? 0) << 16) | ((rgb[i + 1] ?? 0) << 8) | (rgb[i + 2] ?? 0);
}

/** The 0xRRGGBB colour at (x, y) of a BGRA (or BGR0) picture. */
function bgraPixel(frame: RawVideoFrame, x: number, y: number): number {
  const i = (y * frame.width + x) * 4;
  return ((frame.data[i + 2] ?? 0) << 16) | ((frame.data[i + 1] ?? 0) << 8) | (frame.data[i] ?? 0);
}

/** Polls `condition` every 20 ms (real time) until it holds; throws `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const clock = new MonotonicClock();
  const startUs = clock.nowUs();
  while (!condition()) {
    if (clock.nowUs() - startUs > timeoutMs * 1000) throw new Error(`timed out waiting for ${what}`);
    await sleep(clock, 20);
  }
}

function closeColour(actual: number, expected: number, tolerance = 24): boolean {
  return [16, 8, 0].every((s) => Math.abs(((actual >> s) & 255) - ((expected >> s) & 255)) <= tolerance);
}

describe.skipIf(missing)('real capture: screen, system audio, files and pushed media', () => {
  let nginx: NginxRtmpHandle;
  let xvfb: XvfbHandle;
  let pulse: PulseHandle;
  const saved = { ...process.env };

  beforeAll(async () => {
    [nginx, xvfb, pulse] = await Promise.all([
      startNginxRtmp(),
      startXvfb(99),
      startPulse(join(dir, 'pulse')),
    ]);
    await xvfb.paintRoot(ROOT_RGB);
    await xvfb.drawRect(RECT);
    // The CLI runs as a child and inherits these: the X display and the private PulseAudio server.
    Object.assign(process.env, pulse.env, { DISPLAY: xvfb.display });
  });
  afterAll(async () => {
    for (const key of ['DISPLAY', 'PULSE_SERVER', 'XDG_RUNTIME_DIR', 'HOME']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await Promise.all([nginx?.stop(), xvfb?.stop(), pulse?.stop()]);
  });

  it("streams --video screen --audio system for 20 s: the screen's colours where they are, the tone's frequency, 600 frames at 30 fps, duplicates counted, no audio gaps", async () => {
    const tone = pulse.playTone(TONE_HZ);
    try {
      const statsFile = join(dir, 'screen-stats.jsonl');
      const run = await runCli([
        'stream',
        nginx.url('live', 'screen'),
        '--video',
        'screen',
        '--audio',
        'system',
        '--duration',
        '20',
        '--stats-file',
        statsFile,
        '--quiet',
      ]);
      expect(run.stderr).toContain('streaming to');
      expect(run.code, run.stderr).toBe(0);
      const recording = await recordingOf(nginx, 'screen');
      const frames = framesFromStats(readStatsFile(statsFile).at(-1) ?? {}, 20);
      expectCleanRecording(await probeMedia(recording), { frames, seconds: 20 });

      const rgb = await rgbFrameAt(recording, 10);
      const inside = pixel(rgb, 1280, RECT.x + RECT.width / 2, RECT.y + RECT.height / 2);
      const outside = pixel(rgb, 1280, 1000, 600);
      expect(closeColour(inside, RECT.rgb), inside.toString(16)).toBe(true);
      expect(closeColour(outside, ROOT_RGB), outside.toString(16)).toBe(true);
      // The rectangle's edges are where they were drawn (a few pixels of chroma blur allowed).
      expect(closeColour(pixel(rgb, 1280, RECT.x + 4, RECT.y + 4), RECT.rgb)).toBe(true);
      expect(closeColour(pixel(rgb, 1280, RECT.x - 4, RECT.y - 4), ROOT_RGB)).toBe(true);

      const pcm = await monoPcm(recording);
      const middle = pcm.subarray(48000 * 9, 48000 * 10);
      expect(Math.abs(dominantFrequency(middle, 48000) - TONE_HZ)).toBeLessThanOrEqual(10);
      // No hole in the tone: every 10 ms window from 1 s to 19 s carries it.
      const quietWindows: number[] = [];
      for (let start = 48000; start + 480 <= 48000 * 19; start += 480) {
        let sum = 0;
        for (let i = start; i < start + 480; i++) sum += (pcm[i] ?? 0) ** 2;
        if (Math.sqrt(sum / 480) < 0.02) quietWindows.push(start / 48000);
      }

      const final = readStatsFile(statsFile).at(-1) as unknown as StreamStats;
      expect(Math.abs(final.framesCaptured - 600)).toBeLessThanOrEqual(2);
      // A static screen: nearly every frame repeats the previous picture, and is counted as such.
      expect(final.framesDuplicated).toBeGreaterThan(550);
      expect(final.framesLagged).toBeLessThanOrEqual(2);
      // Silence before the device's first samples (opening it, then its 100 ms prebuffer) is the
      // start's cost; silence after them would be a gap, and the tone above shows none.
      const gapsMs = final.silenceInsertedMs - final.silenceAtStartMs;
      console.log(
        `capture: ${final.framesCaptured} frames, ${final.framesDuplicated} duplicated, ${final.framesLagged} lagged, ` +
          `silence ${final.silenceInsertedMs.toFixed(1)} ms (${final.silenceAtStartMs.toFixed(1)} at the start), ` +
          `overrun ${final.audioOverrunDroppedMs.toFixed(1)} ms`,
      );
      // Checked after the stats are printed, which tell a gap of ours (silence inserted) from the source's.
      expect(quietWindows).toEqual([]);
      expect(final.silenceAtStartMs).toBeLessThan(500);
      expect(gapsMs).toBeLessThan(30);
    } finally {
      tone.child.kill('SIGKILL');
      await tone.exited;
    }
  }, 60_000);

  it('plays a file in real time: the wall-clock span matches the media duration within 1 %', async () => {
    const file = join(dir, 'clip.mp4');
    const make = await runCommand('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=30:duration=4',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=660:sample_rate=44100:duration=4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '30',
      '-c:a',
      'aac',
      '-shortest',
      file,
    ]);
    expect(make.code, make.stderr).toBe(0);
    const clock = new MonotonicClock();
    const source = await FileSource.open(clock, { path: file });
    if (!source.video || !source.audio) throw new Error('the clip lacks a stream');
    const loop = new CaptureLoop(clock, source.video, () => {}, { fps: 30 });
    const engine = new AudioEngine(clock, () => {});
    engine.addSource(source.audio);
    const startedUs = clock.nowUs();
    engine.start();
    loop.start();
    // When audio was first and last handed to the engine (polled every 5 ms).
    let audioFirstUs: number | null = null;
    let audioLastUs = 0;
    let audioSeen = 0;
    while (!source.stats.ended && clock.nowUs() - startedUs < 8e6) {
      await sleep(clock, 5);
      const read = source.stats.audioFramesRead;
      if (read > audioSeen) {
        audioFirstUs ??= clock.nowUs();
        audioLastUs = clock.nowUs();
        audioSeen = read;
      }
    }
    loop.stop();
    engine.stop();
    source.close();
    const stats = source.stats;
    expect(stats.ended).toBe(true);
    // Every picture of the clip was decoded and offered; a late tick may skip one for a newer one.
    expect(stats.framesDecoded).toBe(120);
    expect(stats.framesShown).toBeGreaterThanOrEqual(118);
    // First to last picture spans 119 frame intervals of the media; measured on the session clock.
    const spanS = ((stats.lastShownUs ?? 0) - (stats.firstShownUs ?? 0)) / 1e6;
    const mediaSpanS = 119 / 30;
    expect(Math.abs(spanS - mediaSpanS) / mediaSpanS).toBeLessThan(0.01);
    const audioS = stats.audioFramesRead / 48000;
    expect(Math.abs(audioS - 4)).toBeLessThan(0.04);
    // Audio is pulled in 10 ms ticks: its first and last pull span the clip minus up to two ticks.
    const audioWallS = (audioLastUs - (audioFirstUs ?? 0)) / 1e6;
    expect(Math.abs(audioWallS + 0.01 - 4) / 4).toBeLessThan(0.01);
    console.log(
      `file: video span ${spanS.toFixed(4)} s for ${mediaSpanS.toFixed(4)} s of media; audio ${audioS.toFixed(3)} s over ${audioWallS.toFixed(3)} s`,
    );
  }, 30_000);

  it('loops a file without a timestamp going backwards: 10 s of a 4 s clip, gapless, monotonic', async () => {
    const file = join(dir, 'clip.mp4');
    const run = await runCli([
      'stream',
      nginx.url('live', 'loop'),
      '--video',
      `file:${file}`,
      '--audio',
      'file',
      '--loop',
      '--duration',
      '10',
      '--stats-file',
      join(dir, 'loop-stats.jsonl'),
      '--quiet',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const recording = await recordingOf(nginx, 'loop');
    const frames = framesFromStats(readStatsFile(join(dir, 'loop-stats.jsonl')).at(-1) ?? {}, 10);
    expectCleanRecording(await probeMedia(recording), { frames, seconds: 10 });
    // The clip's tone plays on after each wrap (at 6 s the second pass is half-way).
    const pcm = await monoPcm(recording);
    expect(
      Math.abs(dominantFrequency(pcm.subarray(48000 * 5.5, 48000 * 6), 48000) - 660),
    ).toBeLessThanOrEqual(10);
  }, 40_000);

  it("restreams a file's pictures unchanged and in order: each output frame carries the code of the file frame it came from", async () => {
    // The file's pictures reach the encoder by reference, never copied: a picture freed or reused
    // too early would show here as a wrong, repeated or unreadable frame code.
    // 3 s at 640x360, no audio: the pattern into a file, then that file through the engine.
    const encode = (out: string, video: string) =>
      runCli([
        'encode',
        out,
        '--video',
        video,
        '--audio',
        'none',
        '--size',
        '640x360',
        '--duration',
        '3',
        '--quiet',
      ]);
    const clip = join(dir, 'pattern.mp4');
    const made = await encode(clip, 'test');
    expect(made.code, made.stderr).toBe(0);
    const out = join(dir, 'pattern-restreamed.mp4');
    const run = await encode(out, `file:${clip}`);
    expect(run.code, run.stderr).toBe(0);
    const luma = join(dir, 'pattern-restreamed.gray');
    const decoded = await runCommand('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      out,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      luma,
    ]);
    expect(decoded.code, decoded.stderr).toBe(0);
    const planes = readFileSync(luma);
    const plane = 640 * 360;
    const codes: number[] = [];
    for (let at = 0; at + plane <= planes.length; at += plane) {
      codes.push(readTestPatternCode(planes.subarray(at, at + plane), 640).frameIndex);
    }
    // 90 pictures in the clip; under load a late tick may skip one for a newer one, never reorder.
    expect(codes.length).toBeGreaterThanOrEqual(85);
    expect(codes[0]).toBeLessThanOrEqual(2);
    expect(codes.at(-1)).toBeGreaterThanOrEqual(87);
    const steps = codes.slice(1).map((code, i) => code - (codes[i] ?? 0));
    expect(steps.filter((step) => step < 1 || step > 3)).toEqual([]);
  }, 40_000);

  it('takes pushed 25 fps frames and 441-sample Int16 chunks at 44.1 kHz into a 30 fps, 48 kHz stream with the right duration and no gaps', async () => {
    const streamer = new Streamer({
      outputs: [nginx.url('live', 'push')],
      video: { source: 'push', width: 640, height: 360, fps: 30 },
      audio: { sources: ['push'] },
    });
    // An app pushes from the moment capture starts, while the destination still connects.
    const started = startAndWaitForCapture(streamer);
    await started.capturing;
    const width = 320;
    const height = 180;
    const clock = new MonotonicClock();
    const t0 = clock.nowUs();
    let frames = 0;
    let chunks = 0;
    const chunk = new Int16Array(441 * 2);
    while (clock.nowUs() - t0 < 10e6) {
      const elapsedUs = clock.nowUs() - t0;
      while (frames * 40_000 <= elapsedUs) {
        const data = Buffer.alloc(width * height * 4, frames % 2 ? 200 : 60);
        streamer.pushVideoFrame({ format: 'bgra', width, height, data });
        frames++;
      }
      while (chunks * 10_000 <= elapsedUs) {
        for (let i = 0; i < 441; i++) {
          const v = Math.round(8000 * Math.sin((2 * Math.PI * 500 * (chunks * 441 + i)) / 44100));
          chunk[2 * i] = v;
          chunk[2 * i + 1] = v;
        }
        streamer.pushAudioSamples(chunk, { sampleRate: 44100, channels: 2 });
        chunks++;
      }
      await sleep(clock, 5);
    }
    await started.started;
    const stats = streamer.stats;
    await streamer.stop();
    const recording = await recordingOf(nginx, 'push');
    const report = await probeMedia(recording);
    expectCleanRecording(report, { frames: stats.framesCaptured, seconds: stats.uptimeMs / 1000 });
    expect(Math.abs(stats.framesCaptured - 300)).toBeLessThanOrEqual(3);
    // 25 pictures a second into 30 slots: about one slot in six repeats the previous picture.
    expect(stats.framesDuplicated).toBeGreaterThan(35);
    expect(stats.framesDuplicated).toBeLessThan(75);
    expect(stats.silenceInsertedMs).toBeLessThan(60);
    console.log(
      `push: ${stats.framesCaptured} frames, ${stats.framesDuplicated} duplicated, ${stats.framesReplaced} replaced, ` +
        `silence ${stats.silenceInsertedMs.toFixed(1)} ms, audio ${report.audio?.durationS.toFixed(3)} s`,
    );
  }, 40_000);

  it('bounds and counts a push flood without ever blocking the caller', async () => {
    const streamer = new Streamer({
      outputs: [nginx.url('live', 'flood')],
      video: { source: 'push', width: 320, height: 180, fps: 30 },
      audio: { sources: ['push'] },
    });
    await streamer.start();
    const frame = { format: 'bgra' as const, width: 320, height: 180, data: Buffer.alloc(320 * 180 * 4, 90) };
    const tenSeconds = new Float32Array(48000 * 10 * 2);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) streamer.pushVideoFrame(frame);
    for (let i = 0; i < 10; i++) streamer.pushAudioSamples(tenSeconds, { sampleRate: 48000, channels: 2 });
    const callMs = Number(process.hrtime.bigint() - started) / 1e6;
    await sleep(new MonotonicClock(), 500);
    const stats = streamer.stats;
    await streamer.stop();
    await nginx.waitForRecordingsClosed();
    expect(callMs).toBeLessThan(500);
    expect(stats.framesReplaced).toBeGreaterThanOrEqual(998);
    // 100 s pushed at once into a FIFO bounded at 1 s: at least 99 s dropped, counted.
    expect(stats.framesDroppedOverflow).toBeGreaterThanOrEqual(48000 * 98);
    console.log(
      `flood: calls took ${callMs.toFixed(1)} ms, ${stats.framesReplaced} replaced, ${stats.framesDroppedOverflow} audio frames dropped`,
    );
  }, 30_000);

  it('push with capture timestamps: 25 fps pictures and 44.1 kHz audio pushed 150 ms early play at their timestamps, in sync, across a 300 ms capture gap', async () => {
    const streamer = new Streamer({
      outputs: [nginx.url('live', 'stamped')],
      video: { source: 'push', width: 640, height: 360, fps: 30 },
      audio: { sources: ['push'] },
    });
    const started = startAndWaitForCapture(streamer);
    // Session time of the recording's first sample: when capture started.
    const startUs = await started.capturing;
    const aheadUs = 150_000;
    const flash = (s: number): boolean => s >= 5 && s < 5.4; // white pictures and a 1 kHz tone
    const beep = (s: number): boolean => s >= 8 && s < 8.2; // a 1 kHz tone after the gap
    const lost = (s: number): boolean => s >= 7 && s < 7.3; // audio the app never captured
    const width = 320;
    const height = 180;
    const dark = Buffer.alloc(width * height * 4, 40);
    const white = Buffer.alloc(width * height * 4, 230);
    const chunk = new Int16Array(441 * 2);
    const clock = new MonotonicClock();
    let frames = 0;
    let chunks = 0;
    while (streamer.sessionTimeUs() - startUs < 10e6) {
      const untilUs = streamer.sessionTimeUs() - startUs + aheadUs;
      for (; frames * 40_000 <= untilUs; frames++) {
        const data = flash(frames * 0.04) ? white : dark;
        streamer.pushVideoFrame(
          { format: 'bgra', width, height, data },
          { timestampUs: startUs + frames * 40_000 },
        );
      }
      for (; chunks * 10_000 <= untilUs; chunks++) {
        const s = chunks * 0.01;
        if (lost(s)) continue;
        for (let i = 0; i < 441; i++) {
          const on = flash(s) || beep(s);
          const v = on ? Math.round(8000 * Math.sin((2 * Math.PI * 1000 * (chunks * 441 + i)) / 44100)) : 0;
          chunk[2 * i] = chunk[2 * i + 1] = v;
        }
        streamer.pushAudioSamples(chunk, {
          sampleRate: 44100,
          channels: 2,
          timestampUs: startUs + chunks * 10_000,
        });
      }
      await sleep(clock, 5);
    }
    await started.started;
    const stats = streamer.stats;
    await streamer.stop();
    const recording = await recordingOf(nginx, 'stamped');
    const report = await probeMedia(recording);
    expectCleanRecording(report, { frames: stats.framesCaptured, seconds: stats.uptimeMs / 1000 });
    const audioStartS = report.audio?.startTimeS ?? NaN;
    const pcm = await monoPcm(recording);
    const toneS = audioStartS + toneOnsetS(pcm, 4.5);
    const beepS = audioStartS + toneOnsetS(pcm, 7.5);
    const flashS = await firstBrightFrameS(recording);
    console.log(
      `stamped push: tone ${toneS.toFixed(3)} s, flash ${flashS.toFixed(3)} s, beep ${beepS.toFixed(3)} s; ` +
        `silence ${stats.silenceInsertedMs.toFixed(1)} ms, late ${stats.framesDroppedLate}, ` +
        `overrun ${stats.audioOverrunDroppedMs} ms, replaced ${stats.framesReplaced}`,
    );
    // Arrival time would put the beep 150 ms early (the gap closed up) and the flash 150 ms early.
    expect(Math.abs(beepS - toneS - 3)).toBeLessThan(0.015);
    expect(Math.abs(flashS - toneS)).toBeLessThan(0.06);
    // The gap is silence: half filled by the engine while nothing was queued, half placed by the stamps.
    expect(stats.silenceInsertedMs).toBeGreaterThan(250);
    expect(stats.silenceInsertedMs).toBeLessThan(450);
    expect(stats.audioOverrunDroppedMs).toBe(0);
    expect(stats.framesDroppedLate).toBeLessThan(4800);
  }, 40_000);

  it('screen capture survives its X server restarting: it reports failed, then recovered, and shows the new screen', async () => {
    // A display of its own, so the shared one (:99) stays up for the other tests.
    const BEFORE_RGB = 0x20a040;
    const AFTER_RGB = 0xc03060;
    let display: XvfbHandle | null = await startXvfb(98, 320, 240);
    const clock = new MonotonicClock();
    let source: DeviceVideoSource | null = null;
    let loop: CaptureLoop | null = null;
    try {
      await display.paintRoot(BEFORE_RGB);
      source = await DeviceVideoSource.open(clock, {
        display: ':98',
        region: null,
        // x11grab notices a lost X connection only through its pointer query: without drawMouse,
        // FFmpeg's shared-memory path keeps returning the last picture without an error.
        drawMouse: true,
        fps: 30,
      });
      const screen = source;
      const events: string[] = [];
      screen.on('failed', (error) => events.push(`failed: ${error.message}`));
      screen.on('recovered', () => events.push('recovered'));
      let lastNew: RawVideoFrame | null = null;
      loop = new CaptureLoop(
        clock,
        screen,
        (captured: CapturedFrame<VideoPicture>) => {
          // A screen delivers packed pictures, never a decoder's shared frame.
          if (!captured.duplicate && 'data' in captured.frame) lastNew = captured.frame;
        },
        { fps: 30 },
      );
      loop.start();
      await until(
        () => lastNew !== null && closeColour(bgraPixel(lastNew, 40, 40), BEFORE_RGB),
        'the first screen',
      );

      await display.stop();
      display = null;
      await until(() => events.length > 0, 'the failure to be reported');
      expect(events[0]).toMatch(/^failed: screen X display :98/);
      expect(screen.error).not.toBeNull();
      const duplicatedBefore = loop.stats.framesDuplicated;
      const capturedBefore = loop.stats.framesCaptured;

      display = await startXvfb(98, 320, 240);
      await display.paintRoot(AFTER_RGB);
      await until(() => events.includes('recovered'), 'the recovery');
      const readAtRecovery = screen.stats.framesRead;
      const capture = loop;
      // The CaptureLoop kept its pace through the outage by repeating (and counting) the last picture.
      expect(capture.stats.framesCaptured).toBeGreaterThan(capturedBefore);
      expect(capture.stats.framesDuplicated).toBeGreaterThan(duplicatedBefore);
      await until(
        () => lastNew !== null && closeColour(bgraPixel(lastNew, 40, 40), AFTER_RGB),
        'a picture of the restarted screen',
      );
      await until(() => screen.stats.framesRead > readAtRecovery + 10, 'pictures after the recovery');
      expect(events).toHaveLength(2);
      expect(events[1]).toBe('recovered');
      expect(screen.error).toBeNull();
      const stats = screen.stats;
      expect(stats).toMatchObject({ failures: 1, reopens: 1 });
      expect(stats.downtimeMs).toBeGreaterThan(0);
      expect(stats.lastError).not.toBeNull();
      console.log(
        `screen restart: down ${stats.downtimeMs.toFixed(0)} ms (${events[0]}); last error: ${stats.lastError}; ` +
          `${capture.stats.framesDuplicated} of ${capture.stats.framesCaptured} frames repeated`,
      );
    } finally {
      loop?.stop();
      source?.close();
      await source?.closed();
      await display?.stop();
    }
  }, 60_000);

  it('steadycast stream says when the screen fails and when it is back, keeps 30 fps through the outage, and records both screens', async () => {
    const BEFORE_RGB = 0x3050d0;
    const AFTER_RGB = 0xd0b030;
    let display: XvfbHandle | null = await startXvfb(97, 320, 240);
    try {
      await display.paintRoot(BEFORE_RGB);
      const statsFile = join(dir, 'screen-restart-stats.jsonl');
      const running = runCli([
        'stream',
        nginx.url('live', 'restart'),
        '--video',
        'screen::97',
        '--audio',
        'silence',
        '--size',
        '320x240',
        '--duration',
        '12',
        '--stats-file',
        statsFile,
        '--quiet',
      ]);
      await until(() => existsSync(statsFile) && readStatsFile(statsFile).length >= 2, 'the stream to run');
      await display.stop();
      display = null;
      // Back after 1 s: reopen attempts come 0.5, 1.5, 3.5 and 7.5 s after the failure, so even an
      // X server slow to start is reopened well before the run ends.
      await sleep(new MonotonicClock(), 1000);
      display = await startXvfb(97, 320, 240);
      await display.paintRoot(AFTER_RGB);
      const run = await running;
      console.log(`screen restart through the CLI:\n${run.stderr}`);

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/screen X display :97.* failed: .*; reopening it/);
      expect(run.stderr).toMatch(/screen X display :97.* is back after \d+\.\d s/);
      // FFmpeg's own line for each failed reopen attempt is shown once, not once per attempt.
      expect(run.stderr.match(/Cannot open display/g)?.length ?? 0).toBeLessThanOrEqual(1);
      const final = readStatsFile(statsFile).at(-1) as unknown as StreamStats;
      expect(final.devices).toEqual([
        expect.objectContaining({ state: 'ok', failures: 1, reopens: 1, downtimeMs: expect.any(Number) }),
      ]);
      expect(final.framesDuplicated).toBeGreaterThan(30); // the outage, filled by the last picture
      const recording = await recordingOf(nginx, 'restart');
      const frames = framesFromStats(final as unknown as Record<string, unknown>, 12);
      expectCleanRecording(await probeMedia(recording), { frames, seconds: 12 });
      expect(closeColour(pixel(await rgbFrameAt(recording, 0.5), 320, 40, 40), BEFORE_RGB)).toBe(true);
      expect(closeColour(pixel(await rgbFrameAt(recording, 11.5), 320, 40, 40), AFTER_RGB)).toBe(true);
    } finally {
      await display?.stop();
    }
  }, 60_000);

  it('--list-devices shows the display and the PulseAudio sources; a missing device is an error naming the available ones', async () => {
    const list = await runCli(['--list-devices']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(xvfb.display);
    expect(list.stdout).toContain(`${pulse.sink}.monitor`);
    const mic = await runCli([
      'stream',
      nginx.url('live', 'nomic'),
      '--video',
      'none',
      '--audio',
      'mic:no_such_mic',
      '--quiet',
    ]);
    expect(mic.code).toBe(2);
    expect(mic.stderr).toContain('no_such_mic');
    expect(mic.stderr).toContain(`available: ${pulse.sink}.monitor`);
    const screen = await runCli([
      'stream',
      nginx.url('live', 'noscreen'),
      '--video',
      'screen:57',
      '--audio',
      'none',
      '--quiet',
    ]);
    expect(screen.code).toBe(2);
    expect(screen.stderr).toMatch(/no X server on display :57; available: .*:99/);
  }, 30_000);
});
