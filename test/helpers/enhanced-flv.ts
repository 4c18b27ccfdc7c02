/**
 * An enhanced FLV file of one video stream, as a server would record our RTMP video messages:
 * onMetaData (videocodecid as the FourCC number), SequenceStart with the configuration record, every
 * frame, SequenceEnd. Tests hand it to node-av's FLV demuxer and decoders.
 */
import { writeFileSync } from 'node:fs';
import { Amf0EcmaArray, encodeAmf0 } from '../../src/amf0/amf0.js';
import {
  exCodedFramesTag,
  exSequenceEndTag,
  exSequenceStartTag,
  fourCcNumber,
  type VideoFourCc,
} from '../../src/flv/enhanced-tags.js';
import { flvFile, type FlvFileTag } from './flv-file.js';

/** One frame to write. */
export interface FlvFrame {
  /** Decode time, µs (may start negative: the file is shifted to start at 0). */
  readonly dtsUs: number;
  /** Presentation time, µs. */
  readonly ptsUs: number;
  /** Written with frame type 1 (key frame) rather than 2. */
  readonly keyframe: boolean;
  /** The frame as FLV carries it (length-prefixed NAL units, or AV1 OBUs). */
  readonly data: Buffer;
}

/** Writes the file to `path`; returns how a frame's µs time became the file's ms. */
export function writeEnhancedFlv(
  path: string,
  fourCc: VideoFourCc,
  record: Buffer,
  frames: readonly FlvFrame[],
): (us: number) => number {
  const shiftUs = -Math.min(0, ...frames.map((f) => f.dtsUs));
  const ms = (us: number): number => Math.round((us + shiftUs) / 1000);
  const metadata = new Amf0EcmaArray({ duration: 0, videocodecid: fourCcNumber(fourCc) });
  const tags: FlvFileTag[] = [
    { type: 18, timestampMs: 0, body: encodeAmf0('onMetaData', metadata) },
    { type: 9, timestampMs: 0, body: exSequenceStartTag(fourCc, record) },
  ];
  for (const f of frames) {
    const cts = ms(f.ptsUs) - ms(f.dtsUs);
    tags.push({ type: 9, timestampMs: ms(f.dtsUs), body: exCodedFramesTag(fourCc, f.data, f.keyframe, cts) });
  }
  tags.push({ type: 9, timestampMs: ms(frames.at(-1)?.dtsUs ?? 0), body: exSequenceEndTag(fourCc) });
  writeFileSync(path, flvFile(tags));
  return ms;
}
