import type { Clock } from '../core/clock.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { DeliveryReading, TransportConnection } from './transport.js';

// Without acknowledgements, the kernel may hold at least this much (a few TCP segments keep the path busy).
const KERNEL_QUEUE_FLOOR_BYTES = 32 * 1024;
// The recent delivery rate, over this much, ms: several acknowledgement windows at the rates where the
// rate bound matters (above 2 windows per inFlightTargetMs), so one late acknowledgement does not rule.
const RECENT_RATE_WINDOW_MS = 500;

/** Options of the in-flight gate. */
export interface InFlightGateOptions {
  /** Bytes past our socket buffer are kept to about this much of the delivery rate, ms. */
  inFlightTargetMs: number;
  /**
   * The stream's own bitrate (video + audio), bits per second: how fast the kernel is assumed to drain
   * while its last reading showed it keeping up. 0: no such assumption.
   */
  nominalRateBps: number;
}

/**
 * How much may be in flight past our socket buffer (kernel buffers, the path), so that congestion
 * shows up in the StreamBuffer, where video can still be dropped, and not in a buffer that hides it.
 * - Acknowledging servers: the unacknowledged bytes, kept under inFlightTargetMs of the delivery
 *   rate but never under two windows (or acknowledgements would stop).
 * - Otherwise, where the transport can read what the layer below still holds (Linux: the kernel's
 *   TCP queue), that estimate: without it the kernel soaks up megabytes — measured 10–14 s of media
 *   at 665 kbit/s behind node-media-server.
 * Pure decisions on readings it is given; the NetworkSender asks `isFull()` before each write.
 */
export class InFlightGate {
  readonly #clock: Clock;
  readonly #tracker: LatencyTracker;
  readonly #options: InFlightGateOptions;
  #reading: DeliveryReading | null = null;

  constructor(clock: Clock, tracker: LatencyTracker, options: InFlightGateOptions) {
    this.#clock = clock;
    this.#tracker = tracker;
    this.#options = options;
  }

  /** A reading of what the layer below still holds. */
  onDelivery(reading: DeliveryReading): void {
    this.#reading = reading;
  }

  /** Forgets the readings: a new connection. */
  reset(): void {
    this.#reading = null;
  }

  /**
   * Whether nothing more should be handed to `connection` now: the path is full, or part of a message
   * still waits for room (what follows it stays where it can still be dropped).
   */
  isFull(connection: TransportConnection): boolean {
    if (connection.heldBytes > 0) return true;
    const { inFlight, bound } = this.#inFlight(connection);
    return inFlight >= bound;
  }

  /** How many more bytes `connection` may give its socket now (Infinity: no bound known). */
  allowance(connection: TransportConnection): number {
    const { inFlight, bound } = this.#inFlight(connection);
    return Math.max(0, bound - inFlight);
  }

  /**
   * Bytes given to the socket and not delivered, and their bound. The socket's own buffer counts: a
   * TLS socket empties it only on a later turn, and counting it as ours would grant the same room to
   * every pass of one turn.
   */
  #inFlight(connection: TransportConnection): { inFlight: number; bound: number } {
    if (this.#tracker.ackState === 'acknowledging') {
      // The slower of the two rates: when the link falls, the long window still reads the old rate for
      // seconds, and what it lets into flight then (500 ms at the old rate, 2 s at a quarter of it) can
      // no longer be dropped. Measured at a link falling to 25 %: receiver latency 687 → 1422 → 2423 →
      // 3426 ms in the first seconds, before the drops could act.
      const rateBps = Math.min(
        this.#tracker.deliveryRateBps,
        this.#tracker.deliveryRateOverBps(RECENT_RATE_WINDOW_MS),
      );
      const byRate = (rateBps / 8) * (this.#options.inFlightTargetMs / 1000);
      const window = this.#tracker.effectiveAckWindowBytes;
      return {
        inFlight: this.#tracker.unacknowledgedBytes - connection.heldBytes,
        bound: Math.max(2 * window + 16384, byRate),
      };
    }
    const below = this.undeliveredBytes(connection);
    if (below === null) return { inFlight: 0, bound: Infinity };
    const byDrain = (this.#drainRateBps() / 8) * (this.#options.inFlightTargetMs / 1000);
    return {
      inFlight: below + connection.bufferedBytes - connection.heldBytes,
      bound: Math.max(KERNEL_QUEUE_FLOOR_BYTES, byDrain),
    };
  }

  /**
   * Bytes below our buffer not yet delivered, now: the last reading, plus what was handed over since,
   * minus what the drain rate took since; null without a reading. Readings can be 200 ms apart (listing
   * the socket table is slow), and counting everything handed over since as still queued would starve
   * a fast path between readings.
   */
  undeliveredBytes(connection: TransportConnection): number | null {
    const reading = this.#reading;
    if (reading === null || !connection.deliveryVisible) return null;
    const handedOverSince = connection.bytesWritten - connection.bufferedBytes - reading.handedOverBytes;
    const drainedSince = (this.#drainRateBps() / 8) * ((this.#clock.nowUs() - reading.atUs) / 1e6);
    return Math.max(0, reading.undeliveredBytes + handedOverSince - drainedSince);
  }

  /**
   * How fast the layer below drains, bits per second. While the last reading found it (nearly) empty
   * the path kept up with everything it was given, so it drains at least at the stream's own rate; the
   * measured delivery rate alone would start at zero, the gate would let only the floor through per
   * reading, and that would throttle the measure itself: measured, 0.6–0.85 s of latency and 20 fps
   * during the first 2 s on a clean loopback. Once a reading finds more held, the measured rate rules.
   */
  #drainRateBps(): number {
    const measured = this.#tracker.deliveryRateBps;
    const reading = this.#reading;
    const keptUp = reading !== null && reading.undeliveredBytes <= KERNEL_QUEUE_FLOOR_BYTES;
    return keptUp ? Math.max(measured, this.#options.nominalRateBps) : measured;
  }
}
