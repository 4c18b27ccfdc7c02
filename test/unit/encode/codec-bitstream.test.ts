import { describe, expect, it } from 'vitest';
import { openVideoBitstream } from '../../../src/encode/codec-bitstream.js';
import type { VideoCodec } from '../../../src/media/packet.js';
import { encodeSamples } from '../../helpers/encoded-samples.js';

const ENCODERS: Record<VideoCodec, [string, Record<string, string>]> = {
  h264: ['libx264', { preset: 'ultrafast', tune: 'zerolatency' }],
  hevc: ['libx265', { 'x265-params': 'log-level=error' }],
  av1: ['libsvtav1', { preset: '10', 'svtav1-params': 'pred-struct=1:rc=2:lp=1' }],
};

describe('openVideoBitstream', () => {
  it.each([
    ['h264', '01', 'avcC'],
    ['hevc', '01', 'hvcC'],
    ['av1', '81', 'av1C'],
  ] as const)(
    '%s: the configuration record starts 0x%s (%s) and packets come out with FFmpeg’s keyframe flags',
    async (codec, first, _name) => {
      const [encoder, options] = ENCODERS[codec];
      const samples = await encodeSamples(encoder, {
        frames: 8,
        forceKeyframesAt: [5],
        options: { ...options },
      });
      const bitstream = openVideoBitstream(codec, samples.extradata, samples.record);
      expect(bitstream.codec).toBe(codec);
      expect(bitstream.configurationRecord.subarray(0, 1).toString('hex')).toBe(first);
      const units = samples.packets.map((p) => bitstream.accessUnit(p.data));
      expect(units.map((u) => u.keyframe)).toEqual(samples.packets.map((p) => p.keyframe));
      expect(units.every((u) => !u.keyframe || u.reference)).toBe(true);
      expect(units.every((u) => u.data.length > 0)).toBe(true);
    },
  );

  it('fails clearly when an encoder gave no usable global header', () => {
    expect(() => openVideoBitstream('h264', Buffer.alloc(0), null)).toThrow(
      /no AVCDecoderConfigurationRecord/,
    );
    expect(() => openVideoBitstream('hevc', Buffer.alloc(0), null)).toThrow(/no global header/);
    expect(() => openVideoBitstream('av1', Buffer.alloc(0), null)).toThrow(/no sequence header/);
    expect(() => openVideoBitstream('av1', Buffer.from('1200', 'hex'), null)).toThrow(/no sequence header/);
  });
});
