import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatContext, Packet, Rational } from 'node-av';
import { AVMEDIA_TYPE_VIDEO, AV_CODEC_ID_AV1 } from 'node-av/constants';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  av1CodecConfigurationRecord,
  OBU,
  parseAv1SequenceHeader,
  splitObus,
} from '../../../src/encode/av1.js';
import { Av1TemporalUnitReader } from '../../../src/encode/av1-temporal-unit.js';
import { encodeSamples, type EncodedSamples, type SamplePacket } from '../../helpers/encoded-samples.js';
import { writeEnhancedFlv } from '../../helpers/enhanced-flv.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

/** SVT-AV1 as steadycast runs it live: low delay, CBR, no scene-change keyframes. */
const LOW_DELAY = { preset: '10', 'svtav1-params': 'pred-struct=1:rc=2:scd=0:lp=1' };
/** SVT-AV1's default random-access structure: hidden frames shown later with show_existing_frame. */
const RANDOM_ACCESS = { preset: '10', 'svtav1-params': 'pred-struct=2:rc=1:scd=0:lp=1:enable-overlays=1' };

const dir = mkdtempSync(join(tmpdir(), 'steadycast-av1-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('splitObus (AV1 §5.3, low-overhead format)', () => {
  it('reads headers, extension (temporal and spatial id) and leb128 sizes', () => {
    // TD with size 0; a frame OBU with extension (temporal 2, spatial 1) and 2 bytes; padding without size.
    const obus = splitObus(Buffer.from('1200' + '3648' + '02' + 'abcd' + '78' + 'eeee', 'hex'));
    expect(obus.map((o) => [o.type, o.temporalId, o.spatialId, o.payload.toString('hex')])).toEqual([
      [OBU.TEMPORAL_DELIMITER, 0, 0, ''],
      [OBU.FRAME, 2, 1, 'abcd'],
      [OBU.PADDING, 0, 0, 'eeee'],
    ]);
    expect(obus[1]?.bytes.toString('hex')).toBe('364802abcd');
  });

  it('refuses a set forbidden bit and an OBU longer than the data', () => {
    expect(() => splitObus(Buffer.from('9200', 'hex'))).toThrow(/obu_forbidden_bit/);
    expect(() => splitObus(Buffer.from('3205aa', 'hex'))).toThrow(/runs past the data/);
  });
});

/** The av1C box FFmpeg's MP4 muxer writes (ff_isom_write_av1c) for this extradata: an independent reference. */
async function ffmpegAv1C(extradata: Buffer, first: SamplePacket): Promise<Buffer> {
  const path = join(dir, 'reference.mp4');
  const output = new FormatContext();
  expect(output.allocOutputContext2(null, 'mp4', path)).toBeGreaterThanOrEqual(0);
  const stream = output.newStream(null);
  stream.codecpar.codecType = AVMEDIA_TYPE_VIDEO;
  stream.codecpar.codecId = AV_CODEC_ID_AV1;
  stream.codecpar.width = 192;
  stream.codecpar.height = 108;
  stream.codecpar.extradata = extradata;
  stream.timeBase = new Rational(1, 1000);
  expect(await output.openOutput()).toBeGreaterThanOrEqual(0);
  expect(await output.writeHeader(null)).toBeGreaterThanOrEqual(0);
  const packet = new Packet();
  packet.alloc();
  packet.data = first.data;
  packet.pts = 0n;
  packet.dts = 0n;
  packet.isKeyframe = true;
  packet.streamIndex = 0;
  expect(await output.writeFrame(packet)).toBeGreaterThanOrEqual(0);
  packet.free();
  expect(await output.writeTrailer()).toBeGreaterThanOrEqual(0);
  await output.closeOutput();
  output.freeContext();
  const file = readFileSync(path);
  const at = file.indexOf('av1C');
  expect(at).toBeGreaterThan(4);
  return file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4));
}

describe('AV1 configuration from libsvtav1', () => {
  let samples: EncodedSamples;
  beforeAll(async () => {
    samples = await encodeSamples('libsvtav1', { frames: 2, options: LOW_DELAY });
  });

  it('gets the sequence header OBU as extradata and reads it: Main profile, 192x108, 8-bit 4:2:0', () => {
    const [obu] = splitObus(samples.extradata);
    expect(obu?.type).toBe(OBU.SEQUENCE_HEADER);
    expect(parseAv1SequenceHeader(obu?.payload ?? Buffer.alloc(0))).toMatchObject({
      profile: 0,
      reducedStillPictureHeader: false,
      maxWidth: 192,
      maxHeight: 108,
      highBitdepth: false,
      monochrome: false,
      subsamplingX: 1,
      subsamplingY: 1,
      orderHintBits: 7,
    });
  });

  it('builds the same AV1CodecConfigurationRecord as FFmpeg’s MP4 muxer writes', async () => {
    const record = av1CodecConfigurationRecord(samples.extradata);
    expect(record.subarray(0, 4).toString('hex')).toBe('81000c00'); // marker+version, profile 0 level 0, 4:2:0
    expect(record.subarray(4)).toEqual(samples.extradata);
    expect(record.toString('hex')).toBe(
      (await ffmpegAv1C(samples.extradata, samples.packets[0]!)).toString('hex'),
    );
  });

  it('refuses extradata without a sequence header', () => {
    expect(() => av1CodecConfigurationRecord(Buffer.from('1200', 'hex'))).toThrow(/no sequence header OBU/);
    expect(() => parseAv1SequenceHeader(Buffer.from('00', 'hex'))).toThrow(/AV1 sequence header failed/);
  });
});

describe('AV1 temporal units in real streams (libsvtav1)', () => {
  const read = (s: EncodedSamples) => {
    const reader = new Av1TemporalUnitReader(splitObus(s.extradata)[0]?.payload ?? Buffer.alloc(0));
    return s.packets.map((p) => ({ ...p, ...reader.read(p.data) }));
  };

  it('finds the key frames FFmpeg flags, periodic and forced, and strips the temporal delimiters', async () => {
    const samples = await encodeSamples('libsvtav1', {
      frames: 40,
      gop: 16,
      forceKeyframesAt: [21],
      options: LOW_DELAY,
    });
    const units = read(samples);
    expect(units.map((u) => u.keyframe)).toEqual(samples.packets.map((p) => p.keyframe));
    expect(units.flatMap((u, i) => (u.keyframe ? [i] : []))).toEqual([0, 16, 21, 37]);
    expect(samples.packets.every((p) => splitObus(p.data)[0]?.type === OBU.TEMPORAL_DELIMITER)).toBe(true);
    expect(units.some((u) => splitObus(u.data).some((o) => o.type === OBU.TEMPORAL_DELIMITER))).toBe(false);
  });

  it.each([
    ['low delay', LOW_DELAY],
    ['random access, with show_existing_frame', RANDOM_ACCESS],
  ])(
    '%s: the temporal units marked non-reference can all be dropped and the rest decodes cleanly',
    async (name, options) => {
      const samples = await encodeSamples('libsvtav1', { frames: 40, gop: 16, options });
      const units = read(samples);
      const kept = units.filter((u) => u.reference || u.keyframe);
      expect(units.length - kept.length).toBeGreaterThanOrEqual(10);
      const path = join(dir, `${name.split(',')[0]?.replace(' ', '-')}.flv`);
      const record = av1CodecConfigurationRecord(samples.extradata);
      writeEnhancedFlv(path, 'av01', record, kept);
      const report = await probeWithNodeAv(path);
      expect(report.decodeErrors).toEqual([]);
      expect(report.video?.codecName).toBe('av1');
      expect(report.videoExtradataHex).toBe(record.toString('hex'));
      expect(report.video?.frameCount).toBe(kept.length);
    },
  );

  it('counts a show_existing_frame of a non-key frame as droppable and one of a hidden frame’s slot never seen as a reference', async () => {
    const samples = await encodeSamples('libsvtav1', { frames: 20, gop: 16, options: RANDOM_ACCESS });
    const units = read(samples);
    const showExisting = units.filter((u) => (splitObus(u.data)[0]?.payload[0] ?? 0) & 0x80);
    expect(showExisting.length).toBeGreaterThan(3);
    expect(showExisting.every((u) => !u.reference && !u.keyframe)).toBe(true);
    // Read from the middle (the slots unknown), the same frame header counts as a reference.
    const fresh = new Av1TemporalUnitReader(splitObus(samples.extradata)[0]?.payload ?? Buffer.alloc(0));
    expect(fresh.read(showExisting[0]?.data ?? Buffer.alloc(0)).reference).toBe(true);
  });
});
