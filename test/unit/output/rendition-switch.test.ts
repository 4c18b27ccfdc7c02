import { describe, expect, it } from 'vitest';
import type { EncodedPacket } from '../../../src/media/packet.js';
import { RenditionSwitch } from '../../../src/output/rendition-switch.js';
import { audio, interFrame, keyframe } from './packets.js';

const of = (packet: EncodedPacket, rendition: string | undefined): EncodedPacket => ({
  ...packet,
  rendition,
});
const sent = (s: RenditionSwitch, packet: EncodedPacket): EncodedPacket[] => s.take(packet).packets;

describe('RenditionSwitch', () => {
  it('takes the main rendition and audio, and no other rendition, until asked to move', () => {
    const s = new RenditionSwitch();
    const a = audio();
    const k = keyframe();
    expect(sent(s, k)).toEqual([k]);
    expect(sent(s, a)).toEqual([a]);
    expect(sent(s, of(keyframe(), 'low'))).toEqual([]);
    expect(s.current).toBeUndefined();
  });

  it('moves at the target rendition’s next keyframe, and keeps the current one until then (no gap)', () => {
    const s = new RenditionSwitch();
    s.moveTo('low', 'congested');
    expect(s.pending).toBe('low');
    expect(sent(s, of(interFrame(), 'low'))).toEqual([]); // not a keyframe: not yet
    expect(sent(s, interFrame({ atMs: 33 })).length).toBe(1); // still the main one
    const lowKey = of(keyframe({ atMs: 66 }), 'low');
    expect(s.take(lowKey)).toEqual({
      packets: [lowKey],
      change: { from: undefined, to: 'low', reason: 'congested' },
    });
    expect(sent(s, keyframe({ atMs: 66 }))).toEqual([]); // the main one's frame at the same time: not sent
    expect(sent(s, interFrame({ atMs: 100 }))).toEqual([]);
    expect(sent(s, of(interFrame({ atMs: 100 }), 'low')).length).toBe(1);
    expect([s.current, s.pending]).toEqual(['low', null]);
  });

  it('holds back the current rendition’s keyframe when it comes first, so each timestamp has one picture', () => {
    const s = new RenditionSwitch();
    s.moveTo('low', 'congested');
    const mainKey = keyframe({ atMs: 66 });
    expect(sent(s, mainKey)).toEqual([]); // held: low's keyframe for the same frame may follow
    const lowKey = of(keyframe({ atMs: 66 }), 'low');
    expect(s.take(lowKey).packets).toEqual([lowKey]);
    expect(s.current).toBe('low');
    expect(s.release()).toEqual([]); // the held one was left behind with its rendition
  });

  it('sends the held keyframe after all when the current rendition’s next frame comes first (no gap)', () => {
    const s = new RenditionSwitch();
    s.moveTo('low', 'congested');
    const mainKey = keyframe({ atMs: 66 });
    expect(sent(s, mainKey)).toEqual([]);
    const next = interFrame({ atMs: 100 });
    expect(sent(s, next)).toEqual([mainKey, next]);
    expect([s.current, s.pending]).toEqual([undefined, 'low']); // still waiting for a keyframe of low
  });

  it('releases a held keyframe when the stream ends', () => {
    const s = new RenditionSwitch();
    s.moveTo('low', 'congested');
    const mainKey = keyframe({ atMs: 66 });
    sent(s, mainKey);
    expect(s.release()).toEqual([mainKey]);
    expect(s.release()).toEqual([]);
  });

  it('moves back to the main rendition at the main one’s keyframe', () => {
    const s = new RenditionSwitch('low');
    s.moveTo(undefined, 'recovered');
    expect(s.pending).toBeUndefined();
    expect(sent(s, of(interFrame(), 'low')).length).toBe(1);
    expect(s.take(keyframe()).change).toEqual({ from: 'low', to: undefined, reason: 'recovered' });
  });

  it('cancels a pending move when asked for the rendition it already carries', () => {
    const s = new RenditionSwitch();
    s.moveTo('low', 'congested');
    s.moveTo(undefined, 'recovered');
    expect(s.pending).toBeNull();
    expect(sent(s, of(keyframe(), 'low'))).toEqual([]);
  });
});
