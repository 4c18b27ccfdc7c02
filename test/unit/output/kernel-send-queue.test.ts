import { describe, expect, it } from 'vitest';
import { KernelSendQueue, parseTxQueue } from '../../../src/output/kernel-send-queue.js';
import { FakeClock } from '../../helpers/fake-clock.js';

// Real /proc/net/tcp lines: a listener on 0xAFE3, our client 0xC5D6 → 0xAFE3, and the accepted side.
const TABLE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:AFE3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 59598 1 0 100 0 0 10 0',
  '   1: 0100007F:C5D6 0100007F:AFE3 01 0002D12A:00000000 01:00000014 00000000     0        0 59600 1 0 20 4 30 10 -1',
  '   2: 0100007F:AFE3 0100007F:C5D6 01 00000000:00000000 00:00000000 00000000     0        0 59601 1 0 20 4 30 10 -1',
].join('\n');
const PORTS = { localPort: 0xc5d6, remotePort: 0xafe3 };

describe('parseTxQueue', () => {
  it('finds our socket by its ports and reads tx_queue (hex bytes)', () => {
    expect(parseTxQueue(TABLE, PORTS)).toBe(0x2d12a);
  });

  it('does not confuse the peer side (ports swapped) or the listener', () => {
    expect(parseTxQueue(TABLE, { localPort: 0xafe3, remotePort: 0xc5d6 })).toBe(0);
    expect(parseTxQueue(TABLE, { localPort: 0xafe3, remotePort: 0 })).toBe(0);
  });

  it('returns undefined for an unknown socket', () => {
    expect(parseTxQueue(TABLE, { localPort: 1, remotePort: 0xafe3 })).toBeUndefined();
  });

  it('prefers the established socket when a closing one has the same ports', () => {
    const closing = '   3: 0100007F:C5D6 0100007F:AFE3 06 00000000:00000000 03:00000000 00000000 0 0 0 1 0';
    expect(parseTxQueue(`${TABLE}\n${closing}`, PORTS)).toBe(0x2d12a);
  });

  it('reads IPv6 tables too (ports are matched the same way)', () => {
    const v6 =
      '   0: 0000000000000000FFFF00000100007F:C5D6 0000000000000000FFFF00000100007F:AFE3 01 00000400:00000000 00:00000000 00000000 0 0 1 1 0';
    expect(parseTxQueue(v6, PORTS)).toBe(1024);
  });
});

describe('KernelSendQueue', () => {
  function queue(tables: Record<string, string>, costUs = 0) {
    const clock = new FakeClock();
    const reads: string[] = [];
    const q = new KernelSendQueue(clock, PORTS, {
      readTable: async (file) => {
        reads.push(file);
        clock.advance(costUs / 1000);
        const text = tables[file];
        if (text === undefined) throw new Error('ENOENT');
        return text;
      },
    });
    return { clock, q, reads };
  }
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('reads off the event loop and reports the bytes in the kernel', async () => {
    const { q } = queue({ '/proc/net/tcp': TABLE });
    const seen: number[] = [];
    q.request((bytes) => seen.push(bytes));
    expect(seen).toEqual([]);
    await settle();
    expect(seen).toEqual([0x2d12a]);
    expect(q.visible).toBe(true);
  });

  it('runs one read at a time and at most every minIntervalMs', async () => {
    const { clock, q, reads } = queue({ '/proc/net/tcp': TABLE });
    q.request(() => {});
    q.request(() => {});
    await settle();
    q.request(() => {});
    expect(reads).toHaveLength(1);
    clock.advance(20);
    q.request(() => {});
    await settle();
    expect(reads).toHaveLength(2);
  });

  it('spaces reads out when they are slow (at most maxCostShare of the time)', async () => {
    const { q } = queue({ '/proc/net/tcp': TABLE }, 4000);
    q.request(() => {});
    await settle();
    expect(q.intervalMs).toBeCloseTo(4 / 0.02);
  });

  it('never spaces reads more than maxIntervalMs apart, however slow one was (it waited for a busy threadpool)', async () => {
    const { q } = queue({ '/proc/net/tcp': TABLE }, 60_000);
    q.request(() => {});
    await settle();
    expect(q.intervalMs).toBe(250);
  });

  it('falls back to /proc/net/tcp6, then sticks to the table that listed the socket', async () => {
    const { q, reads } = queue({ '/proc/net/tcp': 'header\n', '/proc/net/tcp6': TABLE });
    const seen: number[] = [];
    q.request((bytes) => seen.push(bytes));
    await settle();
    expect(seen).toEqual([0x2d12a]);
    expect(reads).toEqual(['/proc/net/tcp', '/proc/net/tcp6']);
  });

  it('turns invisible after repeated misses, and without ports', async () => {
    const { clock, q } = queue({});
    for (let i = 0; i < 3; i++) {
      q.request(() => {});
      await settle();
      clock.advance(100);
    }
    expect(q.visible).toBe(false);
    expect(new KernelSendQueue(new FakeClock(), undefined).visible).toBe(false);
  });
});
