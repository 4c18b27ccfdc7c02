import { openSources, type OpenedSources } from './capture/source-choice.js';
import type { Clock } from './core/clock.js';
import { MEDIA_DEFAULTS } from './media/defaults.js';
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
