import { describe, expect, it } from 'vitest';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { StreamMuxer, type StreamMuxerOptions } from '../../../src/output/stream-muxer.js';
import type { Clock, Timer } from '../../../src/core/clock.js';
import { mulberry32 } from './packets.js';

// A property test: thousands of seeded random congestion patterns drive a StreamMuxer and a simulated
// sender (a socket of limited size in front of a link whose rate changes every few hundred ms), and
// check what the server receives. Deterministic: a failing seed reproduces.

const VIDEO_INTERVAL_US = 1e6 / 30;
const AUDIO_INTERVAL_US = (1024 * 1e6) / 48000;

interface Meta {
  readonly seq: number; // per kind, in write order
  readonly gop: number;
  readonly index: number; // position in its GOP
}

interface Scenario {
  readonly outages: boolean; // rate 0 and disconnects allowed
  readonly disposable: boolean; // some frames are non-reference, and the disposable tier is on
}

interface Segment {
  readonly untilUs: number;
  readonly rateBytesPerS: number;
  readonly connected: boolean;
}

interface Outcome {
  readonly maxLatencyMs: number;
  readonly latencyBoundMs: number;
  readonly observedMaxLatencyMs: number;
  readonly endState: string;
  readonly congestionEvents: number;
}

function runPattern(seed: number, scenario: Scenario): Outcome {
  const rng = mulberry32(Math.imul(seed, 0x9e3779b1));
  const between = (lo: number, hi: number): number => lo + (hi - lo) * rng();
  const options: Partial<StreamMuxerOptions> = {
    maxLatencyMs: between(500, 3000),
    maxPackets: rng() < 0.3 ? Math.round(between(10, 60)) : 100,
    maxBytes: rng() < 0.3 ? Math.round(between(150_000, 600_000)) : 4 * 1024 * 1024,
    disposableDropLatencyMs: scenario.disposable ? undefined : Infinity,
  } as Partial<StreamMuxerOptions>;
  const clock = new SteppedClock();
  const muxer = new StreamMuxer(clock, options);
  const maxLatencyMs = muxer.options.maxLatencyMs;
  const socketLimitBytes = Math.round(between(8_000, 600_000));
  const gopFrames = Math.round(between(15, 90));
  const nonReferenceShare = scenario.disposable ? 0.35 : 0;
  const audioMaxBytes = 500;
  const audioRate = (audioMaxBytes * 1e6) / AUDIO_INTERVAL_US;
  const minRate = 3 * audioRate;

  // The link: rates from 3× the audio rate (below the media rate: congestion) to well above it.
  const durationUs = between(4, 10) * 1e6;
  const segments: Segment[] = [];
  let t = 0;
  while (t < durationUs) {
    t += between(0.3, 4) * 1e6;
    const down = scenario.outages && rng() < 0.15;
    const rate = down ? 0 : minRate * Math.exp(between(0, Math.log(12)));
    segments.push({ untilUs: t, rateBytesPerS: rate, connected: !(down && rng() < 0.6) });
  }
  // Then a recovery period: a fast link for long enough to drain and meet a keyframe.
  const recoveryUs = (2 * maxLatencyMs + 2 * (gopFrames / 30) * 1000 + 2000) * 1000;
  segments.push({ untilUs: t + recoveryUs, rateBytesPerS: 2_000_000, connected: true });
  const endUs = t + recoveryUs;

  const meta = new Map<EncodedPacket, Meta>();
  let forceKeyframe = false;
  muxer.on('keyframeRequest', () => (forceKeyframe = true));

  // The socket + network: FIFO of packets handed to the socket and not yet delivered.
  const inFlight: { packet: EncodedPacket; remaining: number }[] = [];
  let inFlightHead = 0;
  let inFlightBytes = 0;
  muxer.setEndToEndLatencySource(() => {
    const head = inFlight[inFlightHead];
    return head === undefined ? 0 : Math.max(0, (clock.nowUs() - head.packet.dtsUs) / 1000);
  });

  // Server-side checks.
  let decGop = -1;
  let decIndex = -1;
  let lastVideoDts = -1;
  let lastAudioSeq = -1;
  let epochFirstAudioSeq = -1;
  const gopReferenceFlags: boolean[][] = [];
  let observedMaxLatencyMs = 0;
  let sentByUs = { video: 0, audio: 0 };

  const deliver = (packet: EncodedPacket): void => {
    const m = meta.get(packet)!;
    const latencyMs = (clock.nowUs() - packet.dtsUs) / 1000;
    observedMaxLatencyMs = Math.max(observedMaxLatencyMs, latencyMs);
    if (packet.kind === 'audio') {
      // (b) audio leaves in order and without gaps within a connection.
      const expected = lastAudioSeq === -1 ? epochFirstAudioSeq : lastAudioSeq + 1;
      if (m.seq !== expected) expect.fail(`seed ${seed}: audio ${m.seq} delivered, expected ${expected}`);
      lastAudioSeq = m.seq;
      return;
    }
    if (packet.dtsUs <= lastVideoDts) expect.fail(`seed ${seed}: video out of order`);
    lastVideoDts = packet.dtsUs;
    // (a) decodable: a connection starts at a keyframe; within a GOP no reference frame is missing.
    if (packet.keyframe) {
      decGop = m.gop;
      decIndex = 0;
      return;
    }
    if (m.gop !== decGop) expect.fail(`seed ${seed}: frame of GOP ${m.gop} whose keyframe was not sent`);
    const flags = gopReferenceFlags[m.gop]!;
    for (let i = decIndex + 1; i < m.index; i++) {
      if (flags[i])
        expect.fail(`seed ${seed}: GOP ${m.gop} frame ${m.index} sent without reference frame ${i}`);
    }
    decIndex = m.index;
  };

  let nextVideoUs = 0;
  let nextAudioUs = 0;
  let videoSeq = 0;
  let audioSeq = 0;
  let gop = -1;
  let gopIndex = 0;
  let segment = 0;
  let connected = false;
  let lastUs = 0;
  let budget = 0;
  let windowBytes: { atUs: number; bytes: number }[] = [];
  let windowSum = 0;
  let maxWindowBytes = 0;
  const written = { video: 0, audio: 0 };

  const setConnected = (up: boolean): void => {
    if (up === connected) return;
    connected = up;
    muxer.setConnected(up);
    if (!up) {
      inFlight.length = 0; // the socket died with what it held
      inFlightHead = 0;
      inFlightBytes = 0;
    } else {
      decGop = -1;
      decIndex = -1;
      lastAudioSeq = -1;
      epochFirstAudioSeq = audioSeq;
    }
  };
  setConnected(true);

  while (lastUs < endUs) {
    const seg = segments[segment]!;
    const nowUs = Math.min(nextVideoUs, nextAudioUs, seg.untilUs);
    clock.set(nowUs);
    // The link delivers what the elapsed time allows, packet by packet.
    budget += (seg.rateBytesPerS * (nowUs - lastUs)) / 1e6;
    lastUs = nowUs;
    while (inFlightHead < inFlight.length) {
      const head = inFlight[inFlightHead]!;
      if (budget < head.remaining) {
        head.remaining -= budget;
        budget = 0;
        break;
      }
      budget -= head.remaining;
      inFlightBytes -= head.packet.byteLength;
      inFlightHead++;
      deliver(head.packet);
    }
    if (inFlightHead === inFlight.length) {
      inFlight.length = 0;
      inFlightHead = 0;
      budget = 0; // an idle link does not bank capacity
    }
    if (nowUs >= seg.untilUs) {
      segment++;
      setConnected(segments[segment]?.connected ?? true);
    }
    if (nowUs === nextVideoUs) {
      if (forceKeyframe || gop < 0 || gopIndex >= gopFrames) {
        forceKeyframe = false;
        gop++;
        gopIndex = 0;
        gopReferenceFlags[gop] = [];
      }
      const keyframe = gopIndex === 0;
      const reference = keyframe || rng() >= nonReferenceShare;
      gopReferenceFlags[gop]![gopIndex] = reference;
      const byteLength = Math.round(keyframe ? between(30_000, 120_000) : between(2_000, 15_000));
      const packet = video(nowUs, byteLength, keyframe, reference);
      meta.set(packet, { seq: videoSeq++, gop, index: gopIndex++ });
      written.video++;
      track(byteLength);
      muxer.writeVideoPacket(packet);
      nextVideoUs = Math.round(videoSeq * VIDEO_INTERVAL_US);
    }
    if (nowUs === nextAudioUs) {
      const packet = audioPacket(nowUs, Math.round(between(300, audioMaxBytes)));
      meta.set(packet, { seq: audioSeq++, gop: -1, index: -1 });
      written.audio++;
      track(packet.byteLength);
      // (b) audio is never dropped while connected.
      if (muxer.writeAudioPacket(packet) !== connected)
        expect.fail(`seed ${seed}: audio dropped while connected`);
      nextAudioUs = Math.round(audioSeq * AUDIO_INTERVAL_US);
    }
    // The sender: the socket takes packets while it holds less than its limit.
    while (connected && inFlightBytes < socketLimitBytes) {
      const packet = muxer.nextPacket();
      if (packet === undefined) break;
      sentByUs[packet.kind]++;
      inFlight.push({ packet, remaining: packet.byteLength });
      inFlightBytes += packet.byteLength;
    }
  }

  function track(bytes: number): void {
    const nowUs = clock.nowUs();
    windowBytes.push({ atUs: nowUs, bytes });
    windowSum += bytes;
    const horizonUs = nowUs - (maxLatencyMs + 100) * 1000;
    let drop = 0;
    while (drop < windowBytes.length && windowBytes[drop]!.atUs < horizonUs)
      windowSum -= windowBytes[drop++]!.bytes;
    if (drop > 256) windowBytes = windowBytes.slice(drop);
    else if (drop > 0) windowBytes.splice(0, drop);
    maxWindowBytes = Math.max(maxWindowBytes, windowSum);
  }

  // (d) counters add up, per kind, and agree with what the sender saw.
  const s = muxer.stats;
  expect(s.written).toEqual(written);
  expect(s.sent).toEqual(sentByUs);
  expect(s.written.video).toBe(
    s.sent.video + s.videoPacketsDropped + s.packetsDroppedWhileDisconnected.video + s.queued.video,
  );
  expect(s.written.audio).toBe(
    s.sent.audio + s.audioPacketsDropped + s.packetsDroppedWhileDisconnected.audio + s.queued.audio,
  );
  expect(s.audioPacketsDropped).toBe(0);
  if (!scenario.outages) expect(s.packetsDroppedWhileDisconnected).toEqual({ video: 0, audio: 0 });
  sentByUs = { video: 0, audio: 0 };

  // (c) the bound: once latency passes maxLatencyMs the policy stops adding video within a frame; what
  // is undelivered then was captured in the last maxLatencyMs + 100 ms, and it drains at no less than
  // the slowest link rate of the pattern minus the audio that keeps coming (+ one 50 ms step).
  const slowestRate = Math.min(...segments.slice(0, -1).map((g) => g.rateBytesPerS));
  const latencyBoundMs = maxLatencyMs + 100 + (maxWindowBytes / (slowestRate - audioRate)) * 1000 + 50;
  return {
    maxLatencyMs,
    latencyBoundMs,
    observedMaxLatencyMs,
    endState: muxer.state,
    congestionEvents: s.congestionEvents,
  };
}

function video(atUs: number, byteLength: number, keyframe: boolean, reference: boolean): EncodedPacket {
  return { kind: 'video', data: EMPTY, dtsUs: atUs, ptsUs: atUs, keyframe, reference, byteLength };
}

function audioPacket(atUs: number, byteLength: number): EncodedPacket {
  return {
    kind: 'audio',
    data: EMPTY,
    dtsUs: atUs,
    ptsUs: atUs,
    keyframe: true,
    reference: false,
    byteLength,
  };
}

const EMPTY = Buffer.alloc(0);

/** A clock the simulation sets directly (FakeClock's timer bookkeeping is not needed: nothing here sets timers). */
class SteppedClock implements Clock {
  #nowUs = 0;
  nowUs(): number {
    return this.#nowUs;
  }
  set(nowUs: number): void {
    this.#nowUs = nowUs;
  }
  setTimer(): Timer {
    throw new Error('the output path sets no timers');
  }
}

describe('StreamMuxer under random congestion (property)', () => {
  it.each([
    ['all frames reference, no outages', { outages: false, disposable: false }, 1],
    ['disposable frames, no outages', { outages: false, disposable: true }, 100_001],
    ['all frames reference, with outages and disconnects', { outages: true, disposable: false }, 200_001],
    ['disposable frames, with outages and disconnects', { outages: true, disposable: true }, 300_001],
  ] as const)(
    'keeps the stream decodable, audio whole, latency bounded and counters consistent: %s',
    (_name, scenario, firstSeed) => {
      const patterns = 1000;
      let dropEpisodes = 0;
      for (let seed = firstSeed; seed < firstSeed + patterns; seed++) {
        const outcome = runPattern(seed, scenario);
        if (outcome.congestionEvents > 0) dropEpisodes++;
        if (!scenario.outages) {
          if (outcome.observedMaxLatencyMs > outcome.latencyBoundMs) {
            expect.fail(
              `seed ${seed}: latency ${outcome.observedMaxLatencyMs} ms above ${outcome.latencyBoundMs} ms`,
            );
          }
        }
        // After the recovery period on a fast link, video flows again.
        expect(outcome.endState, `seed ${seed}`).toBe('normal');
      }
      // The patterns really are congested: most of them push latency past the threshold.
      expect(dropEpisodes).toBeGreaterThan(patterns / 4);
    },
  );
});
