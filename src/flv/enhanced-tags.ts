// Enhanced RTMP v2 video tag bodies ("Enhanced Video": ExVideoTagHeader). What goes in the payload
// of an RTMP video message (9) when the codec is signalled by a FourCC instead of FLV's 4-bit codec id.
import type { VideoCodec } from '../media/packet.js';

/** A video FourCC this publisher can send (Enhanced RTMP v2, enum VideoFourCc). */
export type VideoFourCc = 'avc1' | 'hvc1' | 'av01';

/** Each codec's FourCC (Enhanced RTMP v2, enum VideoFourCc). */
export const VIDEO_FOURCC: Readonly<Record<VideoCodec, VideoFourCc>> = {
  h264: 'avc1',
  hevc: 'hvc1',
  av1: 'av01',
};

/** VideoFrameType (Enhanced Video, enum VideoFrameType). */
const FRAME_TYPE_KEY = 1;
const FRAME_TYPE_INTER = 2;

/** VideoPacketType (Enhanced Video, enum VideoPacketType). */
export const VideoPacketType = {
  /** The body is the codec's configuration record. */
  SequenceStart: 0,
  /** Coded frames; AVC, HEVC (and VVC) carry an SI24 composition time first. */
  CodedFrames: 1,
  /** End of the sequence; no body. */
  SequenceEnd: 2,
  /** Coded frames with an implied composition time of 0 (AVC, HEVC, VVC only). */
  CodedFramesX: 3,
  /** Multitrack mode: an AvMultitrackType and the tracks' own VideoPacketType follow in the next byte. */
  Multitrack: 6,
} as const;

/** The IsExVideoHeader bit: the low 4 bits are a VideoPacketType, a FourCC follows. */
const EX_HEADER = 0x80;

/** FourCCs whose CodedFrames carry a composition time offset (and so may use CodedFramesX). */
const WITH_COMPOSITION_TIME: ReadonlySet<VideoFourCc> = new Set<VideoFourCc>(['avc1', 'hvc1']);

/** Composition time offsets must fit the signed 24-bit field. */
const SI24_MIN = -0x800000;
const SI24_MAX = 0x7fffff;

/**
 * A FourCC as the number `onMetaData` carries in `videocodecid`/`audiocodecid`: the four ASCII bytes
 * read big-endian (Enhanced RTMP v2, "Enhancing onMetaData": "av01" == 0x61763031 == 1635135537).
 */
export function fourCcNumber(fourCc: string): number {
  if (!/^[\x20-\x7e]{4}$/.test(fourCc)) throw new RangeError(`"${fourCc}" is not a four-character code`);
  return Buffer.from(fourCc, 'latin1').readUInt32BE(0);
}

function exHeader(frameType: number, packetType: number, fourCc: VideoFourCc, bodyLength: number): Buffer {
  const tag = Buffer.allocUnsafe(5 + bodyLength);
  tag[0] = EX_HEADER | (frameType << 4) | packetType;
  tag.write(fourCc, 1, 4, 'latin1');
  return tag;
}

/** SequenceStart: a keyframe-typed tag whose body is the codec's configuration record (hvcC, av1C, avcC). */
export function exSequenceStartTag(fourCc: VideoFourCc, configurationRecord: Buffer): Buffer {
  const tag = exHeader(FRAME_TYPE_KEY, VideoPacketType.SequenceStart, fourCc, configurationRecord.length);
  configurationRecord.copy(tag, 5);
  return tag;
}

/** SequenceEnd: tells the receiver this codec sequence is over (e.g. before a new SequenceStart). */
export function exSequenceEndTag(fourCc: VideoFourCc): Buffer {
  return exHeader(FRAME_TYPE_KEY, VideoPacketType.SequenceEnd, fourCc, 0);
}

/**
 * One coded frame. AVC and HEVC: CodedFramesX when the composition time is 0 (three bytes saved on
 * every frame of a stream without B-frames), else CodedFrames with the SI24 offset in milliseconds;
 * the body is length-prefixed NAL units. AV1: CodedFrames, no offset; the body is the temporal
 * unit's OBUs.
 */
export function exCodedFramesTag(
  fourCc: VideoFourCc,
  data: Buffer,
  keyframe: boolean,
  compositionTimeMs: number,
): Buffer {
  const frameType = keyframe ? FRAME_TYPE_KEY : FRAME_TYPE_INTER;
  const cts = Math.round(compositionTimeMs);
  if (!WITH_COMPOSITION_TIME.has(fourCc)) {
    if (cts !== 0) throw new RangeError(`${fourCc} frames carry no composition time (got ${cts} ms)`);
    const tag = exHeader(frameType, VideoPacketType.CodedFrames, fourCc, data.length);
    data.copy(tag, 5);
    return tag;
  }
  if (cts === 0) {
    const tag = exHeader(frameType, VideoPacketType.CodedFramesX, fourCc, data.length);
    data.copy(tag, 5);
    return tag;
  }
  if (!(cts >= SI24_MIN && cts <= SI24_MAX)) {
    throw new RangeError(`composition time ${compositionTimeMs} ms does not fit FLV's SI24`);
  }
  const tag = exHeader(frameType, VideoPacketType.CodedFrames, fourCc, 3 + data.length);
  tag.writeIntBE(cts, 5, 3);
  data.copy(tag, 8);
  return tag;
}
