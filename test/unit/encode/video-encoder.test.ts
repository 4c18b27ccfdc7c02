/**
 * The VideoEncoder per codec, on node-av's real encoders (libx264, libx265, libsvtav1) at 320x180:
 * the configuration record and codec in its config, keyframes flagged on the GOP grid and where asked
 * for, and a stream that decodes with zero errors from an enhanced FLV file (node-av's demuxer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestPatternSource } from '../../../src/capture/test-pattern.js';
import { ConfigError } from '../../../src/core/errors.js';
import {
  encoderSettings,
  resolveVideoEncoderOptions,
  validateVideoEncoderOptions,
  VideoEncoder,
  type VideoEncoderOptions,
} from '../../../src/encode/video-encoder.js';
import { VIDEO_FOURCC } from '../../../src/flv/enhanced-tags.js';
import type { EncodedPacket, VideoCodec } from '../../../src/media/packet.js';
import { writeEnhancedFlv } from '../../helpers/enhanced-flv.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

const WIDTH = 320;
const HEIGHT = 180;
const FPS = 30;
const dir = mkdtempSync(join(tmpdir(), 'steadycast-video-encoder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Encodes `frames` pictures of the test pattern, one at a time, asking for a keyframe at `keyAt`. */
async function encodeFrames(
  options: Partial<VideoEncoderOptions>,
  frames: number,
  keyAt: number,
): Promise<{ encoder: VideoEncoder; packets: EncodedPacket[] }> {
  const encoder = await VideoEncoder.open(new FakeClock(), {
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    bitrateBps: 300_000,
    keyframeIntervalS: 1 / 3, // a keyframe every 10 frames
    ...options,
  });
  const packets: EncodedPacket[] = [];
  encoder.on('packet', (p) => packets.push(p));
  const source = new TestPatternSource(WIDTH, HEIGHT);
  for (let index = 0; index < frames; index++) {
    const ptsUs = Math.round((index * 1e6) / FPS);
    const frame = source.grab(index, ptsUs);
    if (!frame) throw new Error('the pattern gave no frame');
    if (index === keyAt) encoder.requestKeyframe();
    expect(encoder.encode({ frame, index, ptsUs, duplicate: false })).toBe(true);
    await encoder.drained();
  }
  await encoder.close();
  return { encoder, packets };
}

describe('VideoEncoder per codec', () => {
  it.each([
    ['h264', 'libx264', '01'],
    ['hevc', 'libx265', '01'],
    ['av1', 'libsvtav1', '81'],
  ] as const)(
    '%s: opens %s by default, its config names the codec with its record (0x%s…), keyframes fall on the GOP and where asked, and the stream decodes cleanly',
    async (codec: VideoCodec, encoderName, recordStart) => {
      const { encoder, packets } = await encodeFrames({ codec }, 25, 13);
      expect(encoder.config).toMatchObject({ codec, encoderName, width: WIDTH, height: HEIGHT });
      expect(encoder.config.decoderConfigurationRecord.subarray(0, 1).toString('hex')).toBe(recordStart);
      expect(packets).toHaveLength(25);
      const keyframes = packets.flatMap((p, i) => (p.keyframe ? [i] : []));
      expect(keyframes).toEqual([0, 10, 13, 23]);
      expect(encoder.stats.keyframesOut).toBe(4);
      expect(packets.every((p) => !p.keyframe || p.reference)).toBe(true);

      const file = join(dir, `${codec}.flv`);
      writeEnhancedFlv(file, VIDEO_FOURCC[codec], encoder.config.decoderConfigurationRecord, packets);
      const report = await probeWithNodeAv(file);
      expect(report.video?.codecName).toBe(codec);
      expect(report.decodedVideoFrames).toBe(25);
      expect(report.decodeErrors).toEqual([]);
    },
    60_000,
  );

  it('refuses an unknown codec and an encoder of another codec, naming the field and the fix', () => {
    expect(() => resolveVideoEncoderOptions({ codec: 'vp9' as VideoCodec })).toThrow(
      /invalid video\.codec: "vp9" — use one of h264, hevc, av1/,
    );
    expect(() => resolveVideoEncoderOptions({ codec: 'hevc', encoder: 'libx264' })).toThrow(ConfigError);
    expect(() => resolveVideoEncoderOptions({ codec: 'av1', encoder: 'hevc_nvenc' })).toThrow(
      /hevc_nvenc makes hevc, not av1; use one of libsvtav1/,
    );
    expect(resolveVideoEncoderOptions({ codec: 'av1' }).encoder).toBe('libsvtav1');
    expect(resolveVideoEncoderOptions({}).encoder).toBe('libx264');
  });

  it('checks the preset as an x264 name for libx265 and libsvtav1 too', () => {
    for (const codec of ['hevc', 'av1'] as const) {
      const options = resolveVideoEncoderOptions({ codec, preset: 'fastest' });
      expect(() => validateVideoEncoderOptions(options)).toThrow(/invalid video\.preset: "fastest"/);
    }
    expect(() =>
      validateVideoEncoderOptions(resolveVideoEncoderOptions({ codec: 'hevc', preset: 'faster' })),
    ).not.toThrow();
  });

  it('gives libx265 the preset two steps faster than the x264 name, libsvtav1 its number, encoderOptions last', () => {
    const settings = (codec: VideoCodec): Record<string, string> =>
      encoderSettings(resolveVideoEncoderOptions({ codec }));
    expect(settings('hevc')).toMatchObject({ preset: 'ultrafast', tune: 'zerolatency' });
    expect(settings('av1')).toMatchObject({ preset: '10' });
    expect(
      encoderSettings(resolveVideoEncoderOptions({ codec: 'hevc', encoderOptions: { preset: 'fast' } })),
    ).toMatchObject({ preset: 'fast' });
  });

  it('counts a bitrate change an encoder cannot follow (libx265) and keeps reporting the bitrate it encodes at', async () => {
    const hevc = await VideoEncoder.open(new FakeClock(), { codec: 'hevc', width: WIDTH, height: HEIGHT });
    hevc.setBitrate(hevc.bitrateBps); // no change: nothing to ignore
    hevc.setBitrate(500_000);
    expect(hevc.bitrateBps).toBe(2_500_000);
    expect(hevc.stats.bitrateChangesIgnored).toBe(1);
    await hevc.close();
    const h264 = await VideoEncoder.open(new FakeClock(), { width: WIDTH, height: HEIGHT });
    h264.setBitrate(500_000);
    expect(h264.bitrateBps).toBe(500_000);
    expect(h264.stats.bitrateChangesIgnored).toBe(0);
    await h264.close();
  });
});
