import { openSources, type OpenedSources } from './capture/source-choice.js';
import type { Clock } from './core/clock.js';
import { codecOfEncoder, encoderFor, followsLiveBitrate } from './encode/codec-encoders.js';
import { checkVideoCodec, resolveVideoEncoderOptions } from './encode/video-encoder.js';
import { ConfigError } from './core/errors.js';
import { MEDIA_DEFAULTS } from './media/defaults.js';
import { CapsExMask, defaultNegotiation } from './rtmp/enhanced-negotiation.js';
import type { VideoCodec } from './media/packet.js';
import type { RtmpOutputOptions } from './output/rtmp-output.js';
import type { MediaSessionOptions } from './session/media-session.js';
import { multitrackVideoTracks } from './session/multitrack.js';
import type { StreamerOptions, StreamerVideoOptions } from './streamer-options.js';

/**
 * Opens the sources a Streamer's options name (the test pattern and the tone by default), at the size
 * of the top rendition when there is a ladder.
 */
export function openStreamerSources(clock: Clock, options: StreamerOptions): Promise<OpenedSources> {
  const { video, audio } = options;
  return openSources(
    clock,
    video ? (video.source ?? 'test') : null,
    audio ? (audio.sources ?? ['tone']) : null,
    {
      width: video?.renditions?.[0]?.width ?? video?.width ?? MEDIA_DEFAULTS.video.width,
      height: video?.renditions?.[0]?.height ?? video?.height ?? MEDIA_DEFAULTS.video.height,
      fps: video?.fps ?? MEDIA_DEFAULTS.video.fps,
      sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
      channels: MEDIA_DEFAULTS.audio.channels,
    },
  );
}

/**
 * The MediaSession's options from a Streamer's, encoding `codec` (one of `video.codec`): the encoders'
 * settings (the top rendition's, with a ladder).
 */
export function mediaSessionOptions(
  options: StreamerOptions,
  sources: OpenedSources,
  codec: VideoCodec,
): MediaSessionOptions {
  const { video, audio } = options;
  let videoSetup: MediaSessionOptions['video'] = null;
  if (video && sources.video) {
    const {
      codec: codecs,
      encoder: encoderName,
      source: _source,
      adaptiveBitrate: _abr,
      adaptiveQuality: _aq,
      renditions = [],
      maxExtraEncoders: _max,
      ...encoder
    } = video;
    const top = renditions[0];
    const main = top ? { width: top.width, height: top.height, bitrateBps: top.bitrateBps } : {};
    const chosen = encoderOf(codec, codecList(codecs), encoderName);
    videoSetup = {
      source: sources.video,
      encoder: { ...encoder, ...main, codec, ...(chosen === undefined ? {} : { encoder: chosen }) },
    };
  }
  return {
    video: videoSetup,
    audio: audio
      ? {
          sources: sources.audio,
          encoder: {
            ...(audio.bitrateBps === undefined ? {} : { bitrateBps: audio.bitrateBps }),
            ...(audio.encoder === undefined ? {} : { encoder: audio.encoder }),
          },
        }
      : null,
  };
}

/**
 * The video codecs a Streamer's options allow, in order of preference (one, unless a list was given);
 * null for audio only. Throws a ConfigError for an unknown codec, an empty list or one naming a codec
 * twice, an encoder of none of them, or a shared adaptive bitrate on an encoder that cannot change its
 * bitrate while it runs (libx265, libsvtav1), so a bad option fails before anything connects.
 */
export function streamerVideoCodecs(options: Pick<StreamerOptions, 'video'>): VideoCodec[] | null {
  const { video } = options;
  if (!video) return null;
  const codecs = codecList(video.codec);
  const produced = video.encoder === undefined ? undefined : codecOfEncoder(video.encoder);
  if (produced !== undefined && !codecs.includes(produced)) {
    encoderFor(codecs[0] ?? 'h264', video.encoder); // throws: it names the encoders of the codec
  }
  for (const codec of codecs) {
    const { encoder } = resolveVideoEncoderOptions({
      codec,
      encoder: encoderOf(codec, codecs, video.encoder),
    });
    if (video.adaptiveBitrate === true && !followsLiveBitrate(encoder)) {
      throw new ConfigError(
        'video.adaptiveBitrate',
        true,
        `${encoder} cannot change its bitrate while it runs; use adaptiveQuality (lower renditions) or codec h264`,
      );
    }
  }
  return codecs;
}

/** `video.codec` as a list, checked: known codecs, at least one, each once. */
function codecList(codec: StreamerVideoOptions['codec'] | undefined): VideoCodec[] {
  if (codec === undefined) return [MEDIA_DEFAULTS.video.codec];
  if (typeof codec === 'string') {
    if (codec.includes(',')) {
      const items = codec.split(',').map((c) => `'${c.trim()}'`);
      throw new ConfigError('video.codec', codec, `give a list as an array, e.g. [${items.join(', ')}]`);
    }
    checkVideoCodec(codec);
    return [codec];
  }
  if (!Array.isArray(codec) || codec.length === 0) {
    throw new ConfigError(
      'video.codec',
      codec,
      "give a codec, or codecs in order of preference, e.g. ['hevc', 'h264']",
    );
  }
  for (const c of codec) checkVideoCodec(c);
  if (new Set(codec).size !== codec.length) {
    throw new ConfigError('video.codec', codec.join(','), "name each codec once, e.g. ['hevc', 'h264']");
  }
  return [...codec];
}

/**
 * The encoder option for `codec` among `codecs`: `encoder` when it makes that codec (or, for a name
 * not in VIDEO_ENCODERS, when `codec` is the first); else undefined, the codec's software encoder.
 */
export function encoderOf(
  codec: VideoCodec,
  codecs: readonly VideoCodec[],
  encoder: string | undefined,
): string | undefined {
  if (encoder === undefined) return undefined;
  const produced = codecOfEncoder(encoder);
  return produced === codec || (produced === undefined && codec === codecs[0]) ? encoder : undefined;
}

/**
 * An output's connection options for a session that may send `codecs` (in order of preference): HEVC
 * and AV1 are asked for in the Enhanced RTMP connect, with the whole list (a server that takes none
 * of them refuses the publish with ERR_RTMP_CODEC_REFUSED rather than receiving what it cannot read;
 * with several, the session settles on one before its first video: see CodecAnswers); capsEx bits the
 * caller set are kept, else the default ones (Reconnect); a multitrack output adds the Multitrack
 * bit. H.264 alone (or no video) on one track leaves the connection options as given (the
 * connection's default negotiation applies).
 */
export function connectionFor(
  codecs: readonly VideoCodec[] | null,
  connection: RtmpOutputOptions['connection'] | undefined,
  multitrack = false,
): RtmpOutputOptions['connection'] | undefined {
  const plainH264 = codecs === null || codecs.every((c) => c === 'h264');
  if (!multitrack && plainH264) return connection;
  const capsEx = connection?.negotiation?.capsEx ?? defaultNegotiation().capsEx;
  const videoCodecs = plainH264 ? (connection?.negotiation?.videoCodecs ?? ['h264']) : codecs;
  // Enhanced RTMP v2, CapsExMask.Multitrack: advertised when renditions are sent as tracks.
  return {
    ...connection,
    negotiation: { videoCodecs, capsEx: multitrack ? capsEx | CapsExMask.Multitrack : capsEx },
  };
}

/** How the Streamer makes one of its outputs: the RtmpOutput's options, and the rate it should carry. */
export interface OutputPlan {
  readonly options: Partial<RtmpOutputOptions> & { url: string };
  /** The stream's nominal bitrate, bits/s: video (every rendition, for multitrack) and audio. */
  readonly nominalBps: number;
}

/** The plan for the output `spec` (a URL, or its options) of a Streamer with `options`. */
export function outputPlan(
  spec: StreamerOptions['outputs'][number],
  options: StreamerOptions,
  codecs: readonly VideoCodec[] | null,
): OutputPlan {
  const { rendition: _pin, multitrack, ...given } = typeof spec === 'string' ? { url: spec } : spec;
  const { video, audio, maxLatencyMs } = options;
  const renditions = video?.renditions ?? [];
  const connection = connectionFor(codecs, given.connection, multitrack === true);
  const videoTracks = multitrack === true ? multitrackVideoTracks(renditions) : [];
  const videoBps =
    multitrack === true
      ? renditions.reduce((sum, rung) => sum + rung.bitrateBps, 0)
      : video
        ? (video.bitrateBps ?? MEDIA_DEFAULTS.video.bitrateBps)
        : 0;
  const audioBps = audio ? (audio.bitrateBps ?? MEDIA_DEFAULTS.audio.bitrateBps) : 0;
  return {
    options: { maxLatencyMs, ...given, ...(connection ? { connection } : {}), videoTracks },
    nominalBps: videoBps + audioBps,
  };
}
