import { ConfigError } from '../core/errors.js';
import type { MediaSession } from './media-session.js';
import type { RenditionSpec } from './video-renditions.js';

// Enhanced RTMP multitrack outputs: every rung of the ladder in one connection, as video tracks.

/**
 * The video tracks of a multitrack output, by track id: the rungs from the lowest bitrate up, the
 * main encode (the first rung) as `undefined`. Track 0 is the lowest rung: it is the track the drop
 * policy keeps longest (the highest id drops first), so the default track (Enhanced RTMP v2: trackId 0)
 * is the one a receiver can always play.
 */
export function multitrackVideoTracks(renditions: readonly RenditionSpec[]): (string | undefined)[] {
  return renditions
    .map((rung, rank) => ({ name: rank === 0 ? undefined : rung.name, bitrateBps: rung.bitrateBps, rank }))
    .sort((a, b) => a.bitrateBps - b.bitrateBps || b.rank - a.rank)
    .map((rung) => rung.name);
}

/** What a session with multitrack outputs is asked for besides them. */
export interface MultitrackContext {
  /** The ladder, main rung first. */
  readonly renditions: readonly RenditionSpec[];
  /** Per-destination quality is on. */
  readonly adaptiveQuality: boolean;
  /** Shared adaptive bitrate is on. */
  readonly adaptiveBitrate: boolean;
  /** Some output is pinned to a rung. */
  readonly pinned: boolean;
}

/**
 * Throws a ConfigError unless multitrack outputs can be served: a ladder of two or more rungs, all
 * encoded all the time — which per-destination quality and pins (one rung at a time) cannot share —
 * at their own bitrates (what onMetaData announces; congestion drops the top track instead).
 */
export function validateMultitrack(context: MultitrackContext): void {
  if (context.renditions.length < 2) {
    throw new ConfigError(
      'outputs[].multitrack',
      true,
      'define video.renditions with two or more rungs: each is sent as a track',
    );
  }
  if (context.adaptiveQuality) {
    throw new ConfigError(
      'video.adaptiveQuality',
      true,
      'a multitrack output carries every rendition at once; turn adaptiveQuality off',
    );
  }
  if (context.adaptiveBitrate) {
    throw new ConfigError(
      'video.adaptiveBitrate',
      true,
      'a multitrack output drops its top track under congestion instead; turn adaptiveBitrate off',
    );
  }
  if (context.pinned) {
    throw new ConfigError(
      'outputs[].rendition',
      'pinned',
      'renditions are encoded all the time for multitrack outputs; drop the pins',
    );
  }
}

/** Starts every rung but the main one on `session` (before capture: their first frames are keyframes). */
export async function startTrackRenditions(
  session: MediaSession,
  renditions: readonly RenditionSpec[],
): Promise<void> {
  const video = session.renditions;
  if (!video) return;
  for (const rung of renditions.slice(1)) await video.start(rung);
}
