// @ts-check
// Merges the incremental results of separate Stryker runs (one module each, each with its own
// `--incrementalFile`) into the full run's incremental file, so `npm run test:mutation` then retests
// only what changed since those runs. Later files win for a module or test file that appears twice.
//
//   node stryker/merge-incremental.mjs reports/stryker-incremental.json reports/incremental/*.json
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const [target, ...sources] = process.argv.slice(2);
if (target === undefined || sources.length === 0) {
  process.stderr.write('usage: node stryker/merge-incremental.mjs <target.json> <run.json>...\n');
  process.exit(2);
}

/** @type {Map<string, string>} `file\0test name` → merged test id */
const testIds = new Map();
/** @type {Record<string, { source: string, tests: { id: string, name: string }[] }>} */
const testFiles = {};
/** @type {Record<string, any>} */
const files = {};
let base;
let mutantId = 0;

for (const path of sources) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  base ??= report;
  /** @type {Map<string, string>} this run's test id → merged id */
  const local = new Map();
  for (const [file, entry] of Object.entries(report.testFiles ?? {})) {
    const merged = (testFiles[file] = { ...entry, tests: testFiles[file]?.tests ?? [] });
    for (const test of entry.tests) {
      const key = `${file}\0${test.name}`;
      let id = testIds.get(key);
      if (id === undefined) {
        id = String(testIds.size);
        testIds.set(key, id);
        merged.tests.push({ ...test, id });
      }
      local.set(test.id, id);
    }
  }
  /** @param {string[] | undefined} ids */
  const remap = (ids) => ids?.map((id) => local.get(id) ?? id);
  for (const [file, entry] of Object.entries(report.files)) {
    files[file] = {
      ...entry,
      mutants: entry.mutants.map((/** @type {any} */ m) => ({
        ...m,
        id: String(mutantId++),
        coveredBy: remap(m.coveredBy),
        killedBy: remap(m.killedBy),
      })),
    };
  }
}

writeFileSync(target, JSON.stringify({ ...base, files, testFiles }, null, 2));
process.stdout.write(`${target}: ${Object.keys(files).length} modules, ${testIds.size} tests\n`);
