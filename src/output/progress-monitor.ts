import { ConfigError } from '../core/errors.js';

/** Options of stall detection. */
export interface ProgressMonitorOptions {
  /** No progress at all (nothing drained, nothing acknowledged) this long while data is pending ⇒ dead, ms. Default 15000. */
  stallTimeoutMs: number;
  /** Where the server acknowledges: an overdue acknowledgement this long ⇒ dead, ms. Default 5000. */
  ackStallTimeoutMs: number;
  /** Our Window Acknowledgement Size (RTMP §5.4.4), bytes; the server's spacing is learnt if wider. Default 65536. */
  ackWindowBytes: number;
}

/** Default ProgressMonitor options. */
export function defaultProgressMonitorOptions(): ProgressMonitorOptions {
  return { stallTimeoutMs: 15000, ackStallTimeoutMs: 5000, ackWindowBytes: 65536 };
}

/** Throws a ConfigError naming the first bad ProgressMonitor option. */
export function validateProgressMonitorOptions(options: ProgressMonitorOptions): void {
  for (const field of ['stallTimeoutMs', 'ackStallTimeoutMs', 'ackWindowBytes'] as const) {
    const value = options[field];
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, value, 'use a positive number');
  }
}

/** Result of a check. */
export type ProgressStatus = 'ok' | 'stalled';

/** Which rule declared the stall. */
export type StallKind = 'no-progress' | 'no-acknowledgement';

const UINT32 = 2 ** 32;

/**
 * Pure stall detection for the ConnectionMonitor; slow is not dead. Two rules:
 * - no progress at all (no bytes drained, no acknowledgement advancing) while data is pending, for
 *   stallTimeoutMs — or for ackStallTimeoutMs once the server has acknowledged on this connection
 *   (a server that acknowledges and then goes silent with nothing draining is dead, not slow);
 * - once the server has acknowledged, acknowledgements prove delivery and draining into kernel
 *   buffers does not: with two windows drained but unacknowledged, an acknowledgement is overdue, and
 *   none for ackStallTimeoutMs from then ⇒ dead (a black hole behind a large kernel buffer).
 * Any acknowledgement resets both rules; any drain resets the first. All times are caller-supplied ms.
 */
export class ProgressMonitor {
  /** The validated options. */
  readonly options: Readonly<ProgressMonitorOptions>;
  #pendingBytes = 0;
  #pendingSinceMs: number | undefined;
  #lastProgressMs: number | undefined;
  #drainedBytes = 0;
  #lastAckSeq: number | undefined;
  #ackedBytes = 0;
  #serverWindowBytes = 0;
  #overdueSinceMs: number | undefined;
  #stallKind: StallKind | null = null;

  constructor(options: Partial<ProgressMonitorOptions> = {}) {
    const resolved = { ...defaultProgressMonitorOptions(), ...options };
    validateProgressMonitorOptions(resolved);
    this.options = Object.freeze(resolved);
  }

  /** The rule behind the last `stalled`, or null. */
  get stallKind(): StallKind | null {
    return this.#stallKind;
  }

  /** Whether an acknowledgement has arrived on this connection. */
  get acknowledgementsSeen(): boolean {
    return this.#lastAckSeq !== undefined;
  }

  /** `bytes` left our buffers for the kernel at `nowMs`. */
  bytesDrained(bytes: number, nowMs: number): void {
    if (bytes <= 0) return;
    this.#lastProgressMs = nowMs;
    this.#drainedBytes += bytes;
    this.#updateOverdue(nowMs);
  }

  /** The server acknowledged `sequenceNumber` bytes at `nowMs` (uint32: may wrap, or restart from 0). */
  acknowledged(sequenceNumber: number, nowMs: number): void {
    const seq = sequenceNumber >>> 0;
    if (seq === this.#lastAckSeq) return; // a repeated value is not progress
    if (this.#lastAckSeq === undefined) {
      this.#ackedBytes = seq;
    } else {
      // Advance modulo 2^32, which survives a wrap; a restarted counter (a "negative" step) advances by
      // its new value, an under-estimate that only makes the overdue rule more lenient.
      const step = (seq - this.#lastAckSeq + UINT32) % UINT32;
      const advance = step < UINT32 / 2 ? step : seq;
      if (step < UINT32 / 2) this.#serverWindowBytes = step; // learn the server's spacing if it ignores ours
      this.#ackedBytes += advance;
    }
    this.#lastAckSeq = seq;
    this.#lastProgressMs = nowMs;
    this.#overdueSinceMs = undefined;
    this.#updateOverdue(nowMs);
  }

  /** Bytes waiting to be delivered (our queue and socket buffer) changed at `nowMs`. */
  pendingChanged(bytesPending: number, nowMs: number): void {
    if (this.#pendingBytes <= 0 && bytesPending > 0) this.#pendingSinceMs = nowMs;
    this.#pendingBytes = bytesPending;
  }

  /** `stalled` when a rule says the connection is dead at `nowMs`, else `ok`. */
  check(nowMs: number): ProgressStatus {
    this.#stallKind = this.#evaluate(nowMs);
    return this.#stallKind === null ? 'ok' : 'stalled';
  }

  /** Forgets everything: a new connection. */
  reset(): void {
    this.#pendingBytes = 0;
    this.#pendingSinceMs = undefined;
    this.#lastProgressMs = undefined;
    this.#drainedBytes = 0;
    this.#lastAckSeq = undefined;
    this.#ackedBytes = 0;
    this.#serverWindowBytes = 0;
    this.#overdueSinceMs = undefined;
    this.#stallKind = null;
  }

  #evaluate(nowMs: number): StallKind | null {
    const acksSeen = this.acknowledgementsSeen;
    if (acksSeen && this.#overdueSinceMs !== undefined) {
      if (nowMs - this.#overdueSinceMs >= this.options.ackStallTimeoutMs) return 'no-acknowledgement';
    }
    if (this.#pendingBytes <= 0 || this.#pendingSinceMs === undefined) return null;
    const timeoutMs = acksSeen ? this.options.ackStallTimeoutMs : this.options.stallTimeoutMs;
    const sinceMs = Math.max(this.#lastProgressMs ?? -Infinity, this.#pendingSinceMs);
    return nowMs - sinceMs >= timeoutMs ? 'no-progress' : null;
  }

  #updateOverdue(nowMs: number): void {
    if (this.#lastAckSeq === undefined || this.#overdueSinceMs !== undefined) return;
    const windowBytes = Math.max(this.options.ackWindowBytes, this.#serverWindowBytes);
    // Two windows absorb the server acknowledging late (chunk granularity) and counting the handshake.
    if (this.#drainedBytes - this.#ackedBytes >= 2 * windowBytes) this.#overdueSinceMs = nowMs;
  }
}
