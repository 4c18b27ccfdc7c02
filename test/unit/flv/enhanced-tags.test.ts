import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exCodedFramesTag,
  exSequenceEndTag,
  exSequenceStartTag,
  fourCcNumber,
  VIDEO_FOURCC,
} from '../../../src/flv/enhanced-tags.js';
import { metadataVideoCodecId } from '../../../src/flv/tags.js';
import { encodeSamples, type EncodedSamples } from '../../helpers/encoded-samples.js';
import { writeEnhancedFlv, type FlvFrame } from '../../helpers/enhanced-flv.js';
import { ascii, hex, lengthPrefixed } from '../../helpers/flv-tag-bytes.js';
import { readFlvTags } from '../../helpers/flv-tags.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

describe('ExVideoTagHeader bytes (Enhanced RTMP v2, Enhanced Video)', () => {
  // First byte: IsExVideoHeader (0x80) | VideoFrameType << 4 | VideoPacketType; then the FourCC.
  it('starts a sequence with 0x90 (ex header, key frame, SequenceStart), the FourCC, then the record', () => {
    const record = Buffer.from('0101600000', 'hex');
    expect(hex(exSequenceStartTag('hvc1', record))).toBe('90' + ascii('hvc1') + '0101600000');
    expect(hex(exSequenceStartTag('av01', Buffer.from('81', 'hex')))).toBe('90' + ascii('av01') + '81');
  });

  it('ends a sequence with 0x92 (SequenceEnd) and no body', () => {
    expect(hex(exSequenceEndTag('hvc1'))).toBe('92' + ascii('hvc1'));
  });

  it('sends HEVC frames with composition time 0 as CodedFramesX (3): key 0x93, inter 0xA3, no SI24', () => {
    expect(hex(exCodedFramesTag('hvc1', Buffer.from('00000001aa', 'hex'), true, 0))).toBe(
      '93' + ascii('hvc1') + '00000001aa',
    );
    expect(hex(exCodedFramesTag('hvc1', Buffer.from('bb', 'hex'), false, 0))).toBe(
      'a3' + ascii('hvc1') + 'bb',
    );
    // Rounded to the millisecond first: 0.4 ms is 0.
    expect(hex(exCodedFramesTag('hvc1', Buffer.from('bb', 'hex'), false, 0.4))).toBe(
      'a3' + ascii('hvc1') + 'bb',
    );
  });

  it('sends HEVC frames with a composition time as CodedFrames (1) with the SI24 offset, negative too', () => {
    expect(hex(exCodedFramesTag('hvc1', Buffer.from('cc', 'hex'), true, 67))).toBe(
      '91' + ascii('hvc1') + '000043' + 'cc',
    );
    expect(hex(exCodedFramesTag('hvc1', Buffer.from('cc', 'hex'), false, -33))).toBe(
      'a1' + ascii('hvc1') + 'ffffdf' + 'cc',
    );
    expect(hex(exCodedFramesTag('avc1', Buffer.alloc(0), false, 0x7fffff))).toBe(
      'a1' + ascii('avc1') + '7fffff',
    );
    expect(() => exCodedFramesTag('hvc1', Buffer.alloc(0), false, 0x800000)).toThrow(RangeError);
    expect(() => exCodedFramesTag('hvc1', Buffer.alloc(0), false, -0x800001)).toThrow(RangeError);
  });

  it('sends AV1 temporal units as CodedFrames (1) with no composition time field', () => {
    expect(hex(exCodedFramesTag('av01', Buffer.from('1200', 'hex'), true, 0))).toBe(
      '91' + ascii('av01') + '1200',
    );
    expect(hex(exCodedFramesTag('av01', Buffer.from('32', 'hex'), false, 0))).toBe(
      'a1' + ascii('av01') + '32',
    );
    expect(() => exCodedFramesTag('av01', Buffer.alloc(0), false, 33)).toThrow(/no composition time/);
  });
});

describe('FourCC numbers in onMetaData', () => {
  it('reads the four ASCII bytes big-endian, as the spec’s examples say', () => {
    expect(fourCcNumber('av01')).toBe(1635135537);
    expect(fourCcNumber('Opus')).toBe(1332770163);
    expect(fourCcNumber('hvc1')).toBe(0x68766331);
  });

  it('refuses what is not four printable characters', () => {
    expect(() => fourCcNumber('av1')).toThrow(RangeError);
    expect(() => fourCcNumber('hvc1x')).toThrow(RangeError);
    expect(() => fourCcNumber('\u00e9v01')).toThrow(RangeError);
  });

  it('gives videocodecid 7 for H.264 (classic tags) and the FourCC number for HEVC and AV1', () => {
    expect(metadataVideoCodecId('h264')).toBe(7);
    expect(metadataVideoCodecId('hevc')).toBe(fourCcNumber('hvc1'));
    expect(metadataVideoCodecId('av1')).toBe(fourCcNumber('av01'));
    expect(VIDEO_FOURCC).toEqual({ h264: 'avc1', hevc: 'hvc1', av1: 'av01' });
  });
});

// A round trip through FFmpeg 8.1's FLV demuxer and decoders (node-av): the file is what a server would
// record from our RTMP video messages.
const dir = mkdtempSync(join(tmpdir(), 'steadycast-enhanced-flv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The samples as FLV frames, NAL units length-prefixed. */
const framesOf = (samples: EncodedSamples): FlvFrame[] =>
  samples.packets.map((p) => ({ ...p, data: lengthPrefixed(p.data) }));

describe('enhanced FLV read back by FFmpeg 8.1 (node-av)', () => {
  it('demuxes and decodes HEVC without B-frames (CodedFramesX): every frame, keyframes where sent, hvcC as extradata', async () => {
    const samples = await encodeSamples('libx265', {
      frames: 20,
      forceKeyframesAt: [12],
      options: { 'forced-idr': '1', 'x265-params': 'log-level=error' },
    });
    const path = join(dir, 'hevc.flv');
    writeEnhancedFlv(path, 'hvc1', samples.record, framesOf(samples));
    // Our own reader sees CodedFramesX: no composition time on the wire.
    const frameTags = readFlvTags(path).filter((t) => t.video?.packetType === 'nalu');
    expect(
      frameTags.every(
        (t) => t.video?.codec === 'hvc1' && (t.video.frameType === 1 || t.video.frameType === 2),
      ),
    ).toBe(true);

    const report = await probeWithNodeAv(path);
    expect(report.decodeErrors).toEqual([]);
    expect(report.video?.codecName).toBe('hevc');
    expect(report.videoExtradataHex).toBe(samples.record.toString('hex'));
    expect(report.video?.frameCount).toBe(20);
    expect(report.decodedVideoFrames).toBe(20);
    expect(report.video?.width).toBe(192);
    expect(report.video?.keyframeTimesS).toEqual([0, 0.4]);
    expect(report.video?.dtsMonotonic).toBe(true);
  });

  it('demuxes and decodes HEVC with B-frames (CodedFrames): presentation times come back from the SI24 offsets', async () => {
    const samples = await encodeSamples('libx265', {
      frames: 16,
      bFrames: 2,
      options: { 'x265-params': 'log-level=error' },
    });
    expect(samples.packets.some((p) => p.ptsUs !== p.dtsUs)).toBe(true);
    const path = join(dir, 'hevc-b.flv');
    const ms = writeEnhancedFlv(path, 'hvc1', samples.record, framesOf(samples));
    const report = await probeWithNodeAv(path);
    expect(report.decodeErrors).toEqual([]);
    expect(report.decodedVideoFrames).toBe(16);
    const sentPts = samples.packets.map((p) => ms(p.ptsUs) / 1000).sort((a, b) => a - b);
    const readPts = report.videoPacketTimesS.slice().sort((a, b) => a - b);
    expect(readPts).toEqual(sentPts);
  });
});
