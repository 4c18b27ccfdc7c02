import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Amf0EcmaArray, encodeAmf0 } from '../../../src/amf0/amf0.js';
import {
  exCodedFramesTag,
  exSequenceEndTag,
  exSequenceStartTag,
  fourCcNumber,
} from '../../../src/flv/enhanced-tags.js';
import { multitrackOnMetaData, oneTrackVideoTag } from '../../../src/flv/multitrack-tags.js';
import type { StreamConfig, VideoConfig } from '../../../src/media/packet.js';
import { encodeSamples, type EncodedSamples } from '../../helpers/encoded-samples.js';
import { flvFile, type FlvFileTag } from '../../helpers/flv-file.js';
import { ascii, hex, lengthPrefixed } from '../../helpers/flv-tag-bytes.js';
import { probeWithNodeAv } from '../../helpers/node-av-probe.js';

describe('Multitrack OneTrack video tags (Enhanced RTMP v2, Enhanced Video)', () => {
  // Byte 0: IsExVideoHeader | VideoFrameType << 4 | VideoPacketType.Multitrack (6); byte 1:
  // AvMultitrackType.OneTrack (0) << 4 | the track's VideoPacketType; FourCC; UI8 track id; body.
  it('wraps a SequenceStart of track 2 as 0x96, 0x00, the FourCC, 0x02, then the record', () => {
    const record = Buffer.from('0164001f', 'hex');
    expect(hex(oneTrackVideoTag(2, exSequenceStartTag('avc1', record)))).toBe(
      '96' + '00' + ascii('avc1') + '02' + '0164001f',
    );
  });

  it('keeps the frame type and the packet type: key CodedFramesX 0x96/0x03, inter 0xA6/0x03, CodedFrames with its SI24', () => {
    const nal = Buffer.from('00000001aa', 'hex');
    expect(hex(oneTrackVideoTag(0, exCodedFramesTag('avc1', nal, true, 0)))).toBe(
      '96' + '03' + ascii('avc1') + '00' + '00000001aa',
    );
    expect(hex(oneTrackVideoTag(1, exCodedFramesTag('avc1', nal, false, 0)))).toBe(
      'a6' + '03' + ascii('avc1') + '01' + '00000001aa',
    );
    expect(hex(oneTrackVideoTag(255, exCodedFramesTag('hvc1', nal, false, 67)))).toBe(
      'a6' + '01' + ascii('hvc1') + 'ff' + '000043' + '00000001aa',
    );
    expect(hex(oneTrackVideoTag(1, exCodedFramesTag('av01', Buffer.from('12', 'hex'), true, 0)))).toBe(
      '96' + '01' + ascii('av01') + '01' + '12',
    );
    expect(hex(oneTrackVideoTag(3, exSequenceEndTag('avc1')))).toBe('96' + '02' + ascii('avc1') + '03');
  });

  it('refuses track ids outside the UI8 field, legacy tags and tags already multitrack', () => {
    const tag = exSequenceStartTag('avc1', Buffer.alloc(1));
    expect(() => oneTrackVideoTag(256, tag)).toThrow(RangeError);
    expect(() => oneTrackVideoTag(-1, tag)).toThrow(RangeError);
    expect(() => oneTrackVideoTag(0.5, tag)).toThrow(RangeError);
    expect(() => oneTrackVideoTag(0, Buffer.from('1700000000', 'hex'))).toThrow(/ExVideoTagHeader/);
    expect(() => oneTrackVideoTag(0, oneTrackVideoTag(1, tag))).toThrow(/already multitrack/);
  });
});

const video = (
  width: number,
  height: number,
  bitrateBps: number,
  record: Buffer = Buffer.alloc(0),
): VideoConfig => ({
  codec: 'h264',
  decoderConfigurationRecord: record,
  width,
  height,
  fps: 30,
  bitrateBps,
  encoderName: 'libx264',
});

describe('multitrack onMetaData ("Enhancing onMetaData")', () => {
  it('describes track 0 at the top level and every other track, complete, in videoTrackIdInfoMap by id', () => {
    const config: StreamConfig = {
      audio: { audioSpecificConfig: Buffer.alloc(2), sampleRate: 48000, channels: 2, bitrateBps: 128000 },
    };
    const tracks = [video(256, 144, 150_000), video(426, 240, 400_000), video(640, 360, 800_000)];
    const metadata = multitrackOnMetaData(config, tracks, { encoder: 'x' });
    const avc1 = fourCcNumber('avc1');
    expect(metadata.properties).toMatchObject({
      width: 256,
      height: 144,
      videodatarate: 150,
      videocodecid: avc1,
      audiocodecid: 10,
      encoder: 'x',
      videoTrackIdInfoMap: {
        '1': { width: 426, height: 240, framerate: 30, videodatarate: 400, videocodecid: avc1 },
        '2': { width: 640, height: 360, framerate: 30, videodatarate: 800, videocodecid: avc1 },
      },
    });
    // The map is an AMF0 object keyed by track id, inside the ECMA array.
    const bytes = encodeAmf0('onMetaData', metadata);
    expect(bytes.includes(Buffer.from('videoTrackIdInfoMap'))).toBe(true);
    expect(() => multitrackOnMetaData(config, [])).toThrow(RangeError);
    expect(multitrackOnMetaData(config, tracks.slice(0, 1))).toBeInstanceOf(Amf0EcmaArray);
  });
});

// A round trip through FFmpeg 8.1's FLV demuxer (node-av): it reads Enhanced RTMP multitrack, one
// stream per track id (stream id = track id), each with its own avcC as extradata.
const dir = mkdtempSync(join(tmpdir(), 'steadycast-multitrack-flv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('multitrack FLV read back by FFmpeg 8.1 (node-av)', () => {
  const sizes = [
    [128, 72],
    [192, 108],
    [256, 144],
  ] as const;
  const encode = (): Promise<EncodedSamples[]> =>
    Promise.all(
      sizes.map(([width, height]) => encodeSamples('libx264', { width, height, frames: 20, gop: 10 })),
    );

  function fileOf(samples: EncodedSamples[], keep: (track: number, frame: number) => boolean): string {
    const tracks = samples.map((s, i) => video(sizes[i]![0], sizes[i]![1], 100_000 * (i + 1), s.record));
    const tags: FlvFileTag[] = [
      { type: 18, timestampMs: 0, body: encodeAmf0('onMetaData', multitrackOnMetaData({}, tracks)) },
    ];
    tracks.forEach((t, id) => {
      tags.push({
        type: 9,
        timestampMs: 0,
        body: oneTrackVideoTag(id, exSequenceStartTag('avc1', t.decoderConfigurationRecord)),
      });
    });
    for (let frame = 0; frame < 20; frame++) {
      samples.forEach((s, id) => {
        const p = s.packets[frame]!;
        if (!keep(id, frame)) return;
        const tag = exCodedFramesTag('avc1', lengthPrefixed(p.data), p.keyframe, 0);
        tags.push({ type: 9, timestampMs: Math.round(p.dtsUs / 1000), body: oneTrackVideoTag(id, tag) });
      });
    }
    const path = join(dir, `mt-${tags.length}.flv`);
    writeFileSync(path, flvFile(tags));
    return path;
  }

  it('demuxes one stream per track, sized as sent, and decodes every frame of each with no error', async () => {
    const samples = await encode();
    const report = await probeWithNodeAv(fileOf(samples, () => true));
    expect(report.decodeErrors).toEqual([]);
    expect(
      report.videoTracks.map((t) => [t.id, t.width, t.height, t.packets, t.keyframes, t.decodedFrames]),
    ).toEqual([
      [0, 128, 72, 20, 2, 20],
      [1, 192, 108, 20, 2, 20],
      [2, 256, 144, 20, 2, 20],
    ]);
  });

  it('decodes a track that lost a GOP tail and resumed at its next keyframe, the others untouched', async () => {
    const samples = await encode();
    // Track 2 drops frames 4..9 (the rest of its first GOP) and comes back at the keyframe at frame 10.
    const report = await probeWithNodeAv(
      fileOf(samples, (track, frame) => track !== 2 || frame < 4 || frame >= 10),
    );
    expect(report.decodeErrors).toEqual([]);
    expect(report.videoTracks.map((t) => t.decodedFrames)).toEqual([20, 20, 14]);
  });
});
