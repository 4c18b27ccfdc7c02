import { Codec, CodecContext, Frame, Rational } from 'node-av/lib';
import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_CHANNEL_LAYOUT_STEREO,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_SAMPLE_FMT_FLTP,
  AV_SAMPLE_FMT_S16,
  type AVSampleFormat,
  type FFEncoderCodec,
} from 'node-av/constants';
import type { MixedAudioFrame } from '../media/frames.js';
import { ConfigError, MediaError } from '../core/errors.js';
import { SerialWorker } from '../core/serial-worker.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { AudioConfig, EncodedPacket } from '../media/packet.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';
import { EncoderCore, type RawPacket } from '../ffmpeg/encoder-core.js';

/** The AAC encoders steadycast can drive: Fraunhofer's (when the FFmpeg build has it) and FFmpeg's own. */
export const AAC_ENCODERS = ['libfdk_aac', 'aac'] as const;

/** AudioEncoder options. */
export interface AudioEncoderOptions {
  /** Sample rate, Hz; default 48000. */
  sampleRate: number;
  /** Channels (1 or 2); default 2. */
  channels: number;
  /** Target bitrate, bits per second; default 160_000. */
  bitrateBps: number;
  /**
   * FFmpeg AAC-LC encoder: `libfdk_aac` (Fraunhofer FDK, default: a third of `aac`'s CPU for the same
   * delay; falls back to `aac`, noted in the stats, when this FFmpeg build lacks it) or `aac` (FFmpeg's own).
   */
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
  /** Leading packets left out because they cover only time before the first sample (encoder priming). */
  readonly primingPacketsSkipped: number;
  /** The encoder in use (may differ from the one asked for: see `encoderNote`). */
  readonly encoder: string;
  /** Why the encoder in use is not the one asked for, or null. */
  readonly encoderNote: string | null;
}

/** Events of the AudioEncoder. */
export type AudioEncoderEvents = {
  packet: [EncodedPacket];
  error: [Error];
};

/** Default AudioEncoder options: AAC-LC 48 kHz stereo 160 kbit/s. */
export function audioEncoderDefaults(): AudioEncoderOptions {
  return { ...MEDIA_DEFAULTS.audio, encoder: 'libfdk_aac' };
}

/** Throws ConfigError when an option is out of range. */
export function validateAudioEncoderOptions(o: AudioEncoderOptions): void {
  if (!(o.bitrateBps >= 32_000 && o.bitrateBps <= 512_000)) {
    throw new ConfigError('audio.bitrateBps', o.bitrateBps, 'use 32k to 512k bits per second, e.g. 160k');
  }
  if (o.channels !== 1 && o.channels !== 2) throw new ConfigError('audio.channels', o.channels, 'use 1 or 2');
  if (!(AAC_ENCODERS as readonly string[]).includes(o.encoder)) {
    throw new ConfigError('audio.encoder', o.encoder, `use ${AAC_ENCODERS.join(' or ')}`);
  }
}

/** The encoder to open for `wanted`, and a note when this FFmpeg build makes it another. */
export function chooseAacEncoder(
  wanted: string,
  available: (name: string) => boolean,
): { name: string; note: string | null } {
  if (available(wanted)) return { name: wanted, note: null };
  if (wanted !== 'aac' && available('aac')) {
    return { name: 'aac', note: `${wanted} is not in this FFmpeg build; using aac` };
  }
  throw new ConfigError('audio.encoder', wanted, 'this FFmpeg build has no such encoder; use aac');
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
  readonly #core: EncoderCore;
  readonly #frameSize: number;
  readonly #worker: SerialWorker<MixedAudioFrame>;
  readonly #note: string | null;
  readonly #encoder: string;
  /** One frame reused for every block (the encoders copy their input). */
  readonly #frame: Frame;
  readonly #staging: Buffer;
  readonly #sampleFormat: AVSampleFormat;
  #originUs: number | null = null;
  #shiftUs: number | null = null;
  #closed = false;
  #framesEncoded = 0;
  #packetsOut = 0;
  #primingSkipped = 0;
  readonly #onPacket = (packet: RawPacket): void => this.#emitPacket(packet);

  private constructor(
    options: AudioEncoderOptions,
    context: CodecContext,
    config: AudioConfig,
    encoder: { name: string; note: string | null },
  ) {
    super();
    this.#options = options;
    this.#core = new EncoderCore(context, encoder.name, 'audio');
    this.config = config;
    this.#encoder = encoder.name;
    this.#note = encoder.note;
    this.#frameSize = context.frameSize || 1024;
    this.#sampleFormat = context.sampleFormat;
    const bytesPerSample = this.#sampleFormat === AV_SAMPLE_FMT_S16 ? 2 : 4;
    this.#staging = Buffer.alloc(this.#frameSize * options.channels * bytesPerSample);
    this.#frame = new Frame();
    this.#frame.alloc();
    this.#frame.format = this.#sampleFormat;
    this.#frame.nbSamples = this.#frameSize;
    this.#frame.sampleRate = options.sampleRate;
    this.#frame.channelLayout = layoutOf(options.channels);
    this.#frame.timeBase = new Rational(1, options.sampleRate);
    if (this.#frame.getBuffer(0) < 0) throw new MediaError('allocating an audio frame', `${this.#frameSize}`);
    this.#worker = new SerialWorker(
      (block) => this.#encodeOne(block),
      (error) => this.emit('error', error),
    );
  }

  /** Opens the encoder (falling back from libfdk_aac to aac when this FFmpeg build lacks it). */
  static async open(partial: Partial<AudioEncoderOptions> = {}): Promise<AudioEncoder> {
    const options: AudioEncoderOptions = { ...audioEncoderDefaults(), ...partial };
    validateAudioEncoderOptions(options);
    const chosen = chooseAacEncoder(
      options.encoder,
      (name) => Codec.findEncoderByName(name as FFEncoderCodec) !== null,
    );
    const codec = Codec.findEncoderByName(chosen.name as FFEncoderCodec);
    if (!codec) throw new ConfigError('audio.encoder', options.encoder, 'use aac');
    // FFmpeg's aac takes planar float; libfdk_aac takes interleaved 16-bit.
    const formats = codec.sampleFormats ?? [AV_SAMPLE_FMT_FLTP];
    const sampleFormat = formats.includes(AV_SAMPLE_FMT_FLTP) ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_S16;
    if (!formats.includes(sampleFormat)) {
      throw new MediaError(`opening ${chosen.name}`, 'it takes neither planar float nor 16-bit samples');
    }
    const context = new CodecContext();
    context.allocContext3(codec);
    context.sampleRate = options.sampleRate;
    context.channelLayout = layoutOf(options.channels);
    context.sampleFormat = sampleFormat;
    context.bitRate = BigInt(options.bitrateBps);
    context.timeBase = new Rational(1, options.sampleRate);
    context.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
    const ret = await context.open2(codec, null);
    const asc = context.extraData;
    if (ret < 0 || !asc) {
      context.freeContext();
      throw new MediaError(`opening ${chosen.name}`, `error ${ret}`);
    }
    return new AudioEncoder(
      options,
      context,
      {
        audioSpecificConfig: Buffer.from(asc),
        sampleRate: options.sampleRate,
        channels: options.channels,
        bitrateBps: options.bitrateBps,
      },
      chosen,
    );
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
      primingPacketsSkipped: this.#primingSkipped,
      encoder: this.#encoder,
      encoderNote: this.#note,
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
      // Flushing an encoder that never had a frame makes libfdk_aac warn about an empty queue.
      if (this.#framesEncoded > 0) await this.#core.encode(null, this.#onPacket);
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    this.#frame.free();
    this.#core.free();
  }

  async #encodeOne(block: MixedAudioFrame): Promise<void> {
    const frames = block.samples.length / this.#options.channels;
    if (frames !== this.#frameSize) {
      throw new MediaError(
        'encoding audio',
        `a block of ${frames} samples, the encoder takes ${this.#frameSize}`,
      );
    }
    this.#stage(block.samples, frames);
    const frame = this.#frame;
    if (frame.makeWritable() < 0) throw new MediaError('encoding audio', 'the frame cannot be reused');
    const ret = frame.fromBuffer(this.#staging);
    if (ret < 0) throw new MediaError('encoding audio', `error ${ret} copying samples`);
    frame.pts = BigInt(block.sampleIndex);
    this.#framesEncoded++;
    await this.#core.encode(frame, this.#onPacket);
  }

  /** Interleaved float → the encoder's layout: planar float (one plane per channel) or 16-bit interleaved. */
  #stage(samples: Float32Array, frames: number): void {
    const { channels } = this.#options;
    const staging = this.#staging;
    if (this.#sampleFormat === AV_SAMPLE_FMT_S16) {
      const out = new Int16Array(staging.buffer, staging.byteOffset, frames * channels);
      for (let i = 0; i < out.length; i++) {
        const v = samples[i] ?? 0;
        out[i] = v >= 1 ? 32767 : v <= -1 ? -32768 : Math.round(v * 32767);
      }
      return;
    }
    const planes = new Float32Array(staging.buffer, staging.byteOffset, frames * channels);
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < frames; i++) planes[c * frames + i] = samples[i * channels + c] ?? 0;
    }
  }

  #emitPacket(packet: RawPacket): void {
    const samplePts = Number(packet.pts);
    // An encoder with more than one frame of delay (libfdk_aac: 2048 samples) starts with packets that
    // cover only time before the first sample. The one just before it is kept (the decoder overlaps
    // it into the first real frame); earlier ones are silence before the stream and are left out, so
    // audio starts where video does whatever the encoder.
    if (samplePts < -this.#frameSize) {
      this.#primingSkipped++;
      return;
    }
    let ptsUs = (this.#originUs ?? 0) + (samplePts * 1e6) / this.#options.sampleRate;
    // AAC priming makes the first packet's pts one frame early; shift once if that is < 0.
    this.#shiftUs ??= Math.max(0, -ptsUs);
    ptsUs = Math.round(ptsUs + this.#shiftUs);
    this.#packetsOut++;
    const { data } = packet;
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

function layoutOf(channels: number): typeof AV_CHANNEL_LAYOUT_STEREO {
  return channels === 1 ? AV_CHANNEL_LAYOUT_MONO : AV_CHANNEL_LAYOUT_STEREO;
}
