import { Codec, CodecContext } from 'node-av';
import type { FFEncoderCodec } from 'node-av/constants';
import { describe, expect, it } from 'vitest';
import { openVideoBitstream } from '../../../src/encode/codec-bitstream.js';
import {
  codecOfEncoder,
  encoderFor,
  followsLiveBitrate,
  liveEncoderSettings,
  rateControl,
  svtAv1Preset,
  VIDEO_ENCODERS,
  x265Preset,
} from '../../../src/encode/codec-encoders.js';
import { hevcNalType } from '../../../src/encode/hevc.js';
import { splitAnnexB } from '../../../src/encode/annexb.js';
import { encodeSamples } from '../../helpers/encoded-samples.js';

const ALL = Object.values(VIDEO_ENCODERS).flat();
const settingsOf = (encoder: string) =>
  liveEncoderSettings({ encoder, preset: 'veryfast', tune: 'zerolatency' });

describe('the encoder table', () => {
  it('names the software encoder first and maps every encoder back to its codec', () => {
    expect([VIDEO_ENCODERS.h264[0], VIDEO_ENCODERS.hevc[0], VIDEO_ENCODERS.av1[0]]).toEqual([
      'libx264',
      'libx265',
      'libsvtav1',
    ]);
    for (const [codec, names] of Object.entries(VIDEO_ENCODERS)) {
      for (const name of names) expect(codecOfEncoder(name)).toBe(codec);
    }
    expect(codecOfEncoder('libvpx-vp9')).toBeUndefined();
  });

  it('is what node-av’s FFmpeg build holds (VideoToolbox only on macOS)', () => {
    const missing = ALL.filter((name) => !Codec.findEncoderByName(name as FFEncoderCodec));
    const expectedMissing = process.platform === 'darwin' ? [] : ['h264_videotoolbox', 'hevc_videotoolbox'];
    expect(missing).toEqual(expectedMissing);
  });

  it('picks the software encoder by default and refuses an encoder of another codec', () => {
    expect(encoderFor('hevc', undefined)).toBe('libx265');
    expect(encoderFor('av1', 'av1_nvenc')).toBe('av1_nvenc');
    expect(encoderFor('hevc', 'some_future_encoder')).toBe('some_future_encoder');
    expect(() => encoderFor('hevc', 'libx264')).toThrow(/libx264 makes h264, not hevc; use one of libx265/);
  });
});

describe('live settings', () => {
  it.each(ALL.filter((name) => Codec.findEncoderByName(name as FFEncoderCodec)))(
    '%s accepts every private option it is given (setOption, so a misspelt key fails)',
    (encoder) => {
      const codec = Codec.findEncoderByName(encoder as FFEncoderCodec);
      const context = new CodecContext();
      context.allocContext3(codec);
      try {
        const refused = Object.entries(settingsOf(encoder)).filter(([k, v]) => context.setOption(k, v) < 0);
        expect(refused).toEqual([]);
      } finally {
        context.freeContext();
      }
    },
  );

  it('maps x264 speed names to SVT-AV1 presets (veryfast → 10), unknown names to 10', () => {
    expect(['ultrafast', 'veryfast', 'medium', 'veryslow', 'nonsense'].map(svtAv1Preset)).toEqual([
      '12',
      '10',
      '7',
      '4',
      '10',
    ]);
  });

  it('gives x265 the preset two steps faster than the x264 name (veryfast → ultrafast: x265 is that much slower), unknown names ultrafast', () => {
    expect(
      ['ultrafast', 'superfast', 'veryfast', 'faster', 'medium', 'placebo', 'nonsense'].map(x265Preset),
    ).toEqual(['ultrafast', 'ultrafast', 'ultrafast', 'superfast', 'faster', 'slower', 'ultrafast']);
    expect(settingsOf('libx265')).toMatchObject({ preset: 'ultrafast' });
  });

  it('sets CBR with a one-second buffer, without a max rate for SVT-AV1 (it refuses one outside CRF)', () => {
    expect(rateControl('libx265', 2_500_000)).toEqual({
      bitRate: 2_500_000,
      maxRate: 2_500_000,
      bufferSize: 2_500_000,
    });
    expect(rateControl('libsvtav1', 2_500_000)).toEqual({
      bitRate: 2_500_000,
      maxRate: 0,
      bufferSize: 2_500_000,
    });
  });

  it('says which encoders follow a bitrate change between frames (measured: only libx264)', () => {
    expect(['libx264', 'libx265', 'libsvtav1'].map(followsLiveBitrate)).toEqual([true, false, false]);
  });

  it('libx265 with them: a requested keyframe is an IDR and periodic keyframes are IDRs too (closed GOP)', async () => {
    const samples = await encodeSamples('libx265', {
      frames: 24,
      gop: 10,
      forceKeyframesAt: [13],
      options: settingsOf('libx265'),
    });
    const bitstream = openVideoBitstream('hevc', samples.extradata, samples.record);
    const keyframes = samples.packets.flatMap((p, i) => (bitstream.accessUnit(p.data).keyframe ? [i] : []));
    expect(keyframes).toEqual([0, 10, 13, 23]);
    const types = keyframes.map((i) =>
      hevcNalType(splitAnnexB(samples.packets[i]?.data ?? Buffer.alloc(0))[0] ?? Buffer.alloc(2)),
    );
    expect(types.every((t) => t === 19 || t === 20)).toBe(true); // IDR_W_RADL or IDR_N_LP, never CRA
  });

  it('libsvtav1 with them opens at a CBR rate and gives a key frame on request', async () => {
    const samples = await encodeSamples('libsvtav1', {
      frames: 24,
      gop: 30,
      forceKeyframesAt: [9],
      options: settingsOf('libsvtav1'),
    });
    const bitstream = openVideoBitstream('av1', samples.extradata, samples.record);
    expect(samples.packets.flatMap((p, i) => (bitstream.accessUnit(p.data).keyframe ? [i] : []))).toEqual([
      0, 9,
    ]);
  });
});
