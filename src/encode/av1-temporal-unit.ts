import {
  OBU,
  parseAv1SequenceHeader,
  splitObus,
  withSizeField,
  type Av1SequenceHeader,
  type Obu,
} from './av1.js';
import { BitReader } from './codec-bits.js';

/** frame_type values (AV1 §6.8.2). */
const KEY_FRAME = 0;
const INTRA_ONLY_FRAME = 2;
const SWITCH_FRAME = 3;
/** No frame seen in a reference slot yet. */
const UNKNOWN = -1;
const ALL_FRAMES = 0xff;
const NUM_REF_FRAMES = 8;

/** What one AV1 temporal unit holds. */
export interface Av1TemporalUnit {
  /** The OBUs FLV carries: temporal delimiters, padding and tile lists removed; each with its size field. */
  readonly data: Buffer;
  /** It shows a key frame (frame_type KEY_FRAME, show_frame 1): a decoder can start here. */
  readonly keyframe: boolean;
  /**
   * Some frame in it refreshes a reference slot (refresh_frame_flags ≠ 0), so later frames may
   * depend on it. A temporal unit that only repeats an earlier frame (show_existing_frame of a
   * non-key frame) or codes a frame that refreshes nothing can be dropped without harm.
   */
  readonly reference: boolean;
}

/** What the start of a frame header says (AV1 §5.9.2, up to refresh_frame_flags). */
interface FrameHeaderStart {
  readonly frameType: number;
  readonly showFrame: boolean;
  readonly showExisting: boolean;
  readonly refreshFlags: number;
}

/**
 * Reads an AV1 stream one temporal unit at a time (what FFmpeg's AV1 encoders put in one packet):
 * keyframe and reference flags from the frame headers, the temporal unit as FLV carries it
 * (AV1-ISOBMFF §2.4, which Enhanced RTMP's Av1CodedData follows). It remembers which frame type
 * each of the 8 reference slots holds, because a `show_existing_frame` of a key frame refreshes
 * every slot (AV1 §7.21) while one of any other frame changes nothing.
 */
export class Av1TemporalUnitReader {
  #sequence: Av1SequenceHeader;
  readonly #slotFrameTypes: number[] = new Array<number>(NUM_REF_FRAMES).fill(UNKNOWN);

  /** `sequenceHeaderPayload`: the payload of the stream's sequence header OBU (from the extradata). */
  constructor(sequenceHeaderPayload: Buffer) {
    this.#sequence = parseAv1SequenceHeader(sequenceHeaderPayload);
  }

  /** Reads one temporal unit (low-overhead format: every OBU has its size field). */
  read(data: Buffer): Av1TemporalUnit {
    const kept: Buffer[] = [];
    let keyframe = false;
    let reference = false;
    for (const obu of splitObus(data)) {
      if (obu.type === OBU.TEMPORAL_DELIMITER || obu.type === OBU.PADDING || obu.type === OBU.TILE_LIST)
        continue;
      kept.push(withSizeField(obu));
      if (obu.type === OBU.SEQUENCE_HEADER) this.#sequence = parseAv1SequenceHeader(obu.payload);
      if (obu.type !== OBU.FRAME_HEADER && obu.type !== OBU.FRAME) continue;
      const frame = this.#frameHeaderStart(obu);
      if (frame.frameType === KEY_FRAME && frame.showFrame && !frame.showExisting) keyframe = true;
      if (frame.refreshFlags !== 0) reference = true;
      for (let slot = 0; slot < NUM_REF_FRAMES; slot++) {
        if ((frame.refreshFlags >> slot) & 1) this.#slotFrameTypes[slot] = frame.frameType;
      }
    }
    return { data: Buffer.concat(kept), keyframe, reference };
  }

  /** uncompressed_header() (AV1 §5.9.2) read as far as refresh_frame_flags. */
  #frameHeaderStart(obu: Obu): FrameHeaderStart {
    const seq = this.#sequence;
    if (seq.reducedStillPictureHeader) {
      return { frameType: KEY_FRAME, showFrame: true, showExisting: false, refreshFlags: ALL_FRAMES };
    }
    const r = new BitReader(obu.payload, 'an AV1 frame header');
    if (r.flag()) {
      // show_existing_frame: it shows slot frame_to_show_map_idx; a key frame shown so refreshes all.
      const frameType = this.#slotFrameTypes[r.bits(3)] ?? UNKNOWN;
      // A slot never seen (a stream read from its middle) may hold a key frame: count it as a reference.
      const refreshes = frameType === KEY_FRAME || frameType === UNKNOWN;
      return { frameType, showFrame: true, showExisting: true, refreshFlags: refreshes ? ALL_FRAMES : 0 };
    }
    const frameType = r.bits(2);
    const showFrame = r.flag();
    if (showFrame && seq.decoderModelInfoPresent && !seq.equalPictureInterval) {
      r.skip(seq.framePresentationTimeLength); // temporal_point_info()
    }
    if (!showFrame) r.skip(1); // showable_frame
    const shownKey = frameType === KEY_FRAME && showFrame;
    const errorResilient = frameType === SWITCH_FRAME || shownKey ? true : r.flag();
    r.skip(1); // disable_cdf_update
    const allowScreenContentTools =
      seq.forceScreenContentTools === 2 ? r.bits(1) : seq.forceScreenContentTools;
    if (allowScreenContentTools === 1 && seq.forceIntegerMv === 2) r.skip(1); // force_integer_mv
    if (seq.frameIdNumbersPresent) r.skip(seq.frameIdLength); // current_frame_id
    if (frameType !== SWITCH_FRAME) r.skip(1); // frame_size_override_flag
    r.skip(seq.orderHintBits); // order_hint
    const intra = frameType === INTRA_ONLY_FRAME || frameType === KEY_FRAME;
    if (!intra && !errorResilient) r.skip(3); // primary_ref_frame
    if (seq.decoderModelInfoPresent && r.flag()) {
      // buffer_removal_time for each operating point with a decoder model that holds this OBU's layer
      for (const op of seq.operatingPoints) {
        if (!op.decoderModelPresent) continue;
        const inTemporalLayer = (op.idc >> obu.temporalId) & 1;
        const inSpatialLayer = (op.idc >> (obu.spatialId + 8)) & 1;
        if (op.idc === 0 || (inTemporalLayer && inSpatialLayer)) r.skip(seq.bufferRemovalTimeLength);
      }
    }
    const refreshFlags = frameType === SWITCH_FRAME || shownKey ? ALL_FRAMES : r.bits(8);
    return { frameType, showFrame, showExisting: false, refreshFlags };
  }
}
