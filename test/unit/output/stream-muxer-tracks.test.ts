import { describe, expect, it } from 'vitest';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { defaultDropPolicyOptions, trackDropPolicyOptions } from '../../../src/output/drop-policy.js';
import { StreamMuxer, type VideoTracks } from '../../../src/output/stream-muxer.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { audio, interFrame, keyframe, mulberry32 } from './packets.js';

// The per-track drop policy of a multitrack output: the highest track loses its GOPs first, track 0
// last, and every track's stream stays decodable.

/** Tracks named by the rendition field: "t0", "t1", … */
const TRACKS = (count: number): VideoTracks => ({
  count,
  trackOf: (packet) => Number(packet.rendition?.slice(1) ?? 0),
});

const on = (track: number, packet: EncodedPacket): EncodedPacket => ({ ...packet, rendition: `t${track}` });

describe('trackDropPolicyOptions', () => {
  it('scales every threshold by (count − track) / count: track 0 as given, the highest lowest', () => {
    const base = defaultDropPolicyOptions(2400);
    const table = [0, 1, 2].map((t) => trackDropPolicyOptions(base, t, 3));
    expect(table.map((o) => [o.maxLatencyMs, o.lowWatermarkMs, o.disposableDropLatencyMs])).toEqual([
      [2400, 1200, 1800],
      [1600, 800, 1200],
      [800, 400, 600],
    ]);
    expect(trackDropPolicyOptions(base, 0, 1)).toEqual(base);
    expect(
      trackDropPolicyOptions({ ...base, disposableDropLatencyMs: Infinity }, 1, 2).disposableDropLatencyMs,
    ).toBe(Infinity);
  });

  it('refuses a track that is not one of the count', () => {
    const base = defaultDropPolicyOptions();
    expect(() => trackDropPolicyOptions(base, 3, 3)).toThrow(RangeError);
    expect(() => trackDropPolicyOptions(base, -1, 3)).toThrow(RangeError);
    expect(() => trackDropPolicyOptions(base, 0, 0)).toThrow(RangeError);
  });
});

function connected(count = 3, options = {}): { muxer: StreamMuxer; setLatency: (ms: number) => void } {
  const clock = new FakeClock();
  const muxer = new StreamMuxer(
    clock,
    { maxLatencyMs: 1500, disposableDropLatencyMs: Infinity, ...options },
    TRACKS(count),
  );
  let latencyMs = 0;
  muxer.setEndToEndLatencySource(() => latencyMs);
  muxer.setConnected(true);
  return { muxer, setLatency: (ms) => (latencyMs = ms) };
}

/** Writes one frame on every track (keyframes aligned); returns which tracks kept it. */
function frameOnAll(muxer: StreamMuxer, key: boolean, count = 3): boolean[] {
  return Array.from({ length: count }, (_, t) =>
    muxer.writeVideoPacket(on(t, key ? keyframe() : interFrame())),
  );
}

describe('StreamMuxer with three video tracks (thresholds 500 / 1000 / 1500 ms of maxLatencyMs 1500)', () => {
  it('drops the highest track first, then track 1, and track 0 only past maxLatencyMs', () => {
    const { muxer, setLatency } = connected();
    expect(frameOnAll(muxer, true)).toEqual([true, true, true]);
    setLatency(600);
    expect(frameOnAll(muxer, false)).toEqual([true, true, false]);
    setLatency(1100);
    expect(frameOnAll(muxer, false)).toEqual([true, false, false]);
    setLatency(1600);
    expect(frameOnAll(muxer, false)).toEqual([false, false, false]);
    expect(muxer.state).toBe('dropping');
    expect(muxer.stats.tracks.map((t) => t.state)).toEqual(['dropping', 'dropping', 'dropping']);
  });

  it('brings each track back at its own keyframe once latency is under its low watermark, track 0 first', () => {
    const { muxer, setLatency } = connected();
    frameOnAll(muxer, true);
    setLatency(1600);
    frameOnAll(muxer, false);
    setLatency(600); // under track 0's low watermark (750), over track 1's (500)
    expect(frameOnAll(muxer, false)).toEqual([false, false, false]); // not at a keyframe
    expect(frameOnAll(muxer, true)).toEqual([true, false, false]);
    setLatency(300); // under track 1's (500), over track 2's (250)
    expect(frameOnAll(muxer, false)).toEqual([true, false, false]);
    expect(frameOnAll(muxer, true)).toEqual([true, true, false]);
    setLatency(100);
    expect(frameOnAll(muxer, true)).toEqual([true, true, true]);
    expect(muxer.state).toBe('normal');
  });

  it('brings a track back only while every track below it flows: its keyframe before theirs is dropped', () => {
    const { muxer, setLatency } = connected();
    frameOnAll(muxer, true);
    setLatency(1600);
    frameOnAll(muxer, false);
    setLatency(100); // under every low watermark
    // Track 2's keyframe comes first while tracks 0 and 1 still drop: it waits for the next one.
    expect(muxer.writeVideoPacket(on(2, keyframe()))).toBe(false);
    expect(muxer.writeVideoPacket(on(0, keyframe()))).toBe(true);
    expect(muxer.writeVideoPacket(on(1, keyframe()))).toBe(true);
    expect(frameOnAll(muxer, false)).toEqual([true, true, false]);
    expect(frameOnAll(muxer, true)).toEqual([true, true, true]);
  });

  it('when a track breaks, every track above it drops and loses at least as much of its queue', () => {
    const { muxer, setLatency } = connected(3, { maxPackets: 9 });
    const queuedOf = (track: number): number =>
      muxer.queuedPacketsSnapshot().filter((p) => p.rendition === `t${track}`).length;
    frameOnAll(muxer, true);
    frameOnAll(muxer, false);
    setLatency(600);
    frameOnAll(muxer, false); // track 2 breaks (latency): its queue goes
    setLatency(0);
    muxer.writeVideoPacket(on(0, keyframe()));
    muxer.writeVideoPacket(on(1, keyframe()));
    muxer.writeVideoPacket(on(0, interFrame())); // 9 queued: the cap
    // Track 1 breaks at the cap: only its broken GOP goes, its first GOP (3 frames) stays queued.
    expect(muxer.writeVideoPacket(on(1, interFrame()))).toBe(false);
    expect([queuedOf(0), queuedOf(1), queuedOf(2)]).toEqual([5, 3, 0]);
    // Track 0 breaks on latency: all its queued video goes, and so does all of track 1's.
    setLatency(1600);
    expect(muxer.writeVideoPacket(on(0, interFrame()))).toBe(false);
    expect([queuedOf(0), queuedOf(1), queuedOf(2)]).toEqual([0, 0, 0]);
  });

  it('purges only the breaking track’s queued GOP tail, and counts drops per track', () => {
    const { muxer, setLatency } = connected();
    frameOnAll(muxer, true);
    frameOnAll(muxer, false);
    setLatency(600);
    frameOnAll(muxer, false); // track 2 breaks: its queued keyframe and inter frame go
    const queued = muxer.queuedPacketsSnapshot().map((p) => p.rendition);
    expect(queued).toEqual(['t0', 't1', 't0', 't1', 't0', 't1']);
    expect(muxer.stats.tracks.map((t) => [t.written, t.dropped, t.sent])).toEqual([
      [3, 0, 0],
      [3, 0, 0],
      [3, 3, 0],
    ]);
    expect(muxer.stats.videoPacketsDropped).toBe(3);
    while (muxer.nextPacket()) {
      /* drain */
    }
    expect(muxer.stats.tracks.map((t) => t.sent)).toEqual([3, 3, 0]);
  });

  it('at the packet cap sheds the tracks above the packet’s own before dropping it', () => {
    const { muxer } = connected(3, { maxPackets: 6 });
    frameOnAll(muxer, true);
    frameOnAll(muxer, false); // 6 queued: the cap
    // Track 0's frame makes room by shedding track 2, then fits.
    expect(muxer.writeVideoPacket(on(0, interFrame()))).toBe(true);
    expect(muxer.stats.tracks.map((t) => t.state)).toEqual(['normal', 'normal', 'dropping']);
    expect(muxer.queuedPacketsSnapshot().some((p) => p.rendition === 't2')).toBe(false);
    expect(muxer.writeVideoPacket(on(1, interFrame()))).toBe(true);
    // Audio is never dropped: it sheds track 1 next (track 2 has nothing left), then fits.
    muxer.writeAudioPacket(audio());
    muxer.writeAudioPacket(audio());
    expect(muxer.stats.tracks.map((t) => t.state)).toEqual(['normal', 'dropping', 'dropping']);
    expect(
      muxer
        .queuedPacketsSnapshot()
        .filter((p) => p.kind === 'video')
        .map((p) => p.rendition),
    ).toEqual(['t0', 't0', 't0']);
  });

  it('refuses a packet whose track is not one of the output’s', () => {
    const { muxer } = connected();
    expect(() => muxer.writeVideoPacket(on(3, keyframe()))).toThrow(RangeError);
  });

  it('starts every track at its own keyframe after a reconnect', () => {
    const { muxer } = connected();
    muxer.setConnected(false);
    muxer.setConnected(true);
    expect(muxer.writeVideoPacket(on(1, interFrame()))).toBe(false);
    expect(muxer.writeVideoPacket(on(0, keyframe()))).toBe(true);
    expect(muxer.writeVideoPacket(on(1, interFrame()))).toBe(false);
    expect(muxer.writeVideoPacket(on(1, keyframe()))).toBe(true);
  });
});

// Property tests: seeded random runs of aligned GOPs on 2–4 tracks, encoders finishing each frame's
// tracks in random order, end-to-end latency from a random walk with jumps, a path transit in half of
// them, a link of random rate draining the queue, random packet caps. What reaches the server must satisfy, on every run:
// - every track decodes: a frame sent is a keyframe, or the frame right before it in its GOP was sent;
// - the lower tracks are favoured: of each GOP, a track carries at most one frame more than the track
//   below it (the frame of the same instant that left before the lower track broke: packets leave in
//   the order the encoders finished them, and a purge takes only what is still queued);
// - audio is complete.
describe('per-track drop policy, properties', () => {
  const FRAME_US = 1e6 / 30;

  function run(seed: number): {
    sent: boolean[][];
    gop: number;
    frames: number;
    audioSent: number;
    audioWritten: number;
  } {
    const rng = mulberry32(Math.imul(seed, 0x2545f491));
    const between = (lo: number, hi: number): number => lo + (hi - lo) * rng();
    const count = 2 + Math.floor(rng() * 3);
    const clock = new FakeClock();
    const maxLatencyMs = between(600, 3000);
    const muxer = new StreamMuxer(
      clock,
      {
        maxLatencyMs,
        maxPackets: rng() < 0.3 ? Math.round(between(8, 80)) : 100 * count,
        disposableDropLatencyMs: Infinity,
      },
      TRACKS(count),
    );
    let latencyMs = 0;
    muxer.setEndToEndLatencySource(() => latencyMs);
    // Half the runs look ahead by a path transit (what the queued media will have on arrival).
    const transitMs = rng() < 0.5 ? 0 : between(20, 400);
    muxer.setTransitSource(() => transitMs);
    muxer.setConnected(true);
    const gop = Math.round(between(5, 60));
    const frames = Math.round(between(100, 600));
    const sent: boolean[][] = Array.from({ length: count }, () => new Array<boolean>(frames).fill(false));
    const meta = new Map<EncodedPacket, { track: number; frame: number }>();
    let audioWritten = 0;
    let audioSent = 0;
    let rateBytesPerFrame = between(2_000, 40_000);
    // Mild congestion in some runs (under track 0's threshold), deep in others.
    const peakMs = between(0.3, 1.5) * maxLatencyMs;
    for (let frame = 0; frame < frames; frame++) {
      if (rng() < 0.05) rateBytesPerFrame = between(500, 40_000);
      latencyMs =
        rng() < 0.03 ? between(0, peakMs) : Math.min(peakMs, Math.max(0, latencyMs + between(-90, 90)));
      const order = Array.from({ length: count }, (_, t) => t).sort(() => rng() - 0.5);
      for (const track of order) {
        const key = frame % gop === 0;
        const packet = on(track, key ? keyframe({ atMs: frame * 33 }) : interFrame({ atMs: frame * 33 }));
        meta.set(packet, { track, frame });
        muxer.writeVideoPacket(packet);
      }
      if (rng() < 0.7) {
        audioWritten++;
        muxer.writeAudioPacket(audio({ atMs: frame * 33 }));
      }
      clock.advance(FRAME_US / 1000);
      for (let budget = rateBytesPerFrame; budget > 0;) {
        const packet = muxer.nextPacket();
        if (!packet) break;
        budget -= packet.byteLength;
        if (packet.kind === 'audio') audioSent++;
        const m = meta.get(packet);
        if (m) sent[m.track]![m.frame] = true;
      }
    }
    for (let packet = muxer.nextPacket(); packet; packet = muxer.nextPacket()) {
      if (packet.kind === 'audio') audioSent++;
      const m = meta.get(packet);
      if (m) sent[m.track]![m.frame] = true;
    }
    return { sent, gop, frames, audioSent, audioWritten };
  }

  it('keeps every track decodable, favours the lower tracks and keeps all audio (500 seeded runs)', () => {
    let runsWithDrops = 0;
    let runsTopPaidMore = 0;
    let runsTopOnly = 0;
    for (let seed = 1; seed <= 500; seed++) {
      const { sent, gop, frames, audioSent, audioWritten } = run(seed);
      const where = `seed ${seed}`;
      expect(audioSent, where).toBe(audioWritten);
      for (const [track, row] of sent.entries()) {
        const gap = row.findIndex((s, frame) => s && frame % gop !== 0 && !row[frame - 1]);
        expect(gap, `${where}: track ${track} sends frame ${gap} after a gap`).toBe(-1);
        if (track === 0) continue;
        const below = sent[track - 1]!;
        for (let start = 0; start < frames; start += gop) {
          const sentOf = (r: boolean[]): number => r.slice(start, start + gop).filter(Boolean).length;
          if (sentOf(row) > sentOf(below) + 1) {
            expect.fail(
              `${where}: track ${track} carries more of the GOP at frame ${start} than track ${track - 1}`,
            );
          }
        }
      }
      const dropped = sent.map((row) => row.filter((s) => !s).length);
      if (dropped.some((d) => d > 0)) runsWithDrops++;
      if (dropped.at(-1)! > dropped[0]!) runsTopPaidMore++;
      if (dropped.at(-1)! > 0 && dropped[0] === 0) runsTopOnly++;
    }
    // The runs exercise both congestion that only the top track paid for and deeper congestion.
    // (At the time of writing: 478 runs with drops, the top track paying more in 475, alone in 297.)
    expect(runsWithDrops).toBeGreaterThan(400);
    expect(runsTopPaidMore).toBeGreaterThan(400);
    expect(runsTopOnly).toBeGreaterThan(150);
  });
});
