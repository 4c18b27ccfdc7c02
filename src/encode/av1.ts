import { MediaError } from '../core/errors.js';
import { BitReader, leb128, readLeb128 } from './codec-bits.js';

/** AV1 OBU types (AV1 §6.2.2). */
export const OBU = {
  /** Sequence header. */
  SEQUENCE_HEADER: 1,
  /** Temporal delimiter: starts a temporal unit, no payload. */
  TEMPORAL_DELIMITER: 2,
  /** Frame header alone (tile groups follow in their own OBUs). */
  FRAME_HEADER: 3,
  /** Tile group. */
  TILE_GROUP: 4,
  /** Metadata. */
  METADATA: 5,
  /** Frame header and tile group in one OBU. */
  FRAME: 6,
  /** Repeated frame header. */
  REDUNDANT_FRAME_HEADER: 7,
  /** Tile list (large-scale tile decoding only). */
  TILE_LIST: 8,
  /** Padding. */
  PADDING: 15,
} as const;

/** One OBU of a low-overhead bitstream (AV1 §5.3). */
export interface Obu {
  /** obu_type. */
  readonly type: number;
  /** temporal_id from the extension header (0 without one). */
  readonly temporalId: number;
  /** spatial_id from the extension header (0 without one). */
  readonly spatialId: number;
  /** The whole OBU: header, size field and payload. */
  readonly bytes: Buffer;
  /** The payload alone. */
  readonly payload: Buffer;
}

/** Splits a low-overhead bitstream (every OBU with obu_has_size_field, as FFmpeg's encoders emit) into OBUs. */
export function splitObus(data: Buffer): Obu[] {
  const obus: Obu[] = [];
  let offset = 0;
  while (offset < data.length) {
    const header = data[offset] ?? 0;
    if ((header & 0x80) !== 0)
      throw new MediaError('reading AV1 OBUs', `obu_forbidden_bit set at byte ${offset}`);
    const type = (header >> 3) & 0x0f;
    const hasExtension = (header & 0x04) !== 0;
    const hasSize = (header & 0x02) !== 0;
    let cursor = offset + 1;
    let temporalId = 0;
    let spatialId = 0;
    if (hasExtension) {
      const extension = data[cursor] ?? 0;
      temporalId = extension >> 5;
      spatialId = (extension >> 3) & 0x03;
      cursor++;
    }
    let size = data.length - cursor;
    if (hasSize) {
      const field = readLeb128(data, cursor);
      size = field.value;
      cursor += field.length;
    }
    if (cursor + size > data.length) {
      throw new MediaError(
        'reading AV1 OBUs',
        `an OBU of ${size} bytes at byte ${offset} runs past the data`,
      );
    }
    obus.push({
      type,
      temporalId,
      spatialId,
      bytes: data.subarray(offset, cursor + size),
      payload: data.subarray(cursor, cursor + size),
    });
    offset = cursor + size;
  }
  return obus;
}

/** An operating point of the sequence header. */
export interface Av1OperatingPoint {
  /** operating_point_idc: which temporal (bits 0–7) and spatial (bits 8–11) layers it decodes. */
  readonly idc: number;
  /** seq_level_idx. */
  readonly levelIdx: number;
  /** seq_tier. */
  readonly tier: number;
  /** decoder_model_present_for_this_op. */
  readonly decoderModelPresent: boolean;
}

/** The sequence header fields this publisher uses (AV1 §5.5). */
export interface Av1SequenceHeader {
  /** seq_profile (0 Main, 1 High, 2 Professional). */
  readonly profile: number;
  /** reduced_still_picture_header. */
  readonly reducedStillPictureHeader: boolean;
  /** decoder_model_info_present_flag. */
  readonly decoderModelInfoPresent: boolean;
  /** equal_picture_interval (false when timing info is absent). */
  readonly equalPictureInterval: boolean;
  /** buffer_removal_time_length_minus_1 + 1. */
  readonly bufferRemovalTimeLength: number;
  /** frame_presentation_time_length_minus_1 + 1. */
  readonly framePresentationTimeLength: number;
  /** The operating points; the first is the one av1C describes. */
  readonly operatingPoints: readonly Av1OperatingPoint[];
  /** max_frame_width_minus_1 + 1, px. */
  readonly maxWidth: number;
  /** max_frame_height_minus_1 + 1, px. */
  readonly maxHeight: number;
  /** frame_id_numbers_present_flag. */
  readonly frameIdNumbersPresent: boolean;
  /** additional_frame_id_length_minus_1 + delta_frame_id_length_minus_2 + 3 (idLen), when present. */
  readonly frameIdLength: number;
  /** seq_force_screen_content_tools (2 = SELECT_SCREEN_CONTENT_TOOLS). */
  readonly forceScreenContentTools: number;
  /** seq_force_integer_mv (2 = SELECT_INTEGER_MV). */
  readonly forceIntegerMv: number;
  /** OrderHintBits. */
  readonly orderHintBits: number;
  /** high_bitdepth. */
  readonly highBitdepth: boolean;
  /** twelve_bit. */
  readonly twelveBit: boolean;
  /** mono_chrome. */
  readonly monochrome: boolean;
  /** subsampling_x. */
  readonly subsamplingX: number;
  /** subsampling_y. */
  readonly subsamplingY: number;
  /** chroma_sample_position. */
  readonly chromaSamplePosition: number;
}

const SELECT_SCREEN_CONTENT_TOOLS = 2;
const SELECT_INTEGER_MV = 2;

/** Parses a sequence header OBU's payload (AV1 §5.5.1). */
export function parseAv1SequenceHeader(payload: Buffer): Av1SequenceHeader {
  const r = new BitReader(payload, 'the AV1 sequence header');
  const profile = r.bits(3);
  r.skip(1); // still_picture
  const reducedStillPictureHeader = r.flag();
  let decoderModelInfoPresent = false;
  let equalPictureInterval = false;
  let bufferDelayLength = 0;
  let bufferRemovalTimeLength = 0;
  let framePresentationTimeLength = 0;
  const operatingPoints: Av1OperatingPoint[] = [];
  if (reducedStillPictureHeader) {
    operatingPoints.push({ idc: 0, levelIdx: r.bits(5), tier: 0, decoderModelPresent: false });
  } else {
    if (r.flag()) {
      // timing_info()
      r.skip(64); // num_units_in_display_tick, time_scale
      equalPictureInterval = r.flag();
      if (equalPictureInterval) r.uvlc();
      decoderModelInfoPresent = r.flag();
      if (decoderModelInfoPresent) {
        bufferDelayLength = r.bits(5) + 1;
        r.skip(32); // num_units_in_decoding_tick
        bufferRemovalTimeLength = r.bits(5) + 1;
        framePresentationTimeLength = r.bits(5) + 1;
      }
    }
    const initialDisplayDelayPresent = r.flag();
    const count = r.bits(5) + 1;
    for (let i = 0; i < count; i++) {
      const idc = r.bits(12);
      const levelIdx = r.bits(5);
      const tier = levelIdx > 7 ? r.bits(1) : 0;
      let decoderModelPresent = false;
      if (decoderModelInfoPresent) {
        decoderModelPresent = r.flag();
        if (decoderModelPresent) r.skip(2 * bufferDelayLength + 1); // operating_parameters_info()
      }
      if (initialDisplayDelayPresent && r.flag()) r.skip(4);
      operatingPoints.push({ idc, levelIdx, tier, decoderModelPresent });
    }
  }
  const widthBits = r.bits(4) + 1;
  const heightBits = r.bits(4) + 1;
  const maxWidth = r.bits(widthBits) + 1;
  const maxHeight = r.bits(heightBits) + 1;
  const frameIdNumbersPresent = reducedStillPictureHeader ? false : r.flag();
  let frameIdLength = 0;
  if (frameIdNumbersPresent) {
    const deltaMinus2 = r.bits(4);
    const additionalMinus1 = r.bits(3);
    frameIdLength = additionalMinus1 + deltaMinus2 + 3;
  }
  r.skip(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  let forceScreenContentTools = SELECT_SCREEN_CONTENT_TOOLS;
  let forceIntegerMv = SELECT_INTEGER_MV;
  let orderHintBits = 0;
  if (!reducedStillPictureHeader) {
    r.skip(4); // interintra compound, masked compound, warped motion, dual filter
    const enableOrderHint = r.flag();
    if (enableOrderHint) r.skip(2); // enable_jnt_comp, enable_ref_frame_mvs
    forceScreenContentTools = r.flag() ? SELECT_SCREEN_CONTENT_TOOLS : r.bits(1);
    if (forceScreenContentTools > 0) forceIntegerMv = r.flag() ? SELECT_INTEGER_MV : r.bits(1);
    if (enableOrderHint) orderHintBits = r.bits(3) + 1;
  }
  r.skip(3); // enable_superres, enable_cdef, enable_restoration
  const color = parseColorConfig(r, profile);
  return {
    profile,
    reducedStillPictureHeader,
    decoderModelInfoPresent,
    equalPictureInterval,
    bufferRemovalTimeLength,
    framePresentationTimeLength,
    operatingPoints,
    maxWidth,
    maxHeight,
    frameIdNumbersPresent,
    frameIdLength,
    forceScreenContentTools,
    forceIntegerMv,
    orderHintBits,
    ...color,
  };
}

type ColorConfig = Pick<
  Av1SequenceHeader,
  'highBitdepth' | 'twelveBit' | 'monochrome' | 'subsamplingX' | 'subsamplingY' | 'chromaSamplePosition'
>;

/** color_config() (AV1 §5.5.2), as far as av1C needs it. */
function parseColorConfig(r: BitReader, profile: number): ColorConfig {
  const highBitdepth = r.flag();
  const twelveBit = profile === 2 && highBitdepth ? r.flag() : false;
  const bitDepth = twelveBit ? 12 : highBitdepth ? 10 : 8;
  const monochrome = profile === 1 ? false : r.flag();
  let primaries = 2;
  let transfer = 2;
  let matrix = 2;
  if (r.flag()) {
    primaries = r.bits(8);
    transfer = r.bits(8);
    matrix = r.bits(8);
  }
  if (monochrome) {
    r.skip(1); // color_range
    return { highBitdepth, twelveBit, monochrome, subsamplingX: 1, subsamplingY: 1, chromaSamplePosition: 0 };
  }
  if (primaries === 1 && transfer === 13 && matrix === 0) {
    // sRGB: 4:4:4, full range, nothing more coded.
    return { highBitdepth, twelveBit, monochrome, subsamplingX: 0, subsamplingY: 0, chromaSamplePosition: 0 };
  }
  r.skip(1); // color_range
  let subsamplingX = 1;
  let subsamplingY = 1;
  if (profile === 1) {
    subsamplingX = 0;
    subsamplingY = 0;
  } else if (profile === 2) {
    if (bitDepth === 12) {
      subsamplingX = r.bits(1);
      subsamplingY = subsamplingX === 1 ? r.bits(1) : 0;
    } else {
      subsamplingY = 0;
    }
  }
  const chromaSamplePosition = subsamplingX === 1 && subsamplingY === 1 ? r.bits(2) : 0;
  return { highBitdepth, twelveBit, monochrome, subsamplingX, subsamplingY, chromaSamplePosition };
}

/**
 * The AV1CodecConfigurationRecord (AV1 Codec ISO Media File Format Binding §2.3.3): marker and
 * version 1, profile, level and tier of operating point 0, bit depth, monochrome, chroma
 * subsampling and sample position, no initial presentation delay; then the sequence header OBU as
 * configOBUs. `sequenceHeaderObu` is the whole OBU (header, size, payload).
 */
export function av1CodecConfigurationRecord(sequenceHeaderObu: Buffer): Buffer {
  const [obu] = splitObus(sequenceHeaderObu);
  if (obu?.type !== OBU.SEQUENCE_HEADER) {
    throw new MediaError('building the AV1 configuration record', 'the encoder gave no sequence header OBU');
  }
  const seq = parseAv1SequenceHeader(obu.payload);
  const op = seq.operatingPoints[0] ?? { levelIdx: 0, tier: 0 };
  const head = Buffer.alloc(4);
  head[0] = 0x81; // marker 1, version 1
  head[1] = (seq.profile << 5) | op.levelIdx;
  head[2] =
    (op.tier << 7) |
    ((seq.highBitdepth ? 1 : 0) << 6) |
    ((seq.twelveBit ? 1 : 0) << 5) |
    ((seq.monochrome ? 1 : 0) << 4) |
    (seq.subsamplingX << 3) |
    (seq.subsamplingY << 2) |
    seq.chromaSamplePosition;
  head[3] = 0; // reserved, initial_presentation_delay_present 0
  return Buffer.concat([head, withSizeField(obu)]);
}

/** The OBU with obu_has_size_field set (av1C's configOBUs and FLV frames need sizes). */
export function withSizeField(obu: Obu): Buffer {
  const header = obu.bytes[0] ?? 0;
  if ((header & 0x02) !== 0) return obu.bytes;
  const extension = (header & 0x04) !== 0 ? obu.bytes.subarray(1, 2) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from([header | 0x02]), extension, leb128(obu.payload.length), obu.payload]);
}
