/**
 * Netns scenario (run by runScenarioInNetns): shapes a loopback TCP port with tc and measures the rate
 * a plain TCP transfer achieves at each of the given rates. Args: kbit rates, e.g. `1000 2000`.
 * Prints `{ "results": [{ "rateKbit": 1000, "measuredKbit": 987 }, …] }` as the last stdout line.
 *
 * The rate is changed at runtime on the one installed qdisc (`setRate`), and each rate is measured on a
 * connection of its own, opened after the change. Measuring every rate on one long connection measured
 * TCP's recovery instead: the tbf queue built up at the lower rate is dropped when the qdisc changes, and
 * a connection that has just lost a whole window can sit in exponential retransmission backoff for
 * seconds (544 kbit/s measured at 3000 once in CI).
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setRate, setupLoopback, shapePort } from '../netns.js';

const WARMUP_MS = 700; // let the tbf burst and TCP slow start pass
const MEASURE_MS = 3000;

const rates = process.argv.slice(2).map(Number);
setupLoopback();

let received = 0;
const server = createServer((socket) =>
  socket.on('data', (chunk: Buffer) => (received += chunk.length)).on('error', () => {}),
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
shapePort(port);

const block = Buffer.alloc(64 * 1024, 0x55);

/** Opens a connection that keeps the link full until it is destroyed. */
async function startSender(): Promise<Socket> {
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const pump = (): void => {
    while (!client.destroyed && client.write(block));
  };
  client.on('drain', pump);
  pump();
  return client;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const results: Array<{ rateKbit: number; measuredKbit: number }> = [];
for (const rateKbit of rates) {
  setRate(port, rateKbit);
  const client = await startSender();
  await sleep(WARMUP_MS);
  const startBytes = received;
  const start = performance.now();
  await sleep(MEASURE_MS);
  const measuredKbit = ((received - startBytes) * 8) / (performance.now() - start); // bits/ms = kbit/s
  results.push({ rateKbit, measuredKbit: Math.round(measuredKbit) });
  client.destroy();
}
server.close();
console.log(JSON.stringify({ results }));
