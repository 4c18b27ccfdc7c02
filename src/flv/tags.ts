import type { EncodedPacket, StreamConfig, VideoCodec, VideoConfig } from '../media/packet.js';
import { exCodedFramesTag, exSequenceStartTag, fourCcNumber, VIDEO_FOURCC } from './enhanced-tags.js';
import { Amf0EcmaArray, type Amf0Object } from '../amf0/amf0.js';

// FLV tag bodies (Adobe FLV specification v10.1, Annex E.4.2/E.4.3): what goes in the payload of
// an RTMP audio (8) or video (9) message. No FLV file header, no tag header, no PreviousTagSize.

/** FLV VideoTagHeader first byte: frame type (1 key, 2 inter) << 4 | codec id 7 (AVC). */
const AVC_KEYFRAME = 0x17;
const AVC_INTERFRAME = 0x27;
/** AVCPacketType (FLV E.4.3.1). */
const AVC_SEQUENCE_HEADER = 0x00;
const AVC_NALU = 0x01;

/**
 * FLV AudioTagHeader for AAC: SoundFormat 10, SoundRate 3 (44 kHz), SoundSize 1 (16-bit),
 * SoundType 1 (stereo). FLV E.4.2.1: for AAC these are fixed whatever the real stream is; the
 * real rate and channels come from the AudioSpecificConfig.
 */
const AAC_TAG_HEADER = 0xaf;
/** AACPacketType (FLV E.4.2.2). */
const AAC_SEQUENCE_HEADER = 0x00;
const AAC_RAW = 0x01;

/** FLV codec ids used in onMetaData. */
export const FLV_CODEC_ID = {
  /** videocodecid of H.264/AVC. */
  AVC: 7,
  /** audiocodecid of AAC. */
  AAC: 10,
} as const;

/** Composition time offsets must fit FLV's signed 24-bit field. */
const SI24_MIN = -0x800000;
const SI24_MAX = 0x7fffff;

/** AVC sequence header: keyframe, packet type 0, composition time 0, AVCDecoderConfigurationRecord. */
export function avcSequenceHeaderTag(avcDecoderConfigurationRecord: Buffer): Buffer {
  const body = Buffer.allocUnsafe(5 + avcDecoderConfigurationRecord.length);
  body[0] = AVC_KEYFRAME;
  body[1] = AVC_SEQUENCE_HEADER;
  body.writeIntBE(0, 2, 3);
  avcDecoderConfigurationRecord.copy(body, 5);
  return body;
}

/**
 * AVC NALU tag: frame type from `keyframe`, packet type 1, composition time (pts − dts) in
 * milliseconds as SI24, then the AVCC (length-prefixed) NAL units.
 */
export function avcNaluTag(avcc: Buffer, keyframe: boolean, compositionTimeMs: number): Buffer {
  const cts = Math.round(compositionTimeMs);
  if (!(cts >= SI24_MIN && cts <= SI24_MAX)) {
    throw new RangeError(`composition time ${compositionTimeMs} ms does not fit FLV's SI24`);
  }
  const body = Buffer.allocUnsafe(5 + avcc.length);
  body[0] = keyframe ? AVC_KEYFRAME : AVC_INTERFRAME;
  body[1] = AVC_NALU;
  body.writeIntBE(cts, 2, 3);
  avcc.copy(body, 5);
  return body;
}

/** AAC sequence header: 0xAF, packet type 0, AudioSpecificConfig. */
export function aacSequenceHeaderTag(audioSpecificConfig: Buffer): Buffer {
  const body = Buffer.allocUnsafe(2 + audioSpecificConfig.length);
  body[0] = AAC_TAG_HEADER;
  body[1] = AAC_SEQUENCE_HEADER;
  audioSpecificConfig.copy(body, 2);
  return body;
}

/** AAC raw frame: 0xAF, packet type 1, one raw AAC frame (no ADTS header). */
export function aacRawTag(frame: Buffer): Buffer {
  const body = Buffer.allocUnsafe(2 + frame.length);
  body[0] = AAC_TAG_HEADER;
  body[1] = AAC_RAW;
  frame.copy(body, 2);
  return body;
}

/**
 * The FLV tag body of an encoded packet: an AAC raw tag, or a video tag of `videoCodec` — a classic
 * AVC NALU tag for H.264 (what every server reads), an Enhanced RTMP coded-frames tag for HEVC and AV1.
 */
export function packetTag(packet: EncodedPacket, videoCodec: VideoCodec = 'h264'): Buffer {
  if (packet.kind === 'audio') return aacRawTag(packet.data);
  const ctsMs = Math.round(packet.ptsUs / 1000) - Math.round(packet.dtsUs / 1000);
  if (videoCodec === 'h264') return avcNaluTag(packet.data, packet.keyframe, ctsMs);
  return exCodedFramesTag(VIDEO_FOURCC[videoCodec], packet.data, packet.keyframe, ctsMs);
}

/** The video sequence header: classic AVC for H.264, an Enhanced RTMP SequenceStart for HEVC and AV1. */
export function videoSequenceHeaderTag(video: VideoConfig): Buffer {
  if (video.codec === 'h264') return avcSequenceHeaderTag(video.decoderConfigurationRecord);
  return exSequenceStartTag(VIDEO_FOURCC[video.codec], video.decoderConfigurationRecord);
}

/**
 * `onMetaData`'s `videocodecid` for a codec: FLV's legacy id 7 for H.264 (sent as classic AVC tags),
 * the FourCC as a number for the codecs that exist only in enhanced tags (Enhanced RTMP v2,
 * "Enhancing onMetaData").
 */
export function metadataVideoCodecId(codec: VideoCodec): number {
  return codec === 'h264' ? FLV_CODEC_ID.AVC : fourCcNumber(VIDEO_FOURCC[codec]);
}

/** Options of `onMetaData`. */
export interface MetadataOptions {
  /** Value of the `encoder` field; default `steadycast`. */
  readonly encoder?: string;
}

/**
 * The `onMetaData` ECMA array (FLV E.5): dimensions, frame rate, codec ids, data rates in
 * kbit/s, audio rate and channels. Absent streams leave their fields out.
 */
export function onMetaData(config: StreamConfig, options: MetadataOptions = {}): Amf0EcmaArray {
  const properties: Amf0Object = { duration: 0 };
  const { video, audio } = config;
  if (video) {
    properties.width = video.width;
    properties.height = video.height;
    properties.framerate = video.fps;
    properties.videocodecid = metadataVideoCodecId(video.codec);
    properties.videodatarate = video.bitrateBps / 1000;
  }
  if (audio) {
    properties.audiocodecid = FLV_CODEC_ID.AAC;
    properties.audiodatarate = audio.bitrateBps / 1000;
    properties.audiosamplerate = audio.sampleRate;
    properties.audiosamplesize = 16;
    properties.audiochannels = audio.channels;
    properties.stereo = audio.channels >= 2;
  }
  properties.encoder = options.encoder ?? (video ? `steadycast (${video.encoderName})` : 'steadycast');
  return new Amf0EcmaArray(properties);
}
