import { Frame } from 'node-av';
import { AV_PIX_FMT_NV12, AV_PIX_FMT_YUV420P } from 'node-av/constants';
import { describe, expect, it } from 'vitest';
import { SharedPicture } from '../../../src/ffmpeg/shared-picture.js';

function picture(format = AV_PIX_FMT_YUV420P, width = 64, height = 36, fill = 77): Frame {
  const frame = new Frame();
  frame.alloc();
  frame.format = format;
  frame.width = width;
  frame.height = height;
  expect(frame.getBuffer(0)).toBe(0);
  expect(frame.fromBuffer(Buffer.alloc((width * height * 3) / 2, fill))).toBeGreaterThanOrEqual(0);
  return frame;
}

describe('SharedPicture', () => {
  it('hands out references that keep the pixels after the holder releases its own', () => {
    const shared = new SharedPicture(picture());
    const kept = shared.reference();
    shared.release();
    expect(kept).not.toBeNull();
    expect(kept?.toBuffer().every((byte) => byte === 77)).toBe(true);
    kept?.free();
  });

  it('gives no reference once released, and releasing again is harmless', () => {
    const shared = new SharedPicture(picture());
    shared.release();
    shared.release();
    expect(shared.reference()).toBeNull();
  });

  it('fits the encoder only as I420 at the encoder size', () => {
    const i420 = new SharedPicture(picture());
    const nv12 = new SharedPicture(picture(AV_PIX_FMT_NV12));
    expect([i420.fits(64, 36), i420.fits(64, 38), i420.fits(66, 36), nv12.fits(64, 36)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    i420.release();
    nv12.release();
  });
});
