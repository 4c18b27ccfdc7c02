import { describe, expect, it } from 'vitest';
import { BitReader, leb128, readLeb128, unescapeRbsp } from '../../../src/encode/codec-bits.js';

describe('BitReader', () => {
  it('reads fixed-width fields MSB first across byte boundaries', () => {
    const r = new BitReader(Buffer.from([0b1010_1100, 0b0101_0011, 0xff, 0xff, 0xff, 0xff]), 'a test');
    expect(r.bits(1)).toBe(1);
    expect(r.bits(3)).toBe(0b010);
    expect(r.bits(6)).toBe(0b110001);
    expect(r.flag()).toBe(false);
    expect(r.position).toBe(11);
    expect(r.bits(32)).toBe(0b10011_1111_1111_1111_1111_1111_1111_111);
    expect(r.bitsLeft).toBe(5);
  });

  it.each([
    ['1', 0],
    ['010', 1],
    ['011', 2],
    ['00100', 3],
    ['00111', 6],
    ['0001000', 7],
  ])('reads the Exp-Golomb code %s as %i', (code, value) => {
    const bits = code.padEnd(16, '1');
    const r = new BitReader(Buffer.from([parseInt(bits.slice(0, 8), 2), parseInt(bits.slice(8), 2)]), 'ue');
    expect(r.ue()).toBe(value);
    expect(r.position).toBe(code.length);
  });

  it.each([
    ['1', 0],
    ['010', 1],
    ['00101', 4],
    ['00110', 5],
  ])('reads the AV1 uvlc %s as %i', (code, value) => {
    const bits = code.padEnd(8, '0');
    expect(new BitReader(Buffer.from([parseInt(bits, 2)]), 'uvlc').uvlc()).toBe(value);
  });

  it('fails with a MediaError naming the structure when a field runs past the end', () => {
    const r = new BitReader(Buffer.from([0xff]), 'the HEVC SPS');
    r.skip(6);
    expect(() => r.bits(3)).toThrow(/reading the HEVC SPS failed: it ends after 1 bytes/);
    expect(() => r.skip(3)).toThrow(/ERR_MEDIA|reading the HEVC SPS/);
    expect(() => new BitReader(Buffer.alloc(8), 'x').ue()).toThrow(/longer than 32 bits|ends after/);
  });
});

describe('RBSP and leb128', () => {
  it('removes each emulation prevention byte 0x03 after two zeros, and only those', () => {
    expect(unescapeRbsp(Buffer.from('4201000003010000030000030303', 'hex')).toString('hex')).toBe(
      '420100000100000000' + '0303',
    );
    expect(unescapeRbsp(Buffer.from('000300', 'hex')).toString('hex')).toBe('000300');
  });

  it.each([
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ])('writes %i as leb128 %s and reads it back', (value, hexBytes) => {
    expect(leb128(value).toString('hex')).toBe(hexBytes);
    expect(readLeb128(Buffer.from('aa' + hexBytes, 'hex'), 1)).toEqual({
      value,
      length: hexBytes.length / 2,
    });
  });

  it('refuses sizes that are not 32-bit integers and leb128 values that never end', () => {
    expect(() => leb128(-1)).toThrow(RangeError);
    expect(() => leb128(2 ** 32)).toThrow(RangeError);
    expect(() => leb128(1.5)).toThrow(RangeError);
    expect(() => readLeb128(Buffer.from('8080', 'hex'), 0)).toThrow(/ends inside it/);
    expect(() => readLeb128(Buffer.alloc(9, 0x80), 0)).toThrow(/longer than 8 bytes/);
  });
});
