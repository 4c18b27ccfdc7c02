/**
 * Real bitstreams for unit tests of the codec parsers and the enhanced FLV tags: a few small pictures
 * of a moving pattern, encoded by node-av's encoders (libx265, libsvtav1, libx264) exactly as they
 * come out of FFmpeg (Annex-B for H.264/HEVC, low-overhead OBUs for AV1), with the global header.
 */
import { Codec, CodecContext, CodecParameters, Frame, Packet, Rational } from 'node-av';
import {
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_YUV420P,
  type FFEncoderCodec,
} from 'node-av/constants';

/** One packet as the encoder emitted it. */
export interface SamplePacket {
  /** Presentation time, µs. */
  readonly ptsUs: number;
  /** Decode time, µs (negative at the start of a stream with B-frames). */
  readonly dtsUs: number;
  /** FFmpeg's AV_PKT_FLAG_KEY. */
  readonly keyframe: boolean;
  /** The packet's bytes. */
  readonly data: Buffer;
}

/** What `encodeSamples()` returns. */
export interface EncodedSamples {
  /** The encoder's extradata (global header). */
  readonly extradata: Buffer;
  /** node-av's `getDecoderConfigurationRecord()` of the encoder's parameters (avcC/hvcC, or raw extradata). */
  readonly record: Buffer;
  /** Every packet, in decode order, the flush included. */
  readonly packets: readonly SamplePacket[];
}

/** Options of `encodeSamples()`. */
export interface SampleOptions {
  /** Pictures to encode; default 12. */
  readonly frames?: number;
  /** Width and height, px; default 192x108. */
  readonly width?: number;
  /** Height, px. */
  readonly height?: number;
  /** Maximum consecutive B-frames; default 0. */
  readonly bFrames?: number;
  /** GOP length in frames; default 30. */
  readonly gop?: number;
  /** Indices of pictures sent as forced keyframes (pict_type I). */
  readonly forceKeyframesAt?: readonly number[];
  /** Encoder private options, set with setOption(). */
  readonly options?: Record<string, string>;
}

const FPS = 30;

/** Encodes a moving test pattern with `encoder` and returns its extradata and packets. */
export async function encodeSamples(encoder: string, sample: SampleOptions = {}): Promise<EncodedSamples> {
  const width = sample.width ?? 192;
  const height = sample.height ?? 108;
  const frames = sample.frames ?? 12;
  const codec = Codec.findEncoderByName(encoder as FFEncoderCodec);
  if (!codec) throw new Error(`node-av has no ${encoder}`);
  const context = new CodecContext();
  context.allocContext3(codec);
  context.width = width;
  context.height = height;
  context.pixelFormat = AV_PIX_FMT_YUV420P;
  context.timeBase = new Rational(1, 1_000_000);
  context.framerate = new Rational(FPS, 1);
  context.gopSize = sample.gop ?? 30;
  context.maxBFrames = sample.bFrames ?? 0;
  context.bitRate = 400_000n;
  context.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
  for (const [key, value] of Object.entries(sample.options ?? {})) {
    if (context.setOption(key, value) < 0) throw new Error(`${encoder} refuses ${key}=${value}`);
  }
  const opened = await context.open2(codec, null);
  if (opened < 0) throw new Error(`cannot open ${encoder}: error ${opened}`);
  const parameters = new CodecParameters();
  parameters.alloc();
  parameters.fromContext(context);
  const record = Buffer.from(parameters.getDecoderConfigurationRecord() ?? Buffer.alloc(0));
  parameters.free();
  const extradata = Buffer.from(context.extraData ?? Buffer.alloc(0));
  const frame = new Frame();
  frame.alloc();
  frame.format = AV_PIX_FMT_YUV420P;
  frame.width = width;
  frame.height = height;
  frame.getBuffer();
  const packet = new Packet();
  packet.alloc();
  const packets: SamplePacket[] = [];
  const receive = async (): Promise<void> => {
    for (;;) {
      const ret = await context.receivePacket(packet);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) return;
      if (ret < 0) throw new Error(`${encoder} failed: error ${ret}`);
      packets.push({
        ptsUs: Number(packet.pts),
        dtsUs: Number(packet.dts),
        keyframe: packet.isKeyframe,
        data: Buffer.from(packet.data ?? Buffer.alloc(0)),
      });
      packet.unref();
    }
  };
  try {
    const picture = Buffer.alloc((width * height * 3) / 2, 128);
    for (let i = 0; i < frames; i++) {
      // A diagonal gradient that moves a few pixels per frame, and a bright square crossing it.
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const inSquare = Math.abs(x - ((i * 6) % width)) < 12 && Math.abs(y - height / 2) < 12;
          picture[y * width + x] = inSquare ? 235 : (x + y + i * 3) & 0xff;
        }
      }
      frame.makeWritable();
      frame.fromBuffer(picture);
      frame.pts = BigInt(Math.round((i * 1_000_000) / FPS));
      frame.pictType =
        sample.forceKeyframesAt?.includes(i) === true ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      const sent = await context.sendFrame(frame);
      if (sent < 0 && sent !== AVERROR_EAGAIN) throw new Error(`${encoder} refused a frame: error ${sent}`);
      await receive();
    }
    await context.sendFrame(null);
    await receive();
  } finally {
    frame.free();
    packet.free();
    context.freeContext();
  }
  return { extradata, record, packets };
}
