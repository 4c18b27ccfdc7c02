import { MediaError } from '../core/errors.js';
import type { VideoCodec } from '../media/packet.js';
import { annexBToAvcc } from './annexb.js';
import { av1CodecConfigurationRecord, OBU, splitObus } from './av1.js';
import { Av1TemporalUnitReader } from './av1-temporal-unit.js';
import { hevcAccessUnit, hevcStreamInfo } from './hevc.js';

/** One encoded picture as outputs carry it. */
export interface VideoAccessUnit {
  /** H.264/HEVC: length-prefixed NAL units. AV1: the temporal unit's OBUs. */
  readonly data: Buffer;
  /** A decoder can start here (H.264 IDR, HEVC IRAP, AV1 shown key frame). */
  readonly keyframe: boolean;
  /** Later pictures may depend on it: dropping it breaks the GOP. */
  readonly reference: boolean;
}

/**
 * What differs between codecs once the encoder is open: the configuration record the sequence
 * header carries, and how a packet becomes what FLV carries with its keyframe and reference flags.
 * The encoder core calls it for every packet; nothing here touches FFmpeg.
 */
export interface VideoBitstream {
  /** The codec. */
  readonly codec: VideoCodec;
  /** AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord or AV1CodecConfigurationRecord. */
  readonly configurationRecord: Buffer;
  /** Reads one packet as the encoder emitted it (Annex-B, or AV1 low-overhead OBUs). */
  accessUnit(packet: Buffer): VideoAccessUnit;
}

/**
 * The bitstream reader for an opened encoder. `extradata` is the encoder's global header;
 * `ffmpegRecord` what node-av's `getDecoderConfigurationRecord()` made of it (avcC for H.264, which
 * it builds from Annex-B; for HEVC and AV1 the record is built here from the extradata).
 */
export function openVideoBitstream(
  codec: VideoCodec,
  extradata: Buffer,
  ffmpegRecord: Buffer | null,
): VideoBitstream {
  switch (codec) {
    case 'h264': {
      if (ffmpegRecord?.[0] !== 1) {
        throw new MediaError(
          'opening the H.264 encoder',
          'the encoder gave no AVCDecoderConfigurationRecord',
        );
      }
      return {
        codec,
        configurationRecord: ffmpegRecord,
        accessUnit(packet) {
          const unit = annexBToAvcc(packet);
          return { data: unit.avcc, keyframe: unit.idr, reference: unit.reference || unit.idr };
        },
      };
    }
    case 'hevc': {
      if (extradata.length === 0)
        throw new MediaError('opening the HEVC encoder', 'the encoder gave no global header');
      const info = hevcStreamInfo(extradata);
      return {
        codec,
        configurationRecord: info.record,
        accessUnit: (packet) => hevcAccessUnit(packet, info.maxTemporalId),
      };
    }
    case 'av1': {
      const sequenceHeader = av1SequenceHeaderObu(extradata);
      const reader = new Av1TemporalUnitReader(splitObus(sequenceHeader)[0]?.payload ?? Buffer.alloc(0));
      return {
        codec,
        configurationRecord: av1CodecConfigurationRecord(sequenceHeader),
        accessUnit: (packet) => reader.read(packet),
      };
    }
  }
}

/** The sequence header OBU of an AV1 encoder's extradata: raw OBUs, or an av1C record's configOBUs. */
function av1SequenceHeaderObu(extradata: Buffer): Buffer {
  const obus = extradata[0] === 0x81 ? extradata.subarray(4) : extradata;
  const found = obus.length > 0 ? splitObus(obus).find((o) => o.type === OBU.SEQUENCE_HEADER) : undefined;
  if (!found) throw new MediaError('opening the AV1 encoder', 'the encoder gave no sequence header');
  return found.bytes;
}
