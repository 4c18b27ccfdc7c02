import { Packet, type CodecContext, type Frame } from 'node-av/lib';
import { AVERROR_EAGAIN, AVERROR_EOF } from 'node-av/constants';
import { MediaError } from '../core/errors.js';

/** What the caller reads from each packet while it is valid (inside `onPacket`). */
export interface RawPacket {
  /** The packet's bytes (a copy owned by the caller). */
  readonly data: Buffer;
  /** Presentation time in the context's time base. */
  readonly pts: bigint;
  /** Decode time in the context's time base. */
  readonly dts: bigint;
}

/**
 * Encoders whose `avcodec_send_frame()` does the encoding (FFmpeg's encode callback): their
 * `avcodec_receive_packet()` only hands over the packet already made, so it is called synchronously
 * instead of costing a threadpool round trip per packet. Encoders not listed (hardware encoders with
 * a receive callback, which may wait for the device) are received on the threadpool.
 */
const ENCODES_IN_SEND = new Set(['libx264', 'libx265', 'aac', 'libfdk_aac']);

/**
 * Encoders cheap enough per frame to run on the caller's thread: libfdk_aac takes about 0.23 ms per
 * 1024-sample frame here, and a threadpool round trip would add 30–50 µs of CPU and five thread
 * switches to each. FFmpeg's `aac` (0.67 ms) and the video encoders (milliseconds) stay on the threadpool.
 */
const SENDS_INLINE = new Set(['libfdk_aac']);

/**
 * The send/receive/flush loop of one FFmpeg encoder, shared by the video and audio encoders: sends a
 * frame on the libuv threadpool (node-av's async call; on the caller's thread for the encoders in
 * SENDS_INLINE), then takes every packet it produced. Return
 * codes are node-av's own constants (AVERROR_EAGAIN is −11 on Linux but −35 on macOS).
 */
export class EncoderCore {
  readonly #context: CodecContext;
  readonly #what: string;
  readonly #packet = new Packet();
  readonly #syncReceive: boolean;
  readonly #syncSend: boolean;
  #freed = false;

  /**
   * @param context - an opened encoder context; freed by `free()`
   * @param encoderName - the FFmpeg encoder's name (decides whether packets are received synchronously)
   * @param what - what it encodes, for error messages (`video`, `audio`)
   */
  constructor(context: CodecContext, encoderName: string, what: string) {
    this.#context = context;
    this.#what = what;
    this.#syncReceive = ENCODES_IN_SEND.has(encoderName);
    this.#syncSend = SENDS_INLINE.has(encoderName);
    this.#packet.alloc();
  }

  /** The encoder context (for settings changed between frames, e.g. the bitrate). */
  get context(): CodecContext {
    return this.#context;
  }

  /** Encodes `frame` (null: flush the encoder's delayed frames) and hands each packet out, in order. */
  async encode(frame: Frame | null, onPacket: (packet: RawPacket) => void): Promise<void> {
    const sent = this.#syncSend ? this.#context.sendFrameSync(frame) : await this.#context.sendFrame(frame);
    if (sent < 0 && sent !== AVERROR_EAGAIN && !(frame === null && sent === AVERROR_EOF)) {
      throw new MediaError(`encoding ${this.#what}`, `error ${sent}`);
    }
    for (;;) {
      const ret = this.#syncReceive
        ? this.#context.receivePacketSync(this.#packet)
        : await this.#context.receivePacket(this.#packet);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) return;
      if (ret < 0) throw new MediaError(`receiving a packet of ${this.#what}`, `error ${ret}`);
      const data = this.#packet.data;
      const pts = this.#packet.pts;
      const dts = this.#packet.dts;
      this.#packet.unref();
      if (data) onPacket({ data, pts, dts });
    }
  }

  /** Frees the packet and the context; idempotent. Call only when no `encode()` is in flight. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#packet.free();
    this.#context.freeContext();
  }
}
