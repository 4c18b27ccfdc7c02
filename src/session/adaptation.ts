import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { AdaptiveBitrate } from '../output/adaptive-bitrate.js';
import type { BitrateChange } from '../output/bitrate-controller.js';
import type { Output } from '../output/output.js';
import { qualityControllerDefaults, type QualityRendition } from '../output/quality-controller.js';
import { AdaptiveQuality } from './adaptive-quality.js';
import type { MediaSession } from './media-session.js';
import { MAIN_RENDITION, type RenditionSpec } from './video-renditions.js';

/** How a session adapts its video to its destinations' paths. */
export interface AdaptationOptions {
  /** Per-destination quality (AdaptiveQuality). */
  readonly adaptiveQuality: boolean;
  /** Shared adaptive bitrate (AdaptiveBitrate): one bitrate, set by the slowest destination. */
  readonly adaptiveBitrate: boolean;
  /** The ladder, main rung first; empty: renditions on demand. */
  readonly renditions: readonly RenditionSpec[];
  /** Most encodes besides the main one. */
  readonly maxExtraEncoders: number;
  /** Per output, the rendition it must carry, if any. */
  readonly pins: readonly (string | undefined)[];
}

/** What the session does with the adaptation's decisions. */
export interface AdaptationHooks {
  /** Use this bitrate on the main encoder now. */
  mainBitrate(bitrateBps: number, reason: BitrateChange['reason']): void;
  /** Something failed (an encoder did not start). */
  error(error: Error): void;
}

/** A running adaptation. */
export interface Adaptation {
  /** A new main bitrate set by the app; returns the bitrate to use under it now. */
  setMaxBitrate(bitrateBps: number): number;
  /** Stops adapting; idempotent. */
  stop(): void;
}

/** The name of the main rendition: the first rung's, or `main`. */
export function mainRenditionName(renditions: readonly RenditionSpec[]): string {
  return renditions[0]?.name ?? MAIN_RENDITION;
}

/** Throws a ConfigError unless each pin names a rung of the ladder. */
export function validatePins(
  pins: readonly (string | undefined)[],
  renditions: readonly RenditionSpec[],
): void {
  const names = renditions.map((r) => r.name);
  for (const pin of pins) {
    if (pin !== undefined && !names.includes(pin)) {
      throw new ConfigError(
        'outputs[].rendition',
        pin,
        names.length > 0
          ? `name one of video.renditions: ${names.join(', ')}`
          : 'define video.renditions first',
      );
    }
  }
}

/** Starts the adaptation `options` ask for over `outputs`, or none (null). */
export function startAdaptation(
  clock: Clock,
  session: MediaSession,
  outputs: readonly Output[],
  options: AdaptationOptions,
  hooks: AdaptationHooks,
): Adaptation | null {
  const video = session.config.video;
  const renditions = session.renditions;
  const audioBps = session.config.audio?.bitrateBps ?? 0;
  if (!video || !renditions) return null;
  const pinned = options.pins.some((p) => p !== undefined);
  if (options.adaptiveQuality || pinned) {
    const main: QualityRendition = {
      name: mainRenditionName(options.renditions),
      width: video.width,
      height: video.height,
      bitrateBps: video.bitrateBps,
    };
    const quality = new AdaptiveQuality(clock, outputs, options.pins, renditions, {
      ...qualityControllerDefaults(main, audioBps, options.renditions.slice(1)),
      maxExtraEncoders: options.maxExtraEncoders,
      adapt: options.adaptiveQuality,
    });
    quality.on('mainbitrate', (bitrateBps, reason) => hooks.mainBitrate(bitrateBps, reason));
    quality.on('error', (error) => hooks.error(error));
    quality.start();
    return quality;
  }
  if (!options.adaptiveBitrate) return null;
  const shared = new AdaptiveBitrate(clock, outputs, video.bitrateBps, audioBps);
  shared.on('change', (bitrateBps, reason) => hooks.mainBitrate(bitrateBps, reason));
  shared.start();
  return shared;
}
