import { describe, expect, it } from 'vitest';
import { AbortError, StallError } from '../../../src/core/errors.js';
import { ConnectionMonitor } from '../../../src/output/connection-monitor.js';
import { RtmpConnectionError } from '../../../src/rtmp/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeConnection } from '../../helpers/fake-transport.js';
import { ioTurns } from '../../helpers/memory-socket.js';

function setup(): {
  clock: FakeClock;
  monitor: ConnectionMonitor;
  connection: FakeConnection;
  reasons: Error[];
} {
  const clock = new FakeClock();
  const monitor = new ConnectionMonitor(clock, {
    stallTimeoutMs: 15_000,
    ackStallTimeoutMs: 5000,
    ackWindowBytes: 1000,
  });
  const reasons: Error[] = [];
  monitor.on('disconnected', (reason) => reasons.push(reason));
  return { clock, monitor, connection: new FakeConnection(), reasons };
}

describe('ConnectionMonitor', () => {
  it('turns the end of a connection into one disconnected(reason) with the cause', async () => {
    const { monitor, connection, reasons } = setup();
    const lost = monitor.watch(connection);
    const cause = new RtmpConnectionError('ERR_RTMP_CONNECTION_RESET', 'reset');
    connection.end(cause);
    expect(await lost).toBe(cause);
    expect(reasons).toEqual([cause]);
  });

  it('sees a connection that ended before it was watched (the close came in the read that published)', async () => {
    const { monitor, connection } = setup();
    const cause = new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', 'sent "close"');
    connection.end(cause);
    await ioTurns(2);
    expect(await monitor.watch(connection)).toBe(cause);
  });

  it('declares a connection dead after stallTimeoutMs with data pending and nothing draining, and destroys it', async () => {
    const { clock, monitor, connection } = setup();
    const lost = monitor.watch(connection);
    connection.bytesWritten = 50_000;
    connection.bufferedBytes = 50_000; // written, but nothing leaves our buffer
    monitor.pendingChanged(50_000);
    clock.advance(14_000);
    expect(connection.ended).toBe(false);
    clock.advance(1000);
    const reason = await lost;
    expect(reason).toBeInstanceOf(StallError);
    expect(reason.message).toMatch(/no progress for 15 s/);
    expect(connection.destroyedWith).toBe(reason);
  });

  it('keeps a slow connection alive as long as bytes drain (slow is not dead)', async () => {
    const { clock, monitor, connection } = setup();
    void monitor.watch(connection);
    monitor.pendingChanged(50_000);
    for (let s = 0; s < 60; s++) {
      connection.bytesWritten += 500; // a trickle, far below the stream's rate
      clock.advance(1000);
    }
    await ioTurns(2);
    expect(connection.ended).toBe(false);
  });

  it('once the server acknowledges, calls it dead when acknowledgements stop for ackStallTimeoutMs while bytes still drain (a black hole behind a kernel buffer)', async () => {
    const { clock, monitor, connection } = setup();
    const lost = monitor.watch(connection);
    monitor.pendingChanged(10_000);
    connection.bytesWritten = 1000;
    clock.advance(1000);
    connection.acknowledge(1000);
    for (let s = 0; s < 4; s++) {
      connection.bytesWritten += 3000; // draining into the kernel, never acknowledged
      clock.advance(1000);
    }
    expect(connection.ended).toBe(false);
    for (let s = 0; s < 6; s++) {
      connection.bytesWritten += 3000;
      clock.advance(1000);
    }
    const reason = await lost;
    expect(reason).toBeInstanceOf(StallError);
    expect(reason.message).toMatch(/no progress for 5 s/);
  });

  it('stops checking once the connection is gone', async () => {
    const { clock, monitor, connection } = setup();
    const lost = monitor.watch(connection);
    connection.end(new RtmpConnectionError('ERR_RTMP_CONNECTION_RESET', 'reset'));
    await lost;
    expect(clock.pendingTimers).toBe(0);
  });

  it('watching a new connection forgets the old one', async () => {
    const { clock, monitor, connection } = setup();
    void monitor.watch(connection);
    const next = new FakeConnection();
    void monitor.watch(next);
    expect(clock.pendingTimers).toBe(1);
    monitor.pendingChanged(1000);
    next.bufferedBytes = 1000;
    next.bytesWritten = 1000;
    clock.advance(16_000);
    await ioTurns(2);
    expect(next.destroyedWith).toBeInstanceOf(StallError);
    expect(connection.destroyedWith).toBeUndefined();
  });

  it('reports a close of our own (no cause) as an AbortError', async () => {
    const { monitor, connection } = setup();
    const lost = monitor.watch(connection);
    void connection.close();
    expect(await lost).toBeInstanceOf(AbortError);
  });

  it('checks progress every checkIntervalMs', async () => {
    const clock = new FakeClock();
    const monitor = new ConnectionMonitor(clock, {
      stallTimeoutMs: 1000,
      ackStallTimeoutMs: 1000,
      ackWindowBytes: 1000,
      checkIntervalMs: 250,
    });
    const connection = new FakeConnection();
    void monitor.watch(connection);
    connection.bytesWritten = connection.bufferedBytes = 1000;
    monitor.pendingChanged(1000);
    clock.advance(750);
    expect(connection.ended).toBe(false);
    clock.advance(250); // the fourth check, at 1000 ms: stalled
    expect(connection.destroyedWith).toBeInstanceOf(StallError);
  });

  it('keeps watching the new connection when the old one ends later', async () => {
    const { clock, monitor, connection } = setup();
    void monitor.watch(connection);
    const next = new FakeConnection();
    void monitor.watch(next);
    connection.end(new RtmpConnectionError('ERR_RTMP_CONNECTION_RESET', 'reset'));
    await ioTurns(2);
    expect(clock.pendingTimers).toBe(1);
    monitor.pendingChanged(1000);
    next.bytesWritten = next.bufferedBytes = 1000;
    clock.advance(16_000);
    expect(next.destroyedWith).toBeInstanceOf(StallError);
  });
  it('declares a connection dead stallTimeoutMs after the last bytes drained (it stopped mid-stream)', async () => {
    const { clock, monitor, connection } = setup();
    const lost = monitor.watch(connection);
    monitor.pendingChanged(40_000);
    connection.bytesWritten = 50_000;
    connection.bufferedBytes = 40_000; // 10 000 bytes drain before the first check (250 ms), then nothing
    clock.advance(250);
    clock.advance(14_999);
    expect(connection.ended).toBe(false);
    clock.advance(1);
    expect(await lost).toBeInstanceOf(StallError);
  });
});
