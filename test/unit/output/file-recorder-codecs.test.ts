import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openVideoBitstream } from '../../../src/encode/codec-bitstream.js';
import type { VideoCodec } from '../../../src/media/packet.js';
import { FileRecorder } from '../../../src/output/file-recorder.js';
import { encodeSamples } from '../../helpers/encoded-samples.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

// The local recording of an HEVC or AV1 session: the packets as the session carries them (length-prefixed
// NAL units, AV1 OBUs), the configuration record as extradata; read back by FFmpeg 8.1 (node-av).

const dir = mkdtempSync(join(tmpdir(), 'steadycast-recorder-codecs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENCODERS: Record<'hevc' | 'av1', [string, Record<string, string>]> = {
  hevc: ['libx265', { 'x265-params': 'log-level=error' }],
  av1: ['libsvtav1', { preset: '10', 'svtav1-params': 'pred-struct=1:rc=2:lp=1' }],
};

describe('FileRecorder per codec', () => {
  it.each([
    ['hevc', 'flv'],
    ['hevc', 'mkv'],
    ['av1', 'flv'],
    ['av1', 'mkv'],
  ] as const)('records %s to .%s that decodes frame for frame', async (codec: VideoCodec, extension) => {
    const [encoder, options] = ENCODERS[codec as 'hevc' | 'av1'];
    const samples = await encodeSamples(encoder, { frames: 15, forceKeyframesAt: [10], options });
    const bitstream = openVideoBitstream(codec, samples.extradata, samples.record);
    const path = join(dir, `${codec}.${extension}`);
    const recorder = await FileRecorder.open(path, {
      video: {
        codec,
        decoderConfigurationRecord: bitstream.configurationRecord,
        width: 192,
        height: 108,
        fps: 30,
        bitrateBps: 400_000,
        encoderName: encoder,
      },
    });
    for (const p of samples.packets) {
      const unit = bitstream.accessUnit(p.data);
      recorder.writePacket({
        kind: 'video',
        data: unit.data,
        dtsUs: p.dtsUs,
        ptsUs: p.ptsUs,
        keyframe: unit.keyframe,
        reference: unit.reference,
        byteLength: unit.data.length,
      });
    }
    await recorder.close();
    const report = await probeWithNodeAv(path);
    expect(report.decodeErrors).toEqual([]);
    expect(report.video?.codecName).toBe(codec);
    expect(report.decodedVideoFrames).toBe(15);
    expect(report.video?.keyframeTimesS.length).toBe(2);
  });
});
