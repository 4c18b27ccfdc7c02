import { Codec, CodecContext, Frame, Packet, Rational } from 'node-av';
import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_CHANNEL_LAYOUT_STEREO,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_SAMPLE_FMT_FLTP,
  type FFEncoderCodec,
} from 'node-av/constants';
import type { MixedAudioFrame } from '../media/frames.js';
import { ConfigError, MediaError } from '../core/errors.js';
import { SerialWorker } from '../core/serial-worker.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { AudioConfig, EncodedPacket } from '../media/packet.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

const AVERROR_EAGAIN = -11;
const AVERROR_EOF = -541478725;

/** AudioEncoder options. */
export interface AudioEncoderOptions {
  /** Sample rate, Hz; default 48000. */
  sampleRate: number;
  /** Channels (1 or 2); default 2. */
  channels: number;
  /** Target bitrate, bits per second; default 160_000. */
  bitrateBps: number;
  /** FFmpeg AAC encoder; default `aac` (FFmpeg's native AAC-LC). */
  encoder: string;
}

/** Counters of the AudioEncoder. */
export interface AudioEncoderStats {
  /** Blocks of PCM encoded. */
  readonly framesEncoded: number;
  /** Packets produced. */
  readonly packetsOut: number;
  /** Constant shift applied so the encoder's priming never gives a negative time, µs (usually 0). */
  readonly primingShiftUs: number;
}

/** Events of the AudioEncoder. */
export type AudioEncoderEvents = {
  packet: [EncodedPacket];
  error: [Error];
};

/** Default AudioEncoder options: AAC-LC 48 kHz stereo 160 kbit/s. */
export function audioEncoderDefaults(): AudioEncoderOptions {
  return { ...MEDIA_DEFAULTS.audio, encoder: 'aac' };
}

/** Throws ConfigError when an option is out of range. */
export function validateAudioEncoderOptions(o: AudioEncoderOptions): void {
  if (!(o.bitrateBps >= 32_000 && o.bitrateBps <= 512_000)) {
    throw new ConfigError('audio.bitrateBps', o.bitrateBps, 'use 32k to 512k bits per second, e.g. 160k');
  }
  if (o.channels !== 1 && o.channels !== 2) throw new ConfigError('audio.channels', o.channels, 'use 1 or 2');
}

/**
 * AAC encoder on node-av's low-level API. Every block is kept (audio is never dropped); encoding
 * runs on the threadpool in submission order. Timestamps come from the sample count: a packet's
 * time is the time of the first input sample it reproduces, so A/V sync holds by construction.
 */
export class AudioEncoder extends TypedEmitter<AudioEncoderEvents> {
  /** Stream configuration for muxers (AudioSpecificConfig). */
  readonly config: AudioConfig;
  readonly #options: AudioEncoderOptions;
  readonly #context: CodecContext;
  readonly #packet: Packet;
  readonly #frameSize: number;
  readonly #worker: SerialWorker<MixedAudioFrame>;
  #originUs: number | null = null;
  #shiftUs: number | null = null;
  #closed = false;
  #framesEncoded = 0;
  #packetsOut = 0;

  private constructor(options: AudioEncoderOptions, context: CodecContext, config: AudioConfig) {
    super();
    this.#options = options;
    this.#context = context;
    this.config = config;
    this.#frameSize = context.frameSize || 1024;
    this.#packet = new Packet();
    this.#packet.alloc();
    this.#worker = new SerialWorker(
      (block) => this.#encodeOne(block),
      (error) => this.emit('error', error),
    );
  }

  /** Opens the encoder. */
  static async open(partial: Partial<AudioEncoderOptions> = {}): Promise<AudioEncoder> {
    const options: AudioEncoderOptions = { ...audioEncoderDefaults(), ...partial };
    validateAudioEncoderOptions(options);
    const codec = Codec.findEncoderByName(options.encoder as FFEncoderCodec);
    if (!codec) throw new ConfigError('audio.encoder', options.encoder, 'use aac');
    const context = new CodecContext();
    context.allocContext3(codec);
    context.sampleRate = options.sampleRate;
    context.channelLayout = options.channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
    context.sampleFormat = AV_SAMPLE_FMT_FLTP;
    context.bitRate = BigInt(options.bitrateBps);
    context.timeBase = new Rational(1, options.sampleRate);
    context.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
    const ret = await context.open2(codec, null);
    const asc = context.extraData;
    if (ret < 0 || !asc) {
      context.freeContext();
      throw new MediaError(`opening ${options.encoder}`, `error ${ret}`);
    }
    return new AudioEncoder(options, context, {
      audioSpecificConfig: Buffer.from(asc),
      sampleRate: options.sampleRate,
      channels: options.channels,
      bitrateBps: options.bitrateBps,
    });
  }

  /** Samples per block the encoder takes (1024 for AAC-LC). */
  get frameSize(): number {
    return this.#frameSize;
  }

  /** Snapshot of the encoder's counters. */
  get stats(): AudioEncoderStats {
    return {
      framesEncoded: this.#framesEncoded,
      packetsOut: this.#packetsOut,
      primingShiftUs: this.#shiftUs ?? 0,
    };
  }

  /** Queues one block of interleaved PCM (`frameSize` frames); never drops it. */
  encode(frame: MixedAudioFrame): void {
    if (this.#closed) return;
    this.#originUs ??= frame.ptsUs - (frame.sampleIndex * 1e6) / this.#options.sampleRate;
    this.#worker.push(frame);
  }

  /** Resolves when every queued block has been encoded. */
  drained(): Promise<void> {
    return this.#worker.drained();
  }

  /** Encodes what is queued, flushes the encoder's tail, frees it; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.drained();
    try {
      await this.#context.sendFrame(null);
      await this.#receive();
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    this.#packet.free();
    this.#context.freeContext();
  }

  async #encodeOne(block: MixedAudioFrame): Promise<void> {
    const { channels, sampleRate } = this.#options;
    const frames = block.samples.length / channels;
    // FLTP: one plane per channel, one after the other.
    const planes = new Float32Array(frames * channels);
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < frames; i++) planes[c * frames + i] = block.samples[i * channels + c] ?? 0;
    }
    const planar = Buffer.from(planes.buffer, planes.byteOffset, planes.byteLength);
    const frame = Frame.fromAudioBuffer(planar, {
      nbSamples: frames,
      format: AV_SAMPLE_FMT_FLTP,
      sampleRate,
      channelLayout: channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO,
      timeBase: new Rational(1, sampleRate),
      pts: BigInt(block.sampleIndex),
    });
    try {
      const ret = await this.#context.sendFrame(frame);
      if (ret < 0 && ret !== AVERROR_EAGAIN) throw new MediaError('encoding audio', `error ${ret}`);
    } finally {
      frame.free();
    }
    this.#framesEncoded++;
    await this.#receive();
  }

  async #receive(): Promise<void> {
    for (;;) {
      const ret = await this.#context.receivePacket(this.#packet);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) break;
      if (ret < 0) throw new MediaError('receiving an audio packet', `error ${ret}`);
      const data = this.#packet.data;
      const samplePts = Number(this.#packet.pts);
      this.#packet.unref();
      if (!data) continue;
      let ptsUs = (this.#originUs ?? 0) + (samplePts * 1e6) / this.#options.sampleRate;
      // AAC priming makes the first packet's pts one frame early; shift once if that is < 0.
      this.#shiftUs ??= Math.max(0, -ptsUs);
      ptsUs = Math.round(ptsUs + this.#shiftUs);
      this.#packetsOut++;
      this.emit('packet', {
        kind: 'audio',
        data,
        dtsUs: ptsUs,
        ptsUs,
        keyframe: true,
        reference: false,
        byteLength: data.length,
      });
    }
  }
}
