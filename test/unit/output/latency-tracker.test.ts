import { describe, expect, it } from 'vitest';
import { LatencyTracker, type LatencyTrackerOptions } from '../../../src/output/latency-tracker.js';
import { FakeClock } from '../../helpers/fake-clock.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - `endOffset < this.#bytesWritten` → `<=` in recordSent: a call at the same offset carries no bytes,
//   and a record of it would be acknowledged together with the one before, which is older;
// - `endOffset <= this.#ackedOffset` → false or `<` in recordSent: only a write of no bytes after everything
//   was acknowledged gets there, and every write carries at least a message header;
// - `this.#transportOffset !== undefined` → true in onAcknowledgement: without transport readings there
//   are no rate samples before the first acknowledgement to forget;
// - `latencyMs > this.#maxLatencyMs` → `>=`: at equality it stores the value it has;
// - the pruning of rate samples in #addRateSample (its loop and `firstKept > 0` mutated): memory only, as
//   the baseline is the newest sample at or before the window's start, and that start only moves on;
// - #compactRecords (`true`, `false`, the negation dropped, an empty body): memory and copying only, like
//   StreamBuffer's; the rule, shouldCompact, is pinned by its table in stream-buffer.test.ts.

const UINT32 = 2 ** 32;

function tracker(options: Partial<LatencyTrackerOptions> = {}): { clock: FakeClock; t: LatencyTracker } {
  const clock = new FakeClock();
  const t = new LatencyTracker(clock, { ackWindowBytes: 1000, ackSlackBytes: 0, ...options });
  return { clock, t };
}

/** Writes `bytes` more, captured `ageMs` before now. */
function send(clock: FakeClock, t: LatencyTracker, bytes: number, ageMs = 0): void {
  t.recordSent(t.bytesWritten + bytes, clock.nowUs() - ageMs * 1000);
}

describe('LatencyTracker', () => {
  it.each<[Partial<LatencyTrackerOptions>, string]>([
    [{ ackWindowBytes: 0 }, 'ackWindowBytes'],
    [{ ackTimeoutMs: 0 }, 'ackTimeoutMs'],
    [{ rateWindowMs: -1 }, 'rateWindowMs'],
    [{ maxRecords: Infinity }, 'maxRecords'],
    [{ ackTimeoutMs: Number.NaN }, 'ackTimeoutMs'],
    [{ ackSlackBytes: -1 }, 'ackSlackBytes'],
    [{ ackSlackBytes: Infinity }, 'ackSlackBytes'],
  ])('rejects %j with a ConfigError naming %s', (bad, field) => {
    expect(() => new LatencyTracker(new FakeClock(), { ackWindowBytes: 1000, ...bad })).toThrow(
      expect.objectContaining({ name: 'ConfigError', field }),
    );
  });

  it('accepts no slack (an acknowledgement is due after exactly one window)', () => {
    expect(
      new LatencyTracker(new FakeClock(), { ackWindowBytes: 1000, ackSlackBytes: 0 }).options.ackSlackBytes,
    ).toBe(0);
  });

  it("adds nothing to the send side (the queue's own latency) until the server has acknowledged once", () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    clock.advance(1000);
    expect(t.measure).toBe('sent');
    expect(t.currentLatencyMs).toBe(0);
    t.onAcknowledgement(1000);
    expect(t.measure).toBe('acknowledged');
    expect(t.currentLatencyMs).toBe(1000);
  });

  it('measures now minus the capture time of the oldest unacknowledged record after a partial ack', () => {
    const { clock, t } = tracker();
    send(clock, t, 1000); // [0, 1000) captured at 0
    clock.advance(100);
    send(clock, t, 1000); // [1000, 2000) captured at 100
    clock.advance(100);
    send(clock, t, 1000); // captured at 200
    clock.advance(300);
    t.onAcknowledgement(1500); // the first record is acknowledged, the second only partly
    expect(t.currentLatencyMs).toBe(400); // now 500 − capture 100
    expect(t.unacknowledgedBytes).toBe(1500);
  });

  it('reads 0 once everything is acknowledged', () => {
    const { clock, t } = tracker();
    send(clock, t, 3000);
    clock.advance(700);
    t.onAcknowledgement(3000);
    expect(t.currentLatencyMs).toBe(0);
  });

  it('does not let a quiet tail within one ack window read as growing latency', () => {
    const { clock, t } = tracker({ ackWindowBytes: 65536 });
    send(clock, t, 65_536);
    t.onAcknowledgement(65_536);
    send(clock, t, 2000, 30); // 30 ms spent in our queue before the socket
    clock.advance(10_000); // nothing more to send: the server will not ack these 6 KB
    expect(t.currentLatencyMs).toBe(30);
  });

  it('counts the tail again as soon as an acknowledgement is due', () => {
    const { clock, t } = tracker({ ackWindowBytes: 65536 });
    send(clock, t, 70_000);
    t.onAcknowledgement(65536);
    send(clock, t, 2000);
    clock.advance(3000);
    send(clock, t, 70_000); // a full window past the last ack: the next ack is due
    expect(t.currentLatencyMs).toBe(3000);
  });

  it('counts acknowledged offsets past 2^32 (AckCounter unwraps the sequence numbers)', () => {
    const { clock, t } = tracker();
    t.recordSent(UINT32 - 2000, 0);
    t.onAcknowledgement(UINT32 - 3000);
    clock.advance(500);
    t.recordSent(UINT32 + 4000, clock.nowUs());
    t.onAcknowledgement(UINT32 + 1000);
    expect(t.acknowledgedBytes).toBe(UINT32 + 1000);
    expect(t.currentLatencyMs).toBe(0); // the remaining record was captured just now
  });

  it('clamps an acknowledgement beyond what was written (a server counting the handshake)', () => {
    const { clock, t } = tracker({ ackSlackBytes: 8192 });
    send(clock, t, 10_000);
    t.onAcknowledgement(10_000 + 3073);
    expect(t.acknowledgedBytes).toBe(10_000);
    expect(t.currentLatencyMs).toBe(0);
  });

  it('never moves the acknowledged offset backwards on a repeated or stale ack', () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    t.onAcknowledgement(4000);
    t.onAcknowledgement(4000);
    expect(t.acknowledgedBytes).toBe(4000);
  });

  it.each([
    ['after 3 s and 2 windows', 3000, 2000, 'non-acknowledging'],
    ['not before 3 s, whatever was written', 2999, 1_000_000, 'unknown'],
    ['not before 2 windows were written, whatever the time', 60_000, 1999, 'unknown'],
  ])('declares a server non-acknowledging %s', (_name, elapsedMs, bytes, expected) => {
    const { clock, t } = tracker();
    send(clock, t, bytes);
    clock.advance(elapsedMs);
    expect(t.ackState).toBe(expected);
    expect(t.measure).toBe('sent');
  });

  it('switches to acknowledged when a non-acknowledging server starts acknowledging', () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    clock.advance(5000);
    expect(t.ackState).toBe('non-acknowledging');
    expect(t.currentLatencyMs).toBe(0);
    send(clock, t, 5000);
    clock.advance(200);
    t.onAcknowledgement(6000);
    expect(t.ackState).toBe('acknowledging');
    expect(t.currentLatencyMs).toBe(200);
  });

  it('measures the delivery rate over the sliding window and lets it decay without acks', () => {
    const { clock, t } = tracker({ rateWindowMs: 1000 });
    for (let i = 1; i <= 30; i++) {
      send(clock, t, 12_500);
      clock.advance(100);
      t.onAcknowledgement(i * 12_500); // 125 000 bytes/s = 1 Mbit/s
    }
    expect(t.deliveryRateBps).toBeCloseTo(1_000_000, -3);
    clock.advance(500); // half the window without acks: half the bytes
    expect(t.deliveryRateBps).toBeCloseTo(500_000, -3);
    clock.advance(500);
    expect(t.deliveryRateBps).toBe(0);
  });

  it('over a shorter window, follows a link that just fell while the long window still reads the old rate', () => {
    const { clock, t } = tracker({ rateWindowMs: 2000 });
    let acked = 0;
    const deliver = (bytesPer100Ms: number, steps: number): void => {
      for (let i = 0; i < steps; i++) {
        send(clock, t, bytesPer100Ms);
        clock.advance(100);
        acked += bytesPer100Ms;
        t.onAcknowledgement(acked);
      }
    };
    deliver(25_000, 30); // 2 Mbit/s for 3 s
    expect(t.deliveryRateOverBps(500)).toBeCloseTo(2_000_000, -3);
    deliver(6_250, 5); // then 500 kbit/s for 500 ms
    expect(t.deliveryRateOverBps(500)).toBeCloseTo(500_000, -3);
    expect(t.deliveryRateBps).toBeCloseTo(1_625_000, -3); // 15 steps at 2 Mbit/s and 5 at 500k
    // never over more than the history kept (rateWindowMs)
    expect(t.deliveryRateOverBps(10_000)).toBe(t.deliveryRateBps);
    clock.advance(500);
    expect(t.deliveryRateOverBps(500)).toBe(0);
  });

  it('measures the transit at each acknowledgement that covers a new record: from its write to now', () => {
    const { clock, t } = tracker();
    expect(t.transitMs).toBe(0);
    send(clock, t, 600); // written at 0
    clock.advance(100);
    send(clock, t, 600); // written at 100: ends at 1200
    clock.advance(250);
    t.onAcknowledgement(1000); // covers the first record only
    expect(t.transitMs).toBe(350);
    clock.advance(100);
    t.onAcknowledgement(1100); // no new record covered: the last measure stays
    expect(t.transitMs).toBe(350);
    t.onAcknowledgement(1200); // the second record, written 350 ms ago (the newest one covered counts)
    expect(t.transitMs).toBe(350);
    send(clock, t, 500);
    send(clock, t, 500);
    clock.advance(40);
    t.onAcknowledgement(2200);
    expect(t.transitMs).toBe(40);
    t.reset();
    expect(t.transitMs).toBe(0);
  });

  it("measures the transit from the transport's delivery readings while the server does not acknowledge", () => {
    const { clock, t } = tracker();
    send(clock, t, 600);
    clock.advance(120);
    t.onTransportDelivered(300); // part of the record: nothing measured yet
    expect(t.transitMs).toBe(0);
    clock.advance(80);
    t.onTransportDelivered(600);
    expect(t.transitMs).toBe(200);
  });

  it('remembers the highest latency seen, including just before an acknowledgement', () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    t.onAcknowledgement(1);
    clock.advance(900);
    t.onAcknowledgement(5000);
    expect(t.currentLatencyMs).toBe(0);
    expect(t.maxLatencyMs).toBe(900);
  });

  it('learns a server that acknowledges further apart than our window', () => {
    const { clock, t } = tracker({ ackWindowBytes: 1000 });
    send(clock, t, 19_000);
    t.onAcknowledgement(5000);
    t.onAcknowledgement(10_000);
    t.onAcknowledgement(15_000);
    expect(t.effectiveAckWindowBytes).toBe(5000);
    clock.advance(1000);
    expect(t.currentLatencyMs).toBe(0); // 4 000 unacknowledged: within the server's window, in flight
  });

  it('forgets the oldest records beyond maxRecords', () => {
    const { clock, t } = tracker({ maxRecords: 3 });
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      send(clock, t, 100);
    }
    t.onAcknowledgement(1);
    clock.advance(0);
    send(clock, t, 5000); // make an ack due
    expect(t.currentLatencyMs).toBe(100); // kept: those captured at 900 and 1000 ms, and the new one
  });

  it('starts over on reset() for a new connection', () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    t.onAcknowledgement(1000);
    clock.advance(2000);
    expect(t.maxLatencyMs).toBe(2000);
    t.reset();
    expect([t.bytesWritten, t.acknowledgedBytes, t.maxLatencyMs, t.deliveryRateBps]).toEqual([0, 0, 0, 0]);
    expect([t.measure, t.ackState]).toEqual(['sent', 'unknown']);
  });

  it('ignores a stale recordSent: the offset written never moves backwards', () => {
    const { t } = tracker();
    t.recordSent(5000);
    t.recordSent(3000);
    expect(t.bytesWritten).toBe(5000);
  });

  it('times the acknowledgement timeout from the first byte written, not from an empty write', () => {
    const { clock, t } = tracker();
    t.recordSent(0);
    clock.advance(10_000);
    send(clock, t, 5000);
    clock.advance(2999);
    expect(t.ackState).toBe('unknown');
    clock.advance(1);
    expect(t.ackState).toBe('non-acknowledging');
  });

  it('declares a server non-acknowledging while data keeps flowing (from when the flow started)', () => {
    const { clock, t } = tracker();
    for (let i = 0; i < 8; i++) {
      send(clock, t, 500);
      clock.advance(500);
    }
    expect(t.ackState).toBe('non-acknowledging');
  });

  it('forgets the oldest records only when more than maxRecords are unacknowledged', () => {
    const { clock, t } = tracker({ maxRecords: 3 });
    t.onAcknowledgement(0);
    for (let i = 0; i < 3; i++) {
      send(clock, t, 1000);
      clock.advance(100);
    }
    t.onAcknowledgement(2000); // two records acknowledged: one left, captured at 200 ms
    send(clock, t, 1000); // captured at 300 ms: two unacknowledged records, well under the limit
    clock.advance(700);
    send(clock, t, 0); // nothing new, but 2000 bytes are unacknowledged: an acknowledgement is due
    expect(t.currentLatencyMs).toBe(800);
  });

  it('is due exactly one window plus the slack after the last acknowledgement', () => {
    const { clock, t } = tracker({ ackWindowBytes: 1000, ackSlackBytes: 500 });
    t.onAcknowledgement(0);
    send(clock, t, 1499);
    clock.advance(300);
    expect(t.currentLatencyMs).toBe(0); // in flight: counts only its delay before the socket
    send(clock, t, 1);
    expect(t.currentLatencyMs).toBe(300);
  });

  it('learns the server window from acknowledgements after the first one (its jump from 0 is not a gap)', () => {
    const { clock, t } = tracker({ ackWindowBytes: 1000 });
    send(clock, t, 60_000);
    t.onAcknowledgement(50_000);
    expect(t.effectiveAckWindowBytes).toBe(1000);
    t.onAcknowledgement(50_000); // a repeated acknowledgement is no gap either
    t.onAcknowledgement(52_000);
    t.onAcknowledgement(52_000);
    expect(t.effectiveAckWindowBytes).toBe(2000);
  });

  it('takes the smallest of the last four gaps between acknowledgements as the server window', () => {
    const { clock, t } = tracker({ ackWindowBytes: 1000 });
    send(clock, t, 100_000);
    let offset = 0;
    for (const gap of [1500, 3000, 6000, 6000, 6000]) t.onAcknowledgement((offset += gap));
    expect(t.effectiveAckWindowBytes).toBe(3000); // 1500 is five gaps back, forgotten
    t.onAcknowledgement((offset += 6000));
    expect(t.effectiveAckWindowBytes).toBe(6000);
  });

  it('reads no delivery rate from a single acknowledgement', () => {
    const { clock, t } = tracker();
    send(clock, t, 5000);
    t.onAcknowledgement(4000);
    expect(t.deliveryRateBps).toBe(0);
  });

  it('ignores what the transport says once the server acknowledges', () => {
    const { clock, t } = tracker({ rateWindowMs: 1000 });
    send(clock, t, 10_000, 0);
    t.onAcknowledgement(1000);
    clock.advance(500);
    t.onAcknowledgement(2000); // 1000 bytes in 500 ms: 16 kbit/s
    t.onTransportDelivered(10_000);
    expect(t.deliveryRateBps).toBe(16_000);
    send(clock, t, 0);
    expect(t.currentLatencyMs).toBe(500); // the oldest unacknowledged record, captured at 0
  });

  describe("without acknowledgements, with the transport's view (the kernel's send queue)", () => {
    it("reports the age of the oldest media the server's TCP has not received, not only what is unsent", () => {
      const { clock, t } = tracker();
      send(clock, t, 1000); // captured at 0
      clock.advance(100);
      send(clock, t, 1000); // captured at 100
      clock.advance(400);
      expect(t.currentLatencyMs).toBe(0); // blind: only the send side (the muxer's queue) counts
      t.onTransportDelivered(0);
      expect(t.measure).toBe('sent');
      expect(t.currentLatencyMs).toBe(500);
      t.onTransportDelivered(1000);
      expect(t.currentLatencyMs).toBe(400);
      t.onTransportDelivered(2000);
      expect(t.currentLatencyMs).toBe(0); // all delivered
    });

    it('never moves backwards and never beyond what was written', () => {
      const { clock, t } = tracker();
      send(clock, t, 1000); // captured at 0
      clock.advance(100);
      send(clock, t, 1000); // captured at 100
      clock.advance(100);
      send(clock, t, 1000); // captured at 200
      clock.advance(100);
      t.onTransportDelivered(2000);
      t.onTransportDelivered(1500); // stale: the oldest undelivered stays the one captured at 200
      expect(t.currentLatencyMs).toBe(100);
      t.onTransportDelivered(9000); // beyond what was written: all of it, no more
      expect(t.currentLatencyMs).toBe(0);
      send(clock, t, 1000); // captured now: a later reading must still find it undelivered
      clock.advance(50);
      t.onTransportDelivered(3500);
      expect(t.currentLatencyMs).toBe(50);
    });

    it('gives a delivery rate, until acknowledgements take over', () => {
      const { clock, t } = tracker();
      send(clock, t, 1_000_000);
      t.onTransportDelivered(0);
      clock.advance(1000);
      t.onTransportDelivered(125_000);
      expect(t.deliveryRateBps).toBeCloseTo(1_000_000, -3);
      t.onAcknowledgement(100_000);
      expect(t.measure).toBe('acknowledged');
      t.onTransportDelivered(500_000); // ignored now: the rate follows acknowledgements
      clock.advance(1000);
      t.onAcknowledgement(150_000);
      expect(t.deliveryRateBps).toBeCloseTo(400_000, -3);
    });

    it('forgets the transport on reset()', () => {
      const { clock, t } = tracker();
      send(clock, t, 1000);
      t.onTransportDelivered(500);
      t.reset();
      send(clock, t, 1000);
      clock.advance(300);
      expect(t.currentLatencyMs).toBe(0); // blind again until the new connection's first reading
      expect(t.deliveryRateBps).toBe(0);
    });
  });
});
