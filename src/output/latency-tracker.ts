import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { shouldCompact } from './stream-buffer.js';

/** Options of the end-to-end latency tracker. */
export interface LatencyTrackerOptions {
  /**
   * The acknowledgement window the transport asked the peer for (RTMP §5.4.4: our Window
   * Acknowledgement Size), bytes: the measure's resolution. Required: it is the transport's setting.
   */
  ackWindowBytes: number;
  /** No acknowledgement this long (ms) after data started flowing ⇒ the server does not acknowledge. Default 3000. */
  ackTimeoutMs: number;
  /** Sliding window of the delivery rate, ms. Default 2000. */
  rateWindowMs: number;
  /** Unacknowledged bytes beyond the window before an acknowledgement counts as due (servers count late by up to a chunk). Default 8192. */
  ackSlackBytes: number;
  /** Most send records kept; beyond it the oldest are forgotten (a server that never acknowledges). Default 16384. */
  maxRecords: number;
}

/** Default LatencyTracker options (the window is the transport's). */
export function defaultLatencyTrackerOptions(): Omit<LatencyTrackerOptions, 'ackWindowBytes'> {
  return {
    ackTimeoutMs: 3000,
    rateWindowMs: 2000,
    ackSlackBytes: 8192,
    maxRecords: 16384,
  };
}

/** Throws a ConfigError naming the first bad LatencyTracker option. */
export function validateLatencyTrackerOptions(options: LatencyTrackerOptions): void {
  const positive: (keyof LatencyTrackerOptions)[] = [
    'ackWindowBytes',
    'ackTimeoutMs',
    'rateWindowMs',
    'maxRecords',
  ];
  for (const field of positive) {
    const value = options[field];
    if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, value, 'use a positive number');
  }
  if (!Number.isFinite(options.ackSlackBytes) || options.ackSlackBytes < 0) {
    throw new ConfigError('ackSlackBytes', options.ackSlackBytes, 'use a number of bytes ≥ 0, e.g. 8192');
  }
}

/** Where the latency comes from: server acknowledgements, or (no acknowledgements yet) the send side. */
export type LatencyMeasure = 'acknowledged' | 'sent';

/** Whether the server acknowledges: not yet known, proven, or declared not to (fallback to the send side). */
export type AckState = 'unknown' | 'acknowledging' | 'non-acknowledging';

interface SendRecord {
  readonly endOffset: number;
  readonly captureUs: number;
  readonly writtenUs: number;
}

interface RateSample {
  readonly atUs: number;
  readonly ackedOffset: number;
}

/**
 * End-to-end latency from acknowledgements (RTMP §5.4.3): the age of the oldest media the server has
 * not acknowledged. The sender calls `recordSent(endOffset, captureUs)` for each message handed to the
 * socket, `onAcknowledgement(offset)` for each acknowledgement (the offset unwrapped by AckCounter),
 * and `reset()` per connection.
 *
 * The server acknowledges only every window of bytes, so the last < 1 window written is never
 * acknowledged until more data follows. While less than a window (plus slack) is unacknowledged, no
 * acknowledgement is due: those records are "in flight" and count only the delay they had before
 * reaching the socket, which does not grow while the connection is quiet. Once an acknowledgement is
 * due, the reading is now − capture time of the oldest unacknowledged record: an upper bound on the
 * oldest undelivered media, too high by at most one window's duration (choose the window accordingly).
 *
 * Until the server acknowledges (and for servers that never do), `onTransportDelivered(offset)` may
 * report what the transport knows the server's TCP has received (Linux: the kernel's send queue, see
 * KernelSendQueue). The send-side reading then sees into the kernel: the age of the oldest media not yet
 * delivered, exact to within the sampling interval, with a delivery rate; without it, the send side sees
 * only the oldest media not yet handed to the socket, blind to what the kernel holds.
 */
export class LatencyTracker {
  /** The validated options. */
  readonly options: Readonly<LatencyTrackerOptions>;
  readonly #clock: Clock;
  #records: SendRecord[] = [];
  #recordsHead = 0;
  #bytesWritten = 0;
  #ackedOffset = 0;
  #flowStartUs: number | undefined;
  #ackState: AckState = 'unknown';
  #recentGaps: number[] = [];
  #samples: RateSample[] = [];
  #maxLatencyMs = 0;
  #transportOffset: number | undefined;
  #transitMs = 0;

  constructor(
    clock: Clock,
    options: Partial<LatencyTrackerOptions> & Pick<LatencyTrackerOptions, 'ackWindowBytes'>,
  ) {
    const resolved = { ...defaultLatencyTrackerOptions(), ...options };
    validateLatencyTrackerOptions(resolved);
    this.options = Object.freeze(resolved);
    this.#clock = clock;
  }

  /** Records that bytes up to `endOffset` (counted on this connection) were written; `captureUs` if it carries media. */
  recordSent(endOffset: number, captureUs?: number): void {
    if (endOffset < this.#bytesWritten) return; // offsets only grow; a stale call changes nothing
    const nowUs = this.#clock.nowUs();
    if (this.#flowStartUs === undefined && endOffset > 0) this.#flowStartUs = nowUs;
    this.#bytesWritten = endOffset;
    if (captureUs === undefined || endOffset <= this.#ackedOffset) return;
    this.#records.push({ endOffset, captureUs, writtenUs: nowUs });
    if (this.#records.length - this.#recordsHead > this.options.maxRecords) this.#recordsHead++;
    this.#compactRecords();
  }

  /** The peer acknowledged everything up to `offset` (counted like `recordSent`'s offsets; see AckCounter). */
  onAcknowledgement(offset: number): void {
    this.#observeMax();
    const acked = Math.max(this.#ackedOffset, Math.min(offset, this.#bytesWritten));
    const gap = acked - this.#ackedOffset;
    if (this.#ackState === 'acknowledging' && gap > 0) {
      this.#recentGaps.push(gap);
      if (this.#recentGaps.length > 4) this.#recentGaps.shift();
    }
    if (this.#ackState !== 'acknowledging' && this.#transportOffset !== undefined) {
      this.#samples = []; // the delivery rate now follows acknowledgements, not the transport
    }
    this.#ackState = 'acknowledging';
    this.#ackedOffset = acked;
    this.#passRecordsUpTo(acked);
    this.#addRateSample(acked);
  }

  /**
   * The transport says the server's TCP has received bytes up to `deliveredOffset` (counted like
   * `recordSent`'s offsets). Used until the server acknowledges; ignored after.
   */
  onTransportDelivered(deliveredOffset: number): void {
    if (this.#ackState === 'acknowledging') return;
    const previous = this.#transportOffset ?? 0;
    const delivered = Math.max(previous, Math.min(deliveredOffset, this.#bytesWritten));
    this.#transportOffset = delivered;
    this.#passRecordsUpTo(delivered);
    this.#addRateSample(delivered);
  }

  /** `acknowledged` once the server has acknowledged on this connection; `sent` until then. */
  get measure(): LatencyMeasure {
    return this.#ackState === 'acknowledging' ? 'acknowledged' : 'sent';
  }

  /** Whether the server acknowledges; `non-acknowledging` after ackTimeoutMs and 2 windows with none. */
  get ackState(): AckState {
    if (this.#ackState === 'unknown' && this.#flowStartUs !== undefined) {
      const flowingMs = (this.#clock.nowUs() - this.#flowStartUs) / 1000;
      if (flowingMs >= this.options.ackTimeoutMs && this.#bytesWritten >= 2 * this.options.ackWindowBytes) {
        this.#ackState = 'non-acknowledging';
      }
    }
    return this.#ackState;
  }

  /** The acknowledgement window in effect: ours, or the server's if its acknowledgements come further apart. */
  get effectiveAckWindowBytes(): number {
    // The smallest recent gap: one late, batched acknowledgement must not widen the window.
    const observed = this.#recentGaps.length === 0 ? 0 : Math.min(...this.#recentGaps);
    return Math.max(this.options.ackWindowBytes, observed);
  }

  /** Age of the oldest media the server has not received, ms (see the class comment). */
  get currentLatencyMs(): number {
    const latencyMs = this.#latencyMs();
    if (latencyMs > this.#maxLatencyMs) this.#maxLatencyMs = latencyMs;
    return latencyMs;
  }

  /** The highest latency seen on this connection, ms. */
  get maxLatencyMs(): number {
    this.#observeMax();
    return this.#maxLatencyMs;
  }

  /**
   * Delivered bits per second over the last rateWindowMs: acknowledged bytes, or before (or without)
   * acknowledgements the bytes the transport reported delivered; 0 when neither is known.
   */
  get deliveryRateBps(): number {
    return this.deliveryRateOverBps(this.options.rateWindowMs);
  }

  /**
   * Delivered bits per second over the last `windowMs` (at most rateWindowMs, the history kept): a
   * shorter window follows a link that just fell sooner, and reads 0 when no delivery was seen in it.
   */
  deliveryRateOverBps(windowMs: number): number {
    const latest = this.#samples[this.#samples.length - 1];
    if (latest === undefined) return 0;
    const nowUs = this.#clock.nowUs();
    const cutoffUs = nowUs - Math.min(windowMs, this.options.rateWindowMs) * 1000;
    let baseline = this.#samples[0]!;
    for (const sample of this.#samples) {
      if (sample.atUs > cutoffUs) break;
      baseline = sample;
    }
    const spanUs = nowUs - baseline.atUs;
    if (spanUs <= 0) return 0;
    return ((latest.ackedOffset - baseline.ackedOffset) * 8 * 1e6) / spanUs;
  }

  /**
   * How long media written now will take to reach the server, ms, as the last acknowledgement that
   * covered a new record measured it: from handing that record to the socket to its acknowledgement
   * (the bytes queued ahead of it in the kernel and on the path, plus the way back). Too high by at most
   * one window's duration, since an acknowledgement also waits for the bytes after the record. Until
   * the server acknowledges (or when it never does), the same from the transport's delivery readings
   * (the kernel's TCP queue), too high by at most their interval. 0 until either has covered a record.
   */
  get transitMs(): number {
    return this.#transitMs;
  }

  /** Bytes written on this connection. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Bytes acknowledged on this connection (unwrapped: it keeps growing past 2^32). */
  get acknowledgedBytes(): number {
    return this.#ackedOffset;
  }

  /** Bytes written but not yet acknowledged. */
  get unacknowledgedBytes(): number {
    return this.#bytesWritten - this.#ackedOffset;
  }

  /** Forgets everything: a new connection counts bytes from 0. */
  reset(): void {
    this.#records = [];
    this.#recordsHead = 0;
    this.#bytesWritten = 0;
    this.#ackedOffset = 0;
    this.#flowStartUs = undefined;
    this.#ackState = 'unknown';
    this.#recentGaps = [];
    this.#samples = [];
    this.#maxLatencyMs = 0;
    this.#transportOffset = undefined;
    this.#transitMs = 0;
  }

  #latencyMs(): number {
    if (this.ackState !== 'acknowledging') {
      // The send side (what waits in our queue) is the muxer's own measure; here, what the kernel holds.
      if (this.#transportOffset === undefined) return 0;
      const undelivered = this.#records[this.#recordsHead];
      return undelivered ? (this.#clock.nowUs() - undelivered.captureUs) / 1000 : 0;
    }
    const oldest = this.#records[this.#recordsHead];
    if (oldest === undefined) return 0;
    const due = this.unacknowledgedBytes >= this.effectiveAckWindowBytes + this.options.ackSlackBytes;
    const untilUs = due ? this.#clock.nowUs() : oldest.writtenUs;
    return Math.max(0, (untilUs - oldest.captureUs) / 1000);
  }

  /** Forgets the records delivered up to `offset`, measuring the transit of the newest of them. */
  #passRecordsUpTo(offset: number): void {
    let newest: SendRecord | undefined;
    while (
      this.#recordsHead < this.#records.length &&
      this.#records[this.#recordsHead]!.endOffset <= offset
    ) {
      newest = this.#records[this.#recordsHead++];
    }
    if (newest !== undefined) this.#transitMs = (this.#clock.nowUs() - newest.writtenUs) / 1000;
    this.#compactRecords();
  }

  #observeMax(): void {
    void this.currentLatencyMs;
  }

  #addRateSample(ackedOffset: number): void {
    const nowUs = this.#clock.nowUs();
    this.#samples.push({ atUs: nowUs, ackedOffset });
    // Keep one sample at or before the window's start as the baseline; drop older ones.
    const cutoffUs = nowUs - this.options.rateWindowMs * 1000;
    let firstKept = 0;
    while (firstKept + 1 < this.#samples.length && this.#samples[firstKept + 1]!.atUs <= cutoffUs)
      firstKept++;
    if (firstKept > 0) this.#samples.splice(0, firstKept);
  }

  #compactRecords(): void {
    if (!shouldCompact(this.#recordsHead, this.#records.length)) return;
    this.#records = this.#records.slice(this.#recordsHead);
    this.#recordsHead = 0;
  }
}
