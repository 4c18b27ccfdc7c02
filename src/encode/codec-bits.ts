import { MediaError } from '../core/errors.js';

/**
 * Reads a codec bitstream MSB first, as H.265 (§7.2 read_bits, ue(v)) and AV1 (§4.10 f(n), uvlc(),
 * leb128()) describe their syntax. Reading past the end is a MediaError naming `what`: a header our
 * encoder produced that is shorter than its own syntax says is a broken stream, not a default.
 */
export class BitReader {
  readonly #data: Buffer;
  readonly #what: string;
  #bit = 0;

  /** `what` names the structure read, for the error when it is truncated (e.g. `the HEVC SPS`). */
  constructor(data: Buffer, what: string) {
    this.#data = data;
    this.#what = what;
  }

  /** Bits read so far. */
  get position(): number {
    return this.#bit;
  }

  /** Bits left to read. */
  get bitsLeft(): number {
    return this.#data.length * 8 - this.#bit;
  }

  /** An unsigned value of `n` bits (0 ≤ n ≤ 32), f(n)/u(n). */
  bits(n: number): number {
    if (n > this.bitsLeft) throw this.#truncated();
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#data[this.#bit >> 3] ?? 0;
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  /** One bit as a boolean. */
  flag(): boolean {
    return this.bits(1) === 1;
  }

  /** Skips `n` bits. */
  skip(n: number): void {
    if (n > this.bitsLeft) throw this.#truncated();
    this.#bit += n;
  }

  /** Exp-Golomb unsigned, ue(v) (H.265 §9.2). */
  ue(): number {
    let leadingZeros = 0;
    while (!this.flag()) {
      leadingZeros++;
      if (leadingZeros > 31)
        throw new MediaError(`reading ${this.#what}`, 'an Exp-Golomb code longer than 32 bits');
    }
    return 2 ** leadingZeros - 1 + this.bits(leadingZeros);
  }

  /** AV1's uvlc() (AV1 §4.10.3). */
  uvlc(): number {
    let leadingZeros = 0;
    while (!this.flag()) leadingZeros++;
    if (leadingZeros >= 32) return 2 ** 32 - 1;
    return this.bits(leadingZeros) + 2 ** leadingZeros - 1;
  }

  #truncated(): MediaError {
    return new MediaError(
      `reading ${this.#what}`,
      `it ends after ${this.#data.length} bytes, in the middle of a field`,
    );
  }
}

/**
 * A NAL unit's RBSP: the payload without its emulation prevention bytes (H.265 §7.4.2: every
 * 0x00 0x00 0x03 in the NAL unit stands for 0x00 0x00).
 */
export function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Reads AV1's leb128() (AV1 §4.10.5) at `offset`: the value and how many bytes it took. */
export function readLeb128(data: Buffer, offset: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = data[offset + i];
    if (byte === undefined) throw new MediaError('reading an AV1 OBU size', 'the data ends inside it');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new MediaError('reading an AV1 OBU size', 'a leb128 value longer than 8 bytes');
}

/** Writes `value` as leb128 in the fewest bytes. */
export function leb128(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 32 - 1) {
    throw new RangeError(`${value} cannot be an AV1 OBU size`);
  }
  const bytes: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    bytes.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return Buffer.from(bytes);
}
