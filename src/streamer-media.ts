import { openSources, type OpenedSources } from './capture/source-choice.js';
import type { Clock } from './core/clock.js';
import { followsLiveBitrate } from './encode/codec-encoders.js';
import { resolveVideoEncoderOptions } from './encode/video-encoder.js';
import { ConfigError } from './core/errors.js';
import { MEDIA_DEFAULTS } from './media/defaults.js';
import { CapsExMask, defaultNegotiation } from './rtmp/enhanced-negotiation.js';
import type { VideoCodec } from './media/packet.js';
import type { RtmpOutputOptions } from './output/rtmp-output.js';
import type { MediaSessionOptions } from './session/media-session.js';
import type { StreamerOptions } from './streamer-options.js';

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

/** The MediaSession's options from a Streamer's: the encoders' settings (the top rendition's, with a ladder). */
export function mediaSessionOptions(options: StreamerOptions, sources: OpenedSources): MediaSessionOptions {
  const { video, audio } = options;
  let videoSetup: MediaSessionOptions['video'] = null;
  if (video && sources.video) {
    const {
      source: _source,
      adaptiveBitrate: _abr,
      adaptiveQuality: _aq,
      renditions = [],
      maxExtraEncoders: _max,
      ...encoder
    } = video;
    const top = renditions[0];
    const main = top ? { width: top.width, height: top.height, bitrateBps: top.bitrateBps } : {};
    videoSetup = { source: sources.video, encoder: { ...encoder, ...main } };
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
 * The video codec a Streamer's options encode, null for audio only. Throws a ConfigError for an
 * unknown codec, an encoder of another codec, or a shared adaptive bitrate on an encoder that cannot
 * change its bitrate while it runs (libx265, libsvtav1), so a bad option fails before anything connects.
 */
export function streamerVideoCodec(options: Pick<StreamerOptions, 'video'>): VideoCodec | null {
  const { video } = options;
  if (!video) return null;
  const { codec, encoder } = resolveVideoEncoderOptions({ codec: video.codec, encoder: video.encoder });
  if (video.adaptiveBitrate === true && !followsLiveBitrate(encoder)) {
    throw new ConfigError(
      'video.adaptiveBitrate',
      true,
      `${encoder} cannot change its bitrate while it runs; use adaptiveQuality (lower renditions) or codec h264`,
    );
  }
  return codec;
}

/**
 * An output's connection options for a session sending `codec`: HEVC and AV1 are asked for in the
 * Enhanced RTMP connect (that codec alone: the session encodes one, so a server that takes neither
 * refuses the publish with ERR_RTMP_CODEC_REFUSED rather than receiving what it cannot read); capsEx
 * bits the caller set are kept, else the default ones (Reconnect); a multitrack output adds the
 * Multitrack bit. H.264 (or no video) on one track leaves the connection options as given (the
 * connection's default negotiation applies).
 */
export function connectionFor(
  codec: VideoCodec | null,
  connection: RtmpOutputOptions['connection'] | undefined,
  multitrack = false,
): RtmpOutputOptions['connection'] | undefined {
  if (!multitrack && (codec === null || codec === 'h264')) return connection;
  const capsEx = connection?.negotiation?.capsEx ?? defaultNegotiation().capsEx;
  const videoCodecs =
    codec === null || codec === 'h264' ? (connection?.negotiation?.videoCodecs ?? ['h264']) : [codec];
  // Enhanced RTMP v2, CapsExMask.Multitrack: advertised when renditions are sent as tracks.
  return {
    ...connection,
    negotiation: { videoCodecs, capsEx: multitrack ? capsEx | CapsExMask.Multitrack : capsEx },
  };
}
