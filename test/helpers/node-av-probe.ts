/**
 * What a recording holds, read and decoded with node-av (FFmpeg 8.1), for files Debian's ffmpeg 5.1
 * cannot read (Enhanced RTMP / enhanced FLV: HEVC and AV1 with a FourCC). Same report as
 * `probeMedia()` (ffprobe), plus what the decoders actually produced.
 */
import { Codec, CodecContext, FormatContext, Frame, Packet, avGetCodecName, type Stream } from 'node-av';
import { routeFfmpegLog } from '../../src/observe/ffmpeg-log.js';
import {
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  AV_NOPTS_VALUE,
} from 'node-av/constants';
import {
  reportOf,
  type MediaReport,
  type ProbeOptions,
  type ProbePacket,
  type ProbeStream,
} from './media-probe.js';

/** `probeMedia()`'s report, plus the decoders' output. */
export interface NodeAvReport extends MediaReport {
  /** Pictures the video decoder produced (every packet of a clean stream gives one). */
  decodedVideoFrames: number;
  /** Audio frames the audio decoder produced. */
  decodedAudioFrames: number;
  /** The video stream's codec extradata as the demuxer handed it to the decoder (hex). */
  videoExtradataHex: string;
  /** pts of every video packet, s, in file order. */
  videoPacketTimesS: number[];
  /** Every video stream (an enhanced FLV multitrack file gives one per track), in stream order. */
  videoTracks: VideoTrackReport[];
}

/** One video stream of a file, as the demuxer and its decoder saw it. */
export interface VideoTrackReport {
  /** The stream's id: FFmpeg's FLV demuxer sets it to the Enhanced RTMP video track id. */
  readonly id: number;
  /** Coded size, px. */
  readonly width: number;
  /** Coded size, px. */
  readonly height: number;
  /** Packets read. */
  readonly packets: number;
  /** Of those, keyframes. */
  readonly keyframes: number;
  /** Pictures its decoder produced. */
  readonly decodedFrames: number;
  /** pts of every packet, s, in file order. */
  readonly packetTimesS: readonly number[];
}

interface Decoding {
  readonly context: CodecContext;
  frames: number;
}

/**
 * Demuxes `file` with node-av's low-level API (its high-level demuxer needs `Promise.withResolvers`,
 * which Node 20 lacks) and decodes every audio and video packet. Decode errors are the decoders'
 * negative return codes and every line FFmpeg logs at error level meanwhile.
 */
export async function probeWithNodeAv(file: string, options: ProbeOptions = {}): Promise<NodeAvReport> {
  const input = new FormatContext();
  let ret = await input.openInput(file);
  if (ret < 0) throw new Error(`node-av cannot open ${file}: error ${ret}`);
  const errors: string[] = [];
  const decoders = new Map<number, Decoding>();
  const packet = new Packet();
  const frame = new Frame();
  packet.alloc();
  frame.alloc();
  // FFmpeg's error lines while this file is read and decoded (the library's one log route).
  const stopLog = routeFfmpegLog('error', (record) => errors.push(record.message.trim()));
  try {
    ret = await input.findStreamInfo();
    if (ret < 0) throw new Error(`node-av cannot read ${file}: error ${ret}`);
    const streams = input.streams.map((s) => describeStream(s));
    if (options.skipDecode !== true) {
      for (const stream of input.streams) {
        const decoder = await openDecoder(stream);
        if (decoder) decoders.set(stream.index, decoder);
      }
    }
    const packets: ProbePacket[] = [];
    for (;;) {
      ret = await input.readFrame(packet);
      if (ret === AVERROR_EOF) break;
      if (ret < 0) {
        errors.push(`reading a packet: error ${ret}`);
        break;
      }
      const stream = input.streams[packet.streamIndex];
      if (stream) packets.push(describePacket(packet, stream));
      const decoder = decoders.get(packet.streamIndex);
      if (decoder) await decode(decoder, packet, frame, errors);
      packet.unref();
    }
    for (const decoder of decoders.values()) await decode(decoder, null, frame, errors);
    // FFmpeg's log lines reach JavaScript asynchronously: let the last ones in before reading them.
    await new Promise((resolve) => setImmediate(resolve));
    const report = reportOf(file, { streams, packets, format: {} }, errors, options);
    const videoStream = input.streams.find((s) => s.codecpar.codecType === AVMEDIA_TYPE_VIDEO);
    const audioStream = input.streams.find((s) => s.codecpar.codecType === AVMEDIA_TYPE_AUDIO);
    return {
      ...report,
      decodedVideoFrames: videoStream ? (decoders.get(videoStream.index)?.frames ?? 0) : 0,
      decodedAudioFrames: audioStream ? (decoders.get(audioStream.index)?.frames ?? 0) : 0,
      videoExtradataHex: videoStream?.codecpar.extradata?.toString('hex') ?? '',
      videoPacketTimesS: packets
        .filter((p) => p.stream_index === videoStream?.index)
        .map((p) => Number(p.pts_time)),
      videoTracks: input.streams
        .filter((s) => s.codecpar.codecType === AVMEDIA_TYPE_VIDEO)
        .map((s) => {
          const own = packets.filter((p) => p.stream_index === s.index);
          return {
            id: s.id,
            width: s.codecpar.width,
            height: s.codecpar.height,
            packets: own.length,
            keyframes: own.filter((p) => p.flags?.startsWith('K') === true).length,
            decodedFrames: decoders.get(s.index)?.frames ?? 0,
            packetTimesS: own.map((p) => Number(p.pts_time)),
          };
        }),
    };
  } finally {
    stopLog();
    for (const decoder of decoders.values()) decoder.context.freeContext();
    packet.free();
    frame.free();
    await input.closeInput();
  }
}

function describeStream(stream: Stream): ProbeStream {
  const par = stream.codecpar;
  const type =
    par.codecType === AVMEDIA_TYPE_VIDEO ? 'video' : par.codecType === AVMEDIA_TYPE_AUDIO ? 'audio' : 'other';
  return {
    index: stream.index,
    codec_type: type,
    codec_name: avGetCodecName(par.codecId) ?? 'unknown',
    width: par.width,
    height: par.height,
    sample_rate: String(par.sampleRate),
    channels: par.channels,
  };
}

function describePacket(packet: Packet, stream: Stream): ProbePacket {
  const tb = stream.timeBase;
  const seconds = (t: bigint): string | undefined =>
    t === AV_NOPTS_VALUE ? undefined : String((Number(t) * tb.num) / tb.den);
  const type = stream.codecpar.codecType === AVMEDIA_TYPE_VIDEO ? 'video' : 'audio';
  return {
    codec_type: type,
    stream_index: packet.streamIndex,
    pts_time: seconds(packet.pts),
    dts_time: seconds(packet.dts),
    duration_time: seconds(packet.duration),
    flags: packet.isKeyframe ? 'K_' : '__',
  };
}

async function openDecoder(stream: Stream): Promise<Decoding | null> {
  const type = stream.codecpar.codecType;
  if (type !== AVMEDIA_TYPE_VIDEO && type !== AVMEDIA_TYPE_AUDIO) return null;
  const codec = Codec.findDecoder(stream.codecpar.codecId);
  if (!codec) throw new Error(`node-av has no decoder for ${avGetCodecName(stream.codecpar.codecId)}`);
  const context = new CodecContext();
  context.allocContext3(codec);
  context.parametersToContext(stream.codecpar);
  context.pktTimebase = stream.timeBase;
  const ret = await context.open2(codec);
  if (ret < 0) {
    context.freeContext();
    throw new Error(`node-av cannot open the ${codec.name} decoder: error ${ret}`);
  }
  return { context, frames: 0 };
}

async function decode(
  decoder: Decoding,
  packet: Packet | null,
  frame: Frame,
  errors: string[],
): Promise<void> {
  const sent = await decoder.context.sendPacket(packet);
  if (sent < 0 && sent !== AVERROR_EAGAIN && sent !== AVERROR_EOF) errors.push(`decoding: error ${sent}`);
  for (;;) {
    const got = await decoder.context.receiveFrame(frame);
    if (got === AVERROR_EAGAIN || got === AVERROR_EOF) return;
    if (got < 0) {
      errors.push(`receiving a frame: error ${got}`);
      return;
    }
    decoder.frames++;
    frame.unref();
  }
}
