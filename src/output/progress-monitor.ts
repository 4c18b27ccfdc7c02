import { ConfigError } from '../core/errors.js';

/** Options of stall detection. */
export interface ProgressMonitorOptions {
  /** No progress at all (nothing drained, nothing acknowledged) this long while data is pending ⇒ dead, ms. Default 15000. */
  stallTimeoutMs: number;
  /** Where the server acknowledges: an overdue acknowledgement this long ⇒ dead, ms. Default 5000. */
  ackStallTimeoutMs: number;
  /** The acknowledgement window the transport asked for (RTMP §5.4.4), bytes; the server's spacing is learnt if wider. Required. */
  ackWindowBytes: number;
}

/** Default ProgressMonitor options (the window is the transport's). */
export function defaultProgressMonitorOptions(): Omit<ProgressMonitorOptions, 'ackWindowBytes'> {
  return { stallTimeoutMs: 15000, ackStallTimeoutMs: 5000 };
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
  #ackedOffset: number | undefined;
  #serverWindowBytes = 0;
  #overdueSinceMs: number | undefined;
  #stallKind: StallKind | null = null;

  constructor(options: Partial<ProgressMonitorOptions> & Pick<ProgressMonitorOptions, 'ackWindowBytes'>) {
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
    return this.#ackedOffset !== undefined;
  }

  /** `bytes` left our buffers for the kernel at `nowMs`. */
  bytesDrained(bytes: number, nowMs: number): void {
    if (bytes <= 0) return;
    this.#lastProgressMs = nowMs;
    this.#drainedBytes += bytes;
    this.#updateOverdue(nowMs);
  }

  /** The server acknowledged everything up to `offset` at `nowMs` (unwrapped by AckCounter: it never decreases). */
  acknowledged(offset: number, nowMs: number): void {
    const last = this.#ackedOffset;
    if (offset === last) return; // a repeated value is not progress
    if (last !== undefined) this.#serverWindowBytes = offset - last; // its spacing, if it ignores our window
    this.#ackedOffset = offset;
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
    this.#ackedOffset = undefined;
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
    if (this.#ackedOffset === undefined || this.#overdueSinceMs !== undefined) return;
    const windowBytes = Math.max(this.options.ackWindowBytes, this.#serverWindowBytes);
    // Two windows absorb the server acknowledging late (chunk granularity) and counting the handshake.
    if (this.#drainedBytes - this.#ackedOffset >= 2 * windowBytes) this.#overdueSinceMs = nowMs;
  }
}
