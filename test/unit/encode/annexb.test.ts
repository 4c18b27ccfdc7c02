import { describe, expect, it } from 'vitest';
import { annexBToAvcc, splitAnnexB } from '../../../src/encode/annexb.js';

const sc4 = [0, 0, 0, 1];
const sc3 = [0, 0, 1];

describe('annexBToAvcc', () => {
  it('splits on 3- and 4-byte start codes and drops the zero byte that belongs to the next start code', () => {
    const units = splitAnnexB(Buffer.from([...sc4, 0x67, 1, 2, ...sc3, 0x68, 3, 0, ...sc4, 0x65, 4]));
    expect(units.map((u) => [...u])).toEqual([
      [0x67, 1, 2],
      [0x68, 3],
      [0x65, 4],
    ]);
  });

  it('length-prefixes every NAL unit, removes access unit delimiters and flags an IDR', () => {
    const au = annexBToAvcc(Buffer.from([...sc4, 0x09, 0xf0, ...sc4, 0x06, 5, 5, ...sc3, 0x65, 0x88, 0x84]));
    expect([...au.avcc]).toEqual([0, 0, 0, 3, 0x06, 5, 5, 0, 0, 0, 3, 0x65, 0x88, 0x84]);
    expect(au.idr).toBe(true);
    expect(au.reference).toBe(true);
  });

  it('tells a reference P slice from a disposable one by nal_ref_idc', () => {
    expect(annexBToAvcc(Buffer.from([...sc4, 0x41, 0x9a])).reference).toBe(true);
    const disposable = annexBToAvcc(Buffer.from([...sc4, 0x01, 0x9e]));
    expect(disposable.reference).toBe(false);
    expect(disposable.idr).toBe(false);
  });
});
