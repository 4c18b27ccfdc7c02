import { Amf0EcmaArray, type Amf0Object, type Amf0Value } from '../amf0/amf0.js';
import { ConfigError } from '../core/errors.js';
import { VIDEO_FOURCC } from '../flv/enhanced-tags.js';
import type { VideoCodec } from '../media/packet.js';

// Enhanced RTMP v2, "Enhancing NetConnection connect Command": what the client says it can send, and
// what the server's `_result` says it can take. Pure: the publish sequence calls it.

/** FourCcInfoMask (Enhanced RTMP v2): what an endpoint can do with a codec. */
export const FourCcInfoMask = {
  /** Can decode the codec. */
  CanDecode: 0x01,
  /** Can encode the codec. */
  CanEncode: 0x02,
  /** Can forward the codec without decoding it. */
  CanForward: 0x04,
} as const;

/** CapsExMask (Enhanced RTMP v2): extended capabilities in `capsEx`. */
export const CapsExMask = {
  /** Handles `NetConnection.Connect.ReconnectRequest`. */
  Reconnect: 0x01,
  /** Sends or takes multitrack media. */
  Multitrack: 0x02,
  /** Parses ModEx signals. */
  ModEx: 0x04,
  /** Takes nanosecond timestamp offsets. */
  TimestampNanoOffset: 0x08,
} as const;

/** The audio FourCC of AAC, the one audio codec sessions send. */
const AAC_FOURCC = 'mp4a';

/** What this session asks of the server. */
export interface NegotiationRequest {
  /** Video codecs in order of preference; the session may send any of them. H.264 needs no negotiation. */
  readonly videoCodecs: readonly VideoCodec[];
  /** CapsExMask bits this client supports. */
  readonly capsEx: number;
}

const CODECS: readonly VideoCodec[] = ['h264', 'hevc', 'av1'];

/** Throws a ConfigError unless the request lists known codecs, each once, and known capsEx bits. */
export function validateNegotiation(request: NegotiationRequest): void {
  const codecs = request.videoCodecs;
  if (
    codecs.length === 0 ||
    codecs.some((c) => !CODECS.includes(c)) ||
    new Set(codecs).size !== codecs.length
  ) {
    throw new ConfigError(
      'video.codec',
      codecs.join(','),
      `list one or more of ${CODECS.join(', ')}, each once, in order of preference (e.g. hevc,h264)`,
    );
  }
  const allBits = Object.values(CapsExMask).reduce((a, b) => a | b, 0);
  if (!Number.isInteger(request.capsEx) || request.capsEx < 0 || (request.capsEx & ~allBits) !== 0) {
    throw new ConfigError('capsEx', request.capsEx, `use CapsExMask bits (0 to ${allBits})`);
  }
}

/**
 * The default request: H.264 only, and capsEx Reconnect — this client follows a server's
 * `NetConnection.Connect.ReconnectRequest` (make before break). An H.264 session's connect then gains
 * `capsEx: 1` and nothing else: servers read the connect object by property name and skip the ones
 * they do not know (nginx-rtmp, node-media-server, FFmpeg's listener do), so legacy servers are
 * unaffected. `capsEx: 0` gives the connect exactly as it always was.
 */
export function defaultNegotiation(): NegotiationRequest {
  return { videoCodecs: ['h264'], capsEx: CapsExMask.Reconnect };
}

/**
 * The properties the `connect` command object gains. Codecs are announced only when a codec other
 * than H.264 is wanted, both ways the spec allows: `fourCcList` (the original E-RTMP property, the one
 * FFmpeg reads) and `videoFourCcInfoMap`/`audioFourCcInfoMap` (what v2 recommends clients send),
 * each codec marked CanEncode. `capsEx` only when a bit is set. Nothing at all for an H.264 session
 * with `capsEx: 0`: the connect legacy servers always saw.
 */
export function enhancedConnectProperties(request: NegotiationRequest): Amf0Object {
  const properties: Amf0Object = {};
  if (request.videoCodecs.some((c) => c !== 'h264')) {
    const video = request.videoCodecs.map((c) => VIDEO_FOURCC[c]);
    properties.fourCcList = [...video, AAC_FOURCC];
    properties.videoFourCcInfoMap = Object.fromEntries(video.map((f) => [f, FourCcInfoMask.CanEncode]));
    properties.audioFourCcInfoMap = { [AAC_FOURCC]: FourCcInfoMask.CanEncode };
  }
  if (request.capsEx !== 0) properties.capsEx = request.capsEx;
  return properties;
}

/** What the server's answer settled. */
export interface NegotiationOutcome {
  /** The codec to send: the first wanted that the server takes (or the first wanted, unconfirmed). */
  readonly videoCodec: VideoCodec;
  /**
   * `confirmed`: the server listed what it takes; `unconfirmed`: it said nothing about codecs (legacy),
   * so the first choice is sent as asked; `not-asked`: only H.264 was wanted, nothing to negotiate.
   */
  readonly state: 'confirmed' | 'unconfirmed' | 'not-asked';
  /**
   * The codecs asked for that the server takes, in order of preference: every one asked for when it
   * said nothing about codecs (`unconfirmed`) or nothing was asked.
   */
  readonly accepted: readonly VideoCodec[];
  /** The server's `capsEx`, 0 when it sent none. */
  readonly serverCapsEx: number;
}

/** Nothing wanted is taken: the codecs asked for, and what the server does take (FourCCs). */
export interface NegotiationRefusal {
  /** The codecs this session could send. */
  readonly refused: readonly VideoCodec[];
  /** The video FourCCs the server said it takes. */
  readonly serverTakes: readonly string[];
}

/**
 * Reads the connect `_result`: its command object (`properties`) and info object, where servers put
 * `videoFourCcInfoMap`, `fourCcList` and `capsEx`. A codec is taken when the map gives it (or `*`,
 * which overrides every entry) CanDecode or CanForward, or when the list names it (or `*`). H.264 is
 * always taken: it travels as classic AVC tags, which every server reads.
 */
export function readNegotiation(
  request: NegotiationRequest,
  properties: Amf0Object,
  info: Amf0Value,
): NegotiationOutcome | NegotiationRefusal {
  const infoObject = asObject(info);
  const serverCapsEx = numberField('capsEx', properties, infoObject) ?? 0;
  const asked = request.videoCodecs;
  const first = asked[0] ?? 'h264';
  if (asked.every((c) => c === 'h264'))
    return { videoCodec: first, state: 'not-asked', accepted: asked, serverCapsEx };
  const takes = serverVideoFourCcs(properties, infoObject);
  if (takes === null) return { videoCodec: first, state: 'unconfirmed', accepted: asked, serverCapsEx };
  const accepted = asked.filter((c) => c === 'h264' || takes.has('*') || takes.has(VIDEO_FOURCC[c]));
  const taken = accepted[0];
  if (taken === undefined) return { refused: asked, serverTakes: [...takes] };
  return { videoCodec: taken, state: 'confirmed', accepted, serverCapsEx };
}

/** The video FourCCs the server says it takes, or null when it says nothing about codecs. */
function serverVideoFourCcs(properties: Amf0Object, info: Amf0Object): Set<string> | null {
  for (const source of [properties, info]) {
    const map = asObject(source.videoFourCcInfoMap);
    if (source.videoFourCcInfoMap !== undefined) {
      const usable = FourCcInfoMask.CanDecode | FourCcInfoMask.CanForward;
      const wildcard = map['*'];
      if (typeof wildcard === 'number') return new Set(wildcard & usable ? ['*'] : []);
      return new Set(
        Object.keys(map).filter((k) => typeof map[k] === 'number' && (map[k] as number) & usable),
      );
    }
  }
  for (const source of [properties, info]) {
    const list = source.fourCcList;
    if (Array.isArray(list)) return new Set(list.filter((v): v is string => typeof v === 'string'));
  }
  return null;
}

function numberField(name: string, ...sources: Amf0Object[]): number | undefined {
  for (const source of sources) {
    const value = source[name];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  }
  return undefined;
}

/** An AMF0 object or ECMA array as a plain object; anything else as `{}`. */
function asObject(value: Amf0Value): Amf0Object {
  if (value instanceof Amf0EcmaArray) return value.properties;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
    return value;
  }
  return {};
}
