import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/capture/file-source.js';
import type { Clock } from '../../src/core/clock.js';
import { MonotonicClock } from '../../src/core/monotonic-clock.js';
import {
  INLINE_READS_BETWEEN_YIELDS,
  MediaReader,
  SLOW_READ_MS,
  type Decoded,
} from '../../src/capture/media-reader.js';
import { makeTempDir, requirementSkipReason, runCommand } from '../helpers/process.js';

const missing = requirementSkipReason({ tools: ['ffmpeg'] });
const dir = makeTempDir('media-reader-test');
const file = join(dir, 'two-seconds.mp4');

/** One line per decoded item: what it is, its time and its size. */
function describeItem(item: Decoded): string {
  if (item.kind === 'audio') return `audio ${item.ptsUs} ${item.samples.length}`;
  if (item.kind === 'picture') {
    item.picture.release();
    return `picture ${item.ptsUs} ${item.durationUs}`;
  }
  return `video ${item.ptsUs} ${item.frame.data.length}`;
}

/** Reads the whole file; returns every decoded item described, and whether reads stayed inline. */
async function readAll(readInline: boolean, nowMs: () => number = () => 0) {
  const clock: Clock = { nowUs: () => nowMs() * 1000, setTimer: () => ({ cancel: () => undefined }) };
  const reader = await MediaReader.open(file, {
    format: null,
    options: {},
    video: true,
    audio: true,
    sampleRate: 48000,
    channels: 2,
    sharePictures: true,
    ...(readInline ? { readInline: clock } : {}),
  });
  const items: string[] = [];
  const inlineAfterRead: boolean[] = [];
  try {
    for (let decoded = await reader.read(); decoded; decoded = await reader.read()) {
      items.push(...decoded.map(describeItem));
      inlineAfterRead.push(reader.readsInline);
    }
  } finally {
    await reader.close();
  }
  return { items, inlineAfterRead };
}

describe.skipIf(missing)("MediaReader: a local file's packets are read on the caller's thread", () => {
  beforeAll(async () => {
    const made = await runCommand('ffmpeg', [
      ...['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000', '-t', '2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', file],
    ]);
    if (made.code !== 0) throw new Error(made.stderr);
  });

  it('decodes the same pictures and audio, in the same order, inline as on the threadpool', async () => {
    const inline = await readAll(true);
    const pooled = await readAll(false);
    expect(inline.items.filter((line) => line.startsWith('picture'))).toHaveLength(60);
    expect(inline.items.filter((line) => line.startsWith('audio')).length).toBeGreaterThanOrEqual(90);
    expect(inline.items).toEqual(pooled.items);
    expect(inline.inlineAfterRead.every(Boolean)).toBe(true);
    expect(pooled.inlineAfterRead.some(Boolean)).toBe(false);
  });

  it('times every inline read, and the first one slower than SLOW_READ_MS moves reading to the threadpool for good', async () => {
    const reference = await readAll(false);
    // A fake clock: each read takes 1 ms, except the fifth, which takes SLOW_READ_MS + 1.
    let nowMs = 0;
    let calls = 0;
    const now = (): number => {
      calls++;
      if (calls % 2 === 0) nowMs += calls === 10 ? SLOW_READ_MS + 1 : 1;
      return nowMs;
    };
    const switched = await readAll(true, now);
    expect(switched.items).toEqual(reference.items);
    // Two clock readings per inline read: the first five reads were inline, then none.
    expect(calls).toBe(10);
    expect(switched.inlineAfterRead.slice(0, 4)).toEqual([true, true, true, true]);
    expect(switched.inlineAfterRead.slice(4).some(Boolean)).toBe(false);
  });

  it('a read that takes exactly SLOW_READ_MS stays inline', async () => {
    let nowMs = 0;
    let calls = 0;
    const now = (): number => {
      calls++;
      if (calls % 2 === 0) nowMs += SLOW_READ_MS;
      return nowMs;
    };
    const { inlineAfterRead } = await readAll(true, now);
    expect(inlineAfterRead.every(Boolean)).toBe(true);
    expect(calls).toBeGreaterThan(2 * 150);
  });

  it('a read that gives the event loop its turn ends with null if the reader was closed meanwhile', async () => {
    const clock: Clock = { nowUs: () => 0, setTimer: () => ({ cancel: () => undefined }) };
    const reader = await MediaReader.open(file, {
      ...{ format: null, options: {}, video: true, audio: true, sampleRate: 48000, channels: 2 },
      ...{ sharePictures: true, readInline: clock },
    });
    for (let i = 1; i < INLINE_READS_BETWEEN_YIELDS; i++) {
      const decoded = await reader.read();
      expect(decoded).not.toBeNull();
      for (const item of decoded ?? []) describeItem(item);
    }
    const yielding = reader.read(); // the 64th: it waits for the event loop's turn first
    const closed = reader.close();
    expect(await yielding).toBeNull();
    await closed;
  });
});

describe.skipIf(missing)('FileSource: reading never holds the event loop', () => {
  const manyPackets = join(dir, 'many-small-packets.mp4');
  beforeAll(async () => {
    // 100 000 tiny video packets and no audio: asked for audio only, the source reads and skips them all,
    // inline, and they bring no playback time, so nothing but the read loop itself ever yields.
    const made = await runCommand('ffmpeg', [
      ...['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:size=16x16:rate=1000'],
      ...['-t', '100', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', manyPackets],
    ]);
    if (made.code !== 0) throw new Error(made.stderr);
  }, 60_000);

  it('lets the event loop run at least every INLINE_READS_BETWEEN_YIELDS reads while it skips packets', async () => {
    let counting = true;
    let lastMs = performance.now();
    let longestMs = 0;
    const countTurns = (): void => {
      const nowMs = performance.now();
      longestMs = Math.max(longestMs, nowMs - lastMs);
      lastMs = nowMs;
      if (counting) setImmediate(countTurns);
    };
    setImmediate(countTurns);
    // The file has no audio stream: reading ends at its end, and open() resolves then.
    const source = await FileSource.open(new MonotonicClock(), {
      path: manyPackets,
      video: false,
      audio: true,
    });
    await source.finished();
    counting = false;
    source.close();
    // Reading the 100 000 packets in one run holds the loop for about half a second here; in runs of
    // INLINE_READS_BETWEEN_YIELDS, for well under a millisecond each.
    expect(longestMs).toBeLessThan(150);
  });
});
