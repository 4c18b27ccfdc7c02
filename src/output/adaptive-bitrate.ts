import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { BitrateController, bitrateControllerDefaults, type BitrateChange } from './bitrate-controller.js';
import { AdaptationLoop } from './adaptation-loop.js';
import type { Output } from './output.js';

/** Events of AdaptiveBitrate. */
export type AdaptiveBitrateEvents = {
  /** The encoder should use `bitrateBps` now. */
  change: [bitrateBps: number, reason: BitrateChange['reason']];
};

/**
 * Adaptive bitrate for one encoder feeding several outputs: every 500 ms, and at once when an
 * output starts dropping, the live outputs' latency, drops and delivery rate go to the
 * BitrateController (the decision, pure), and a change comes out as `change`.
 */
export class AdaptiveBitrate extends TypedEmitter<AdaptiveBitrateEvents> {
  readonly #outputs: readonly Output[];
  readonly #controller: BitrateController;
  readonly #loop: AdaptationLoop;

  constructor(clock: Clock, outputs: readonly Output[], videoBitrateBps: number, audioBitrateBps: number) {
    super();
    this.#outputs = outputs;
    this.#controller = new BitrateController(
      clock,
      bitrateControllerDefaults(videoBitrateBps, audioBitrateBps),
    );
    this.#loop = new AdaptationLoop(clock, outputs, () => this.#look());
  }

  /** Starts looking. */
  start(): void {
    this.#loop.start();
  }

  /** A new ceiling (`setVideoBitrate()`); returns the bitrate to use under it now. */
  setMaxBitrate(bitrateBps: number): number {
    return this.#controller.setMaxBitrate(bitrateBps);
  }

  /** Stops looking; idempotent. */
  stop(): void {
    this.#loop.stop();
  }

  #look(): void {
    const reports = this.#outputs
      .filter((o) => o.state === 'live')
      .map((o) => {
        const stats = o.stats;
        return {
          dropping: stats.dropState === 'dropping',
          latencyMs: stats.currentLatencyMs,
          maxLatencyMs: o.options.maxLatencyMs,
          deliveryRateBps: stats.deliveryRateBps,
        };
      });
    const change = this.#controller.update(reports);
    if (change) this.emit('change', change.bitrateBps, change.reason);
  }
}
