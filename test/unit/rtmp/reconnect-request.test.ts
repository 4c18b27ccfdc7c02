import { afterEach, describe, expect, it } from 'vitest';
import type { Amf0Object } from '../../../src/amf0/amf0.js';
import * as msg from '../../../src/rtmp/messages.js';
import type { ReconnectRequestInfo } from '../../../src/rtmp/publish-sequence.js';
import { RtmpConnection } from '../../../src/rtmp/rtmp-connection.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRtmpServer } from '../../helpers/fake-rtmp-server.js';
import { untilTrue } from '../../helpers/memory-socket.js';

// Enhanced RTMP v2, "Reconnect Request": the onStatus NetConnection.Connect.ReconnectRequest as the
// connection reads it. Following it is the output's business; the connection only reports it.

let server: FakeRtmpServer | undefined;
const connections: RtmpConnection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

async function publishing(key = 'secret-key-42'): Promise<{ s: FakeRtmpServer; c: RtmpConnection }> {
  const s = (server = FakeRtmpServer.inMemory());
  const c = new RtmpConnection({ url: s.url('live', key), connect: s.connector() }, new FakeClock());
  connections.push(c);
  await c.connect();
  return { s, c };
}

/** The onStatus a server sends on the NetConnection (message stream 0). */
function reconnectRequest(info: Amf0Object): ReturnType<typeof msg.commandMessage> {
  return msg.commandMessage(0, 'onStatus', 0, null, {
    level: 'status',
    code: 'NetConnection.Connect.ReconnectRequest',
    ...info,
  });
}

describe('RtmpConnection: NetConnection.Connect.ReconnectRequest', () => {
  it('reports the request with its tcUrl and goes on publishing', async () => {
    const { s, c } = await publishing();
    const requests: ReconnectRequestInfo[] = [];
    c.on('reconnectRequest', (r) => requests.push(r));
    s.sessions[0]?.send(
      reconnectRequest({ tcUrl: 'rtmp://other.example:1936/live', description: 'The server is updating.' }),
    );
    await untilTrue(() => requests.length === 1);
    expect(requests).toEqual([
      { tcUrl: 'rtmp://other.example:1936/live', description: 'The server is updating.' },
    ]);
    expect(c.state).toBe('publishing');
  });

  it('reports a request without tcUrl as one to the current server (tcUrl undefined)', async () => {
    const { s, c } = await publishing();
    const requests: ReconnectRequestInfo[] = [];
    c.on('reconnectRequest', (r) => requests.push(r));
    s.sessions[0]?.send(reconnectRequest({}));
    await untilTrue(() => requests.length === 1);
    expect(requests[0]).toEqual({ tcUrl: undefined, description: '' });
  });

  it('reads a tcUrl that is not a string as an empty one (which no resolution accepts), and hides the key in the description', async () => {
    const { s, c } = await publishing('secret-key-42');
    const requests: ReconnectRequestInfo[] = [];
    c.on('reconnectRequest', (r) => requests.push(r));
    s.sessions[0]?.send(reconnectRequest({ tcUrl: 42, description: 'moving secret-key-42 away' }));
    await untilTrue(() => requests.length === 1);
    expect(requests[0]).toEqual({ tcUrl: '', description: 'moving **** away' });
    expect(c.state).toBe('publishing');
  });

  it('is not a reconnect request at an error level: that ends the connection as any error status does', async () => {
    const { s, c } = await publishing();
    let requests = 0;
    c.on('reconnectRequest', () => requests++);
    s.sessions[0]?.send(reconnectRequest({ level: 'error' }));
    await untilTrue(() => c.state === 'closed');
    expect(requests).toBe(0);
  });
});
