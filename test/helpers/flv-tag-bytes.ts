/**
 * What the enhanced and multitrack FLV tag tests share: tags as hex to compare with the bytes the
 * specification gives, and Annex-B access units in the length-prefixed form FLV carries.
 */
import { splitAnnexB } from '../../src/encode/annexb.js';

/** The bytes as lowercase hex. */
export const hex = (b: Buffer): string => b.toString('hex');

/** The text's bytes (latin1, e.g. a FourCC) as lowercase hex. */
export const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** An Annex-B access unit as FLV carries it: each NAL unit after its 4-byte big-endian length. */
export function lengthPrefixed(annexB: Buffer): Buffer {
  return Buffer.concat(
    splitAnnexB(annexB).map((unit) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(unit.length, 0);
      return Buffer.concat([length, unit]);
    }),
  );
}
