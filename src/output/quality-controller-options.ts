import { ConfigError } from '../core/errors.js';

/** One encode of the captured video (a rung of a ladder, or one started on demand). */
export interface QualityRendition {
  /** Its name. */
  readonly name: string;
  /** Pixels. */
  readonly width: number;
  /** Pixels. */
  readonly height: number;
  /** Bits per second. */
  readonly bitrateBps: number;
}

/** Options of a QualityController. */
export interface QualityControllerOptions {
  /** The main (top) rendition. */
  readonly main: QualityRendition;
  /** Audio's share of every path, bits per second. */
  readonly audioBitrateBps: number;
  /** The rungs under the main one, best first; empty: renditions are made on demand at the main size. */
  readonly ladder: readonly QualityRendition[];
  /**
   * At most this many encoders besides the main one; default 2. A path stepping up from a rung nobody
   * else carries may start the rung above at the cap: its own stops once it moved (one more meanwhile).
   */
  readonly maxExtraEncoders: number;
  /** A path above this share of its own maxLatencyMs (or dropping above clearShare) is congested; default 0.5. */
  readonly congestedShare: number;
  /** Under this share a path is clear; default 0.25. */
  readonly clearShare: number;
  /** A lower quality gets this share of the path's measured delivery rate (minus audio); default 0.8. */
  readonly headroom: number;
  /** At least this long between two cuts of one encoder's bitrate, ms; default 2000. */
  readonly decreaseIntervalMs: number;
  /** Clear this long before the first step up after congestion, ms; default 2000. */
  readonly increaseIntervalMs: number;
  /**
   * Clear this long before each further step up while the steps since congestion held, ms; default 1500.
   * A step has not held when the latency rose by a tenth of the path's bound since it was taken.
   */
  readonly climbIntervalMs: number;
  /**
   * The first step up after congestion adds this share of the main bitrate (on-demand renditions); each
   * step that stays clear doubles the next, up to half the main bitrate. Default 0.2.
   */
  readonly increaseStep: number;
  /** Paths whose targets are within this share of each other share one encoder, in [0, 1); default 0.3. */
  readonly shareTolerance: number;
  /** Adapt to the paths; false: only pinned outputs leave the main encode. Default true. */
  readonly adapt: boolean;
}

/** Defaults for `main`, audio at `audioBitrateBps`, and `ladder` (empty: on demand). */
export function qualityControllerDefaults(
  main: QualityRendition,
  audioBitrateBps: number,
  ladder: readonly QualityRendition[] = [],
): QualityControllerOptions {
  return {
    main,
    audioBitrateBps,
    ladder,
    maxExtraEncoders: 2,
    congestedShare: 0.5,
    clearShare: 0.25,
    headroom: 0.8,
    decreaseIntervalMs: 2000,
    increaseIntervalMs: 2000,
    climbIntervalMs: 1500,
    increaseStep: 0.2,
    shareTolerance: 0.3,
    adapt: true,
  };
}

/** Throws a ConfigError naming the first bad option. */
export function validateQualityControllerOptions(o: QualityControllerOptions): void {
  if (!Number.isInteger(o.maxExtraEncoders) || o.maxExtraEncoders < 0 || o.maxExtraEncoders > 8) {
    throw new ConfigError('maxExtraEncoders', o.maxExtraEncoders, 'use 0 to 8');
  }
  const names = new Set([o.main.name]);
  for (const rung of o.ladder) {
    if (names.has(rung.name))
      throw new ConfigError('video.renditions', rung.name, 'give each rendition its own name');
    names.add(rung.name);
    if (!(rung.bitrateBps < o.main.bitrateBps)) {
      throw new ConfigError(
        'video.renditions',
        rung.name,
        `each rung needs less than the first's ${o.main.bitrateBps} bit/s`,
      );
    }
  }
  if (!(o.climbIntervalMs > 0 && o.climbIntervalMs <= o.increaseIntervalMs)) {
    throw new ConfigError(
      'climbIntervalMs',
      o.climbIntervalMs,
      'use 0 < climbIntervalMs ≤ increaseIntervalMs',
    );
  }
  if (!(o.shareTolerance >= 0 && o.shareTolerance < 1))
    throw new ConfigError('shareTolerance', o.shareTolerance, 'use a share in [0, 1)');
  if (!(o.headroom > 0 && o.headroom <= 1))
    throw new ConfigError('headroom', o.headroom, 'use a share in (0, 1]');
  if (!(o.clearShare > 0 && o.clearShare <= o.congestedShare)) {
    throw new ConfigError('clearShare', o.clearShare, 'use 0 < clearShare ≤ congestedShare');
  }
}
