import { describe, expect, it } from 'vitest';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { ConfigError } from '../../../src/core/errors.js';
import {
  StreamMuxer,
  defaultStreamMuxerOptions,
  type StreamMuxerOptions,
} from '../../../src/output/stream-muxer.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { audio, interFrame, keyframe } from './packets.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - nextPacket's `if (state === 'dropping')` before #checkRecovery → `if (true)`: the policy never
//   grants a keyframe request outside `dropping`;
// - #countVideoDrops's `if (count === 0) return` → `if (false)`: adding 0 changes no counter;
// - #countVideoDrops's `if (reason !== 'disconnected')` → `if (true)`: no caller passes
//   'disconnected' (#dropDisconnected counts those), so the condition is dead code;
// - #countPurged's video filter (removed, or its predicate → true) and `#audioDropped -=`: the
//   buffer's purges remove video only (stream-buffer.test.ts), so every purged packet is video and the
//   audio count adds 0 either way.

function connectedMuxer(options: Partial<StreamMuxerOptions> = {}): {
  clock: FakeClock;
  muxer: StreamMuxer;
  states: string[];
  requests: string[];
} {
  const clock = new FakeClock();
  const muxer = new StreamMuxer(clock, options);
  const states: string[] = [];
  const requests: string[] = [];
  muxer.on('statechange', (prev, next) => states.push(`${prev}->${next}`));
  muxer.on('keyframeRequest', (reason) => requests.push(reason));
  muxer.setConnected(true);
  requests.length = 0;
  return { clock, muxer, states, requests };
}

function write(muxer: StreamMuxer, packet: EncodedPacket): boolean {
  return packet.kind === 'video' ? muxer.writeVideoPacket(packet) : muxer.writeAudioPacket(packet);
}

function queuedKinds(muxer: StreamMuxer): string {
  return muxer
    .queuedPacketsSnapshot()
    .map((p) => (p.kind === 'audio' ? 'a' : p.keyframe ? 'K' : 'p'))
    .join('');
}

describe('StreamMuxer', () => {
  it('uses the architecture defaults', () => {
    expect(defaultStreamMuxerOptions()).toMatchObject({
      maxPackets: 100,
      maxLatencyMs: 2000,
      lowWatermarkMs: 1000,
      requestKeyframeOnRecovery: true,
    });
  });

  it('rejects bad options with a ConfigError', () => {
    expect(() => new StreamMuxer(new FakeClock(), { maxPackets: -1 })).toThrow(ConfigError);
    expect(() => new StreamMuxer(new FakeClock(), { lowWatermarkMs: 5000 })).toThrow(ConfigError);
  });

  it('derives the low watermark from a custom maxLatencyMs', () => {
    const muxer = new StreamMuxer(new FakeClock(), { maxLatencyMs: 600 });
    expect(muxer.options.lowWatermarkMs).toBe(300);
  });

  it('queues video and audio in order while not congested', () => {
    const { muxer } = connectedMuxer();
    const packets = [keyframe(), audio(), interFrame(), audio()];
    expect(packets.map((p) => write(muxer, p))).toEqual([true, true, true, true]);
    expect([muxer.nextPacket(), muxer.nextPacket(), muxer.nextPacket(), muxer.nextPacket()]).toEqual(packets);
    expect(muxer.stats.sent).toEqual({ video: 2, audio: 2 });
  });

  it('drops every packet while disconnected, counted apart from congestion drops', () => {
    const muxer = new StreamMuxer(new FakeClock());
    expect(muxer.writeVideoPacket(keyframe())).toBe(false);
    expect(muxer.writeAudioPacket(audio())).toBe(false);
    const stats = muxer.stats;
    expect(stats.packetsDroppedWhileDisconnected).toEqual({ video: 1, audio: 1 });
    expect(stats.videoPacketsDropped).toBe(0);
    expect(stats.audioPacketsDropped).toBe(0);
    expect(stats.videoDropsByReason.disconnected).toBe(1);
  });

  it('on disconnect drops what is queued and counts it as dropped while disconnected', () => {
    const { muxer, states } = connectedMuxer();
    ['K', 'a', 'p'].forEach((c) => write(muxer, c === 'K' ? keyframe() : c === 'a' ? audio() : interFrame()));
    muxer.setConnected(false);
    expect(muxer.queuedPackets).toBe(0);
    expect(muxer.stats.packetsDroppedWhileDisconnected).toEqual({ video: 2, audio: 1 });
    expect(states).toEqual([]);
  });

  it('after a reconnect waits for a keyframe and asks for one', () => {
    const { muxer, requests } = connectedMuxer();
    muxer.setConnected(false);
    muxer.setConnected(true);
    expect(requests).toEqual(['reconnected']);
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(muxer.writeAudioPacket(audio())).toBe(true);
    expect(muxer.writeVideoPacket(keyframe())).toBe(true);
    expect(muxer.writeVideoPacket(interFrame())).toBe(true);
    expect(muxer.stats.packetsDroppedWhileDisconnected.video).toBe(1);
    expect(muxer.stats.videoPacketsDropped).toBe(0);
  });

  it('breaks the GOP on latency congestion, purges its queued video and keeps audio', () => {
    const { clock, muxer, states } = connectedMuxer();
    write(muxer, keyframe({ atMs: 0 }));
    write(muxer, audio({ atMs: 0 }));
    write(muxer, interFrame({ atMs: 33 }));
    clock.advance(2100);
    expect(muxer.writeVideoPacket(interFrame({ atMs: 2100 }))).toBe(false);
    expect(queuedKinds(muxer)).toBe('a');
    expect(muxer.state).toBe('dropping');
    expect(states).toEqual(['normal->dropping']);
    const stats = muxer.stats;
    expect(stats.videoDropsByReason['congestion-latency']).toBe(1);
    expect(stats.videoDropsByReason['gop-broken']).toBe(2);
    expect(stats.videoPacketsDropped).toBe(3);
    expect(stats.congestionEvents).toBe(1);
  });

  it('on latency congestion purges every queued video packet, a whole queued GOP included', () => {
    // A recovery keyframe's GOP sits complete in the queue, the next GOP has begun behind it: all of it
    // is older than the bound allows by the time it would arrive, so all of it goes (audio stays).
    const { clock, muxer } = connectedMuxer();
    write(muxer, keyframe({ atMs: 0 }));
    write(muxer, audio({ atMs: 0 }));
    write(muxer, interFrame({ atMs: 33 }));
    write(muxer, keyframe({ atMs: 66 }));
    write(muxer, audio({ atMs: 66 }));
    write(muxer, interFrame({ atMs: 100 }));
    clock.advance(2100);
    expect(muxer.writeVideoPacket(interFrame({ atMs: 2100 }))).toBe(false);
    expect(queuedKinds(muxer)).toBe('aa');
    expect(muxer.stats.videoDropsByReason['gop-broken']).toBe(4);
  });

  it('at the packet cap purges only the GOP being broken: a complete GOP before it stays queued', () => {
    const { muxer } = connectedMuxer({ maxPackets: 5 });
    for (const packet of [keyframe(), interFrame(), audio(), keyframe(), interFrame()]) write(muxer, packet);
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(queuedKinds(muxer)).toBe('Kpa');
    expect(muxer.stats.videoDropsByReason['congestion-packets']).toBe(1);
    expect(muxer.stats.videoDropsByReason['gop-broken']).toBe(2);
  });

  it('looks ahead: the oldest queued media plus the path transit over the bound is congestion', () => {
    // current latency 1600 ms (the buffer's oldest), under the 2000 ms bound; with 500 ms of transit
    // still ahead of it, that media would arrive 2100 ms old
    const { clock, muxer } = connectedMuxer();
    let transitMs = 0;
    muxer.setTransitSource(() => transitMs);
    write(muxer, keyframe({ atMs: 0 }));
    write(muxer, audio({ atMs: 0 }));
    clock.advance(1600);
    expect(muxer.currentLatencyMs).toBe(1600);
    expect(muxer.writeVideoPacket(interFrame({ atMs: 1600 }))).toBe(true);
    transitMs = 399; // 1999 ms on arrival: not yet
    expect(muxer.writeVideoPacket(interFrame({ atMs: 1600 }))).toBe(true);
    transitMs = 500;
    expect(muxer.writeVideoPacket(interFrame({ atMs: 1600 }))).toBe(false);
    expect(muxer.stats.videoDropsByReason['congestion-latency']).toBe(1);
    expect(muxer.currentLatencyMs).toBe(1600); // the reported latency stays what was measured
  });

  it('looks ahead when recovering too: a keyframe resumes only once queue age plus transit is low', () => {
    const { clock, muxer, states } = connectedMuxer();
    let transitMs = 0;
    muxer.setTransitSource(() => transitMs);
    write(muxer, audio({ atMs: 0 }));
    clock.advance(2100);
    expect(muxer.writeVideoPacket(keyframe({ atMs: 2100 }))).toBe(false);
    muxer.nextPacket(); // the old audio went out: the queue is empty
    write(muxer, audio({ atMs: 2100 }));
    clock.advance(600);
    transitMs = 450; // 600 + 450 ms on arrival: above the 1000 ms low watermark
    expect(muxer.writeVideoPacket(keyframe({ atMs: 2700 }))).toBe(false);
    transitMs = 350;
    expect(muxer.writeVideoPacket(keyframe({ atMs: 2700 }))).toBe(true);
    expect(states).toEqual(['normal->dropping', 'dropping->normal']);
  });

  it('uses the end-to-end latency when it is higher than the buffer latency', () => {
    const { muxer } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    expect(muxer.writeVideoPacket(keyframe())).toBe(true);
    muxer.nextPacket();
    endToEndMs = 2500;
    expect(muxer.currentLatencyMs).toBe(2500);
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(muxer.stats.videoDropsByReason['congestion-latency']).toBe(1);
  });

  it('drops until latency is under the low watermark AND a keyframe arrives (hysteresis)', () => {
    const { muxer, states, requests } = connectedMuxer();
    let endToEndMs = 2500;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    expect(muxer.writeVideoPacket(keyframe())).toBe(false);
    endToEndMs = 1500; // under the drop threshold, above the low watermark
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(muxer.writeVideoPacket(keyframe())).toBe(false);
    expect(requests).toEqual([]);
    endToEndMs = 900;
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(requests).toEqual(['recovery']);
    expect(muxer.writeVideoPacket(keyframe())).toBe(true);
    expect(muxer.state).toBe('normal');
    expect(states).toEqual(['normal->dropping', 'dropping->normal']);
    expect(muxer.stats.videoDropsByReason['gop-broken']).toBe(3);
  });

  it('raises the keyframe request as soon as latency is low, also from an audio write or a dequeue', () => {
    const { muxer, requests } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    muxer.writeVideoPacket(keyframe());
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame());
    endToEndMs = 500;
    muxer.writeAudioPacket(audio());
    expect(requests).toEqual(['recovery']);
    muxer.nextPacket();
    expect(requests).toEqual(['recovery']);
  });

  it('measures time spent congested on the clock', () => {
    const { clock, muxer } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    muxer.writeVideoPacket(keyframe());
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame());
    clock.advance(1500);
    expect(muxer.stats.congestedMs).toBe(1500);
    endToEndMs = 0;
    clock.advance(500);
    muxer.writeVideoPacket(keyframe({ atMs: 2000 }));
    clock.advance(1000);
    expect(muxer.stats.congestedMs).toBe(2000);
  });

  it('measures each drop episode from when it began, not from the start of the clock', () => {
    const { clock, muxer } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    clock.advance(10_000);
    muxer.writeVideoPacket(keyframe({ atMs: 10_000 }));
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame({ atMs: 10_000 }));
    clock.advance(1500);
    expect(muxer.stats.congestedMs).toBe(1500); // while the episode lasts
    endToEndMs = 0;
    muxer.writeVideoPacket(keyframe({ atMs: 11_500 }));
    expect(muxer.state).toBe('normal');
    clock.advance(1000);
    expect(muxer.stats.congestedMs).toBe(1500); // after it ended
  });

  it('drops a disposable frame alone under mild congestion without entering dropping', () => {
    const { muxer } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    muxer.writeVideoPacket(keyframe());
    endToEndMs = 1600;
    expect(muxer.writeVideoPacket(interFrame({ reference: false }))).toBe(false);
    expect(muxer.writeVideoPacket(interFrame())).toBe(true);
    expect(muxer.state).toBe('normal');
  });

  it('breaks the GOP when the packet cap is full and counts it per reason', () => {
    const { muxer } = connectedMuxer({ maxPackets: 3 });
    write(muxer, keyframe());
    write(muxer, interFrame());
    write(muxer, interFrame());
    expect(muxer.writeVideoPacket(interFrame())).toBe(false);
    expect(muxer.stats.videoDropsByReason['congestion-packets']).toBe(1);
    expect(queuedKinds(muxer)).toBe('');
  });

  it('breaks the GOP when the byte cap is full', () => {
    const { muxer } = connectedMuxer({ maxBytes: 50_000 });
    write(muxer, keyframe({ bytes: 40_000 }));
    expect(muxer.writeVideoPacket(interFrame({ bytes: 20_000 }))).toBe(false);
    expect(muxer.stats.videoDropsByReason['congestion-bytes']).toBe(1);
  });

  it('makes room for audio at the cap by purging the broken GOP, never by dropping audio', () => {
    const { muxer } = connectedMuxer({ maxPackets: 5 });
    ['K', 'p', 'p', 'K', 'p'].forEach((c) => write(muxer, c === 'K' ? keyframe() : interFrame()));
    expect(muxer.writeAudioPacket(audio())).toBe(true);
    expect(queuedKinds(muxer)).toBe('Kppa');
    expect(muxer.state).toBe('dropping');
    expect(muxer.writeVideoPacket(interFrame())).toBe(false); // the GOP is broken: wait for a keyframe
    expect(muxer.stats.audioPacketsOverBound).toBe(0);
  });

  it('makes room for audio at the packet cap when the broken GOP is the whole queued video', () => {
    const { muxer } = connectedMuxer({ maxPackets: 3 });
    write(muxer, keyframe());
    write(muxer, audio());
    write(muxer, audio());
    expect(muxer.writeAudioPacket(audio())).toBe(true);
    expect(queuedKinds(muxer)).toBe('aaa');
  });

  it('purges all queued video when the broken GOP alone does not make room', () => {
    // A large GOP queued before a small one: purging the last GOP frees too few bytes for the audio.
    const { muxer } = connectedMuxer({ maxBytes: 40_300 });
    write(muxer, keyframe({ bytes: 40_000 }));
    write(muxer, keyframe({ bytes: 100 }));
    expect(muxer.writeAudioPacket(audio({ bytes: 400 }))).toBe(true);
    expect(queuedKinds(muxer)).toBe('a');
    const stats = muxer.stats;
    expect(stats.audioPacketsOverBound).toBe(0);
    expect(stats.videoDropsByReason['gop-broken']).toBe(2);
  });

  it('keeps audio over the bound, counted, when no video is left to purge', () => {
    const { muxer, states } = connectedMuxer({ maxPackets: 2 });
    [audio(), audio(), audio(), audio()].forEach((p) => expect(muxer.writeAudioPacket(p)).toBe(true));
    expect(muxer.queuedPackets).toBe(4);
    const stats = muxer.stats;
    expect(stats.audioPacketsOverBound).toBe(2);
    expect(stats.audioPacketsDropped).toBe(0);
    // with no video queued there is nothing to drop: audio alone starts no drop episode
    expect(states).toEqual([]);
    expect(stats.congestionEvents).toBe(0);
  });

  it('takes every buffer and policy option, and derives the policy thresholds from maxLatencyMs', () => {
    const muxer = new StreamMuxer(new FakeClock(), {
      maxPackets: 7,
      maxBytes: 9000,
      maxLatencyMs: 800,
      disposableDropLatencyMs: 700,
    });
    expect(muxer.options).toEqual({
      maxPackets: 7,
      maxBytes: 9000,
      maxLatencyMs: 800,
      lowWatermarkMs: 400,
      disposableDropLatencyMs: 700,
      requestKeyframeOnRecovery: true,
    });
  });

  it('counts every write per kind, dropped or not', () => {
    const { muxer } = connectedMuxer();
    write(muxer, interFrame()); // dropped: waiting for the first keyframe
    write(muxer, keyframe());
    write(muxer, audio());
    muxer.setConnected(false);
    write(muxer, audio());
    expect(muxer.stats.written).toEqual({ video: 2, audio: 2 });
  });

  it('a second setConnected with the same state changes nothing', () => {
    const { muxer, requests } = connectedMuxer();
    write(muxer, keyframe());
    muxer.setConnected(true);
    expect(muxer.queuedPackets).toBe(1);
    expect(requests).toEqual([]);
    expect(muxer.writeVideoPacket(interFrame())).toBe(true); // still past the first keyframe
    expect(muxer.connected).toBe(true);
  });

  it('a disconnect ends a drop episode: dropping -> normal, and the congested time stops', () => {
    const { clock, muxer, states } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    muxer.writeVideoPacket(keyframe());
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame());
    clock.advance(700);
    muxer.setConnected(false);
    expect(states).toEqual(['normal->dropping', 'dropping->normal']);
    clock.advance(5000);
    expect(muxer.stats.congestedMs).toBe(700);
    expect(muxer.stats.state).toBe('normal');
  });

  it('after a reconnect a drop episode can start again, with a keyframe request of its own', () => {
    const { muxer, requests } = connectedMuxer();
    let endToEndMs = 0;
    muxer.setEndToEndLatencySource(() => endToEndMs);
    muxer.writeVideoPacket(keyframe());
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame());
    endToEndMs = 500;
    muxer.writeAudioPacket(audio());
    muxer.setConnected(false);
    muxer.setConnected(true);
    endToEndMs = 0;
    expect(muxer.writeVideoPacket(keyframe())).toBe(true);
    endToEndMs = 2500;
    muxer.writeVideoPacket(interFrame());
    endToEndMs = 500;
    muxer.nextPacket();
    expect(requests).toEqual(['recovery', 'reconnected', 'recovery']);
    expect(muxer.stats.keyframeRequests).toBe(4); // and the first connection's
  });

  it('reports a snapshot of the queue: latencies, per-kind counts and bytes', () => {
    const { clock, muxer } = connectedMuxer();
    muxer.setEndToEndLatencySource(() => 50);
    write(muxer, keyframe({ atMs: 0, bytes: 1000 }));
    write(muxer, audio({ atMs: 10, bytes: 300 }));
    write(muxer, audio({ atMs: 20, bytes: 300 }));
    clock.advance(120);
    const stats = muxer.stats;
    expect(stats).toMatchObject({
      state: 'normal',
      currentLatencyMs: 120,
      bufferLatencyMs: 120,
      queued: { video: 1, audio: 2 },
      queuedBytes: 1600,
      sent: { video: 0, audio: 0 },
      congestedMs: 0,
      congestionEvents: 0,
    });
    expect(muxer.peek()?.kind).toBe('video');
    muxer.nextPacket();
    expect(muxer.stats.sent).toEqual({ video: 1, audio: 0 });
    expect(muxer.nextPacket()?.kind).toBe('audio');
    muxer.nextPacket();
    expect(muxer.nextPacket()).toBeUndefined();
    expect(muxer.stats.sent).toEqual({ video: 1, audio: 2 });
    expect(muxer.stats.currentLatencyMs).toBe(50); // the end-to-end source when the buffer is empty
  });

  it('counts purged video as dropped video, never as dropped audio', () => {
    const { muxer } = connectedMuxer({ maxPackets: 4 });
    ['K', 'a', 'p', 'p'].forEach((c) =>
      write(muxer, c === 'K' ? keyframe() : c === 'a' ? audio() : interFrame()),
    );
    muxer.writeAudioPacket(audio());
    const stats = muxer.stats;
    expect(stats.videoPacketsDropped).toBe(3);
    expect(stats.videoDropsByReason['gop-broken']).toBe(3);
    expect(stats.audioPacketsDropped).toBe(0);
    expect(stats.congestionEvents).toBe(1);
  });

  it('makes room for audio without entering dropping again when already dropping', () => {
    const { muxer, states } = connectedMuxer({ maxPackets: 3 });
    write(muxer, keyframe());
    write(muxer, interFrame());
    write(muxer, interFrame());
    expect(muxer.writeVideoPacket(interFrame())).toBe(false); // packet cap: the episode starts
    write(muxer, audio());
    write(muxer, audio());
    write(muxer, audio());
    expect(muxer.writeAudioPacket(audio())).toBe(true); // no video left to purge: over the bound
    expect(states).toEqual(['normal->dropping']);
    expect(muxer.stats.congestionEvents).toBe(1);
    expect(muxer.stats.audioPacketsOverBound).toBe(1);
  });

  it('purges only the GOP being broken (from the last queued keyframe) when that makes room for audio', () => {
    const { muxer } = connectedMuxer({ maxPackets: 4 });
    ['K', 'p', 'K', 'p'].forEach((c) => write(muxer, c === 'K' ? keyframe() : interFrame()));
    muxer.writeAudioPacket(audio());
    expect(queuedKinds(muxer)).toBe('Kpa');
  });

  it('adds up: written = sent + dropped + dropped while disconnected + queued, per kind', () => {
    const { clock, muxer } = connectedMuxer({ maxPackets: 6 });
    for (let i = 0; i < 200; i++) {
      clock.advance(33);
      write(muxer, i % 30 === 0 ? keyframe({ atMs: i * 33 }) : interFrame({ atMs: i * 33 }));
      write(muxer, audio({ atMs: i * 33 }));
      if (i % 3 === 0) muxer.nextPacket();
      if (i === 120) muxer.setConnected(false);
      if (i === 140) muxer.setConnected(true);
    }
    const s = muxer.stats;
    expect(s.written.video).toBe(
      s.sent.video + s.videoPacketsDropped + s.packetsDroppedWhileDisconnected.video + s.queued.video,
    );
    expect(s.written.audio).toBe(
      s.sent.audio + s.audioPacketsDropped + s.packetsDroppedWhileDisconnected.audio + s.queued.audio,
    );
    const byReason = Object.values(s.videoDropsByReason).reduce((a, b) => a + b, 0);
    expect(byReason).toBe(s.videoPacketsDropped + s.packetsDroppedWhileDisconnected.video);
  });
});

describe('StreamMuxer when its output moves to a lower rendition', () => {
  it('drops the queued video of the old rendition, counted as congestion, and keeps every audio packet in order', () => {
    const { muxer } = connectedMuxer();
    const packets = [
      keyframe({ atMs: 0 }),
      audio({ atMs: 0 }),
      interFrame({ atMs: 33 }),
      audio({ atMs: 21 }),
    ];
    for (const packet of packets) write(muxer, packet);
    muxer.dropQueuedVideo();
    expect(queuedKinds(muxer)).toBe('aa');
    expect(muxer.stats.videoPacketsDropped).toBe(2);
    expect(muxer.stats.videoDropsByReason['congestion-latency']).toBe(2);
    expect(muxer.stats.audioPacketsDropped).toBe(0);
    // The new rendition's keyframe comes next and is taken at once.
    expect(write(muxer, keyframe({ atMs: 66 }))).toBe(true);
    expect(queuedKinds(muxer)).toBe('aaK');
  });
});
