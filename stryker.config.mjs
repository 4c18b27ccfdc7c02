// @ts-check
// Mutation testing of the pure decision, protocol and engine modules against the unit tests only.
// `npm run test:mutation` runs all of them; `npm run test:mutation -- --mutate src/output/drop-policy.ts`
// runs one. Incremental: results are kept in reports/stryker-incremental.json, so a rerun after a
// small change only tests the mutants whose code or covering tests changed (`--force` reruns all).

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.unit.config.ts' },
  checkers: ['typescript'],
  // The mutants of error messages are skipped (see stryker/ignore-error-messages.mjs); nothing else is.
  plugins: ['@stryker-mutator/*', './stryker/ignore-error-messages.mjs'],
  ignorers: ['error-message'],
  tsconfigFile: 'tsconfig.json',
  mutate: [
    'src/output/drop-policy.ts',
    'src/output/stream-buffer.ts',
    'src/output/stream-muxer.ts',
    'src/core/backoff.ts',
    'src/output/backoff.ts',
    'src/output/failure-class.ts',
    'src/output/progress-monitor.ts',
    'src/output/latency-tracker.ts',
    'src/output/ack-counter.ts',
    'src/output/connection-monitor.ts',
    'src/output/reconnector.ts',
    'src/output/bitrate-controller.ts',
    'src/output/quality-controller.ts',
    'src/output/quality-controller-options.ts',
    'src/output/in-flight-gate.ts',
    'src/output/adaptive-bitrate.ts',
    'src/output/adaptation-loop.ts',
    'src/rtmp/chunk-reader.ts',
    'src/rtmp/chunk-writer.ts',
    'src/rtmp/hand-over-queue.ts',
    'src/rtmp/protocol-control.ts',
    'src/amf0/amf0.ts',
    'src/capture/capture-loop.ts',
    'src/capture/audio-engine.ts',
  ],
  // Which tests cover which mutant is measured, so each mutant runs only the tests that reach it.
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Two cores, shared: run under the heavy lock (see the README), then both are ours.
  concurrency: 2,
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
