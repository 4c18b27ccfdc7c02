import type { Clock } from '../core/clock.js';
import { BitrateController, bitrateControllerDefaults, type PathReport } from './bitrate-controller.js';
import {
  validateQualityControllerOptions,
  type QualityControllerOptions,
  type QualityRendition,
} from './quality-controller-options.js';

export {
  qualityControllerDefaults,
  validateQualityControllerOptions,
  type QualityControllerOptions,
  type QualityRendition,
} from './quality-controller-options.js';

/** What one output reports each tick. */
export interface OutputQualityReport extends PathReport {
  /** Stable id of the output. */
  readonly id: string;
  /** Live (publishing): only live outputs are judged. */
  readonly live: boolean;
  /** The rendition it carries (undefined: the main one). */
  readonly rendition: string | undefined;
  /** The rendition it is moving to (undefined: the main one); null when none. */
  readonly pending: string | undefined | null;
  /** The rendition it must carry whatever its path does, if any. */
  readonly pinned: string | undefined;
}

/** What to do now. */
export type QualityAction =
  | { readonly kind: 'start'; readonly rendition: QualityRendition }
  | { readonly kind: 'stop'; readonly name: string }
  | { readonly kind: 'bitrate'; readonly name: string | undefined; readonly bitrateBps: number }
  | {
      readonly kind: 'move';
      readonly output: string;
      readonly to: string | undefined;
      readonly reason: 'congested' | 'recovered' | 'pinned';
    };

interface Running {
  rendition: QualityRendition;
  lastDecreaseMs: number;
}

/** A path that delivers under this share of what it is offered is saturated (never clear). */
const SATURATED_SHARE = 0.9;

/** A step up has not held when the latency rose by this share of the path's bound since it. */
const STEP_LATENCY_RISE_SHARE = 0.1;

/** A step up that would reach this share of the main bitrate goes back onto the main encode instead. */
const BACK_TO_MAIN_SHARE = 0.8;

interface PathMemory {
  clearSinceMs: number | null;
  previousLatencyMs: number;
  /** The next step up, bits per second; null: the first after congestion (`increaseStep` of main). */
  stepBps: number | null;
  /** It stepped up since it was last congested: the next step waits climbIntervalMs. */
  climbing: boolean;
  /** Its latency when it last stepped up, ms (null: no step since congestion). */
  latencyAtStepMs: number | null;
  /** Its delivery rates of the last DELIVERY_MEMORY_INTERVALS step intervals, oldest first. */
  deliveries: { atMs: number; bps: number }[];
}

/** How many step intervals of delivery rates a path remembers (what it carried, for a step up). */
const DELIVERY_MEMORY_INTERVALS = 2;

/**
 * Per-destination quality (the decision; pure, time from the clock, no I/O). Every destination gets
 * the best quality its own path carries and a slow one never lowers what the others get:
 * - while every path keeps up, only the main encoder runs;
 * - a path that falls behind moves to a lower rendition — one made on demand at 80 % of what that path
 *   delivers (or the best rung of a ladder under that) — at the rendition's first keyframe; paths behind
 *   together share one (targets within `shareTolerance`), and at most `maxExtraEncoders` run;
 * - still behind and not getting better (latency not falling, backlog not draining): that rendition's
 *   bitrate is cut again (at most every 2 s);
 * - clear for 2 s (delivering what it is offered, latency under a quarter of its bound): it steps up
 *   — one rung, or the rendition's bitrate by a fifth of the main bitrate, then by twice as much each
 *   time it stays clear for another 1.5 s (its latency not rising by a tenth of its bound since) (probing for capacity the path may not have: cheaply while
 *   it is still congested, quickly once it recovered), up to 80 % of the main bitrate, or at once to
 *   80 % of the most it delivered in the last two intervals when that is more (a recovered path drains
 *   its backlog at what it now carries) — and from 80 % of the main bitrate back to the main encode;
 *   an encoder nobody carries any more is stopped;
 * - with a single destination there is no second encode: the main bitrate follows the path (AIMD,
 *   BitrateController), as adaptive bitrate did.
 */
export class QualityController {
  /** The validated options (`main` moves with `setMainBitrate()`). */
  options: Readonly<QualityControllerOptions>;
  readonly #clock: Clock;
  readonly #single: BitrateController;
  readonly #running = new Map<string, Running>();
  readonly #paths = new Map<string, PathMemory>();
  #nextId = 1;

  constructor(clock: Clock, options: QualityControllerOptions) {
    validateQualityControllerOptions(options);
    this.options = Object.freeze({ ...options });
    this.#clock = clock;
    this.#single = new BitrateController(
      clock,
      bitrateControllerDefaults(options.main.bitrateBps, options.audioBitrateBps),
    );
  }

  /** The renditions it keeps running besides the main one, by name. */
  get running(): ReadonlyMap<string, QualityRendition> {
    return new Map([...this.#running].map(([name, r]) => [name, r.rendition]));
  }

  /**
   * The app set a new main bitrate (`setVideoBitrate()`): the ceiling moves. Returns what the main
   * encoder should use now (with a single destination, the adaptive bitrate under the new ceiling).
   */
  setMainBitrate(bitrateBps: number): number {
    this.options = Object.freeze({ ...this.options, main: { ...this.options.main, bitrateBps } });
    return this.#single.setMaxBitrate(bitrateBps);
  }

  /** What to do now, given every output's report. */
  update(outputs: readonly OutputQualityReport[]): QualityAction[] {
    if (!this.options.adapt) {
      const actions: QualityAction[] = [];
      for (const output of outputs) if (output.pinned !== undefined) this.#pin(output, actions);
      this.#stopUnused(outputs, actions);
      return actions;
    }
    const only = outputs.length === 1 ? outputs[0] : undefined;
    if (only && only.pinned === undefined) {
      const output = only;
      const change = this.#single.update(output.live ? [output] : []);
      return change ? [{ kind: 'bitrate', name: undefined, bitrateBps: change.bitrateBps }] : [];
    }
    const nowMs = this.#clock.nowUs() / 1000;
    const actions: QualityAction[] = [];
    for (const output of outputs) {
      const memory = this.#memory(output.id);
      if (output.pinned !== undefined) {
        this.#pin(output, actions);
        continue;
      }
      const state = this.#judge(output, memory);
      const improving = output.latencyMs < memory.previousLatencyMs;
      memory.previousLatencyMs = output.latencyMs;
      this.#remember(memory, output.deliveryRateBps, nowMs);
      if (state === 'clear') memory.clearSinceMs ??= nowMs;
      else memory.clearSinceMs = null;
      if (state === 'congested') {
        memory.stepBps = null; // probe from a small step again, after a whole interval
        memory.climbing = false;
        memory.latencyAtStepMs = null;
      }
      if (!output.live || output.pending !== null) continue; // judged again once it settles
      if (state === 'congested') this.#congested(output, improving, nowMs, actions);
      else if (state === 'clear' && nowMs - (memory.clearSinceMs ?? nowMs) >= this.#stepWaitMs(memory)) {
        this.#stepUp(output, memory, outputs, actions);
        memory.clearSinceMs = nowMs; // the next step waits again
        memory.climbing = true;
        memory.latencyAtStepMs = output.latencyMs;
      }
    }
    this.#stopUnused(outputs, actions);
    return actions;
  }

  /**
   * How long a path stays clear before its next step up: a whole interval after congestion (a step
   * too far shows in its delivery rate a second or two after it), a shorter one while the steps it
   * took since have held — so a recovered path is back on top within a few seconds, however its
   * probing stood when the link came back.
   */
  #stepWaitMs(memory: PathMemory): number {
    return memory.climbing ? this.options.climbIntervalMs : this.options.increaseIntervalMs;
  }

  #judge(output: OutputQualityReport, memory: PathMemory): 'congested' | 'clear' | 'holding' {
    const { congestedShare, clearShare } = this.options;
    // The path delivers clearly less than it is offered: its queue grows, whatever the latency says yet
    // (a step up shows here a second or two before it shows in the latency).
    const offered = output.offeredRateBps ?? 0;
    const saturated =
      offered > 0 && output.deliveryRateBps > 0 && output.deliveryRateBps < SATURATED_SHARE * offered;
    const share = output.latencyMs / output.maxLatencyMs;
    if (share > congestedShare || ((output.dropping || saturated) && share > clearShare)) return 'congested';
    // Its latency climbing since its last step up: that step was too far, though the rates do not show
    // it yet (their 2 s windows lag behind a step).
    const rising =
      memory.latencyAtStepMs !== null &&
      output.latencyMs > memory.latencyAtStepMs + STEP_LATENCY_RISE_SHARE * output.maxLatencyMs;
    return share < clearShare && !saturated && !rising ? 'clear' : 'holding';
  }

  /** It delivers clearly more than it is offered: its backlog shrinks (a path that just recovered). */
  #draining(output: OutputQualityReport): boolean {
    const offered = output.offeredRateBps ?? 0;
    return offered > 0 && output.deliveryRateBps > offered / SATURATED_SHARE;
  }

  /** Where a path delivering `deliveryRateBps` can go: that share of it, minus audio. */
  #targetBps(output: OutputQualityReport, currentBps: number): number {
    const { headroom, audioBitrateBps } = this.options;
    // No rate measured yet: the cap under the current bitrate alone.
    const byRate =
      output.deliveryRateBps > 0 ? headroom * output.deliveryRateBps - audioBitrateBps : Infinity;
    return Math.max(this.#minBps(), Math.min(byRate, currentBps * headroom));
  }

  #minBps(): number {
    return Math.min(this.options.main.bitrateBps, Math.max(this.options.main.bitrateBps / 10, 200_000));
  }

  #congested(output: OutputQualityReport, improving: boolean, nowMs: number, actions: QualityAction[]): void {
    const current = output.rendition === undefined ? undefined : this.#running.get(output.rendition);
    const currentBps = current?.rendition.bitrateBps ?? this.options.main.bitrateBps;
    const target = this.#targetBps(output, currentBps);
    if (current && this.options.ladder.length === 0) {
      // Already on its own encode: cut it, unless the queue is already draining.
      if (improving || this.#draining(output)) return;
      if (nowMs - current.lastDecreaseMs < this.options.decreaseIntervalMs) return;
      if (target >= current.rendition.bitrateBps) return;
      current.rendition = { ...current.rendition, bitrateBps: Math.round(target) };
      current.lastDecreaseMs = nowMs;
      actions.push({
        kind: 'bitrate',
        name: current.rendition.name,
        bitrateBps: current.rendition.bitrateBps,
      });
      return;
    }
    const to = this.#renditionUnder(target, currentBps, actions, nowMs);
    if (to && to.name !== output.rendition)
      actions.push({ kind: 'move', output: output.id, to: to.name, reason: 'congested' });
  }

  /** The rendition a path aiming at `target` should carry, started if need be; null to stay. */
  #renditionUnder(
    target: number,
    currentBps: number,
    actions: QualityAction[],
    nowMs: number,
  ): QualityRendition | null {
    const { ladder, shareTolerance, maxExtraEncoders } = this.options;
    const lower = [...this.#running.values()]
      .map((r) => r.rendition)
      .filter((r) => r.bitrateBps < currentBps);
    if (ladder.length > 0) {
      const rung = ladder.find((r) => r.bitrateBps <= target) ?? ladder[ladder.length - 1];
      if (!rung || rung.bitrateBps >= currentBps) return null;
      if (this.#running.has(rung.name)) return rung;
      if (this.#running.size < maxExtraEncoders) return this.#start(rung, actions, nowMs);
      return (
        lower.sort((a, b) => b.bitrateBps - a.bitrateBps).find((r) => r.bitrateBps <= target) ??
        lower[0] ??
        null
      );
    }
    // Share one already made for a path like this one.
    const shared = lower
      .filter(
        (r) => r.bitrateBps <= target * (1 + shareTolerance) && r.bitrateBps >= target * (1 - shareTolerance),
      )
      .sort((a, b) => b.bitrateBps - a.bitrateBps)[0];
    if (shared) return shared;
    if (this.#running.size < maxExtraEncoders) {
      const { width, height } = this.options.main;
      return this.#start(
        { name: `adaptive-${this.#nextId++}`, width, height, bitrateBps: Math.round(target) },
        actions,
        nowMs,
      );
    }
    // At the cap: the closest one under the target, else the lowest there is.
    const under = lower.filter((r) => r.bitrateBps <= target).sort((a, b) => b.bitrateBps - a.bitrateBps);
    return under[0] ?? lower.sort((a, b) => a.bitrateBps - b.bitrateBps)[0] ?? null;
  }

  #start(rendition: QualityRendition, actions: QualityAction[], nowMs: number): QualityRendition {
    this.#running.set(rendition.name, { rendition, lastDecreaseMs: nowMs });
    actions.push({ kind: 'start', rendition });
    return rendition;
  }

  #remember(memory: PathMemory, deliveryRateBps: number, nowMs: number): void {
    const { deliveries } = memory;
    deliveries.push({ atMs: nowMs, bps: deliveryRateBps });
    const since = nowMs - DELIVERY_MEMORY_INTERVALS * this.options.increaseIntervalMs;
    while (deliveries.length > 0 && deliveries[0]!.atMs < since) deliveries.shift();
  }

  /**
   * The video bitrate the path has shown it carries: `headroom` of the most it delivered lately, minus
   * audio. While clear it delivers what it is offered, so this is under what it carries now; but a path
   * that recovered drains its backlog at what it can carry now, and that is the evidence to climb on.
   */
  #provenBps(memory: PathMemory): number {
    const peak = Math.max(0, ...memory.deliveries.map((d) => d.bps));
    return this.options.headroom * peak - this.options.audioBitrateBps;
  }

  #stepUp(
    output: OutputQualityReport,
    memory: PathMemory,
    outputs: readonly OutputQualityReport[],
    actions: QualityAction[],
  ): void {
    if (output.rendition === undefined) return;
    const current = this.#running.get(output.rendition);
    const { ladder, main, increaseStep } = this.options;
    const proven = this.#provenBps(memory);
    if (ladder.length > 0) {
      const index = ladder.findIndex((r) => r.name === output.rendition);
      // One rung up, or as high as the path has shown it carries (the main encode from 80 % of it).
      const carried = ladder.findIndex((r) => r.bitrateBps <= proven);
      const upIndex =
        proven >= main.bitrateBps * BACK_TO_MAIN_SHARE
          ? -1
          : carried >= 0 && carried < index
            ? carried
            : index - 1;
      const up = upIndex >= 0 ? ladder[upIndex] : undefined;
      if (up && !this.#running.has(up.name)) {
        // At the cap, only in place of its own rung (stopped once it moved): else it would never climb.
        const freed = this.#carriedOnlyBy(output, outputs, actions) ? 1 : 0;
        if (this.#running.size - freed >= this.options.maxExtraEncoders) return;
        this.#start(up, actions, -Infinity);
      }
      actions.push({ kind: 'move', output: output.id, to: up?.name, reason: 'recovered' });
      return;
    }
    if (!current) return;
    // Probing for capacity the path may not have: small after congestion, doubling while it holds; at
    // once to what the path has shown it carries, when that is more. The main encode is the last step,
    // taken only from 80 % of it on this encode (or shown carried): a step too far there costs a switch
    // down and an encoder start, where one on this encode costs a bitrate cut.
    const top = main.bitrateBps * BACK_TO_MAIN_SHARE;
    if (proven >= top || current.rendition.bitrateBps >= top) {
      actions.push({ kind: 'move', output: output.id, to: undefined, reason: 'recovered' });
      return;
    }
    const step = memory.stepBps ?? increaseStep * main.bitrateBps;
    memory.stepBps = Math.min(2 * step, main.bitrateBps / 2);
    const raised = Math.min(Math.max(current.rendition.bitrateBps + step, proven), top);
    current.rendition = { ...current.rendition, bitrateBps: Math.round(raised) };
    actions.push({ kind: 'bitrate', name: current.rendition.name, bitrateBps: current.rendition.bitrateBps });
  }

  /** No other output carries, moves to, is pinned to or is being moved to its rendition. */
  #carriedOnlyBy(
    output: OutputQualityReport,
    outputs: readonly OutputQualityReport[],
    actions: readonly QualityAction[],
  ): boolean {
    const name = output.rendition;
    const others = outputs.filter((o) => o.id !== output.id);
    return (
      !others.some((o) => o.rendition === name || o.pending === name || o.pinned === name) &&
      !actions.some((a) => a.kind === 'move' && a.to === name)
    );
  }

  #pin(output: OutputQualityReport, actions: QualityAction[]): void {
    const name = output.pinned;
    if (name === this.options.main.name) {
      if (output.rendition !== undefined && output.pending !== undefined) {
        actions.push({ kind: 'move', output: output.id, to: undefined, reason: 'pinned' });
      }
      return;
    }
    const rung = this.options.ladder.find((r) => r.name === name);
    if (!rung) return;
    if (!this.#running.has(rung.name)) this.#start(rung, actions, -Infinity);
    if (output.rendition !== rung.name && output.pending !== rung.name) {
      actions.push({ kind: 'move', output: output.id, to: rung.name, reason: 'pinned' });
    }
  }

  /** Stops the renditions no output carries or moves to (a pending move planned this tick counts). */
  #stopUnused(outputs: readonly OutputQualityReport[], actions: QualityAction[]): void {
    const used = new Set<string | undefined>();
    for (const output of outputs) {
      used.add(output.rendition);
      if (output.pending !== null) used.add(output.pending);
    }
    for (const action of actions) if (action.kind === 'move') used.add(action.to);
    for (const name of [...this.#running.keys()]) {
      if (used.has(name)) continue;
      this.#running.delete(name);
      actions.push({ kind: 'stop', name });
    }
  }

  #memory(id: string): PathMemory {
    let memory = this.#paths.get(id);
    if (!memory) {
      this.#paths.set(
        id,
        (memory = {
          clearSinceMs: null,
          previousLatencyMs: Infinity,
          stepBps: null,
          climbing: false,
          latencyAtStepMs: null,
          deliveries: [],
        }),
      );
    }
    return memory;
  }
}
