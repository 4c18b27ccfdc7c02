import { describe, expect, it } from 'vitest';
import {
  ProgressMonitor,
  type ProgressMonitorOptions,
  type StallKind,
} from '../../../src/output/progress-monitor.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent because the pending
// timer is read only while bytes are pending, and every move from nothing pending to something sets it:
// - `bytesPending >= 0` and `this.#pendingBytes <= 0 && true` in pendingChanged (also setting it when
//   nothing stays pending; the next move to pending bytes sets it again before any read).

type Event =
  | ['pending', number, number]
  | ['drain', number, number]
  | ['ack', number, number]
  | ['check', number, 'ok' | 'stalled', StallKind?];

function play(events: Event[], monitor = new ProgressMonitor({ ackWindowBytes: 1000 })): void {
  for (const event of events) {
    if (event[0] === 'pending') monitor.pendingChanged(event[1], event[2]);
    else if (event[0] === 'drain') monitor.bytesDrained(event[1], event[2]);
    else if (event[0] === 'ack') monitor.acknowledged(event[1], event[2]);
    else {
      expect(monitor.check(event[1]), `check at ${event[1]} ms`).toBe(event[2]);
      if (event[3] !== undefined) expect(monitor.stallKind).toBe(event[3]);
    }
  }
}

describe('ProgressMonitor', () => {
  it.each<[Partial<ProgressMonitorOptions>, string]>([
    [{ stallTimeoutMs: 0 }, 'stallTimeoutMs'],
    [{ ackStallTimeoutMs: -1 }, 'ackStallTimeoutMs'],
    [{ ackStallTimeoutMs: Infinity }, 'ackStallTimeoutMs'],
    [{ ackWindowBytes: 0 }, 'ackWindowBytes'],
    [{ ackWindowBytes: Number.NaN }, 'ackWindowBytes'],
  ])('rejects %j with a ConfigError naming %s', (bad, field) => {
    expect(() => new ProgressMonitor({ ackWindowBytes: 1000, ...bad })).toThrow(
      expect.objectContaining({ name: 'ConfigError', field }),
    );
  });

  it.each<[string, Event[]]>([
    ['is never stalled with nothing pending', [['check', 1_000_000, 'ok']]],
    [
      'stalls after 15 s without progress while data is pending',
      [
        ['pending', 5000, 0],
        ['check', 14_999, 'ok'],
        ['check', 15_000, 'stalled', 'no-progress'],
      ],
    ],
    [
      'starts the timer when data becomes pending, not before',
      [
        ['drain', 100, 0],
        ['pending', 5000, 60_000],
        ['check', 74_999, 'ok'],
        ['check', 75_000, 'stalled'],
      ],
    ],
    [
      'treats slow as alive: any drain resets the timer',
      [
        ['pending', 5000, 0],
        ['drain', 1, 14_000],
        ['drain', 1, 28_000],
        ['check', 42_999, 'ok'],
        ['check', 43_000, 'stalled'],
      ],
    ],
    [
      'does not count a drain of nothing as progress',
      [
        ['pending', 5000, 0],
        ['drain', 0, 10_000],
        ['check', 15_000, 'stalled', 'no-progress'],
      ],
    ],
    [
      'recovers from stalled when progress comes',
      [
        ['pending', 5000, 0],
        ['check', 16_000, 'stalled'],
        ['drain', 100, 16_001],
        ['check', 16_002, 'ok'],
      ],
    ],
    [
      'is not stalled once nothing is pending',
      [
        ['pending', 5000, 0],
        ['pending', 0, 10_000],
        ['check', 60_000, 'ok'],
      ],
    ],
    [
      'uses the shorter timeout once acknowledgements have been seen',
      [
        ['pending', 5000, 0],
        ['drain', 500, 0],
        ['ack', 500, 1000],
        ['check', 5999, 'ok'],
        ['check', 6000, 'stalled', 'no-progress'],
      ],
    ],
    [
      'counts an acknowledgement as progress',
      [
        ['pending', 5000, 0],
        ['drain', 800, 0],
        ['ack', 100, 4000],
        ['ack', 800, 8000],
        ['check', 12_999, 'ok'],
      ],
    ],
    [
      'does not count a repeated acknowledgement as progress',
      [
        ['pending', 5000, 0],
        ['drain', 500, 0],
        ['ack', 500, 0],
        ['ack', 500, 4000],
        ['check', 5000, 'stalled'],
      ],
    ],
    [
      'declares dead when acknowledgements are overdue, however much still drains into the kernel',
      [
        ['pending', 100_000, 0],
        ['drain', 1000, 0],
        ['ack', 1000, 100],
        ['drain', 1000, 200],
        ['drain', 1000, 300], // two windows unacknowledged: an ack is overdue from here
        ['drain', 1000, 4000],
        ['drain', 1000, 5200],
        ['check', 5299, 'ok'],
        ['check', 5300, 'stalled', 'no-acknowledgement'],
      ],
    ],
    [
      'keeps alive while acknowledgements keep coming on a slow link',
      [
        ['pending', 100_000, 0],
        ['drain', 10_000, 0],
        ['ack', 1000, 100],
        ['ack', 2000, 4000],
        ['ack', 3000, 8000],
        ['drain', 100, 12_000],
        ['check', 12_500, 'ok'],
      ],
    ],
    [
      'learns a server window wider than ours before calling an ack overdue',
      [
        ['pending', 100_000, 0],
        ['drain', 12_000, 0],
        ['ack', 5000, 100],
        ['ack', 10_000, 200], // the server acknowledges every 5000 bytes, not every 1000
        ['drain', 5000, 300], // 7000 unacknowledged: overdue for our window, not for the server's
        ['drain', 1000, 5000],
        ['check', 9000, 'ok'],
        ['drain', 2000, 9500], // 10 000 unacknowledged: two of the server's windows
        ['check', 14_499, 'ok'],
        ['check', 14_500, 'stalled'],
      ],
    ],
    [
      "declares dead once two of the server's own (wider) windows go unacknowledged, while the kernel still takes data",
      [
        ['pending', 100_000, 0],
        ['drain', 12_000, 0],
        ['ack', 5000, 100],
        ['ack', 10_000, 200], // the server's window: 5000 bytes
        ['drain', 8000, 300], // 10 000 unacknowledged: an ack is overdue from here
        ['drain', 1000, 4000],
        ['check', 5299, 'ok'],
        ['check', 5300, 'stalled', 'no-acknowledgement'],
      ],
    ],
    [
      'counts acknowledged offsets past 2^32 (AckCounter unwraps the sequence numbers) as progress',
      [
        ['pending', 100_000, 0],
        ['drain', 3000, 0],
        ['ack', 2 ** 32 - 500, 100],
        ['ack', 2 ** 32 + 500, 3000],
        ['check', 7999, 'ok'],
      ],
    ],
  ])('%s', (_name, events) => play(events));

  it('a queue that keeps growing while nothing drains is still declared stalled (growth is not progress)', () => {
    play([
      ['pending', 1000, 0],
      ['pending', 2000, 5000],
      ['pending', 3000, 10_000],
      ['check', 14_999, 'ok'],
      ['check', 15_000, 'stalled', 'no-progress'],
    ]);
  });

  it('forgets the connection on reset()', () => {
    const monitor = new ProgressMonitor({ ackWindowBytes: 1000 });
    monitor.pendingChanged(100, 0);
    monitor.acknowledged(5, 0);
    expect(monitor.acknowledgementsSeen).toBe(true);
    monitor.reset();
    expect(monitor.acknowledgementsSeen).toBe(false);
    expect(monitor.check(100_000)).toBe('ok');
  });
});
