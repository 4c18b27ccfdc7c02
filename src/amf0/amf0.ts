import { SteadycastError } from '../core/errors.js';

/**
 * Malformed or truncated AMF0, or a value too deep to encode (`ERR_AMF0`). The RTMP layer
 * turns a decoding failure into its own protocol error; FLV only encodes.
 */
export class Amf0Error extends SteadycastError {
  constructor(message: string) {
    super('ERR_AMF0', message, false, {});
  }
}

/** An AMF0 anonymous object: string keys, AMF0 values. */
export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** An AMF0 ECMA array (marker 0x08): an associative array, kept apart from a plain object. */
export class Amf0EcmaArray {
  /** The array's properties, in order. */
  readonly properties: Amf0Object;

  constructor(properties: Amf0Object = {}) {
    this.properties = properties;
  }
}

/** Any value AMF0 can carry. Arrays are strict arrays (0x0A); Dates are dates (0x0B). */
export type Amf0Value =
  number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object | Amf0EcmaArray;

/** AMF0 type markers (AMF0 specification §2.1). */
export const Amf0Marker = {
  /** IEEE-754 double, big-endian. */
  NUMBER: 0x00,
  /** One byte, non-zero is true. */
  BOOLEAN: 0x01,
  /** UTF-8, 16-bit length. */
  STRING: 0x02,
  /** Key/value pairs ended by an empty key and OBJECT_END. */
  OBJECT: 0x03,
  /** Reserved, not supported. */
  MOVIECLIP: 0x04,
  /** Null. */
  NULL: 0x05,
  /** Undefined. */
  UNDEFINED: 0x06,
  /** Reference to an earlier complex object (not supported). */
  REFERENCE: 0x07,
  /** 32-bit count hint, then key/value pairs as in OBJECT. */
  ECMA_ARRAY: 0x08,
  /** Ends an object or ECMA array (after an empty key). */
  OBJECT_END: 0x09,
  /** 32-bit count, then values. */
  STRICT_ARRAY: 0x0a,
  /** Double milliseconds since the epoch, then a 16-bit time zone (reserved, 0). */
  DATE: 0x0b,
  /** UTF-8, 32-bit length. */
  LONG_STRING: 0x0c,
  /** Unsupported value (decoded as undefined). */
  UNSUPPORTED: 0x0d,
  /** Reserved, not supported. */
  RECORDSET: 0x0e,
  /** XML as a long string (decoded as a string). */
  XML_DOCUMENT: 0x0f,
  /** Class name, then an object (decoded as its object). */
  TYPED_OBJECT: 0x10,
  /** Switch to AMF3 (not supported). */
  AVMPLUS: 0x11,
} as const;

/** Deepest nesting of objects/arrays accepted when decoding or encoding. */
export const AMF0_MAX_DEPTH = 64;

// ---------------------------------------------------------------- encoding

class Writer {
  #buf = Buffer.allocUnsafe(256);
  #pos = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
  }

  u16(v: number): void {
    this.#ensure(2);
    this.#pos = this.#buf.writeUInt16BE(v, this.#pos);
  }

  u32(v: number): void {
    this.#ensure(4);
    this.#pos = this.#buf.writeUInt32BE(v, this.#pos);
  }

  f64(v: number): void {
    this.#ensure(8);
    this.#pos = this.#buf.writeDoubleBE(v, this.#pos);
  }

  bytes(b: Buffer): void {
    this.#ensure(b.length);
    this.#pos += b.copy(this.#buf, this.#pos);
  }

  result(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Encodes values one after another, as in a command message body (RTMP §7.1.1). */
export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const w = new Writer();
  for (const value of values) writeValue(w, value, 0);
  return Buffer.from(w.result());
}

function writeValue(w: Writer, value: Amf0Value, depth: number): void {
  if (depth > AMF0_MAX_DEPTH) throw new Amf0Error(`AMF0: nesting deeper than ${AMF0_MAX_DEPTH}`);
  if (typeof value === 'number') {
    w.u8(Amf0Marker.NUMBER);
    w.f64(value);
  } else if (typeof value === 'boolean') {
    w.u8(Amf0Marker.BOOLEAN);
    w.u8(value ? 1 : 0);
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0xffff) {
      w.u8(Amf0Marker.LONG_STRING);
      w.u32(bytes.length);
    } else {
      w.u8(Amf0Marker.STRING);
      w.u16(bytes.length);
    }
    w.bytes(bytes);
  } else if (value === null) {
    w.u8(Amf0Marker.NULL);
  } else if (value === undefined) {
    w.u8(Amf0Marker.UNDEFINED);
  } else if (value instanceof Date) {
    w.u8(Amf0Marker.DATE);
    w.f64(value.getTime());
    w.u16(0); // time zone: reserved, SHOULD be 0 (AMF0 §2.13)
  } else if (Array.isArray(value)) {
    w.u8(Amf0Marker.STRICT_ARRAY);
    w.u32(value.length);
    for (const item of value) writeValue(w, item, depth + 1);
  } else if (value instanceof Amf0EcmaArray) {
    w.u8(Amf0Marker.ECMA_ARRAY);
    w.u32(Object.keys(value.properties).length);
    writeProperties(w, value.properties, depth);
  } else {
    w.u8(Amf0Marker.OBJECT);
    writeProperties(w, value, depth);
  }
}

function writeProperties(w: Writer, object: Amf0Object, depth: number): void {
  for (const key of Object.keys(object)) {
    const bytes = Buffer.from(key, 'utf8');
    if (bytes.length === 0 || bytes.length > 0xffff) {
      throw new Amf0Error(`AMF0: object key of ${bytes.length} bytes (must be 1–65535)`);
    }
    w.u16(bytes.length);
    w.bytes(bytes);
    writeValue(w, object[key], depth + 1);
  }
  w.u16(0);
  w.u8(Amf0Marker.OBJECT_END);
}

// ---------------------------------------------------------------- decoding

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new Amf0Error(
        `AMF0: truncated ${what} at byte ${this.pos} (need ${n}, have ${this.buf.length - this.pos})`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  utf8(length: number, what: string): string {
    this.need(length, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }
}

/** Decodes every value in `buf`; malformed or truncated input throws `Amf0Error`. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf);
  const values: Amf0Value[] = [];
  while (r.pos < buf.length) values.push(readValue(r, 0));
  return values;
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > AMF0_MAX_DEPTH) throw new Amf0Error(`AMF0: nesting deeper than ${AMF0_MAX_DEPTH}`);
  const at = r.pos;
  const marker = r.u8('type marker');
  switch (marker) {
    case Amf0Marker.NUMBER:
      return r.f64('number');
    case Amf0Marker.BOOLEAN:
      return r.u8('boolean') !== 0;
    case Amf0Marker.STRING:
      return r.utf8(r.u16('string length'), 'string');
    case Amf0Marker.LONG_STRING:
    case Amf0Marker.XML_DOCUMENT:
      return r.utf8(r.u32('long string length'), 'long string');
    case Amf0Marker.OBJECT:
      return readProperties(r, depth);
    case Amf0Marker.TYPED_OBJECT:
      r.utf8(r.u16('class name length'), 'class name');
      return readProperties(r, depth);
    case Amf0Marker.NULL:
      return null;
    case Amf0Marker.UNDEFINED:
    case Amf0Marker.UNSUPPORTED:
      return undefined;
    case Amf0Marker.ECMA_ARRAY:
      r.u32('ECMA array count'); // a hint only: the end marker is authoritative
      return new Amf0EcmaArray(readProperties(r, depth));
    case Amf0Marker.STRICT_ARRAY: {
      const count = r.u32('strict array count');
      // Every value takes at least one byte: a larger count is garbage, not a reason to allocate.
      if (count > r.buf.length - r.pos) {
        throw new Amf0Error(`AMF0: strict array of ${count} items in ${r.buf.length - r.pos} bytes`);
      }
      const items: Amf0Value[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(r, depth + 1));
      return items;
    }
    case Amf0Marker.DATE: {
      const ms = r.f64('date');
      r.u16('date time zone');
      return new Date(ms);
    }
    default:
      throw new Amf0Error(`AMF0: unsupported type marker 0x${marker.toString(16)} at byte ${at}`);
  }
}

function readProperties(r: Reader, depth: number): Amf0Object {
  const object: Amf0Object = {};
  for (;;) {
    const keyLength = r.u16('object key length');
    if (keyLength === 0) {
      const end = r.u8('object end marker');
      if (end !== Amf0Marker.OBJECT_END) {
        throw new Amf0Error(`AMF0: expected object end marker, got 0x${end.toString(16)}`);
      }
      return object;
    }
    const key = r.utf8(keyLength, 'object key');
    const value = readValue(r, depth + 1);
    // A key named "__proto__" must stay a plain property, never replace the prototype.
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
}
