import { describe, expect, it } from 'vitest';
import {
  aacRawTag,
  aacSequenceHeaderTag,
  avcNaluTag,
  avcSequenceHeaderTag,
  onMetaData,
  packetTag,
} from '../../../src/flv/tags.js';
import type { EncodedPacket, StreamConfig } from '../../../src/media/packet.js';
import { Amf0EcmaArray } from '../../../src/amf0/amf0.js';

const packet = (over: Partial<EncodedPacket>): EncodedPacket => ({
  kind: 'video',
  data: Buffer.from('0000000265', 'hex'),
  dtsUs: 0,
  ptsUs: 0,
  keyframe: false,
  reference: true,
  byteLength: 5,
  ...over,
});

describe('FLV video tag bodies', () => {
  it('starts the AVC sequence header with 0x17 0x00 and composition time 0', () => {
    const record = Buffer.from('01640028ffe1', 'hex');
    expect(avcSequenceHeaderTag(record).toString('hex')).toBe('1700000000' + '01640028ffe1');
  });

  it('marks keyframes 0x17 and inter frames 0x27, packet type 1, SI24 composition time', () => {
    expect(avcNaluTag(Buffer.from('aa', 'hex'), true, 66).toString('hex')).toBe('1701000042aa');
    expect(avcNaluTag(Buffer.from('aa', 'hex'), false, 0).toString('hex')).toBe('2701000000aa');
    expect(avcNaluTag(Buffer.alloc(0), false, -33).toString('hex')).toBe('2701ffffdf');
    expect(() => avcNaluTag(Buffer.alloc(0), false, 0x800000)).toThrow(RangeError);
  });

  it('derives the composition time from pts − dts, in milliseconds', () => {
    const p = packet({ dtsUs: 33_333, ptsUs: 100_000, keyframe: true });
    expect(packetTag(p).subarray(0, 5).toString('hex')).toBe('1701000043'); // 100 − 33 = 67
  });
});

describe('FLV audio tag bodies', () => {
  it('uses 0xAF (AAC, 44 kHz, 16-bit, stereo, as FLV requires for AAC) and packet types 0 and 1', () => {
    expect(aacSequenceHeaderTag(Buffer.from('1190', 'hex')).toString('hex')).toBe('af001190');
    expect(aacRawTag(Buffer.from('2110', 'hex')).toString('hex')).toBe('af012110');
    expect(packetTag(packet({ kind: 'audio', data: Buffer.from('01', 'hex') })).toString('hex')).toBe(
      'af0101',
    );
  });
});

describe('onMetaData', () => {
  const config: StreamConfig = {
    video: {
      codec: 'h264',
      decoderConfigurationRecord: Buffer.alloc(0),
      width: 1280,
      height: 720,
      fps: 30,
      bitrateBps: 2_500_000,
      encoderName: 'libx264',
    },
    audio: { audioSpecificConfig: Buffer.alloc(0), sampleRate: 48000, channels: 2, bitrateBps: 160_000 },
  };

  it('describes both streams with codec ids 7 and 10 and data rates in kbit/s', () => {
    expect(onMetaData(config)).toEqual(
      new Amf0EcmaArray({
        duration: 0,
        width: 1280,
        height: 720,
        framerate: 30,
        videocodecid: 7,
        videodatarate: 2500,
        audiocodecid: 10,
        audiodatarate: 160,
        audiosamplerate: 48000,
        audiosamplesize: 16,
        audiochannels: 2,
        stereo: true,
        encoder: 'steadycast (libx264)',
      }),
    );
  });

  it('leaves out the fields of an absent stream', () => {
    const audioOnly = onMetaData({ audio: { ...config.audio!, channels: 1 } }, { encoder: 'x' });
    expect(Object.keys(audioOnly.properties)).not.toContain('width');
    expect(audioOnly.properties.stereo).toBe(false);
    expect(audioOnly.properties.encoder).toBe('x');
  });
});
