import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Integration tests start real servers on fixed loopback ports and share the CPU with encoders.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { UV_THREADPOOL_SIZE: '8' },
  },
});
