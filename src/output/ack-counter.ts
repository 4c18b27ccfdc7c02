const UINT32 = 2 ** 32;

/** Options of an AckCounter. */
export interface AckCounterOptions {
  /** A sequence number up to this many bytes beyond what we wrote still counts (servers that count the handshake); default 8192. */
  slackBytes: number;
}

/**
 * Turns RTMP Acknowledgement sequence numbers (RTMP §5.4.3: uint32 bytes received) into an offset
 * that only grows, in the connection's byte count. The one place they are unwrapped; the latency
 * tracker and the stall monitor both read the offset.
 *
 * - Below the last value, if the 2^32 wrap can explain it (we wrote that much), it wrapped.
 * - Otherwise the server restarted counting (nginx-rtmp does at 0xF0000000): it restarted somewhere
 *   after the last acknowledged byte; counting from exactly there under-acknowledges by less than a
 *   window, which only errs on the late side.
 * - Never beyond what we wrote (plus the slack), never backwards.
 */
export class AckCounter {
  /** The options. */
  readonly options: Readonly<AckCounterOptions>;
  #base = 0;
  #lastRaw: number | undefined;
  #offset = 0;
  #wraps = 0;
  #resets = 0;

  constructor(options: Partial<AckCounterOptions> = {}) {
    this.options = Object.freeze({ slackBytes: 8192, ...options });
  }

  /** The acknowledged offset: bytes the peer has received, 0 before any acknowledgement. */
  get offset(): number {
    return this.#offset;
  }

  /** How often the counter wrapped at 2^32, and how often the server restarted it. */
  get counterEvents(): { readonly wraps: number; readonly resets: number } {
    return { wraps: this.#wraps, resets: this.#resets };
  }

  /** Applies a sequence number, with `bytesWritten` on this connection so far; returns the new offset. */
  acknowledge(sequenceNumber: number, bytesWritten: number): number {
    const raw = sequenceNumber >>> 0;
    const last = this.#lastRaw;
    if (last !== undefined && raw < last) {
      if (this.#base + UINT32 + raw <= bytesWritten + this.options.slackBytes) {
        this.#base += UINT32;
        this.#wraps++;
      } else {
        this.#base = this.#offset;
        this.#resets++;
      }
    }
    this.#lastRaw = raw;
    const acked = Math.min(this.#base + raw, bytesWritten);
    this.#offset = Math.max(this.#offset, acked);
    return this.#offset;
  }
}
