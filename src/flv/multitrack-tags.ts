// Enhanced RTMP v2 multitrack video ("Enhanced Video", VideoPacketType.Multitrack; "Multitrack
// Streaming via Enhanced RTMP"): several renditions in one stream, each video message carrying one
// track's packet with its track id. Tag bodies only, no I/O.
import { Amf0EcmaArray, type Amf0Object } from '../amf0/amf0.js';
import type { StreamConfig, VideoConfig } from '../media/packet.js';
import { fourCcNumber, VIDEO_FOURCC, VideoPacketType } from './enhanced-tags.js';
import { onMetaData, type MetadataOptions } from './tags.js';

/** AvMultitrackType (Enhanced RTMP v2, enum AvMultitrackType). */
export const AvMultitrackType = {
  /** One track in the message: no track size field. */
  OneTrack: 0,
  /** Several tracks of one codec, each with a UI24 size. */
  ManyTracks: 1,
  /** Several tracks, each with its own FourCC and size. */
  ManyTracksManyCodecs: 2,
} as const;

/** The largest video track id: the field is a UI8. */
export const MAX_VIDEO_TRACK_ID = 0xff;

/** Bytes of an ExVideoTagHeader without multitrack: the first byte and the FourCC. */
const EX_HEADER_BYTES = 5;

/**
 * `exTag` (an ExVideoTagHeader tag of one stream: SequenceStart, CodedFrames, CodedFramesX or
 * SequenceEnd, as `exSequenceStartTag()`/`exCodedFramesTag()` make it) as the same packet of track
 * `trackId` in a Multitrack OneTrack message (Enhanced Video: byte 0 keeps IsExVideoHeader and the
 * frame type with VideoPacketType.Multitrack; byte 1 is AvMultitrackType << 4 | the packet's own
 * VideoPacketType; then the FourCC, the UI8 track id, and the body unchanged — OneTrack has no size).
 */
export function oneTrackVideoTag(trackId: number, exTag: Buffer): Buffer {
  if (!Number.isInteger(trackId) || trackId < 0 || trackId > MAX_VIDEO_TRACK_ID) {
    throw new RangeError(`video track id ${trackId} does not fit the UI8 field`);
  }
  const first = exTag[0];
  if (first === undefined || (first & 0x80) === 0 || exTag.length < EX_HEADER_BYTES) {
    throw new RangeError('not an ExVideoTagHeader tag');
  }
  const packetType = first & 0x0f;
  if (packetType === VideoPacketType.Multitrack) throw new RangeError('the tag is already multitrack');
  const tag = Buffer.allocUnsafe(exTag.length + 2);
  tag[0] = (first & 0xf0) | VideoPacketType.Multitrack;
  tag[1] = (AvMultitrackType.OneTrack << 4) | packetType;
  exTag.copy(tag, 2, 1, EX_HEADER_BYTES); // the FourCC
  tag[6] = trackId;
  exTag.copy(tag, 7, EX_HEADER_BYTES);
  return tag;
}

/**
 * `onMetaData` of a multitrack stream whose video tracks are `tracks` (index = track id): the top-level
 * video fields describe track 0, the default track ("Enhancing onMetaData": the default track is the
 * top-level fields), and `videoTrackIdInfoMap` gives every other track complete (width, height,
 * framerate, videodatarate in kbit/s, videocodecid as the FourCC number: the tracks travel in enhanced
 * tags, H.264 as `avc1` too). Audio stays one track, as `onMetaData()` describes it.
 */
export function multitrackOnMetaData(
  config: StreamConfig,
  tracks: readonly VideoConfig[],
  options: MetadataOptions = {},
): Amf0EcmaArray {
  const [base, ...others] = tracks;
  if (base === undefined) throw new RangeError('a multitrack stream needs at least one video track');
  const properties: Amf0Object = { ...onMetaData({ ...config, video: base }, options).properties };
  properties.videocodecid = trackFields(base).videocodecid;
  properties.videoTrackIdInfoMap = Object.fromEntries(
    others.map((video, i) => [String(i + 1), trackFields(video)]),
  );
  return new Amf0EcmaArray(properties);
}

function trackFields(video: VideoConfig): Amf0Object {
  return {
    width: video.width,
    height: video.height,
    framerate: video.fps,
    videodatarate: video.bitrateBps / 1000,
    videocodecid: fourCcNumber(VIDEO_FOURCC[video.codec]),
  };
}
