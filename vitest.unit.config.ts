import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The unit tests alone (no servers, no encoders): what Stryker runs against each mutant. No setup
// file: it only quiets node-av's log, which the mutated modules never load, and it costs ~0.2 s per
// test file on every mutant. Not the CLI's tests: they spawn the built CLI against a listening socket
// or load the whole CLI with node-av, and two of them in one worker thread (Stryker runs vitest with
// `pool: 'threads'`) abort the process (help.test.ts then main.test.ts: SIGABRT), failing the dry run;
// no mutated module is CLI code.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/unit/cli/**'],
    setupFiles: [],
  },
});
