import { MediaError } from '../core/errors.js';
import { splitAnnexB } from './annexb.js';
import { BitReader, unescapeRbsp } from './codec-bits.js';

/** HEVC NAL unit types that matter here (ITU-T H.265 Table 7-1). */
export const HEVC_NAL = {
  /** Trailing picture, sub-layer non-reference. */
  TRAIL_N: 0,
  /** Trailing picture, sub-layer reference. */
  TRAIL_R: 1,
  /** First IRAP type (BLA_W_LP). */
  BLA_W_LP: 16,
  /** IDR that may have leading RADL pictures. */
  IDR_W_RADL: 19,
  /** IDR without leading pictures. */
  IDR_N_LP: 20,
  /** Clean random access. */
  CRA_NUT: 21,
  /** Last IRAP type (RSV_IRAP_VCL23). */
  RSV_IRAP_VCL23: 23,
  /** Video parameter set. */
  VPS: 32,
  /** Sequence parameter set. */
  SPS: 33,
  /** Picture parameter set. */
  PPS: 34,
  /** Access unit delimiter. */
  AUD: 35,
  /** Prefix SEI. */
  PREFIX_SEI: 39,
} as const;

/** The NAL unit type of a NAL unit (its header's bits 1–6). */
export function hevcNalType(unit: Buffer): number {
  return ((unit[0] ?? 0) >> 1) & 0x3f;
}

/** The TemporalId of a NAL unit (nuh_temporal_id_plus1 − 1). */
export function hevcTemporalId(unit: Buffer): number {
  return ((unit[1] ?? 1) & 0x07) - 1;
}

/** VCL NAL unit types are 0–31 (H.265 §7.4.2.2). */
export function isHevcVcl(type: number): boolean {
  return type >= 0 && type <= 31;
}

/** IRAP pictures (BLA, IDR, CRA: types 16–23) are where a decoder can start (H.265 §3.73). */
export function isHevcIrap(type: number): boolean {
  return type >= HEVC_NAL.BLA_W_LP && type <= HEVC_NAL.RSV_IRAP_VCL23;
}

/**
 * Sub-layer non-reference pictures: TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N10/12/14 — the
 * even types below 16 (H.265 §7.4.2.2). No picture of the same sub-layer references them.
 */
export function isHevcSubLayerNonReference(type: number): boolean {
  return type < HEVC_NAL.BLA_W_LP && type % 2 === 0;
}

/** What one HEVC access unit holds. */
export interface HevcAccessUnit {
  /** The NAL units, each prefixed with its 4-byte big-endian length; access unit delimiters removed. */
  readonly data: Buffer;
  /** It holds an IRAP picture: a decoder can start here. */
  readonly keyframe: boolean;
  /**
   * Later pictures may reference it. False only when every slice is a sub-layer non-reference
   * picture of the highest sub-layer, which nothing can reference.
   */
  readonly reference: boolean;
}

/**
 * Converts one Annex-B access unit (what FFmpeg's HEVC encoders emit) to the length-prefixed form
 * FLV carries (ISO/IEC 14496-15 §8.3.2, lengthSizeMinusOne = 3) and reads its picture kind.
 * `maxTemporalId` is the stream's highest TemporalId (sps_max_sub_layers_minus1).
 */
export function hevcAccessUnit(annexB: Buffer, maxTemporalId: number): HevcAccessUnit {
  const units = splitAnnexB(annexB).filter((u) => hevcNalType(u) !== HEVC_NAL.AUD);
  let keyframe = false;
  let slices = 0;
  let nonReferenceSlices = 0;
  let total = 0;
  for (const unit of units) {
    const type = hevcNalType(unit);
    if (isHevcVcl(type)) {
      slices++;
      if (isHevcIrap(type)) keyframe = true;
      if (isHevcSubLayerNonReference(type) && hevcTemporalId(unit) >= maxTemporalId) nonReferenceSlices++;
    }
    total += 4 + unit.length;
  }
  const data = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const unit of units) {
    data.writeUInt32BE(unit.length, offset);
    unit.copy(data, offset + 4);
    offset += 4 + unit.length;
  }
  return { data, keyframe, reference: slices === 0 || nonReferenceSlices < slices };
}

/** What the HEVCDecoderConfigurationRecord needs from a sequence parameter set. */
export interface HevcSps {
  /** general_profile_space (2 bits). */
  readonly profileSpace: number;
  /** general_tier_flag. */
  readonly tierFlag: number;
  /** general_profile_idc (1 Main, 2 Main 10, …). */
  readonly profileIdc: number;
  /** general_profile_compatibility_flag[0..31] as one 32-bit number. */
  readonly profileCompatibilityFlags: number;
  /** The 48 bits of general constraint indicator flags, 6 bytes. */
  readonly constraintIndicatorFlags: Buffer;
  /** general_level_idc (30 × level). */
  readonly levelIdc: number;
  /** sps_max_sub_layers_minus1 + 1. */
  readonly maxSubLayers: number;
  /** sps_temporal_id_nesting_flag. */
  readonly temporalIdNesting: boolean;
  /** chroma_format_idc (1 = 4:2:0). */
  readonly chromaFormatIdc: number;
  /** Luma width, px (before the conformance window). */
  readonly width: number;
  /** Luma height, px. */
  readonly height: number;
  /** bit_depth_luma_minus8 + 8. */
  readonly bitDepthLuma: number;
  /** bit_depth_chroma_minus8 + 8. */
  readonly bitDepthChroma: number;
}

/** Parses the fields of an SPS NAL unit (with its 2-byte header) up to the bit depths (H.265 §7.3.2.2). */
export function parseHevcSps(nal: Buffer): HevcSps {
  if (hevcNalType(nal) !== HEVC_NAL.SPS)
    throw new MediaError('reading the HEVC SPS', 'the NAL unit is not an SPS');
  const r = new BitReader(unescapeRbsp(nal.subarray(2)), 'the HEVC SPS');
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.bits(3);
  const temporalIdNesting = r.flag();
  // profile_tier_level(1, sps_max_sub_layers_minus1) (§7.3.3): the general part is 12 bytes.
  const profileSpace = r.bits(2);
  const tierFlag = r.bits(1);
  const profileIdc = r.bits(5);
  const profileCompatibilityFlags = r.bits(32);
  const constraintIndicatorFlags = Buffer.alloc(6);
  for (let i = 0; i < 6; i++) constraintIndicatorFlags[i] = r.bits(8);
  const levelIdc = r.bits(8);
  const subLayerProfilePresent: boolean[] = [];
  const subLayerLevelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subLayerProfilePresent.push(r.flag());
    subLayerLevelPresent.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subLayerProfilePresent[i] === true) r.skip(88);
    if (subLayerLevelPresent[i] === true) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc === 3) r.skip(1); // separate_colour_plane_flag
  const width = r.ue();
  const height = r.ue();
  if (r.flag()) {
    for (let i = 0; i < 4; i++) r.ue(); // conformance window offsets
  }
  const bitDepthLuma = r.ue() + 8;
  const bitDepthChroma = r.ue() + 8;
  return {
    profileSpace,
    tierFlag,
    profileIdc,
    profileCompatibilityFlags,
    constraintIndicatorFlags,
    levelIdc,
    maxSubLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
    chromaFormatIdc,
    width,
    height,
    bitDepthLuma,
    bitDepthChroma,
  };
}

/** The parameter sets (and prefix SEI) an HEVCDecoderConfigurationRecord carries, NAL units with headers. */
export interface HevcParameterSets {
  /** Video parameter sets. */
  readonly vps: readonly Buffer[];
  /** Sequence parameter sets; the first describes the stream. */
  readonly sps: readonly Buffer[];
  /** Picture parameter sets. */
  readonly pps: readonly Buffer[];
  /** Declarative prefix SEI (e.g. x265's version string), kept as the encoder gave them. */
  readonly sei: readonly Buffer[];
}

/** Sorts the NAL units of an Annex-B header (extradata, or a keyframe's in-band headers) by kind. */
export function hevcParameterSets(annexB: Buffer): HevcParameterSets {
  const units = splitAnnexB(annexB);
  const of = (type: number): Buffer[] => units.filter((u) => hevcNalType(u) === type);
  return {
    vps: of(HEVC_NAL.VPS),
    sps: of(HEVC_NAL.SPS),
    pps: of(HEVC_NAL.PPS),
    sei: of(HEVC_NAL.PREFIX_SEI),
  };
}

/**
 * Builds the HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) from the parameter sets:
 * profile, tier and level from the first SPS; 4-byte NAL lengths; arrays of VPS, SPS and PPS marked
 * complete (every parameter set the stream uses is in the record), then prefix SEI (as FFmpeg writes
 * it: not complete). Values this parser
 * does not read are left at "unknown": min_spatial_segmentation_idc 0, parallelismType 0,
 * avgFrameRate 0, constantFrameRate 0.
 */
export function hevcDecoderConfigurationRecord(sets: HevcParameterSets): Buffer {
  const first = sets.sps[0];
  if (!first || sets.vps.length === 0 || sets.pps.length === 0) {
    throw new MediaError('building the HEVC configuration record', 'the encoder gave no VPS, SPS and PPS');
  }
  const sps = parseHevcSps(first);
  const head = Buffer.alloc(23);
  head[0] = 1; // configurationVersion
  head[1] = (sps.profileSpace << 6) | (sps.tierFlag << 5) | sps.profileIdc;
  head.writeUInt32BE(sps.profileCompatibilityFlags, 2);
  sps.constraintIndicatorFlags.copy(head, 6);
  head[12] = sps.levelIdc;
  head.writeUInt16BE(0xf000, 13); // reserved 1111, min_spatial_segmentation_idc 0
  head[15] = 0xfc; // reserved 111111, parallelismType 0
  head[16] = 0xfc | sps.chromaFormatIdc;
  head[17] = 0xf8 | (sps.bitDepthLuma - 8);
  head[18] = 0xf8 | (sps.bitDepthChroma - 8);
  head.writeUInt16BE(0, 19); // avgFrameRate
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
  head[21] = (sps.maxSubLayers << 3) | ((sps.temporalIdNesting ? 1 : 0) << 2) | 3;
  const arrays: [number, readonly Buffer[]][] = [
    [HEVC_NAL.VPS, sets.vps],
    [HEVC_NAL.SPS, sets.sps],
    [HEVC_NAL.PPS, sets.pps],
    [HEVC_NAL.PREFIX_SEI, sets.sei],
  ];
  const present = arrays.filter(([, units]) => units.length > 0);
  head[22] = present.length;
  const parts: Buffer[] = [head];
  for (const [type, units] of present) {
    const arrayHead = Buffer.alloc(3);
    // array_completeness: every parameter set the stream uses is here; SEI may also come in-band.
    arrayHead[0] = (type === HEVC_NAL.PREFIX_SEI ? 0 : 0x80) | type;
    arrayHead.writeUInt16BE(units.length, 1);
    parts.push(arrayHead);
    for (const unit of units) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(unit.length, 0);
      parts.push(length, unit);
    }
  }
  return Buffer.concat(parts);
}

/** What a publisher needs to know of an HEVC stream before its first frame. */
export interface HevcStreamInfo {
  /** The HEVCDecoderConfigurationRecord for the SequenceStart tag. */
  readonly record: Buffer;
  /** The highest TemporalId of the stream (for `hevcAccessUnit`). */
  readonly maxTemporalId: number;
}

/**
 * The stream's record from the encoder's extradata, which FFmpeg's HEVC encoders give either as an
 * HEVCDecoderConfigurationRecord already (configurationVersion 1) or as Annex-B VPS/SPS/PPS.
 */
export function hevcStreamInfo(extradata: Buffer): HevcStreamInfo {
  const annexB = extradata[0] === 0 ? extradata : annexBFromRecord(extradata);
  const sets = hevcParameterSets(annexB);
  const record = extradata[0] === 0 ? hevcDecoderConfigurationRecord(sets) : extradata;
  const first = sets.sps[0];
  if (!first) throw new MediaError('reading the HEVC configuration', 'the encoder gave no SPS');
  return { record, maxTemporalId: parseHevcSps(first).maxSubLayers - 1 };
}

/** The NAL units of an HEVCDecoderConfigurationRecord's arrays, as Annex-B. */
function annexBFromRecord(record: Buffer): Buffer {
  if (record.length < 23 || record[0] !== 1) {
    throw new MediaError(
      'reading the HEVC configuration',
      'the extradata is neither Annex-B nor an hvcC record',
    );
  }
  const parts: Buffer[] = [];
  let offset = 23;
  const startCode = Buffer.from([0, 0, 0, 1]);
  for (let a = 0; a < (record[22] ?? 0); a++) {
    if (offset + 3 > record.length) throw truncatedRecord();
    const count = record.readUInt16BE(offset + 1);
    offset += 3;
    for (let n = 0; n < count; n++) {
      if (offset + 2 > record.length) throw truncatedRecord();
      const length = record.readUInt16BE(offset);
      if (offset + 2 + length > record.length) throw truncatedRecord();
      parts.push(startCode, record.subarray(offset + 2, offset + 2 + length));
      offset += 2 + length;
    }
  }
  return Buffer.concat(parts);
}

function truncatedRecord(): MediaError {
  return new MediaError('reading the HEVC configuration', 'the hvcC record ends inside an array');
}
