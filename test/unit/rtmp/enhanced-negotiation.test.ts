import { describe, expect, it } from 'vitest';
import { Amf0EcmaArray, type Amf0Object, type Amf0Value } from '../../../src/amf0/amf0.js';
import {
  CapsExMask,
  enhancedConnectProperties,
  FourCcInfoMask,
  defaultNegotiation,
  readNegotiation,
  validateNegotiation,
  type NegotiationRequest,
} from '../../../src/rtmp/enhanced-negotiation.js';
import type { VideoCodec } from '../../../src/media/packet.js';

const ask = (videoCodecs: VideoCodec[], capsEx = 0): NegotiationRequest => ({ videoCodecs, capsEx });
const { CanDecode, CanEncode, CanForward } = FourCcInfoMask;

describe('what connect says (Enhanced RTMP v2, connect command)', () => {
  it('adds only capsEx Reconnect by default for an H.264 session (legacy servers skip properties they do not know)', () => {
    expect(defaultNegotiation()).toEqual({ videoCodecs: ['h264'], capsEx: CapsExMask.Reconnect });
    expect(enhancedConnectProperties(defaultNegotiation())).toEqual({ capsEx: 1 });
  });

  it('adds nothing for an H.264 session with capsEx 0: the connect legacy servers always saw', () => {
    expect(enhancedConnectProperties(ask(['h264'], 0))).toEqual({});
  });

  it('lists the wanted codecs, in order, as fourCcList and as FourCcInfoMaps marked CanEncode', () => {
    expect(enhancedConnectProperties(ask(['hevc', 'h264']))).toEqual({
      fourCcList: ['hvc1', 'avc1', 'mp4a'],
      videoFourCcInfoMap: { hvc1: CanEncode, avc1: CanEncode },
      audioFourCcInfoMap: { mp4a: CanEncode },
    });
    expect(enhancedConnectProperties(ask(['av1'])).fourCcList).toEqual(['av01', 'mp4a']);
  });

  it('sends capsEx only with bits set, with or without codecs', () => {
    expect(enhancedConnectProperties(ask(['h264'], CapsExMask.Reconnect))).toEqual({ capsEx: 1 });
    expect(enhancedConnectProperties(ask(['hevc'], 0))).not.toHaveProperty('capsEx');
  });

  it.each([
    [[], 0, /video.codec/],
    [['vp9'], 0, /list one or more of h264, hevc, av1/],
    [['hevc', 'hevc'], 0, /each once/],
    [['h264'], 16, /capsEx/],
    [['h264'], -1, /capsEx/],
    [['h264'], 0.5, /capsEx/],
  ])('refuses the request %j with capsEx %s', (codecs, capsEx, message) => {
    expect(() => validateNegotiation(ask(codecs as VideoCodec[], capsEx))).toThrow(message);
  });
});

describe('what the server’s _result settles', () => {
  const read = (request: NegotiationRequest, properties: Amf0Object = {}, info: Amf0Value = {}) =>
    readNegotiation(request, properties, info);

  it.each<[string, VideoCodec[], Amf0Object, Amf0Value, unknown]>([
    [
      'a legacy server says nothing: first choice, unconfirmed',
      ['hevc', 'h264'],
      { fmsVer: 'FMS/3' },
      {},
      { videoCodec: 'hevc', state: 'unconfirmed', accepted: ['hevc', 'h264'] },
    ],
    [
      'H.264 only: nothing to negotiate',
      ['h264'],
      { videoFourCcInfoMap: { av01: CanDecode } },
      {},
      { videoCodec: 'h264', state: 'not-asked', accepted: ['h264'] },
    ],
    [
      'the map takes hvc1 (CanDecode)',
      ['hevc'],
      { videoFourCcInfoMap: { hvc1: CanDecode } },
      {},
      { videoCodec: 'hevc', state: 'confirmed' },
    ],
    [
      'the map takes hvc1 (CanForward)',
      ['hevc'],
      { videoFourCcInfoMap: { hvc1: CanForward } },
      {},
      { videoCodec: 'hevc', state: 'confirmed' },
    ],
    [
      'the map only encodes hvc1: fall back',
      ['hevc', 'h264'],
      { videoFourCcInfoMap: { hvc1: CanEncode } },
      {},
      { videoCodec: 'h264', state: 'confirmed', accepted: ['h264'] },
    ],
    [
      'the map lacks av01: the next choice it takes',
      ['av1', 'hevc', 'h264'],
      { videoFourCcInfoMap: { hvc1: CanForward } },
      {},
      { videoCodec: 'hevc', state: 'confirmed', accepted: ['hevc', 'h264'] },
    ],
    [
      'the wildcard forwards everything',
      ['av1'],
      { videoFourCcInfoMap: { '*': CanForward, av01: 0 } },
      {},
      { videoCodec: 'av1', state: 'confirmed', accepted: ['av1'] },
    ],
    [
      'a wildcard without usable bits overrides the entries',
      ['hevc', 'h264'],
      { videoFourCcInfoMap: { '*': CanEncode, hvc1: CanDecode } },
      {},
      { videoCodec: 'h264', state: 'confirmed' },
    ],
    [
      'fourCcList names hvc1',
      ['hevc'],
      { fourCcList: ['avc1', 'hvc1'] },
      {},
      { videoCodec: 'hevc', state: 'confirmed' },
    ],
    ['fourCcList wildcard', ['av1'], { fourCcList: ['*'] }, {}, { videoCodec: 'av1', state: 'confirmed' }],
    [
      'said in the info object, as an ECMA array',
      ['av1', 'h264'],
      {},
      { code: 'NetConnection.Connect.Success', videoFourCcInfoMap: new Amf0EcmaArray({ av01: CanDecode }) },
      { videoCodec: 'av1', state: 'confirmed' },
    ],
    [
      'the map wins over the list',
      ['hevc', 'h264'],
      { videoFourCcInfoMap: { avc1: CanDecode }, fourCcList: ['hvc1'] },
      {},
      { videoCodec: 'h264', state: 'confirmed' },
    ],
    [
      'a map that is not an object counts as empty',
      ['hevc', 'h264'],
      { videoFourCcInfoMap: 'hvc1' },
      {},
      { videoCodec: 'h264', state: 'confirmed' },
    ],
  ])('%s', (_what, codecs, properties, info, expected) => {
    expect(read(ask(codecs), properties, info)).toMatchObject(expected as object);
  });

  it('refuses when nothing wanted is taken, naming what the server takes', () => {
    expect(read(ask(['hevc']), { videoFourCcInfoMap: { avc1: CanDecode, av01: CanEncode } })).toEqual({
      refused: ['hevc'],
      serverTakes: ['avc1'],
    });
    expect(read(ask(['av1', 'hevc']), { fourCcList: ['avc1', 42] })).toEqual({
      refused: ['av1', 'hevc'],
      serverTakes: ['avc1'],
    });
  });

  it('reports the server’s capsEx (0 when absent or not a whole number)', () => {
    expect(read(ask(['hevc']), { capsEx: CapsExMask.Reconnect | CapsExMask.Multitrack })).toMatchObject({
      serverCapsEx: 3,
    });
    expect(read(ask(['hevc']), {}, { capsEx: 1 })).toMatchObject({ serverCapsEx: 1 });
    expect(read(ask(['hevc']), { capsEx: 'all' })).toMatchObject({ serverCapsEx: 0 });
    expect(read(ask(['h264']), { capsEx: 1.5 })).toMatchObject({ serverCapsEx: 0 });
  });
});
