import type { EncodedPacket, StreamConfig } from '../../../src/media/packet.js';

/** Options of a fake packet: timestamps in ms for readability. */
export interface FakePacketOptions {
  /** Capture/decode time, ms. */
  atMs?: number;
  /** Payload size, bytes. */
  bytes?: number;
  /** Reference frame (default true for video). */
  reference?: boolean;
}

function packet(kind: 'video' | 'audio', keyframe: boolean, options: FakePacketOptions): EncodedPacket {
  const dtsUs = Math.round((options.atMs ?? 0) * 1000);
  const byteLength = options.bytes ?? (kind === 'audio' ? 400 : keyframe ? 40_000 : 8_000);
  return {
    kind,
    // The payload is never read by the output path; an empty buffer keeps tests fast.
    data: Buffer.alloc(0),
    dtsUs,
    ptsUs: dtsUs,
    keyframe,
    reference: kind === 'video' ? (options.reference ?? true) : false,
    byteLength,
  };
}

/** A video keyframe (IDR). */
export function keyframe(options: FakePacketOptions = {}): EncodedPacket {
  return packet('video', true, options);
}

/** A video inter frame (reference unless `reference: false`). */
export function interFrame(options: FakePacketOptions = {}): EncodedPacket {
  return packet('video', false, options);
}

/** An AAC frame. */
export function audio(options: FakePacketOptions = {}): EncodedPacket {
  return packet('audio', true, options);
}

/** A deterministic PRNG (mulberry32): same seed, same sequence. */
export { mulberry32 } from '../../helpers/prng.js';

/** A 720p30 H.264 + 48 kHz stereo AAC stream's configuration, as an output gets it; `bitrateBps` of the video. */
export function h264Config(bitrateBps = 2_500_000): StreamConfig {
  return {
    video: {
      codec: 'h264',
      decoderConfigurationRecord: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0]),
      width: 1280,
      height: 720,
      fps: 30,
      bitrateBps,
      encoderName: 'libx264',
    },
    audio: {
      audioSpecificConfig: Buffer.from([0x11, 0x90]),
      sampleRate: 48000,
      channels: 2,
      bitrateBps: 160_000,
    },
  };
}
