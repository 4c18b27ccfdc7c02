import { AbortError } from '../core/errors.js';
import type { OutputStats } from './output-options.js';
import type { Output } from './output.js';
import type { OutputState } from './reconnector.js';

/** The summary state of several outputs: the best of theirs, in this order. */
const SUMMARY_ORDER: readonly OutputState[] = [
  'live',
  'reconnecting',
  'connecting',
  'stopping',
  'stopped',
  'failed',
];

/** Counters summed (or maxed) over every output. */
export interface OutputTotals {
  /** Video dropped for congestion, all outputs. */
  readonly videoPacketsDropped: number;
  /** Audio dropped while connected, all outputs (0 by design). */
  readonly audioPacketsDropped: number;
  /** Packets dropped while disconnected, all outputs. */
  readonly packetsDroppedWhileDisconnected: { readonly video: number; readonly audio: number };
  /** Reconnections, all outputs. */
  readonly reconnectCount: number;
  /** Moves at a server's request, all outputs. */
  readonly serverRequestedReconnects: number;
  /** The highest current latency among outputs, ms. */
  readonly currentLatencyMs: number;
  /** The highest latency any output has seen, ms. */
  readonly maxLatencyMs: number;
  /** Bytes sent, all outputs. */
  readonly bytesSent: number;
  /** Send bitrate, all outputs, bits per second. */
  readonly sendBitrateBps: number;
}

/**
 * The destinations of one session, as one: their summary state (live if any is), the wait for the
 * first one the server accepts, and their counters summed. Each output keeps its own queue, drops
 * and reconnect; nothing here couples them.
 */
export class OutputGroup {
  /** The outputs, in the order given. */
  readonly outputs: readonly Output[];

  constructor(outputs: readonly Output[]) {
    this.outputs = outputs;
  }

  /** The best state among the outputs (`live` if any is); null without outputs. */
  get summaryState(): OutputState | null {
    if (this.outputs.length === 0) return null;
    const states = new Set(this.outputs.map((o) => o.state));
    return SUMMARY_ORDER.find((s) => states.has(s)) ?? 'connecting';
  }

  /** Whether every output has failed (and there is at least one). */
  get allFailed(): boolean {
    return this.outputs.length > 0 && this.outputs.every((o) => o.state === 'failed');
  }

  /**
   * Resolves once some output is accepted by its server (past its probation), or at once without
   * outputs; rejects with the first output's error once every output failed, or with an AbortError
   * (`ERR_ABORTED`) when `signal` aborts first.
   */
  firstAccepted(signal: AbortSignal): Promise<void> {
    const outputs = this.outputs;
    if (outputs.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // Outputs that failed before this was called (fast failures while the encoders opened) count too.
      const errors: Error[] = outputs.flatMap((o) => (o.failure ? [o.failure] : []));
      const check = (): void => {
        if (outputs.some((o) => o.isEstablished)) finish(null);
        else if (this.allFailed) finish(errors[0] ?? new Error('every output failed'));
      };
      const onError = (error: Error): void => {
        errors.push(error);
        check();
      };
      const onAbort = (): void =>
        finish(signal.reason instanceof Error ? signal.reason : new AbortError('start() was aborted'));
      const finish = (failure: Error | null): void => {
        for (const o of outputs) o.off('statechange', check).off('established', check).off('error', onError);
        signal.removeEventListener('abort', onAbort);
        if (failure) reject(failure);
        else resolve();
      };
      for (const o of outputs) o.on('error', onError).on('statechange', check).on('established', check);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      else check(); // an output may have been accepted (or failed) before this was called
    });
  }

  /** Starts every output connecting. */
  start(): void {
    for (const output of this.outputs) output.start();
  }

  /** Stops every output gracefully (each flushes what it has queued, bounded). */
  async stop(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.stop()));
  }

  /** Resolves when every output has stopped or failed. */
  async finished(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.finished()));
  }

  /** Every output's stats, and their totals. */
  stats(): { outputs: OutputStats[]; totals: OutputTotals } {
    const outputs = this.outputs.map((o) => o.stats);
    const sum = (pick: (s: OutputStats) => number): number => outputs.reduce((t, s) => t + pick(s), 0);
    const max = (pick: (s: OutputStats) => number): number =>
      outputs.reduce((t, s) => Math.max(t, pick(s)), 0);
    return {
      outputs,
      totals: {
        videoPacketsDropped: sum((s) => s.videoPacketsDropped),
        audioPacketsDropped: sum((s) => s.audioPacketsDropped),
        packetsDroppedWhileDisconnected: {
          video: sum((s) => s.packetsDroppedWhileDisconnected.video),
          audio: sum((s) => s.packetsDroppedWhileDisconnected.audio),
        },
        reconnectCount: sum((s) => s.reconnectCount),
        serverRequestedReconnects: sum((s) => s.serverRequestedReconnects),
        currentLatencyMs: max((s) => s.currentLatencyMs),
        maxLatencyMs: max((s) => s.maxLatencyMs),
        bytesSent: sum((s) => s.bytesSent),
        sendBitrateBps: sum((s) => s.sendBitrateBps),
      },
    };
  }
}
