import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // The tests share one Redis server and spawn the CLI: one file at a time.
    fileParallelism: false,
    // Tests of a describe.concurrent block (crash loops): two at a time, one per core.
    maxConcurrency: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
