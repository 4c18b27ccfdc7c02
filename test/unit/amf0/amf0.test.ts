import { describe, expect, it } from 'vitest';
import {
  AMF0_MAX_DEPTH,
  Amf0EcmaArray,
  Amf0Error,
  decodeAmf0,
  encodeAmf0,
  type Amf0Object,
  type Amf0Value,
} from '../../../src/amf0/amf0.js';
import { mulberry32 } from '../../helpers/prng.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - the writer's `this.#pos + n <= this.#buf.length` → `<` grows the output buffer when it is
//   exactly full, one write early; the bytes written are the same;
// - its growth `this.#buf.length * 2` → `/ 2` grows to exactly the size needed instead of doubling:
//   more copies, the same bytes.

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

  it('encodes values of any size: the output grows past its first 256 bytes', () => {
    const values: Amf0Value[] = ['a'.repeat(300), 1, { k: 'b'.repeat(1000) }, [true, null]];
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });

  it.each([
    ['an empty key', { '': 1 }],
    ['a key longer than 65535 bytes', { ['k'.repeat(65536)]: 1 }],
  ])('refuses an object with %s (AMF0 keys are 1–65535 bytes)', (_name, object) => {
    expect(() => encodeAmf0(object)).toThrow(Amf0Error);
  });

  it('encodes a key of exactly 65535 bytes', () => {
    const key = 'k'.repeat(65535);
    expect(decodeAmf0(encodeAmf0({ [key]: 1 }))).toEqual([{ [key]: 1 }]);
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

  it('decodes any non-zero boolean byte as true', () => {
    expect(decodeAmf0(hex('01 02 01 ff 01 00'))).toEqual([true, true, false]);
  });

  it('decodes the unsupported marker (0x0D) as undefined and ignores a date’s time zone', () => {
    expect(decodeAmf0(hex('0d'))).toEqual([undefined]);
    expect(decodeAmf0(hex('0b 0000000000000000 ffff'))).toEqual([new Date(0)]);
  });

  it('decodes an empty input as no values', () => {
    expect(decodeAmf0(Buffer.alloc(0))).toEqual([]);
  });

  it('decodes a strict array whose count equals the bytes left (one byte per null)', () => {
    expect(decodeAmf0(hex('0a 00000003 05 05 05'))).toEqual([[null, null, null]]);
  });

  it('decodes objects callers can change like any object (writable, deletable keys)', () => {
    const [object] = decodeAmf0(encodeAmf0({ code: 'a', level: 'b' })) as [Amf0Object];
    object.code = 'changed';
    delete object.level;
    expect(object).toEqual({ code: 'changed' });
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

  it.each([
    ['a truncated number', '00 3ff0', /truncated number at byte 1 \(need 8, have 2\)/],
    ['a truncated boolean', '01', /truncated boolean at byte 1/],
    ['a truncated string length', '02 00', /truncated string length at byte 1 \(need 2, have 1\)/],
    ['a truncated string', '02 0005 6162', /truncated string at byte 3 \(need 5, have 2\)/],
    ['a truncated long string length', '0c 0000', /truncated long string length at byte 1/],
    ['a truncated long string', '0c 00000003 61', /truncated long string at byte 5/],
    ['a truncated object key length', '03 00', /truncated object key length/],
    ['a truncated object key', '03 0003 61', /truncated object key at byte 3/],
    ['a missing object end marker', '03 0000', /truncated object end marker/],
    ['a truncated class name', '10 0004 43', /truncated class name at byte 3/],
    ['a truncated class name length', '10 00', /truncated class name length/],
    ['a truncated ECMA array count', '08 0000', /truncated ECMA array count/],
    ['a truncated strict array count', '0a 00', /truncated strict array count/],
    ['a truncated date', '0b 0000', /truncated date at byte 1/],
    ['a date without its time zone', '0b 0000000000000000', /truncated date time zone at byte 9/],
    ['an object key without its value', '03 0001 61', /truncated type marker at byte 4/],
    [
      'a strict array item after a longer one',
      '0a 00000002 00 3ff0000000000000',
      /truncated type marker at byte 14/,
    ],
  ])('names what is truncated and where: %s', (_name, input, message) => {
    expect(() => decodeAmf0(hex(input))).toThrow(message);
  });

  it('names the unsupported marker and its position', () => {
    expect(() => decodeAmf0(hex('05 11'))).toThrow(/unsupported type marker 0x11 at byte 1/);
  });

  it('throws errors with the stable code ERR_AMF0', () => {
    expect(() => decodeAmf0(hex('42'))).toThrow(expect.objectContaining({ code: 'ERR_AMF0' }));
  });

  it('marks malformed AMF0 as not retryable: the same bytes fail the same way again', () => {
    expect(() => decodeAmf0(hex('42'))).toThrow(expect.objectContaining({ retryable: false }));
  });

  it('refuses a strict array that claims more items than bytes are left, before reading any item', () => {
    expect(() => decodeAmf0(hex('0a 00000002 05'))).toThrow(/strict array of 2 items in 1 bytes/);
  });

  const nest = (depth: number, wrap: (inner: Amf0Value) => Amf0Value): Amf0Value => {
    let value: Amf0Value = null;
    for (let i = 0; i < depth; i++) value = wrap(value);
    return value;
  };
  it.each<[string, (inner: Amf0Value) => Amf0Value, string, string]>([
    // wrapper, and its bytes before and after the wrapped value
    ['strict arrays', (inner) => [inner], '0a 00000001', ''],
    ['objects', (inner) => ({ k: inner }), '03 0001 6b', '0000 09'],
    ['ECMA arrays', (inner) => new Amf0EcmaArray({ k: inner }), '08 00000001 0001 6b', '0000 09'],
  ])(
    `encodes and decodes ${AMF0_MAX_DEPTH} levels of nested %s, and refuses one more either way`,
    (_name, wrap, open, close) => {
      const deepest = nest(AMF0_MAX_DEPTH, wrap);
      expect(decodeAmf0(encodeAmf0(deepest))).toEqual([deepest]);
      expect(() => encodeAmf0(nest(AMF0_MAX_DEPTH + 1, wrap))).toThrow(/nesting deeper than 64/);
      const nested = (depth: number): Buffer => hex(open.repeat(depth) + '05' + close.repeat(depth));
      expect(decodeAmf0(nested(AMF0_MAX_DEPTH))).toEqual([deepest]);
      expect(() => decodeAmf0(nested(AMF0_MAX_DEPTH + 1))).toThrow(/nesting deeper than 64/);
    },
  );

  it('refuses 200 000 nested objects with Amf0Error, not a stack overflow', () => {
    const input = hex('03 0001 6b'.repeat(200_000) + '05');
    expect(() => decodeAmf0(input)).toThrow(Amf0Error);
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
