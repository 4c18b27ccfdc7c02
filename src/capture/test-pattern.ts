import type { RawVideoFrame } from '../media/frames.js';
import type { VideoSource } from './source.js';

/** Side of one bit block of the frame-number code, in luma pixels. */
export const CODE_BLOCK_PX = 16;
/** Luma of a 1 bit and of a 0 bit in the code rows. */
const CODE_ONE = 235;
const CODE_ZERO = 16;

/**
 * A moving test pattern in I420: a diagonal luma ramp that slides every frame, a box that crosses
 * the picture, slowly cycling colour, and two rows of 16×16 blocks coding the frame index and the
 * session time in milliseconds (32 bits each, most significant first) so a receiver can tell
 * frames apart after decoding (`readTestPatternCode`).
 */
export class TestPatternSource implements VideoSource {
  readonly name = 'test';
  readonly #width: number;
  readonly #height: number;
  readonly #ramp: Buffer;
  // Pictures are drawn into a ring of buffers allocated once, not into 1.4 MB of fresh memory a frame
  // (allocation, page faults and garbage collection were a fifth of the main thread's time).
  readonly #ring: Buffer[] = [];
  readonly #ringSize: number;
  #next = 0;

  /**
   * @param width - pixels
   * @param height - pixels
   * @param ringSize - pictures in rotation: a grabbed picture stays unchanged until this many more
   *   are grabbed. Default 8: the CaptureLoop holds one and the VideoEncoder at most `maxPendingFrames`
   *   (default 4) before it copies them.
   */
  constructor(width: number, height: number, ringSize = 8) {
    this.#width = width;
    this.#height = height;
    this.#ringSize = Math.max(2, ringSize);
    this.#ramp = Buffer.alloc(width + 256);
    for (let i = 0; i < this.#ramp.length; i++) this.#ramp[i] = 16 + ((i * 219) >> 8);
  }

  grab(frameIndex: number, deadlineUs: number): RawVideoFrame {
    const w = this.#width;
    const h = this.#height;
    const cw = Math.ceil(w / 2);
    const ch = Math.ceil(h / 2);
    const slot = this.#next++ % this.#ringSize;
    const data = (this.#ring[slot] ??= Buffer.allocUnsafe(w * h + 2 * cw * ch));
    const shift = (frameIndex * 4) & 255;
    for (let y = 0; y < h; y++) this.#ramp.copy(data, y * w, (y + shift) & 255, ((y + shift) & 255) + w);
    const box = Math.max(16, h >> 3);
    const boxX = (frameIndex * 8) % Math.max(1, w - box);
    const boxY = (h >> 1) - (box >> 1);
    for (let y = boxY; y < boxY + box; y++) data.fill(235, y * w + boxX, y * w + boxX + box);
    this.#drawCode(data, 0, frameIndex);
    this.#drawCode(data, CODE_BLOCK_PX, Math.floor(deadlineUs / 1000));
    const u = 128 + Math.round(60 * Math.sin(frameIndex / 20));
    const v = 128 + Math.round(60 * Math.cos(frameIndex / 20));
    data.fill(u, w * h, w * h + cw * ch);
    data.fill(v, w * h + cw * ch);
    return { format: 'i420', width: w, height: h, data };
  }

  close(): void {}

  #drawCode(luma: Buffer, top: number, value: number): void {
    const w = this.#width;
    if (top + CODE_BLOCK_PX > this.#height) return;
    for (let bit = 0; bit < 32 && (bit + 1) * CODE_BLOCK_PX <= w; bit++) {
      const on = Math.floor(value / 2 ** (31 - bit)) % 2 === 1;
      const x = bit * CODE_BLOCK_PX;
      for (let y = top; y < top + CODE_BLOCK_PX; y++) {
        luma.fill(on ? CODE_ONE : CODE_ZERO, y * w + x, y * w + x + CODE_BLOCK_PX);
      }
    }
  }
}

/** Reads the frame index and session time (ms) back from a decoded test-pattern luma plane. */
export function readTestPatternCode(luma: Buffer, width: number): { frameIndex: number; timeMs: number } {
  const read = (top: number): number => {
    let value = 0;
    for (let bit = 0; bit < 32; bit++) {
      const centre = (top + CODE_BLOCK_PX / 2) * width + bit * CODE_BLOCK_PX + CODE_BLOCK_PX / 2;
      value = value * 2 + ((luma[centre] ?? 0) > 128 ? 1 : 0);
    }
    return value;
  };
  return { frameIndex: read(0), timeMs: read(CODE_BLOCK_PX) };
}
