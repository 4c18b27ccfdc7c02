import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TestPatternSource } from '../../src/capture/test-pattern.js';
import { MonotonicClock } from '../../src/core/monotonic-clock.js';
import { VideoEncoder } from '../../src/encode/video-encoder.js';
import type { EncodedPacket } from '../../src/media/packet.js';
import { readStatsFile } from '../helpers/cli.js';
import { probeMedia } from '../helpers/media-probe.js';
import { framesFromStats } from '../helpers/recording-checks.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'steadycast-encode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `count` test-pattern frames (starting at `first`) as fast as the encoder takes them. */
async function feed(
  encoder: VideoEncoder,
  source: TestPatternSource,
  first: number,
  count: number,
  onFrame?: (i: number) => void,
) {
  for (let i = first; i < first + count; i++) {
    onFrame?.(i);
    const ptsUs = Math.round((i * 1e6) / 30);
    encoder.encode({ frame: source.grab(i, ptsUs), index: i, ptsUs, duplicate: false });
    await encoder.drained();
  }
}

describe('encoding through the real pipeline', () => {
  it('records 10 s of test pattern and tone that decode cleanly, with 2 s GOPs and audio aligned with video', async () => {
    const file = join(dir, 'ten-seconds.flv');
    const statsFile = join(dir, 'ten-seconds.jsonl');
    await run(
      process.execPath,
      ['bin/steadycast.js', 'encode', '--duration', '10', '--stats-file', statsFile, file],
      { timeout: 30_000 },
    );
    const report = await probeMedia(file);
    expect(report.decodeErrors).toEqual([]);
    const video = report.video;
    const audio = report.audio;
    if (!video || !audio) throw new Error(`missing a stream in ${file}`);
    expect(video.codecName).toBe('h264');
    expect([video.width, video.height]).toEqual([1280, 720]);
    // --duration ends the media exactly, however late the timer fires: every deadline is in the file
    // or counted (lagged, or skipped by a busy encoder).
    expect(video.frameCount).toBe(framesFromStats(readStatsFile(statsFile).at(-1) ?? {}, 10));
    expect(video.firstPacketIsKeyframe).toBe(true);
    const gops = video.keyframeTimesS.slice(1).map((t, i) => t - (video.keyframeTimesS[i] ?? 0));
    expect(gops.length).toBeGreaterThanOrEqual(4);
    for (const gop of gops) expect(gop).toBeCloseTo(2, 2);
    expect(audio.codecName).toBe('aac');
    expect(audio.sampleRate).toBe(48000);
    expect(Math.abs(audio.durationS - 10)).toBeLessThanOrEqual(1024 / 48000 + 1e-3);
    expect(audio.gaps).toEqual([]);
    expect(Math.abs(audio.startTimeS - video.startTimeS)).toBeLessThanOrEqual(1 / 30);
    expect(video.dtsMonotonic && audio.dtsMonotonic).toBe(true);
  }, 40_000);

  it('makes the next frame an IDR when a keyframe is requested', async () => {
    const encoder = await VideoEncoder.open(new MonotonicClock(), { width: 640, height: 360 });
    const source = new TestPatternSource(640, 360);
    const packets: EncodedPacket[] = [];
    encoder.on('packet', (p) => packets.push(p));
    await feed(encoder, source, 0, 45, (i) => {
      if (i === 17) encoder.requestKeyframe();
    });
    await encoder.close();
    const keyframes = packets.filter((p) => p.keyframe).map((p) => Math.round((p.ptsUs * 30) / 1e6));
    expect(keyframes).toEqual([0, 17]);
  });

  it('changes the measured output rate within a second when the bitrate is lowered from 2500 to 800 kbit/s', async () => {
    const encoder = await VideoEncoder.open(new MonotonicClock(), { width: 1280, height: 720 });
    const source = new TestPatternSource(1280, 720);
    const bytesPerSecond = new Map<number, number>();
    encoder.on('packet', (p) => {
      const second = Math.floor(p.ptsUs / 1e6);
      bytesPerSecond.set(second, (bytesPerSecond.get(second) ?? 0) + p.byteLength);
    });
    await feed(encoder, source, 0, 120);
    encoder.setBitrate(800_000);
    await feed(encoder, source, 120, 180);
    await encoder.close();
    // Skip the first second of each segment: the VBV buffer (1 s) settles there.
    const before =
      ((bytesPerSecond.get(1) ?? 0) + (bytesPerSecond.get(2) ?? 0) + (bytesPerSecond.get(3) ?? 0)) * (8 / 3);
    const after =
      ((bytesPerSecond.get(7) ?? 0) + (bytesPerSecond.get(8) ?? 0) + (bytesPerSecond.get(9) ?? 0)) * (8 / 3);
    expect(before).toBeGreaterThan(1_800_000);
    expect(before).toBeLessThan(3_000_000);
    expect(after).toBeGreaterThan(550_000);
    expect(after).toBeLessThan(1_000_000);
    // "Within about a second": the second that starts one second after the change is already near 800k.
    const kbitPerSecond = [...bytesPerSecond.entries()].map(([s, bytes]) => [
      s,
      Math.round((bytes * 8) / 1000),
    ]);
    console.log(`kbit per second (bitrate lowered at 4 s): ${JSON.stringify(kbitPerSecond)}`);
    expect((bytesPerSecond.get(5) ?? Infinity) * 8).toBeLessThan(1_100_000);
  });
});
