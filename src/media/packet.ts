/** What kind of media a packet carries. */
export type MediaKind = 'video' | 'audio';

/** A video codec a session can encode and publish: H.264/AVC, H.265/HEVC or AV1. */
export type VideoCodec = 'h264' | 'hevc' | 'av1';

/** One encoded access unit, shared (read-only) by every output of a session. */
export interface EncodedPacket {
  /** Video (the session's codec) or audio (AAC). */
  readonly kind: MediaKind;
  /** Video: H.264/HEVC 4-byte length-prefixed NAL units, or an AV1 temporal unit's OBUs. Audio: one raw AAC frame. */
  readonly data: Buffer;
  /** Decode timestamp, microseconds on the session clock (never negative). */
  readonly dtsUs: number;
  /** Presentation timestamp, microseconds on the session clock (≥ dtsUs). */
  readonly ptsUs: number;
  /** Video: a decoder can start here (H.264 IDR, HEVC IRAP, AV1 shown key frame). Audio: always true. */
  readonly keyframe: boolean;
  /** Video: other frames may reference this one (false for disposable frames). Audio: false. */
  readonly reference: boolean;
  /** `data.length`, kept apart so queues can account bytes without touching buffers. */
  readonly byteLength: number;
  /** Video: the rendition (encode) it belongs to; undefined for the main one and for audio. */
  readonly rendition?: string;
}

/** The video stream's configuration, needed before the first video packet. */
export interface VideoConfig {
  /** The codec. */
  readonly codec: VideoCodec;
  /**
   * The codec's configuration record: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1),
   * HEVCDecoderConfigurationRecord (§8.3.3.1) or AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3).
   */
  readonly decoderConfigurationRecord: Buffer;
  /** Coded width in pixels. */
  readonly width: number;
  /** Coded height in pixels. */
  readonly height: number;
  /** Frames per second. */
  readonly fps: number;
  /** Target bitrate, bits per second. */
  readonly bitrateBps: number;
  /** Encoder name, e.g. `libx264`. */
  readonly encoderName: string;
}

/** The AAC stream's configuration, needed before the first audio packet. */
export interface AudioConfig {
  /** AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). */
  readonly audioSpecificConfig: Buffer;
  /** Samples per second. */
  readonly sampleRate: number;
  /** Channel count. */
  readonly channels: number;
  /** Target bitrate, bits per second. */
  readonly bitrateBps: number;
}

/** Both streams' configuration; a stream that is off is absent. */
export interface StreamConfig {
  /** Present when the session has video: the main rendition. */
  readonly video?: VideoConfig;
  /** The other renditions being encoded now, by name (packets carry the name in `rendition`). */
  readonly renditions?: ReadonlyMap<string, VideoConfig>;
  /** Present when the session has audio. */
  readonly audio?: AudioConfig;
}
