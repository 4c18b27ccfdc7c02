import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { multitrackVideoTracks, validateMultitrack } from '../../../src/session/multitrack.js';

const rung = (name: string, bitrateBps: number) => ({ name, width: 2, height: 2, bitrateBps });
const ladder = [rung('high', 800), rung('mid', 400), rung('low', 150)];
const ok = { renditions: ladder, adaptiveQuality: false, adaptiveBitrate: false, pinned: false };

describe('multitrack video tracks of a ladder', () => {
  it('numbers the rungs from the lowest bitrate up, the main encode (first rung) as undefined', () => {
    expect(multitrackVideoTracks(ladder)).toEqual(['low', 'mid', undefined]);
    // Equal bitrates: the later rung (lower in the ladder) gets the lower id.
    expect(multitrackVideoTracks([rung('a', 500), rung('b', 500)])).toEqual(['b', undefined]);
  });

  it.each([
    [{ ...ok, renditions: ladder.slice(0, 1) }, 'outputs[].multitrack'],
    [{ ...ok, adaptiveQuality: true }, 'video.adaptiveQuality'],
    [{ ...ok, adaptiveBitrate: true }, 'video.adaptiveBitrate'],
    [{ ...ok, pinned: true }, 'outputs[].rendition'],
  ])('refuses %j, naming %s', (context, field) => {
    expect(() => validateMultitrack(context)).toThrow(ConfigError);
    expect(() => validateMultitrack(context)).toThrow(field);
  });

  it('takes a ladder of two rungs or more, without adaptation or pins', () => {
    expect(() => validateMultitrack(ok)).not.toThrow();
  });
});
