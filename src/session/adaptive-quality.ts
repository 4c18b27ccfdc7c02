import type { Clock } from '../core/clock.js';
import { asError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { AdaptationLoop } from '../output/adaptation-loop.js';
import type { Output } from '../output/output.js';
import {
  QualityController,
  type OutputQualityReport,
  type QualityAction,
  type QualityControllerOptions,
} from '../output/quality-controller.js';
import type { VideoRenditions } from './video-renditions.js';

/** Events of AdaptiveQuality. */
export type AdaptiveQualityEvents = {
  /** The main encoder's bitrate should change (a single destination: no second encode). */
  mainbitrate: [bitrateBps: number, reason: 'congested' | 'clear'];
  /** A rendition started or stopped, or its bitrate changed. */
  encoders: [];
  /** Starting an encoder failed (its outputs stay where they were). */
  error: [Error];
};

/**
 * Per-destination quality at run time: every 500 ms (and at once when an output starts dropping)
 * the outputs' paths go to the QualityController, and its answers are carried out — encoders
 * started, re-rated and stopped on the session's VideoRenditions, outputs moved between renditions
 * (each at the rendition's next keyframe).
 */
export class AdaptiveQuality extends TypedEmitter<AdaptiveQualityEvents> {
  readonly #outputs: readonly Output[];
  readonly #pins: readonly (string | undefined)[];
  readonly #renditions: VideoRenditions;
  readonly #controller: QualityController;
  readonly #loop: AdaptationLoop;

  /** `pins[i]`: the rendition output i must carry, if any. */
  constructor(
    clock: Clock,
    outputs: readonly Output[],
    pins: readonly (string | undefined)[],
    renditions: VideoRenditions,
    options: QualityControllerOptions,
  ) {
    super();
    this.#outputs = outputs;
    this.#pins = pins;
    this.#renditions = renditions;
    this.#controller = new QualityController(clock, options);
    this.#loop = new AdaptationLoop(clock, outputs, () => this.#look());
  }

  /** Starts looking. */
  start(): void {
    this.#loop.start();
  }

  /** A new main bitrate set by the app; returns what the main encoder should use now. */
  setMaxBitrate(bitrateBps: number): number {
    return this.#controller.setMainBitrate(bitrateBps);
  }

  /** Stops looking (the encoders close with the session); idempotent. */
  stop(): void {
    this.#loop.stop();
  }

  #look(): void {
    const reports: OutputQualityReport[] = this.#outputs.map((output, i) => {
      const stats = output.stats;
      return {
        id: String(i),
        live: output.state === 'live',
        dropping: stats.dropState === 'dropping',
        latencyMs: stats.currentLatencyMs,
        maxLatencyMs: output.options.maxLatencyMs,
        deliveryRateBps: stats.deliveryRateBps,
        offeredRateBps: stats.offeredBitrateBps,
        rendition: output.rendition,
        pending: output.pendingRendition,
        pinned: this.#pins[i],
      };
    });
    for (const action of this.#controller.update(reports)) this.#apply(action);
  }

  #apply(action: QualityAction): void {
    switch (action.kind) {
      case 'start':
        this.#renditions.start(action.rendition).then(
          () => this.emit('encoders'),
          (error: unknown) => {
            // Its outputs wait for a keyframe that will not come: send them back to the main encode.
            for (const output of this.#outputs) {
              if (output.pendingRendition === action.rendition.name)
                output.moveToRendition(undefined, 'stopped');
            }
            this.emit('error', asError(error));
          },
        );
        return;
      case 'stop':
        void this.#renditions.stop(action.name).then(() => this.emit('encoders'));
        return;
      case 'bitrate':
        if (action.name === undefined) {
          this.emit(
            'mainbitrate',
            action.bitrateBps,
            action.bitrateBps < this.#renditions.main.bitrateBps ? 'congested' : 'clear',
          );
        } else {
          this.#renditions.setBitrate(action.name, action.bitrateBps);
          this.emit('encoders');
        }
        return;
      case 'move': {
        const output = this.#outputs[Number(action.output)];
        output?.moveToRendition(action.to, action.reason);
        // Back up to the main encode: its next keyframe on the grid is at most a keyframe interval away.
        return;
      }
    }
  }
}
