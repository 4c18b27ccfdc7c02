import type { Clock, Timer } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { BitrateController, bitrateControllerDefaults, type BitrateChange } from './bitrate-controller.js';
import type { Output } from './output.js';

/** How often adaptive bitrate looks at the outputs, ms. */
const INTERVAL_MS = 500;

/** Events of AdaptiveBitrate. */
export type AdaptiveBitrateEvents = {
  /** The encoder should use `bitrateBps` now. */
  change: [bitrateBps: number, reason: BitrateChange['reason']];
};

/**
 * Adaptive bitrate for one encoder feeding several outputs: every 500 ms, and at once when an
 * output starts dropping, the live outputs' latency, drops and delivery rate go to the
 * BitrateController (the decision, pure), and a change comes out as `change`. It owns its timer.
 */
export class AdaptiveBitrate extends TypedEmitter<AdaptiveBitrateEvents> {
  readonly #clock: Clock;
  readonly #outputs: readonly Output[];
  readonly #controller: BitrateController;
  #timer: Timer | null = null;
  #stopped = false;

  constructor(clock: Clock, outputs: readonly Output[], videoBitrateBps: number, audioBitrateBps: number) {
    super();
    this.#clock = clock;
    this.#outputs = outputs;
    this.#controller = new BitrateController(
      clock,
      bitrateControllerDefaults(videoBitrateBps, audioBitrateBps),
    );
    for (const output of outputs) {
      output.on('dropstatechange', (_prev, next) => {
        if (next === 'dropping') this.#tick();
      });
    }
  }

  /** Starts looking. */
  start(): void {
    if (this.#timer === null && !this.#stopped) this.#tick();
  }

  /** A new ceiling (`setVideoBitrate()`); returns the bitrate to use under it now. */
  setMaxBitrate(bitrateBps: number): number {
    return this.#controller.setMaxBitrate(bitrateBps);
  }

  /** Stops looking; idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#stopped) return;
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
    this.#timer = this.#clock.setTimer(() => this.#tick(), INTERVAL_MS);
  }
}
