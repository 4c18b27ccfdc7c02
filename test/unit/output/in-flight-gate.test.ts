/**
 * The in-flight gate: how much may sit past our socket buffer before the sender stops handing bytes
 * down, so that congestion shows in the StreamBuffer (where video can still be dropped). The gate
 * decides on readings only; the tracker's readings and the connection's counters are given here as
 * plain values.
 */
import { describe, expect, it } from 'vitest';
import { InFlightGate } from '../../../src/output/in-flight-gate.js';
import type { LatencyTracker } from '../../../src/output/latency-tracker.js';
import type { TransportConnection } from '../../../src/output/transport.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const KIB = 1024;

/** What the gate reads from the latency tracker. */
interface TrackerReadings {
  ackState: LatencyTracker['ackState'];
  deliveryRateBps: number;
  /** The rate over the last 500 ms; unset: the same as deliveryRateBps. */
  recentDeliveryRateBps?: number;
  effectiveAckWindowBytes: number;
  unacknowledgedBytes: number;
}

/** What the gate reads from the connection. */
interface ConnectionCounters {
  bytesWritten: number;
  bufferedBytes: number;
  heldBytes: number;
  deliveryVisible: boolean;
}

function gateWith(
  tracker: Partial<TrackerReadings>,
  options: { inFlightTargetMs?: number; nominalRateBps?: number } = {},
): { clock: FakeClock; gate: InFlightGate; tracker: TrackerReadings } {
  const clock = new FakeClock();
  const readings: TrackerReadings = {
    ackState: 'non-acknowledging',
    deliveryRateBps: 0,
    effectiveAckWindowBytes: 16 * KIB,
    unacknowledgedBytes: 0,
    ...tracker,
  };
  const asTracker = {
    get ackState() {
      return readings.ackState;
    },
    get deliveryRateBps() {
      return readings.deliveryRateBps;
    },
    get effectiveAckWindowBytes() {
      return readings.effectiveAckWindowBytes;
    },
    get unacknowledgedBytes() {
      return readings.unacknowledgedBytes;
    },
    deliveryRateOverBps: (windowMs: number) => {
      expect(windowMs).toBe(500);
      return readings.recentDeliveryRateBps ?? readings.deliveryRateBps;
    },
  };
  const gate = new InFlightGate(clock, asTracker as unknown as LatencyTracker, {
    inFlightTargetMs: options.inFlightTargetMs ?? 500,
    nominalRateBps: options.nominalRateBps ?? 0,
  });
  return { clock, gate, tracker: readings };
}

function connection(counters: Partial<ConnectionCounters> = {}): TransportConnection {
  return {
    bytesWritten: 0,
    bufferedBytes: 0,
    heldBytes: 0,
    deliveryVisible: true,
    ...counters,
  } as unknown as TransportConnection;
}

describe('InFlightGate with an acknowledging server', () => {
  it.each([
    // [unacknowledged bytes, window, delivery rate bit/s, full]: the bound is max(2 windows + 16 KiB, rate × target)
    [48 * KIB - 1, 16 * KIB, 0, false],
    [48 * KIB, 16 * KIB, 0, true],
    [80 * KIB - 1, 32 * KIB, 0, false],
    [80 * KIB, 32 * KIB, 0, true],
    // 2 Mbit/s × 500 ms = 125 000 bytes, above the windows' 48 KiB
    [124_999, 16 * KIB, 2_000_000, false],
    [125_000, 16 * KIB, 2_000_000, true],
  ])(
    'with %i bytes unacknowledged, a %i-byte window and %i bit/s delivered, full is %s',
    (unacknowledgedBytes, effectiveAckWindowBytes, deliveryRateBps, full) => {
      const { gate } = gateWith({
        ackState: 'acknowledging',
        unacknowledgedBytes,
        effectiveAckWindowBytes,
        deliveryRateBps,
      });
      expect(gate.isFull(connection())).toBe(full);
    },
  );

  it('keeps the rate bound to inFlightTargetMs of the delivery rate', () => {
    const { gate } = gateWith(
      { ackState: 'acknowledging', unacknowledgedBytes: 200_000, deliveryRateBps: 2_000_000 },
      { inFlightTargetMs: 1000 }, // 250 000 bytes
    );
    expect(gate.isFull(connection())).toBe(false);
  });

  it.each([
    // [unacknowledged bytes, full]: 2 Mbit/s over 2 s but 800 kbit/s over the last 500 ms: the
    // recent rate rules, 800 kbit/s × 500 ms = 50 000 bytes (the link just fell)
    [49_999, false],
    [50_000, true],
  ])('when the recent rate falls under the long one, it rules: %i bytes full is %s', (unacked, full) => {
    const { gate } = gateWith({
      ackState: 'acknowledging',
      unacknowledgedBytes: unacked,
      deliveryRateBps: 2_000_000,
      recentDeliveryRateBps: 800_000,
    });
    expect(gate.isFull(connection())).toBe(full);
  });

  it('when the recent rate is above the long one, the long one still rules (it rose, or one burst)', () => {
    const { gate, tracker } = gateWith({
      ackState: 'acknowledging',
      unacknowledgedBytes: 124_999,
      deliveryRateBps: 2_000_000,
      recentDeliveryRateBps: 8_000_000,
    });
    expect(gate.isFull(connection())).toBe(false);
    tracker.unacknowledgedBytes = 125_000; // 2 Mbit/s × 500 ms
    expect(gate.isFull(connection())).toBe(true);
  });

  it('allows the bound minus what the socket was given and the server has not acknowledged', () => {
    // 2 Mbit/s × 500 ms = 125 000 bytes; 100 000 unacknowledged
    const { gate } = gateWith({
      ackState: 'acknowledging',
      unacknowledgedBytes: 100_000,
      deliveryRateBps: 2_000_000,
    });
    // 60 000 of them held back: 40 000 are past us
    expect(gate.allowance(connection({ bufferedBytes: 60_000, heldBytes: 60_000 }))).toBe(85_000);
    // 60 000 in the socket's own buffer (a TLS socket empties it a turn later): in flight all the same
    expect(gate.allowance(connection({ bufferedBytes: 60_000 }))).toBe(25_000);
    expect(gate.allowance(connection())).toBe(25_000);
  });

  it('is full while part of a message is held back, whatever the room: what follows stays droppable', () => {
    const { gate } = gateWith({ ackState: 'acknowledging', unacknowledgedBytes: 10_000 });
    expect(gate.isFull(connection({ bufferedBytes: 5000 }))).toBe(false);
    expect(gate.isFull(connection({ bufferedBytes: 5000, heldBytes: 1 }))).toBe(true);
  });

  it('ignores the kernel readings: acknowledgements say more', () => {
    const { gate } = gateWith({ ackState: 'acknowledging', unacknowledgedBytes: 0 });
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 10_000_000 });
    expect(gate.isFull(connection())).toBe(false);
  });
});

describe('InFlightGate without acknowledgements', () => {
  it('is never full while the layer below cannot be read (no reading yet, or an opaque transport)', () => {
    const { gate } = gateWith({});
    expect(gate.isFull(connection())).toBe(false);
    expect(gate.undeliveredBytes(connection())).toBeNull();
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 10_000_000 });
    expect(gate.isFull(connection({ deliveryVisible: false }))).toBe(false);
    expect(gate.undeliveredBytes(connection({ deliveryVisible: false }))).toBeNull();
  });

  it('reads the kernel queue as the last reading plus what was handed over since, minus what drained since', () => {
    const { clock, gate } = gateWith({ deliveryRateBps: 800_000 }); // 100 000 bytes/s
    clock.advance(5000);
    gate.onDelivery({ atUs: clock.nowUs(), handedOverBytes: 50_000, undeliveredBytes: 40_000 });
    clock.advance(100); // 10 000 bytes drained since the reading
    // 80 000 written, 10 000 of them still in our own buffer: 20 000 handed over since the reading
    const queued = gate.undeliveredBytes(connection({ bytesWritten: 80_000, bufferedBytes: 10_000 }));
    expect(queued).toBe(40_000 + 20_000 - 10_000);
  });

  it('never reads a negative queue when the drain since the reading exceeds what was held', () => {
    const { clock, gate } = gateWith({ deliveryRateBps: 8_000_000 });
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 40_000 });
    clock.advance(1000);
    expect(gate.undeliveredBytes(connection())).toBe(0);
  });

  it.each([
    // [undelivered bytes in the reading, full]: the floor is 32 KiB with no drain measured
    [32 * KIB - 1, false],
    [32 * KIB, true],
  ])('with no drain rate known, a queue of %i bytes is full: %s', (undeliveredBytes, full) => {
    const { gate } = gateWith({ deliveryRateBps: 0 });
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes });
    expect(gate.isFull(connection())).toBe(full);
  });

  it.each([
    // a reading that found more than the floor held: the measured rate rules (1.6 Mbit/s × 500 ms = 100 000)
    [99_999, false],
    [100_000, true],
  ])(
    'past the floor, the bound is inFlightTargetMs of the measured rate: %i bytes full is %s',
    (queued, full) => {
      const { gate } = gateWith({ deliveryRateBps: 1_600_000 }, { nominalRateBps: 8_000_000 });
      gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: queued });
      expect(gate.isFull(connection())).toBe(full);
    },
  );

  it('while the last reading found the kernel (nearly) empty, assumes it drains at least at the stream rate', () => {
    // Measured 0 so far (the measure starts at zero); the stream's 3.2 Mbit/s × 500 ms = 200 000 bytes.
    const { clock, gate } = gateWith({ deliveryRateBps: 0 }, { nominalRateBps: 3_200_000 });
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 32 * KIB });
    const handedOver = (bytes: number): TransportConnection => connection({ bytesWritten: bytes });
    expect(gate.isFull(handedOver(150_000))).toBe(false);
    // and it counts that rate as drained between readings: 100 ms at 400 000 bytes/s
    clock.advance(100);
    expect(gate.undeliveredBytes(handedOver(150_000))).toBe(32 * KIB + 150_000 - 40_000);
    expect(gate.isFull(handedOver(220_000))).toBe(true);
  });

  it('lets a measured rate above the stream rate rule even while the kernel kept up', () => {
    const { gate } = gateWith({ deliveryRateBps: 6_400_000 }, { nominalRateBps: 3_200_000 });
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 0 });
    expect(gate.isFull(connection({ bytesWritten: 399_999 }))).toBe(false);
    expect(gate.isFull(connection({ bytesWritten: 400_000 }))).toBe(true);
  });

  it('allows the bound minus the kernel queue and the socket buffer; everything while the queue cannot be read', () => {
    const { gate } = gateWith({ deliveryRateBps: 1_600_000 }); // × 500 ms = 100 000 bytes
    expect(gate.allowance(connection())).toBe(Infinity);
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 70_000 });
    // 50 000 written since, 40 000 of them held back: the kernel has 80 000
    const held = connection({ bytesWritten: 50_000, bufferedBytes: 40_000, heldBytes: 40_000 });
    expect(gate.allowance(held)).toBe(20_000);
    // the same 40 000 in the socket's own buffer count as on their way: no room
    expect(gate.allowance(connection({ bytesWritten: 50_000, bufferedBytes: 40_000 }))).toBe(0);
    expect(gate.isFull(connection({ bytesWritten: 50_000, bufferedBytes: 40_000 }))).toBe(true);
    expect(gate.allowance(connection({ deliveryVisible: false }))).toBe(Infinity);
  });

  it('forgets the reading on reset(): a new connection starts unread', () => {
    const { gate } = gateWith({});
    gate.onDelivery({ atUs: 0, handedOverBytes: 0, undeliveredBytes: 10_000_000 });
    expect(gate.isFull(connection())).toBe(true);
    gate.reset();
    expect(gate.isFull(connection())).toBe(false);
    expect(gate.undeliveredBytes(connection())).toBeNull();
  });
});
