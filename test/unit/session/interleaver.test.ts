import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { Interleaver } from '../../../src/session/interleaver.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { audio, interFrame, keyframe, mulberry32 } from '../output/packets.js';

interface Released {
  readonly packet: EncodedPacket;
  readonly atMs: number;
}

function setup(maxWaitMs = 300, kinds = { video: true, audio: true }) {
  const clock = new FakeClock();
  const released: Released[] = [];
  const interleaver = new Interleaver(clock, kinds, maxWaitMs, (packet) =>
    released.push({ packet, atMs: clock.nowUs() / 1000 }),
  );
  return { clock, released, interleaver };
}

interface Arrival {
  readonly packet: EncodedPacket;
  readonly arrivesAtMs: number;
}

/** 30 fps video out of its encoder `videoDelayMs` after capture; AAC frames (21.33 ms) out `audioDelayMs` after their first sample. */
function liveArrivals(
  seconds: number,
  videoDelayMs: (i: number) => number,
  audioDelayMs: (i: number) => number,
) {
  const arrivals: Arrival[] = [];
  for (let i = 0; i < seconds * 30; i++) {
    const atMs = (i * 1000) / 30;
    arrivals.push({
      packet: i % 60 === 0 ? keyframe({ atMs }) : interFrame({ atMs }),
      arrivesAtMs: atMs + videoDelayMs(i),
    });
  }
  for (let i = 0; i < (seconds * 48_000) / 1024; i++) {
    const atMs = (i * 1024 * 1000) / 48_000;
    arrivals.push({ packet: audio({ atMs }), arrivesAtMs: atMs + audioDelayMs(i) });
  }
  // Each kind's encoder hands packets out in order: a later one never arrives before an earlier one.
  for (const kind of ['video', 'audio'] as const) {
    let last = -Infinity;
    for (const a of arrivals.filter((x) => x.packet.kind === kind)) {
      last = Math.max(last, a.arrivesAtMs);
      (a as { arrivesAtMs: number }).arrivesAtMs = last;
    }
  }
  return arrivals.sort((a, b) => a.arrivesAtMs - b.arrivesAtMs);
}

/** Feeds `arrivals` at their times, then lets `tailMs` more pass. */
function play(clock: FakeClock, interleaver: Interleaver, arrivals: Arrival[], tailMs = 0): void {
  for (const { packet, arrivesAtMs } of arrivals) {
    clock.advance(arrivesAtMs - clock.nowUs() / 1000);
    interleaver.push(packet);
  }
  clock.advance(tailMs);
}

/** Timestamps are whole microseconds, arrival times are not: compare within one. */
const US = 0.001;
const dts = (r: Released[]): number[] => r.map((x) => x.packet.dtsUs);
const ofKind = (r: Released[], kind: 'video' | 'audio'): Released[] =>
  r.filter((x) => x.packet.kind === kind);
const isSorted = (values: number[]): boolean =>
  values.every((v, i) => i === 0 || (values[i - 1] as number) <= v);

describe('Interleaver', () => {
  it('releases a live stream in decode-time order: video waits for the AAC that covers it, and no longer', () => {
    const { clock, released, interleaver } = setup();
    const arrivals = liveArrivals(
      4,
      () => 8,
      () => 64,
    );
    play(clock, interleaver, arrivals);
    const beforeFlush = released.slice();
    interleaver.flush();
    expect(released).toHaveLength(arrivals.length);
    expect(isSorted(dts(released))).toBe(true);
    // Video goes once the audio packet that covers its time is out (AAC frames follow each other, so
    // the next one starts where it ends): up to one AAC frame less than audio's 64 ms. Until audio's
    // frame length is known (three packets), video waits for a packet that starts at or after it.
    const frameMs = 1024 / 48;
    for (const { packet, atMs } of ofKind(released, 'video')) {
      const capturedMs = packet.dtsUs / 1000;
      const known = capturedMs >= 3 * frameMs;
      expect(atMs - capturedMs).toBeGreaterThan(known ? 64 - frameMs : 64 - US);
      expect(atMs - capturedMs).toBeLessThanOrEqual(known ? 64 + US : 64 + frameMs + US);
    }
    // Audio is never held: it is the later kind.
    for (const { packet, atMs } of ofKind(beforeFlush, 'audio'))
      expect(Math.abs(atMs - (packet.dtsUs / 1000 + 64))).toBeLessThanOrEqual(US);
    expect(interleaver.stats.releasedOnTimeout).toBe(0);
    expect(interleaver.stats.held).toBe(0);
  });

  it('counts audio as reaching the end of its packet only once its frames have kept one length', () => {
    const { clock, released, interleaver } = setup();
    const order = (): string[] => released.map((r) => `${r.packet.kind} ${r.packet.dtsUs / 1000}`);
    // Steps of 30, 20 and 30 ms: no frame length to rely on, so only each packet's start counts.
    for (const atMs of [0, 30, 50, 80]) interleaver.push(audio({ atMs }));
    interleaver.push(interFrame({ atMs: 90 }));
    expect(order().at(-1)).toBe('audio 80');
    interleaver.push(audio({ atMs: 100 })); // reaches 100: video 90 goes; audio 100 waits for video
    expect(order().slice(-2)).toEqual(['audio 80', 'video 90']);
    // Two steps of 20 ms in a row: audio at 140 reaches just short of 160, where the next one starts.
    interleaver.push(audio({ atMs: 120 }));
    interleaver.push(audio({ atMs: 140 }));
    interleaver.push(interFrame({ atMs: 159 }));
    expect(order().slice(-4)).toEqual(['audio 100', 'audio 120', 'audio 140', 'video 159']);
    interleaver.push(interFrame({ atMs: 160 }));
    expect(order().at(-1)).toBe('video 159');
    clock.advance(10);
    interleaver.push(audio({ atMs: 160 }));
    expect(order().slice(-2)).toEqual(['audio 160', 'video 160']);
  });

  it('holds audio instead when video is the later kind (a slow video encoder)', () => {
    const { clock, released, interleaver } = setup();
    play(
      clock,
      interleaver,
      liveArrivals(
        2,
        () => 150,
        () => 30,
      ),
    );
    const beforeFlush = released.length;
    interleaver.flush();
    expect(isSorted(dts(released))).toBe(true);
    for (const { packet, atMs } of ofKind(released.slice(0, beforeFlush), 'audio')) {
      expect(atMs - packet.dtsUs / 1000).toBeGreaterThanOrEqual(150 - US);
    }
    expect(interleaver.stats.releasedOnTimeout).toBe(0);
  });

  it('lets a packet go after maxWaitMs when the other kind stops, by its timer, without any further push', () => {
    const { clock, released, interleaver } = setup(300);
    interleaver.push(audio({ atMs: 0 }));
    interleaver.push(keyframe({ atMs: 0 }));
    expect(released).toHaveLength(2);
    clock.advance(10);
    interleaver.push(interFrame({ atMs: 33 })); // audio never reaches 33 ms
    clock.advance(299);
    expect(released).toHaveLength(2);
    clock.advance(1);
    expect(released).toHaveLength(3);
    expect(released[2]?.atMs).toBe(310);
    expect(interleaver.stats).toEqual({ held: 0, releasedOnTimeout: 1, maxWaitedMs: 300 });
  });

  it('counts each packet the timeout releases, and keeps releasing a kind whose partner has stopped', () => {
    const { clock, released, interleaver } = setup(300);
    const arrivals = liveArrivals(
      3,
      () => 8,
      () => 64,
    ).filter((a) => a.packet.kind === 'video' || a.packet.dtsUs < 1_000_000);
    play(clock, interleaver, arrivals, 400);
    expect(released).toHaveLength(arrivals.length);
    // The last audio packet (the one before 1 s) covers up to its end; video after that has no partner.
    const audioEndUs =
      Math.max(...ofKind(released, 'audio').map((r) => r.packet.dtsUs)) + 1e6 * (1024 / 48_000);
    const late = ofKind(released, 'video').filter((r) => r.packet.dtsUs >= audioEndUs);
    expect(interleaver.stats.releasedOnTimeout).toBe(late.length);
    for (const { packet, atMs } of late) {
      expect(atMs - (packet.dtsUs / 1000 + 8)).toBeLessThanOrEqual(300 + US);
    }
    expect(isSorted(dts(ofKind(released, 'video')))).toBe(true);
  });

  it('passes everything through at once with one kind only, or with maxWaitMs 0', () => {
    for (const { maxWaitMs, kinds } of [
      { maxWaitMs: 300, kinds: { video: true, audio: false } },
      { maxWaitMs: 300, kinds: { video: false, audio: true } },
      { maxWaitMs: 0, kinds: { video: true, audio: true } },
    ]) {
      const { clock, released, interleaver } = setup(maxWaitMs, kinds);
      const arrivals = liveArrivals(
        1,
        () => 8,
        () => 64,
      );
      play(clock, interleaver, arrivals);
      expect(released.map((r) => r.packet)).toEqual(arrivals.map((a) => a.packet));
      expect(released.map((r) => r.atMs)).toEqual(arrivals.map((a) => a.arrivesAtMs));
      expect(clock.pendingTimers).toBe(0);
    }
  });

  it('keeps the order within a kind even when renditions interleave their timestamps', () => {
    const { released, interleaver } = setup();
    const main = keyframe({ atMs: 66 });
    const low = { ...interFrame({ atMs: 33 }), rendition: 'low' };
    interleaver.push(main);
    interleaver.push(low);
    const later = audio({ atMs: 100 });
    interleaver.push(later);
    expect(released.map((r) => r.packet)).toEqual([main, low]); // video has reached 66 ms, not 100
    interleaver.push(keyframe({ atMs: 100 }));
    expect(released.map((r) => r.packet).slice(2)).toEqual([
      later,
      expect.objectContaining({ dtsUs: 100_000 }),
    ]);
  });

  it('flush releases what is held in decode-time order, not counted as timeouts, and stops its timer', () => {
    const { clock, released, interleaver } = setup();
    interleaver.push(interFrame({ atMs: 40 }));
    interleaver.push(keyframe({ atMs: 0 }));
    expect(released).toHaveLength(0);
    interleaver.flush();
    expect(dts(released)).toEqual([40_000, 0]); // within a kind, arrival order
    expect(interleaver.stats.releasedOnTimeout).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('with random encoder delays, releases every packet once, each kind in order, all in time order when none timed out', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = mulberry32(seed);
      const maxWaitMs = 50 + random() * 400;
      const { clock, released, interleaver } = setup(maxWaitMs);
      const arrivals = liveArrivals(
        2,
        () => random() * 120,
        () => 20 + random() * 150,
      );
      play(clock, interleaver, arrivals, maxWaitMs + 1);
      expect(released).toHaveLength(arrivals.length);
      for (const kind of ['video', 'audio'] as const) {
        expect(ofKind(released, kind).map((r) => r.packet)).toEqual(
          arrivals.filter((a) => a.packet.kind === kind).map((a) => a.packet),
        );
      }
      for (const r of released) {
        const arrival = arrivals.find((a) => a.packet === r.packet) as Arrival;
        expect(r.atMs - arrival.arrivesAtMs).toBeLessThanOrEqual(maxWaitMs + US);
      }
      if (interleaver.stats.releasedOnTimeout === 0) expect(isSorted(dts(released))).toBe(true);
    }
  });

  it('refuses a negative or non-finite maxWaitMs, naming the option', () => {
    for (const bad of [-1, Number.NaN, Infinity]) {
      expect(() => new Interleaver(new FakeClock(), { video: true, audio: true }, bad, () => {})).toThrow(
        ConfigError,
      );
      expect(() => new Interleaver(new FakeClock(), { video: true, audio: true }, bad, () => {})).toThrow(
        /interleaveMaxWaitMs/,
      );
    }
  });
});
