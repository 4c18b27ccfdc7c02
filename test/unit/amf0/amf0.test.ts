import { describe, expect, it } from 'vitest';
import { Amf0EcmaArray, Amf0Error, decodeAmf0, encodeAmf0, type Amf0Value } from '../../../src/amf0/amf0.js';
import { mulberry32 } from '../../helpers/prng.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AMF0 encoding', () => {
  it.each<[string, Amf0Value, string]>([
    ['number 1.0 as a big-endian double', 1, '00 3ff0000000000000'],
    ['number 0', 0, '00 0000000000000000'],
    ['true', true, '01 01'],
    ['false', false, '01 00'],
    ['a string with a 16-bit length', 'connect', '02 0007 636f6e6e656374'],
    ['an empty string', '', '02 0000'],
    ['null', null, '05'],
    ['undefined', undefined, '06'],
    ['an object ended by 00 00 09', { a: 1 }, '03 0001 61 00 3ff0000000000000 0000 09'],
    ['an empty object', {}, '03 0000 09'],
    ['an ECMA array with its count', new Amf0EcmaArray({ x: true }), '08 00000001 0001 78 01 01 0000 09'],
    ['a strict array with its count', [null, 'a'], '0a 00000002 05 02 0001 61'],
    ['a date with time zone 0', new Date(0), '0b 0000000000000000 0000'],
  ])('encodes %s', (_name, value, expected) => {
    expect(encodeAmf0(value).toString('hex')).toBe(hex(expected).toString('hex'));
  });

  it('encodes the connect command the way the RTMP spec example shows its fields', () => {
    const bytes = encodeAmf0('connect', 1, { app: 'live' });
    expect(bytes.toString('hex')).toBe(
      hex('02 0007 636f6e6e656374 00 3ff0000000000000 03 0003 617070 02 0004 6c697665 0000 09').toString(
        'hex',
      ),
    );
  });

  it('switches to a long string (0x0C, 32-bit length) above 65535 bytes', () => {
    const long = 'x'.repeat(65536);
    const bytes = encodeAmf0(long);
    expect(bytes[0]).toBe(0x0c);
    expect(bytes.readUInt32BE(1)).toBe(65536);
    expect(encodeAmf0('y'.repeat(65535))[0]).toBe(0x02);
  });

  it('counts string lengths in UTF-8 bytes, not characters', () => {
    expect(encodeAmf0('é').toString('hex')).toBe('020002c3a9');
  });
});

describe('AMF0 round trip', () => {
  it.each<[string, Amf0Value]>([
    ['numbers', -12.5],
    ['NaN-free doubles', Number.MAX_SAFE_INTEGER],
    ['booleans', true],
    ['strings', 'NetStream.Publish.Start'],
    ['long strings', 'z'.repeat(70000)],
    ['null', null],
    ['undefined', undefined],
    ['dates', new Date(1_700_000_000_123)],
    ['strict arrays', [1, 'two', [3, null], { four: 4 }]],
    ['objects', { level: 'status', code: 'X', nested: { deep: [true, false] } }],
    ['ECMA arrays', new Amf0EcmaArray({ width: 1280, height: 720, stereo: true })],
  ])('decodes what it encodes: %s', (_name, value) => {
    expect(decodeAmf0(encodeAmf0(value))).toEqual([value]);
  });

  it('keeps an ECMA array distinguishable from an object', () => {
    const [array, object] = decodeAmf0(encodeAmf0(new Amf0EcmaArray({ a: 1 }), { a: 1 }));
    expect(array).toBeInstanceOf(Amf0EcmaArray);
    expect(object).not.toBeInstanceOf(Amf0EcmaArray);
  });

  it('decodes several values in a row, as in a command message', () => {
    const values: Amf0Value[] = ['_result', 4, null, 1];
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });

  it('treats a "__proto__" key as a plain property', () => {
    const bytes = hex('03 0009 5f5f70726f746f5f5f 01 01 0000 09');
    const [object] = decodeAmf0(bytes) as [Record<string, unknown>];
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(Object.keys(object)).toEqual(['__proto__']);
  });

  it('decodes typed objects as objects and XML documents as strings', () => {
    expect(decodeAmf0(hex('10 0001 43 0001 61 05 0000 09'))).toEqual([{ a: null }]);
    expect(decodeAmf0(hex('0f 00000002 3c61'))).toEqual(['<a']);
  });

  it('ignores an ECMA array count that disagrees with its entries', () => {
    const [value] = decodeAmf0(hex('08 00000009 0001 61 05 0000 09'));
    expect(value).toEqual(new Amf0EcmaArray({ a: null }));
  });
});

describe('AMF0 decoding of malformed input', () => {
  it.each([
    ['a truncated number', '00 3ff0'],
    ['a truncated string', '02 0005 6162'],
    ['an object without its end marker', '03 0001 61 05'],
    ['an object end with the wrong marker', '03 0000 08'],
    ['an unknown marker', '42'],
    ['an AMF3 switch', '11 00'],
    ['a reference', '07 0001'],
    ['a strict array claiming 4 billion items', '0a ffffffff 05'],
    ['a long string longer than the input', '0c 7fffffff 61'],
  ])('throws Amf0Error for %s', (_name, input) => {
    expect(() => decodeAmf0(hex(input))).toThrow(Amf0Error);
  });

  it('bounds nesting depth instead of overflowing the stack', () => {
    const nested = Buffer.from('0a00000001'.repeat(1000) + '05', 'hex'); // arrays in arrays
    expect(() => decodeAmf0(nested)).toThrow(/nesting/);
    let deep: Amf0Value = null;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => encodeAmf0(deep)).toThrow(/nesting/);
  });

  it('fuzz: thousands of random and truncated inputs throw only Amf0Error', () => {
    const random = mulberry32(0xa3f0);
    const valid = encodeAmf0('onStatus', 0, null, {
      level: 'status',
      code: 'NetStream.Publish.Start',
      list: [1, 'x', new Date(5), new Amf0EcmaArray({ k: true })],
    });
    for (let i = 0; i < 5000; i++) {
      let input: Buffer;
      if (i % 3 === 0) {
        input = valid.subarray(0, Math.floor(random() * valid.length));
      } else if (i % 3 === 1) {
        input = Buffer.from(valid);
        for (let k = 0; k < 3; k++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      } else {
        input = Buffer.alloc(Math.floor(random() * 64));
        for (let k = 0; k < input.length; k++) input[k] = Math.floor(random() * 18);
      }
      try {
        decodeAmf0(input);
      } catch (error) {
        expect(error).toBeInstanceOf(Amf0Error);
      }
    }
  });
});
