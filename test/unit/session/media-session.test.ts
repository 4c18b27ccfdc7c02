import { describe, expect, it } from 'vitest';
import { TestPatternSource } from '../../../src/capture/test-pattern.js';
import { ToneSource } from '../../../src/capture/tone-source.js';
import type { EncodedPacket } from '../../../src/media/packet.js';
import type { PacketSink } from '../../../src/output/packet-sink.js';
import { MediaSession } from '../../../src/session/media-session.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/** Runs the session's engines for `ms` of fake time, letting the encoders (threadpool) keep up. */
async function run(clock: FakeClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A 320x180 test pattern and a tone, with one sink that keeps every packet. Fake time runs ahead of
 * the real encodes, so the video encoder queues every frame instead of skipping those that find it
 * busy: what it encodes does not depend on how loaded the machine is.
 */
async function openRecorded(
  clock: FakeClock,
  interleaveMaxWaitMs?: number,
): Promise<{ session: MediaSession; packets: EncodedPacket[] }> {
  const session = await MediaSession.open(clock, {
    video: {
      source: new TestPatternSource(320, 180),
      encoder: { width: 320, height: 180, fps: 30, bitrateBps: 300_000, maxPendingFrames: 1000 },
    },
    audio: { sources: [new ToneSource(48_000, 2)], encoder: {} },
    ...(interleaveMaxWaitMs === undefined ? {} : { interleaveMaxWaitMs }),
  });
  const packets: EncodedPacket[] = [];
  session.addSink({ writePacket: (p) => void packets.push(p) });
  return { session, packets };
}

describe('MediaSession fan-out', () => {
  it('takes out a sink that throws and reports it; every other sink keeps every packet', async () => {
    const clock = new FakeClock();
    const session = await MediaSession.open(clock, {
      video: {
        source: new TestPatternSource(320, 180),
        encoder: { width: 320, height: 180, bitrateBps: 300_000 },
      },
      audio: { sources: [new ToneSource(48_000, 2)], encoder: {} },
    });
    const kept: EncodedPacket[] = [];
    const before: PacketSink = { writePacket: (p) => void kept.push(p) };
    let thrown = 0;
    const broken: PacketSink = {
      writePacket: () => {
        thrown++;
        throw new Error('disk on fire');
      },
    };
    const after: EncodedPacket[] = [];
    const failures: [PacketSink, string][] = [];
    session.on('sinkfailed', (sink, error) => failures.push([sink, error.message]));
    session.addSink(before);
    session.addSink(broken);
    session.addSink({ writePacket: (p) => void after.push(p) });
    session.start();
    await run(clock, 1000);
    await session.stop();
    const { videoEncoder, audioEncoder } = session.stats;
    const produced = (videoEncoder?.packetsOut ?? 0) + (audioEncoder?.packetsOut ?? 0);
    expect(produced).toBeGreaterThan(50);
    expect(thrown).toBe(1); // taken out at its first throw
    expect(failures).toEqual([[broken, 'disk on fire']]);
    expect(kept).toHaveLength(produced); // the sink before it
    expect(after).toHaveLength(produced); // and the one after it: nothing lost at the seam
    expect(after.map((p) => p.dtsUs)).toEqual(kept.map((p) => p.dtsUs));
  }, 30_000);
});

describe('MediaSession end', () => {
  it('encodes nothing stamped at or after endAt(): 1 s of media, however late stop() comes', async () => {
    const clock = new FakeClock();
    const { session, packets } = await openRecorded(clock);
    const startUs = clock.nowUs();
    session.endAt(startUs + 1_000_000);
    session.start();
    // The stop comes 300 ms late; real time between steps lets the encoder take the frames (those a
    // loaded machine makes it skip are counted).
    for (let t = 0; t < 1300; t += 10) {
      clock.advance(10);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await session.stop();
    // Every deadline before the end is captured or counted as lagged, and none after it.
    const capture = session.stats.capture;
    expect((capture?.framesCaptured ?? 0) + (capture?.framesLagged ?? 0)).toBe(30);
    const video = packets.filter((p) => p.kind === 'video');
    const audio = packets.filter((p) => p.kind === 'audio');
    expect(video).toHaveLength(
      (capture?.framesCaptured ?? 0) - (session.stats.videoEncoder?.framesSkippedBusy ?? 0),
    );
    expect(video.length).toBeGreaterThan(0);
    expect(Math.max(...video.map((p) => p.ptsUs)) - startUs).toBeLessThan(1_000_000);
    // 1024-sample AAC frames: the audio ends within one frame of 1 s (the encoder's flush included).
    const frameUs = (1024 * 1e6) / 48_000;
    const audioEndUs = Math.max(...audio.map((p) => p.ptsUs)) + frameUs - startUs;
    expect(Math.abs(audioEndUs - 1_000_000)).toBeLessThanOrEqual(frameUs);
  }, 30_000);
});

describe('MediaSession order', () => {
  it('hands its sinks audio and video in decode-time order, and every packet by the end of stop()', async () => {
    const clock = new FakeClock();
    // Fake time runs ahead of the threadpool's encodes here: wait as long as it takes.
    const { session, packets } = await openRecorded(clock, 1e9);
    session.start();
    await run(clock, 1000);
    await session.stop();
    const { videoEncoder, audioEncoder, interleave } = session.stats;
    expect(packets).toHaveLength((videoEncoder?.packetsOut ?? 0) + (audioEncoder?.packetsOut ?? 0));
    expect(videoEncoder?.framesSkippedBusy).toBe(0);
    expect(packets.filter((p) => p.kind === 'video').length).toBeGreaterThanOrEqual(29);
    expect(packets.filter((p) => p.kind === 'audio').length).toBeGreaterThan(20);
    const times = packets.map((p) => p.dtsUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(interleave).toMatchObject({ held: 0, releasedOnTimeout: 0 });
  }, 30_000);
});
