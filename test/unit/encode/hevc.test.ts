import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEVC_NAL,
  hevcAccessUnit,
  hevcDecoderConfigurationRecord,
  hevcNalType,
  hevcParameterSets,
  hevcStreamInfo,
  isHevcIrap,
  isHevcSubLayerNonReference,
  parseHevcSps,
} from '../../../src/encode/hevc.js';
import { encodeSamples, type EncodedSamples } from '../../helpers/encoded-samples.js';
import { writeEnhancedFlv } from '../../helpers/enhanced-flv.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

const X265 = { 'x265-params': 'log-level=error' };
const nal = (type: number, temporalIdPlus1 = 1, body = 'aa'): string =>
  ((type << 1) & 0xff).toString(16).padStart(2, '0') + temporalIdPlus1.toString(16).padStart(2, '0') + body;
const annexB = (...units: string[]): Buffer => Buffer.from(units.map((u) => '00000001' + u).join(''), 'hex');

describe('HEVC NAL unit types (H.265 Table 7-1)', () => {
  it.each([
    [HEVC_NAL.TRAIL_N, false, true],
    [HEVC_NAL.TRAIL_R, false, false],
    [2, false, true], // TSA_N
    [8, false, true], // RASL_N
    [9, false, false], // RASL_R
    [14, false, true], // RSV_VCL_N14
    [15, false, false],
    [16, true, false], // BLA_W_LP
    [HEVC_NAL.IDR_W_RADL, true, false],
    [HEVC_NAL.IDR_N_LP, true, false],
    [HEVC_NAL.CRA_NUT, true, false],
    [23, true, false],
    [24, false, false],
    [HEVC_NAL.VPS, false, false],
  ])('type %i: IRAP %s, sub-layer non-reference %s', (type, irap, nonReference) => {
    expect(isHevcIrap(type)).toBe(irap);
    expect(isHevcSubLayerNonReference(type)).toBe(nonReference);
    expect(hevcNalType(Buffer.from(nal(type), 'hex'))).toBe(type);
  });
});

describe('hevcAccessUnit', () => {
  it('length-prefixes every NAL unit and drops access unit delimiters', () => {
    const unit = hevcAccessUnit(annexB(nal(HEVC_NAL.AUD, 1, '50'), nal(HEVC_NAL.TRAIL_R, 1, 'bbcc')), 0);
    expect(unit.data.toString('hex')).toBe('00000004' + nal(HEVC_NAL.TRAIL_R, 1, 'bbcc'));
  });

  it.each([
    ['an IDR', [nal(HEVC_NAL.IDR_N_LP)], 0, true, true],
    [
      'a CRA with in-band parameter sets',
      [nal(HEVC_NAL.VPS), nal(HEVC_NAL.SPS), nal(HEVC_NAL.CRA_NUT)],
      0,
      true,
      true,
    ],
    ['TRAIL_R', [nal(HEVC_NAL.TRAIL_R)], 0, false, true],
    ['TRAIL_N in the only sub-layer', [nal(HEVC_NAL.TRAIL_N)], 0, false, false],
    [
      'TRAIL_N in sub-layer 0 of two (sub-layer 1 may reference it)',
      [nal(HEVC_NAL.TRAIL_N, 1)],
      1,
      false,
      true,
    ],
    ['TRAIL_N in the top sub-layer of two', [nal(HEVC_NAL.TRAIL_N, 2)], 1, false, false],
    ['two slices, one of them TRAIL_R', [nal(HEVC_NAL.TRAIL_N), nal(HEVC_NAL.TRAIL_R)], 0, false, true],
    ['only an SEI (no picture: kept as a reference)', [nal(HEVC_NAL.PREFIX_SEI)], 0, false, true],
  ])('%s: keyframe %s…', (_what, units, maxTemporalId, keyframe, reference) => {
    const unit = hevcAccessUnit(annexB(...units), maxTemporalId);
    expect({ keyframe: unit.keyframe, reference: unit.reference }).toEqual({ keyframe, reference });
  });
});

describe('HEVC configuration from libx265', () => {
  let plain: EncodedSamples;
  beforeAll(async () => {
    plain = await encodeSamples('libx265', { frames: 3, width: 192, height: 108, options: X265 });
  });

  it('reads the SPS: Main profile, level, 4:2:0 8-bit, one sub-layer, coded size before cropping', () => {
    const sets = hevcParameterSets(plain.extradata);
    expect([sets.vps.length, sets.sps.length, sets.pps.length, sets.sei.length]).toEqual([1, 1, 1, 1]);
    const sps = parseHevcSps(sets.sps[0] ?? Buffer.alloc(0));
    expect(sps).toMatchObject({
      profileSpace: 0,
      tierFlag: 0,
      profileIdc: 1,
      chromaFormatIdc: 1,
      bitDepthLuma: 8,
      bitDepthChroma: 8,
      maxSubLayers: 1,
      width: 192,
      height: 112, // 108 coded as 112 with a conformance window
    });
    expect(sps.levelIdc % 3).toBe(0);
  });

  it('builds the same HEVCDecoderConfigurationRecord as FFmpeg (ff_isom_write_hvcc, via node-av)', () => {
    expect(hevcDecoderConfigurationRecord(hevcParameterSets(plain.extradata)).toString('hex')).toBe(
      plain.record.toString('hex'),
    );
  });

  it('takes the record from Annex-B extradata or an hvcC extradata alike', () => {
    expect(hevcStreamInfo(plain.extradata)).toEqual({ record: plain.record, maxTemporalId: 0 });
    expect(hevcStreamInfo(plain.record)).toEqual({ record: plain.record, maxTemporalId: 0 });
  });

  it('refuses extradata that holds no parameter sets, or a truncated hvcC, with a MediaError', () => {
    expect(() => hevcStreamInfo(annexB(nal(HEVC_NAL.PREFIX_SEI)))).toThrow(/no VPS, SPS and PPS/);
    expect(() => hevcStreamInfo(plain.record.subarray(0, 40))).toThrow(/ends inside an array/);
    expect(() => hevcStreamInfo(Buffer.from('02', 'hex'))).toThrow(/neither Annex-B nor an hvcC/);
    expect(() => parseHevcSps(Buffer.from(nal(HEVC_NAL.PPS), 'hex'))).toThrow(/not an SPS/);
  });
});

describe('HEVC keyframes and references in real streams (libx265)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steadycast-hevc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds keyframes exactly where FFmpeg flags them, periodic and forced (forced-idr gives an IDR)', async () => {
    const samples = await encodeSamples('libx265', {
      frames: 24,
      gop: 10,
      forceKeyframesAt: [14],
      options: { 'forced-idr': '1', 'x265-params': 'log-level=error:open-gop=0:scenecut=0' },
    });
    const units = samples.packets.map((p) => hevcAccessUnit(p.data, 0));
    expect(units.map((u) => u.keyframe)).toEqual(samples.packets.map((p) => p.keyframe));
    expect(units.flatMap((u, i) => (u.keyframe ? [i] : []))).toEqual([0, 10, 14]);
  });

  it('marks B-frames nothing references as non-reference: the stream without them still decodes cleanly', async () => {
    const samples = await encodeSamples('libx265', {
      frames: 30,
      bFrames: 3,
      options: { 'x265-params': 'log-level=error:b-pyramid=0' },
    });
    const info = hevcStreamInfo(samples.extradata);
    const units = samples.packets.map((p) => ({ ...p, ...hevcAccessUnit(p.data, info.maxTemporalId) }));
    const kept = units.filter((u) => u.reference);
    expect(units.length - kept.length).toBeGreaterThanOrEqual(5);
    const path = join(dir, 'references-only.flv');
    writeEnhancedFlv(path, 'hvc1', info.record, kept);
    const report = await probeWithNodeAv(path);
    expect(report.decodeErrors).toEqual([]);
    expect(report.decodedVideoFrames).toBe(kept.length);
  });

  it('(the check above can fail) dropping one reference frame gives decode errors', async () => {
    const samples = await encodeSamples('libx265', { frames: 10, options: X265 });
    const info = hevcStreamInfo(samples.extradata);
    const units = samples.packets.map((p) => ({ ...p, ...hevcAccessUnit(p.data, 0) }));
    const path = join(dir, 'broken.flv');
    writeEnhancedFlv(
      path,
      'hvc1',
      info.record,
      units.filter((_, i) => i !== 2),
    );
    expect((await probeWithNodeAv(path)).decodeErrors.length).toBeGreaterThan(0);
  });
});
