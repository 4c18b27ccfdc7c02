import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  DropPolicy,
  congestionOf,
  decideVideoFrame,
  defaultDropPolicyOptions,
  resolveDropPolicyOptions,
  type DropState,
  type QueueLoad,
  type VideoDecision,
} from '../../../src/output/drop-policy.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent because the keyframe
// request latch is read only while dropping, and every way into dropping arms it:
// - `#requestArmed = false` as the initial value, and in reset();
// - `if (this.#state === 'normal' && true)` in decideVideo (arming on every decision while normal).

const options = defaultDropPolicyOptions();
const K = { keyframe: true, reference: true };
const P = { keyframe: false, reference: true };
const B = { keyframe: false, reference: false };

function load(latencyMs: number, full: '' | 'packets' | 'bytes' = ''): QueueLoad {
  return { latencyMs, packetsFull: full === 'packets', bytesFull: full === 'bytes' };
}
const keep = (next: DropState): VideoDecision => ({ keep: true, reason: null, next, purge: false });

describe('drop policy options', () => {
  it('defaults to 2000 ms, a low watermark at half and disposable drops at three quarters', () => {
    expect(defaultDropPolicyOptions()).toEqual({
      maxLatencyMs: 2000,
      lowWatermarkMs: 1000,
      disposableDropLatencyMs: 1500,
      requestKeyframeOnRecovery: true,
    });
  });

  it('derives the thresholds from a custom maxLatencyMs unless they are given', () => {
    expect(resolveDropPolicyOptions({ maxLatencyMs: 800 })).toMatchObject({ lowWatermarkMs: 400 });
    expect(resolveDropPolicyOptions({ maxLatencyMs: 800, lowWatermarkMs: 100 })).toMatchObject({
      lowWatermarkMs: 100,
      disposableDropLatencyMs: 600,
    });
  });

  it.each([
    [{ maxLatencyMs: 0 }, 'maxLatencyMs'],
    [{ lowWatermarkMs: 3000 }, 'lowWatermarkMs'],
    [{ lowWatermarkMs: -1 }, 'lowWatermarkMs'],
    [{ disposableDropLatencyMs: Number.NaN }, 'disposableDropLatencyMs'],
    [{ requestKeyframeOnRecovery: 'yes' as unknown as boolean }, 'requestKeyframeOnRecovery'],
  ])('rejects %o naming %s', (partial, field) => {
    expect(() => new DropPolicy(partial)).toThrow(ConfigError);
    expect(() => new DropPolicy(partial)).toThrow(field);
  });

  it.each([
    ['a low watermark of 0 (dropping ends only once nothing is queued)', { lowWatermarkMs: 0 }],
    ['a low watermark equal to maxLatencyMs (no hysteresis)', { lowWatermarkMs: 2000 }],
    ['disposable drops from 0 ms (any queued media)', { disposableDropLatencyMs: 0 }],
  ])('accepts %s', (_name, partial) => {
    expect(new DropPolicy(partial).options).toMatchObject(partial);
  });
});

describe('congestionOf', () => {
  it.each([
    [load(0), null],
    [load(2000), null],
    [load(2001), 'congestion-latency'],
    [load(10, 'packets'), 'congestion-packets'],
    [load(10, 'bytes'), 'congestion-bytes'],
    [load(5000, 'packets'), 'congestion-latency'],
  ])('classifies %o as %s (latency first: it is the primary measure)', (l, expected) => {
    expect(congestionOf(l, options)).toBe(expected);
  });
});

describe('decideVideoFrame', () => {
  const drop = (reason: VideoDecision['reason'], next: DropState, purge = false): VideoDecision => ({
    keep: false,
    reason,
    next,
    purge,
  });
  it.each<[string, DropState, typeof K, QueueLoad, VideoDecision]>([
    ['keeps a keyframe when not congested', 'normal', K, load(100), keep('normal')],
    ['keeps an inter frame when not congested', 'normal', P, load(1999), keep('normal')],
    ['keeps a disposable frame under the disposable threshold', 'normal', B, load(1500), keep('normal')],
    [
      'drops a disposable frame alone under mild congestion',
      'normal',
      B,
      load(1501),
      drop('congestion-latency', 'normal'),
    ],
    ['keeps a reference frame under mild congestion', 'normal', P, load(1900), keep('normal')],
    [
      'breaks the GOP on latency congestion',
      'normal',
      P,
      load(2001),
      drop('congestion-latency', 'dropping', true),
    ],
    [
      'breaks the GOP on a full packet cap',
      'normal',
      P,
      load(0, 'packets'),
      drop('congestion-packets', 'dropping', true),
    ],
    [
      'breaks the GOP on a full byte cap',
      'normal',
      K,
      load(0, 'bytes'),
      drop('congestion-bytes', 'dropping', true),
    ],
    [
      'drops even a keyframe under congestion',
      'normal',
      K,
      load(2500),
      drop('congestion-latency', 'dropping', true),
    ],
    [
      'drops a disposable frame under hard congestion too',
      'normal',
      B,
      load(2500),
      drop('congestion-latency', 'dropping', true),
    ],
    [
      'keeps dropping inter frames whatever the latency',
      'dropping',
      P,
      load(0),
      drop('gop-broken', 'dropping'),
    ],
    [
      'keeps dropping disposable frames whatever the latency',
      'dropping',
      B,
      load(0),
      drop('gop-broken', 'dropping'),
    ],
    [
      'drops a keyframe while latency is above the low watermark',
      'dropping',
      K,
      load(1000),
      drop('gop-broken', 'dropping'),
    ],
    [
      'drops a keyframe that does not fit the buffer',
      'dropping',
      K,
      load(10, 'bytes'),
      drop('gop-broken', 'dropping'),
    ],
    ['recovers at a keyframe under the low watermark', 'dropping', K, load(999), keep('normal')],
  ])('%s', (_name, state, frame, l, expected) => {
    expect(decideVideoFrame(state, frame, l, options)).toEqual(expected);
  });

  it('never drops disposable frames alone when the tier is disabled', () => {
    const off = { ...options, disposableDropLatencyMs: Infinity };
    expect(decideVideoFrame('normal', B, load(1999), off).keep).toBe(true);
  });
});

describe('DropPolicy', () => {
  it('follows the decisions and raises one keyframe request per recovery', () => {
    const policy = new DropPolicy();
    expect(policy.takeKeyframeRequest(0)).toBe(false); // not dropping
    policy.decideVideo(P, load(2500));
    expect(policy.state).toBe('dropping');
    expect(policy.takeKeyframeRequest(1500)).toBe(false); // latency not low yet
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    expect(policy.takeKeyframeRequest(800)).toBe(false); // already asked
    policy.decideVideo(K, load(500));
    expect(policy.state).toBe('normal');
  });

  it('asks for the keyframe only once latency is under the low watermark, not at it', () => {
    // The keyframe is accepted only under the watermark (decideVideoFrame), so asking at it is early.
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(1000)).toBe(false);
    expect(policy.takeKeyframeRequest(999)).toBe(true);
  });

  it('asks again when a keyframe came but was dropped (latency rose again)', () => {
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    policy.decideVideo(K, load(1200));
    expect(policy.state).toBe('dropping');
    expect(policy.takeKeyframeRequest(900)).toBe(true);
  });

  it('never requests keyframes when requestKeyframeOnRecovery is false', () => {
    const policy = new DropPolicy({ requestKeyframeOnRecovery: false });
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(0)).toBe(false);
  });

  it('raises a fresh keyframe request in each drop episode', () => {
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    policy.decideVideo(K, load(500));
    policy.decideVideo(P, load(2500)); // a second episode, entered on an inter frame
    expect(policy.takeKeyframeRequest(900)).toBe(true);
  });

  it('asks once per recovery however many frames are dropped while waiting for the keyframe', () => {
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    policy.decideVideo(P, load(800));
    policy.decideVideo(B, load(700));
    expect(policy.takeKeyframeRequest(600)).toBe(false);
  });

  it('raises a fresh request when an episode starts without a frame (audio needed the room)', () => {
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    policy.decideVideo(K, load(500));
    policy.enterDropping();
    expect(policy.takeKeyframeRequest(900)).toBe(true);
  });

  it('does not ask again when an episode already in progress is entered again', () => {
    const policy = new DropPolicy();
    policy.decideVideo(P, load(2500));
    expect(policy.takeKeyframeRequest(900)).toBe(true);
    policy.enterDropping();
    expect(policy.takeKeyframeRequest(900)).toBe(false);
  });

  it('enters dropping without a frame and resets to normal', () => {
    const policy = new DropPolicy();
    policy.enterDropping();
    expect(policy.state).toBe('dropping');
    policy.reset();
    expect(policy.state).toBe('normal');
  });
});
