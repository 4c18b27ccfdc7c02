import { describe, expect, it } from 'vitest';
import { StallError } from '../../../src/core/errors.js';
import type { FailureKind } from '../../../src/output/backoff.js';
import { Reconnector, type OutputState, type ReconnectorOptions } from '../../../src/output/reconnector.js';
import type { TransportConnection } from '../../../src/output/transport.js';
import { RtmpConnectionError, RtmpServerError, mapSocketError } from '../../../src/rtmp/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeTransport, type FakeConnection, type OpenStep } from '../../helpers/fake-transport.js';
import { ioTurns } from '../../helpers/memory-socket.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - the `catch { break; }` around the backoff sleep emptied: the sleep only rejects on abort, and the
//   loop's condition then ends it the same way;
// - `this.#liveSinceUs === null` in #passProbation → false: the probation timer is cancelled whenever
//   a connection ends, so it never fires without one.

const where = 'server:1935';
const refused = (): Error =>
  mapSocketError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), where);
const reset = (): Error =>
  new RtmpConnectionError('ERR_RTMP_CONNECTION_RESET', 'reset', { phase: 'publishing' });
const closedInHandshake = (): Error =>
  new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', 'closed', { phase: 'handshaking' });

interface Rig {
  clock: FakeClock;
  transport: FakeTransport;
  reconnector: Reconnector;
  states: OutputState[];
  retries: [FailureKind, number][];
  errors: Error[];
}

/** A Reconnector whose `serve` holds each connection until the transport ends it. */
function rig(script: OpenStep[] = [], options: Partial<ReconnectorOptions> = {}): Rig {
  const clock = new FakeClock();
  const transport = new FakeTransport(script);
  const serve = async (connection: TransportConnection): Promise<Error> =>
    (await connection.closed) ?? new Error('closed by us');
  const reconnector = new Reconnector(
    clock,
    { reconnect: { jitter: 0 }, initialAttempts: 3, publishProbationMs: 1000, ...options },
    transport,
    serve,
  );
  const r: Rig = { clock, transport, reconnector, states: [], retries: [], errors: [] };
  reconnector.on('statechange', (_prev, next) => r.states.push(next));
  reconnector.on('retry', (_error, delayMs, kind) => r.retries.push([kind, delayMs]));
  reconnector.on('error', (error) => r.errors.push(error));
  return r;
}

/** Fake time passes in `stepMs` steps, with I/O turns between, for `totalMs`. */
async function pass(clock: FakeClock, totalMs: number, stepMs = 100): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    clock.advance(Math.min(stepMs, totalMs - t));
    await ioTurns(3);
  }
}

const live = (r: Rig): FakeConnection => {
  const connection = r.transport.last;
  if (!connection || connection.ended || r.reconnector.state !== 'live') throw new Error('not live');
  return connection;
};

describe('Reconnector', () => {
  it('connects, passes probation once (established), and after a drop retries at once and counts the reconnection', async () => {
    const r = rig();
    let established = 0;
    r.reconnector.on('established', () => established++);
    r.reconnector.start();
    await ioTurns();
    expect(r.reconnector.isEstablished).toBe(false);
    await pass(r.clock, 1000);
    expect(r.reconnector.isEstablished).toBe(true);
    live(r).end(reset());
    await ioTurns();
    await pass(r.clock, 1500);
    expect(r.states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    expect(r.retries).toEqual([['transient', 0]]);
    expect(established).toBe(1);
    expect(r.reconnector.stats).toMatchObject({ reconnectCount: 1, connectAttempts: 2, lastReconnectMs: 0 });
    expect(r.reconnector.stats.lastDisconnectReason).toBe('reset');
  });

  it('counts downtime from the drop to publishing again, and the outage still going on', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 2000);
    r.transport.then(refused(), refused());
    live(r).end(reset()); // then: immediate retry refused, probe at +500 refused, +500 publishes
    await ioTurns();
    await pass(r.clock, 300);
    expect(r.reconnector.stats.downtimeMs).toBe(300);
    await pass(r.clock, 1000);
    expect(r.reconnector.state).toBe('live');
    expect(r.reconnector.stats.lastReconnectMs).toBe(1000);
    expect(r.reconnector.stats.downtimeMs).toBe(1000);
  });

  it('reads a publish dropped within probation as a rejection and gives up after the confirming attempts', async () => {
    const r = rig([], { initialAttempts: 10 });
    r.reconnector.start();
    for (let i = 0; i < 4; i++) {
      // Each connection publishes, then the server drops it 100 ms later (nginx-rtmp's `deny publish`).
      for (let turn = 0; r.reconnector.state !== 'live' && turn < 200; turn++) await pass(r.clock, 100, 100);
      await pass(r.clock, 100);
      live(r).end(new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', 'closed', { phase: 'publishing' }));
      await ioTurns();
    }
    expect(r.reconnector.state).toBe('failed');
    expect(r.reconnector.isEstablished).toBe(false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'ERR_RTMP_REJECTED' });
    expect(r.errors[0]?.message).toMatch(/accepting the publish.*gave up after 4 attempts/);
    expect(r.states.at(-1)).toBe('failed');
  });

  it('does not read a stall within probation as a rejection (the path died, the key is fine)', async () => {
    const r = rig([], { initialAttempts: 1 });
    r.reconnector.start();
    await ioTurns();
    r.reconnector.on('disconnected', () => undefined);
    // Not established yet: initialAttempts 1 would end it at the first permanent-looking failure.
    live(r).end(new StallError('no progress for 5 s'));
    await ioTurns();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toBeInstanceOf(StallError);
  });

  it('before the first publish gives up after initialAttempts and says how many attempts it made', async () => {
    const r = rig([refused(), refused(), refused()]);
    r.reconnector.start();
    await pass(r.clock, 2000);
    expect(r.reconnector.state).toBe('failed');
    expect(r.errors[0]?.message).toMatch(/refused.*\(gave up after 3 attempts\)$/);
    expect(r.transport.publishedBefore).toEqual([false, false, false]);
  });

  it('probes a server that closes during the handshake as fast as a refused one once the destination has worked (a proxy in front of a restarting server)', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 1500);
    r.transport.then(closedInHandshake(), closedInHandshake(), closedInHandshake());
    live(r).end(reset());
    await ioTurns();
    await pass(r.clock, 2000);
    expect(r.retries).toEqual([
      ['transient', 0],
      ['not-ready', 500],
      ['not-ready', 500],
      ['not-ready', 500],
    ]);
    expect(r.reconnector.state).toBe('live');
    expect(r.transport.publishedBefore.slice(1)).toEqual([true, true, true, true]);
  });

  it('backs off exponentially on errors that are neither refusals nor fatal', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 1500);
    const timeout = (): Error => new RtmpConnectionError('ERR_RTMP_CONNECT_TIMEOUT', 'timeout');
    r.transport.then(timeout(), timeout(), timeout());
    live(r).end(reset());
    await ioTurns();
    await pass(r.clock, 8000);
    expect(r.retries.map(([, delayMs]) => delayMs)).toEqual([0, 1000, 2000, 4000]);
  });

  it('keeps retrying a name still held by our dead session after a drop, past the confirming attempts', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 1500);
    const held = (): Error =>
      new RtmpServerError('publish', 'NetStream.Publish.BadName', 'already publishing', where);
    r.transport.then(held(), held(), held(), held(), held());
    live(r).end(reset());
    await ioTurns();
    await pass(r.clock, 32_000, 500);
    // The drop's immediate retry, then five rejections backing off: 1, 2, 4, 8, 16 s.
    expect(r.retries.map(([, delayMs]) => delayMs)).toEqual([0, 1000, 2000, 4000, 8000, 16_000]);
    expect(r.reconnector.state).toBe('live');
  });

  it('stop() during a backoff wait ends at once, and a live connection is closed gracefully', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 1500);
    const connection = live(r);
    await r.reconnector.stop();
    expect(connection.closeCalls).toBe(1);
    expect(r.states.slice(-2)).toEqual(['stopping', 'stopped']);

    const waiting = rig([refused()]);
    waiting.reconnector.start();
    await ioTurns();
    expect(waiting.retries).toEqual([['not-ready', 0]]);
    await ioTurns();
    expect(waiting.reconnector.state).toBe('live');
    waiting.transport.then(new RtmpConnectionError('ERR_RTMP_CONNECT_TIMEOUT', 'timeout'));
    live(waiting).end(reset());
    await ioTurns(); // immediate retry fails: a 1 s wait starts
    const stopped = waiting.reconnector.stop();
    await stopped;
    expect(waiting.reconnector.state).toBe('stopped');
  });

  it('stop() while an attempt hangs abandons it', async () => {
    const r = rig(['hang']);
    r.reconnector.start();
    await ioTurns();
    await r.reconnector.stop();
    expect(r.reconnector.state).toBe('stopped');
    expect(r.errors).toEqual([]);
  });

  it('starts once: a second start() makes no second attempt', async () => {
    const r = rig();
    r.reconnector.start();
    r.reconnector.start();
    await ioTurns();
    expect(r.reconnector.stats.connectAttempts).toBe(1);
    expect(r.states).toEqual(['connecting', 'live']);
  });

  it('hands out the live connection, and none once it is lost', async () => {
    const r = rig([], { reconnect: { jitter: 0, baseMs: 1000 } });
    r.reconnector.start();
    await ioTurns();
    const connection = live(r);
    expect(r.reconnector.connection).toBe(connection);
    r.transport.then('hang');
    connection.end(reset());
    await ioTurns();
    expect(r.reconnector.connection).toBeNull();
  });

  it('keeps why it failed for a caller that comes after the error event, and stays failed on a later stop', async () => {
    const r = rig([refused()], { initialAttempts: 1 });
    expect(r.reconnector.failure).toBeNull();
    r.reconnector.start();
    await ioTurns();
    expect(r.reconnector.state).toBe('failed');
    expect(r.reconnector.failure).toBe(r.errors[0]);
    // One attempt: the message says nothing about giving up after several.
    expect(r.reconnector.failure?.message).not.toMatch(/gave up/);
    await r.reconnector.stop();
    expect(r.reconnector.state).toBe('failed');
    expect(r.states).toEqual(['connecting', 'failed']);
  });

  it('does not announce live for a connection that publishes after the stop began (the output is flushing)', async () => {
    const r = rig();
    r.reconnector.start();
    r.reconnector.beginStop();
    await ioTurns();
    expect(r.transport.connections).toHaveLength(1);
    expect(r.reconnector.state).toBe('stopping');
    await r.reconnector.stop();
    expect(r.states).toEqual(['connecting', 'stopping', 'stopped']);
  });

  it('reads a drop exactly publishProbationMs after publishing as a loss, not a rejection', async () => {
    const r = rig();
    const retried: Error[] = [];
    r.reconnector.on('retry', (error) => retried.push(error));
    r.reconnector.start();
    await ioTurns();
    r.clock.advance(999);
    live(r).end(reset());
    await ioTurns();
    expect(retried[0]).toMatchObject({ code: 'ERR_RTMP_REJECTED' }); // within probation
    await ioTurns(3); // reconnected at once
    r.clock.advance(1000);
    live(r).end(reset());
    await ioTurns();
    expect(retried[1]).toMatchObject({ code: 'ERR_RTMP_CONNECTION_RESET' });
  });

  it('finished() settles once the loop has ended', async () => {
    const r = rig();
    r.reconnector.start();
    await ioTurns();
    let finished = false;
    void r.reconnector.finished().then(() => (finished = true));
    await ioTurns();
    expect(finished).toBe(false);
    await r.reconnector.stop();
    await ioTurns();
    expect(finished).toBe(true);
  });

  it('emits established when the first publish passes probation, not later', async () => {
    const r = rig();
    let established = 0;
    r.reconnector.on('established', () => established++);
    r.reconnector.start();
    await ioTurns();
    await pass(r.clock, 999);
    expect(established).toBe(0);
    await pass(r.clock, 1);
    expect(established).toBe(1);
  });

  it('backs off a connection that keeps dropping soon after publishing, and starts over after one that lasted stableAfterMs', async () => {
    const r = rig([], { reconnect: { jitter: 0, stableAfterMs: 10_000 } });
    r.reconnector.start();
    await pass(r.clock, 1500);
    live(r).end(reset()); // lived 1.5 s: the outage's first retry, at once
    await ioTurns(3);
    await pass(r.clock, 1000);
    live(r).end(reset()); // lived 1 s: flapping, so the schedule goes on
    await ioTurns(3);
    await pass(r.clock, 1000);
    await pass(r.clock, 10_000);
    live(r).end(reset()); // lived 10 s: stable, so a new outage starts with an immediate retry
    await ioTurns(3);
    expect(r.retries).toEqual([
      ['transient', 0],
      ['transient', 1000],
      ['transient', 0],
    ]);
  });

  it('stop() is idempotent: a second stop, at once or later, closes nothing twice and leaves it stopped', async () => {
    const r = rig();
    r.reconnector.start();
    await pass(r.clock, 1500);
    const connection = live(r);
    await Promise.all([r.reconnector.stop(), r.reconnector.stop()]);
    expect(connection.closeCalls).toBe(1);
    await r.reconnector.stop();
    expect(r.reconnector.state).toBe('stopped');
    expect(r.states.slice(-2)).toEqual(['stopping', 'stopped']);
  });
});
