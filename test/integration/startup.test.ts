/**
 * What start-up loads. Every module costs CPU and time before the first frame goes out, on every start:
 * prom-client (with the OpenTelemetry API it brings, 85 ms of CPU) is loaded only when a metrics
 * registry is made.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const run = promisify(execFile);
const dist = join(dirname(CLI), '..', 'dist', 'src');
const here = dirname(fileURLToPath(import.meta.url));

/** Runs `script` (an ES module) in a fresh node; returns the CommonJS files it had loaded at each `mark(name)`. */
async function loadedAt(script: string): Promise<Record<string, string[]>> {
  const prelude = [
    `import { createRequire } from 'node:module';`,
    `const loaded = {};`,
    `const mark = (name) => (loaded[name] = Object.keys(createRequire(import.meta.url).cache));`,
  ].join('\n');
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', `${prelude}\n${script}\nprocess.stdout.write(JSON.stringify(loaded));`],
    { cwd: here, timeout: 30_000 },
  );
  return JSON.parse(stdout) as Record<string, string[]>;
}

const url = (file: string): string => pathToFileURL(join(dist, file)).href;

describe('start-up', () => {
  it('loads prom-client only when a metrics registry is made', async () => {
    const loaded = await loadedAt(
      [
        `await import('${url('index.js')}');`,
        `await import('${url('cli/main.js')}');`,
        `const metrics = await import('${url('observe/metrics.js')}');`,
        `mark('imported');`,
        `metrics.createMetricsRegistry({ stats: { outputs: [] } });`,
        `mark('registry');`,
      ].join('\n'),
    );
    const prom = (files: string[] | undefined): string[] =>
      (files ?? []).filter((f) => f.includes('prom-client'));
    expect(prom(loaded.imported)).toEqual([]);
    expect(prom(loaded.registry).length).toBeGreaterThan(0);
  });
});
