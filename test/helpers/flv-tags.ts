/**
 * A small FLV tag reader (FLV spec v10.1 §E.4, Enhanced RTMP v2 for ex-header video), written apart from
 * src/flv so that tests check our muxer against an independent reading of what the server stored.
 */
import { readFileSync } from 'node:fs';

/** FLV tag types (FLV §E.4.1). */
export const TAG_AUDIO = 8;
/** FLV video tag type. */
export const TAG_VIDEO = 9;
/** FLV script-data tag type (onMetaData). */
export const TAG_SCRIPT = 18;

/** One FLV tag, decoded as far as tests need. */
export interface FlvTag {
  /** Byte offset of the tag header in the file. */
  offset: number;
  /** 8 audio, 9 video, 18 script data. */
  type: number;
  /** Tag timestamp, ms (24 bits + extended byte). */
  timestampMs: number;
  /** Payload size, bytes. */
  dataSize: number;
  /** Video details, for type 9. */
  video?: {
    /** 1 keyframe, 2 inter frame, 3 disposable, 4 generated keyframe, 5 info/command frame. */
    frameType: number;
    /** frameType is 1 (a keyframe). */
    keyframe: boolean;
    /** Legacy codec id (7 = AVC) or, for Enhanced RTMP, the FourCC (e.g. 'avc1', 'hvc1'). */
    codec: number | string;
    /** AVC packet type for AVC / ex-header packet type otherwise. */
    packetType: 'sequenceHeader' | 'nalu' | 'endOfSequence' | 'other';
    /** Composition time offset (pts − dts), ms; 0 when absent. */
    compositionTimeMs: number;
  };
  /** Audio details, for type 8. */
  audio?: {
    /** SoundFormat: 10 = AAC. */
    soundFormat: number;
    /** AAC packet type; 'other' for non-AAC audio. */
    packetType: 'sequenceHeader' | 'raw' | 'other';
  };
  /** First AMF0 string of a script tag, e.g. 'onMetaData' or '@setDataFrame'. */
  scriptName?: string;
}

/** Parses an FLV file (or buffer) into tags; a truncated last tag (file still being written) is ignored. */
export function readFlvTags(fileOrBuffer: string | Buffer): FlvTag[] {
  const buf = typeof fileOrBuffer === 'string' ? readFileSync(fileOrBuffer) : fileOrBuffer;
  if (buf.length < 9 || buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const tags: FlvTag[] = [];
  let pos = buf.readUInt32BE(5) + 4; // header size, then PreviousTagSize0
  while (pos + 11 <= buf.length) {
    const type = buf.readUInt8(pos) & 0x1f;
    const dataSize = buf.readUIntBE(pos + 1, 3);
    const timestampMs = (buf.readUInt8(pos + 7) << 24) | buf.readUIntBE(pos + 4, 3);
    const dataStart = pos + 11;
    if (dataStart + dataSize > buf.length) break;
    const data = buf.subarray(dataStart, dataStart + dataSize);
    const tag: FlvTag = { offset: pos, type, timestampMs: timestampMs >>> 0, dataSize };
    if (type === TAG_VIDEO && dataSize > 0) tag.video = parseVideo(data);
    if (type === TAG_AUDIO && dataSize > 0) tag.audio = parseAudio(data);
    if (type === TAG_SCRIPT) tag.scriptName = parseScriptName(data);
    tags.push(tag);
    pos = dataStart + dataSize + 4; // PreviousTagSize
  }
  return tags;
}

function parseVideo(data: Buffer): NonNullable<FlvTag['video']> {
  const first = data.readUInt8(0);
  if ((first & 0x80) !== 0) {
    // Enhanced RTMP v2: [isExHeader:1][frameType:3][packetType:4][fourCC:4 bytes]
    const frameType = (first >> 4) & 0x07;
    const exType = first & 0x0f;
    const codec = data.length >= 5 ? data.toString('latin1', 1, 5) : '';
    const packetType = exType === 0 ? 'sequenceHeader' : exType === 1 || exType === 3 ? 'nalu' : 'other';
    const compositionTimeMs = exType === 1 && data.length >= 8 ? data.readIntBE(5, 3) : 0;
    return { frameType, keyframe: frameType === 1, codec, packetType, compositionTimeMs };
  }
  const frameType = first >> 4;
  const codec = first & 0x0f;
  if (codec !== 7 || data.length < 5) {
    return { frameType, keyframe: frameType === 1, codec, packetType: 'other', compositionTimeMs: 0 };
  }
  const avcType = data.readUInt8(1);
  const packetType = avcType === 0 ? 'sequenceHeader' : avcType === 1 ? 'nalu' : 'endOfSequence';
  return { frameType, keyframe: frameType === 1, codec, packetType, compositionTimeMs: data.readIntBE(2, 3) };
}

function parseAudio(data: Buffer): NonNullable<FlvTag['audio']> {
  const soundFormat = data.readUInt8(0) >> 4;
  if (soundFormat !== 10 || data.length < 2) return { soundFormat, packetType: 'other' };
  return { soundFormat, packetType: data.readUInt8(1) === 0 ? 'sequenceHeader' : 'raw' };
}

function parseScriptName(data: Buffer): string | undefined {
  if (data.length < 3 || data.readUInt8(0) !== 2) return undefined; // AMF0 string marker
  const length = data.readUInt16BE(1);
  return data.toString('utf8', 3, 3 + length);
}

/** What a recording starts with, and the problems found (empty when it is a clean start). */
export interface RecordingStart {
  /** An AVC sequence header comes before the first coded video frame. */
  videoHeaderBeforeFrames: boolean;
  /** An AAC sequence header comes before the first raw AAC frame. */
  audioHeaderBeforeFrames: boolean;
  /** The first coded video frame is a keyframe. */
  firstVideoFrameIsKeyframe: boolean;
  /** Timestamp of the first coded video frame, ms (undefined without video). */
  firstVideoTimestampMs: number | undefined;
  /** Timestamp of the first raw audio frame, ms (undefined without audio). */
  firstAudioTimestampMs: number | undefined;
  /** Human-readable problems; empty means "both sequence headers, then a keyframe". */
  problems: string[];
}

/** Checks that a recording starts with both sequence headers and that its first video frame is a keyframe. */
export function checkRecordingStart(tags: readonly FlvTag[]): RecordingStart {
  const firstVideo = tags.findIndex((t) => t.video?.packetType === 'nalu');
  const firstAudio = tags.findIndex((t) => t.audio?.packetType === 'raw');
  const videoHeader = tags.findIndex((t) => t.video?.packetType === 'sequenceHeader');
  const audioHeader = tags.findIndex((t) => t.audio?.packetType === 'sequenceHeader');
  const result: RecordingStart = {
    videoHeaderBeforeFrames: videoHeader >= 0 && (firstVideo < 0 || videoHeader < firstVideo),
    audioHeaderBeforeFrames: audioHeader >= 0 && (firstAudio < 0 || audioHeader < firstAudio),
    firstVideoFrameIsKeyframe: firstVideo >= 0 && tags[firstVideo]?.video?.keyframe === true,
    firstVideoTimestampMs: firstVideo >= 0 ? tags[firstVideo]?.timestampMs : undefined,
    firstAudioTimestampMs: firstAudio >= 0 ? tags[firstAudio]?.timestampMs : undefined,
    problems: [],
  };
  if (!result.videoHeaderBeforeFrames)
    result.problems.push('no AVC sequence header before the first video frame');
  if (!result.audioHeaderBeforeFrames)
    result.problems.push('no AAC sequence header before the first audio frame');
  if (firstVideo < 0) result.problems.push('no video frame at all');
  else if (!result.firstVideoFrameIsKeyframe) {
    result.problems.push(`first video frame (tag at byte ${tags[firstVideo]?.offset}) is not a keyframe`);
  }
  return result;
}

/** Timestamps (ms) of the tags of one type, in file order; handy for cross-recording checks. */
export function tagTimestamps(tags: readonly FlvTag[], type: number): number[] {
  return tags.filter((t) => t.type === type).map((t) => t.timestampMs);
}
