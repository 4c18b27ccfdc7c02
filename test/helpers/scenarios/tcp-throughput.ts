/**
 * Netns scenario (run by runScenarioInNetns): shapes a loopback TCP port with tc and measures the rate
 * a plain TCP transfer achieves at each of the given rates. Args: kbit rates, e.g. `1000 2000`.
 * Prints `{ "results": [{ "rateKbit": 1000, "measuredKbit": 987 }, …] }` as the last stdout line.
 */
import { createServer, connect, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setRate, setupLoopback, shapePort } from '../netns.js';

const WARMUP_MS = 700; // let the tbf burst and TCP slow start pass
const MEASURE_MS = 3000;

const rates = process.argv.slice(2).map(Number);
setupLoopback();

let received = 0;
const server = createServer((socket) => socket.on('data', (chunk: Buffer) => (received += chunk.length)));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
shapePort(port);

const client = connect(port, '127.0.0.1');
await new Promise<void>((resolve) => client.once('connect', () => resolve()));
const block = Buffer.alloc(64 * 1024, 0x55);
let sending = true;
const pump = (): void => {
  while (sending && client.write(block));
};
client.on('drain', pump);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const results: Array<{ rateKbit: number; measuredKbit: number }> = [];
pump();
for (const rateKbit of rates) {
  setRate(port, rateKbit);
  await sleep(WARMUP_MS);
  const startBytes = received;
  const start = performance.now();
  await sleep(MEASURE_MS);
  const measuredKbit = ((received - startBytes) * 8) / (performance.now() - start); // bits/ms = kbit/s
  results.push({ rateKbit, measuredKbit: Math.round(measuredKbit) });
}
sending = false;
client.destroy();
server.close();
console.log(JSON.stringify({ results }));
