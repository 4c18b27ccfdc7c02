import { describe, expect, it } from 'vitest';
import { TestPatternSource } from '../../../src/capture/test-pattern.js';
import type { EncodedPacket, VideoCodec } from '../../../src/media/packet.js';
import { VideoRenditions } from '../../../src/session/video-renditions.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/**
 * Feeds `count` captured frames from `first` on, letting every encoder (threadpool) keep up: after
 * each frame it waits until every rendition has started on it (or skipped it), so none falls behind
 * enough to skip one (waiting for the main one alone let a rendition skip on a loaded machine).
 */
async function feed(
  renditions: VideoRenditions,
  source: TestPatternSource,
  first: number,
  count: number,
): Promise<void> {
  const given = (): number[] =>
    renditions.stats.map((s) => s.encoder.framesEncoded + s.encoder.framesSkippedBusy);
  for (let index = first; index < first + count; index++) {
    const frame = source.grab(index, (index * 1e6) / 30);
    if (!frame) throw new Error('the pattern gave no frame');
    const before = given();
    renditions.encode({ frame, index, ptsUs: Math.round((index * 1e6) / 30), duplicate: false });
    await renditions.main.drained();
    while (given().some((n, i) => n < (before[i] ?? 0) + 1)) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

const keyframePts = (packets: EncodedPacket[], rendition: string | undefined): number[] =>
  packets.filter((p) => p.rendition === rendition && p.keyframe).map((p) => p.ptsUs);

/** The capture timestamp of frame `index` at 30 fps, µs. */
const frame = (index: number): number => Math.round((index * 1e6) / 30);

/** Opens 320x180 renditions at 30 fps and 400 kbit/s (plus `extra`), collecting every packet. */
async function openRecorded(extra: { keyframeIntervalS?: number; codec?: VideoCodec } = {}): Promise<{
  source: TestPatternSource;
  renditions: VideoRenditions;
  packets: EncodedPacket[];
}> {
  const renditions = await VideoRenditions.open(new FakeClock(), {
    width: 320,
    height: 180,
    fps: 30,
    bitrateBps: 400_000,
    ...extra,
  });
  const packets: EncodedPacket[] = [];
  renditions.on('packet', (p) => packets.push(p));
  return { source: new TestPatternSource(320, 180), renditions, packets };
}

describe('VideoRenditions', () => {
  it('puts every rendition’s keyframes on the same frames, and starts a new one with a keyframe', async () => {
    const { source, renditions, packets } = await openRecorded({ keyframeIntervalS: 1 });
    await feed(renditions, source, 0, 40);
    await renditions.start({ name: 'low', width: 160, height: 90, bitrateBps: 100_000 });
    expect(renditions.running).toEqual(['low']);
    await feed(renditions, source, 40, 35);
    renditions.requestKeyframe(); // an output asks: every rendition at the same frame
    await feed(renditions, source, 75, 30);
    await renditions.close();
    expect(keyframePts(packets, undefined)).toEqual([frame(0), frame(30), frame(60), frame(75), frame(90)]);
    // low starts at its first frame, then keeps to the same grid as the main one.
    expect(keyframePts(packets, 'low')).toEqual([frame(40), frame(60), frame(75), frame(90)]);
    expect(packets.find((p) => p.rendition === 'low')?.keyframe).toBe(true);
    expect(renditions.configs.size).toBe(0); // closed
  }, 30_000);

  it('keys the first frame past a grid point when the frame on it was never captured (a lagged deadline)', async () => {
    const { source, renditions, packets } = await openRecorded({ keyframeIntervalS: 1 });
    await feed(renditions, source, 0, 29);
    await feed(renditions, source, 32, 28); // deadlines 29, 30 and 31 lagged: 30 is not there
    await feed(renditions, source, 63, 10); // 60 to 62 lagged
    await renditions.close();
    expect(keyframePts(packets, undefined)).toEqual([frame(0), frame(32), frame(63)]);
  }, 30_000);

  it('stops a rendition: no more of its packets, and changes a rendition’s bitrate', async () => {
    const { source, renditions, packets } = await openRecorded();
    await renditions.start({ name: 'low', width: 160, height: 90, bitrateBps: 100_000 });
    renditions.setBitrate('low', 150_000);
    expect(renditions.bitrateOf('low')).toBe(150_000);
    await feed(renditions, source, 0, 10);
    await renditions.stop('low');
    const before = packets.filter((p) => p.rendition === 'low').length;
    await feed(renditions, source, 10, 10);
    await renditions.close();
    expect(before).toBeGreaterThan(0);
    expect(packets.filter((p) => p.rendition === 'low')).toHaveLength(before);
    expect(renditions.bitrateOf('low')).toBeUndefined();
  }, 30_000);

  it('encodes every rendition in the session’s codec (AV1 here), keyframes on the same grid', async () => {
    const { source, renditions, packets } = await openRecorded({ codec: 'av1', keyframeIntervalS: 1 });
    await renditions.start({ name: 'low', width: 160, height: 90, bitrateBps: 100_000 });
    expect([renditions.main.config.codec, renditions.configs.get('low')?.codec]).toEqual(['av1', 'av1']);
    await feed(renditions, source, 0, 35);
    await renditions.close();
    expect(keyframePts(packets, undefined)).toEqual([frame(0), frame(30)]);
    expect(keyframePts(packets, 'low')).toEqual([frame(0), frame(30)]);
  }, 30_000);
});
