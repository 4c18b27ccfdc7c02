import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The unit tests alone (no servers, no encoders): what Stryker runs against each mutant. No setup
// file: it only quiets node-av's log, which the mutated modules never load, and it costs ~0.2 s per
// test file on every mutant.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/unit/**/*.test.ts'], setupFiles: [] },
});
