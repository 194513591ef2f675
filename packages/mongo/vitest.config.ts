import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Starts a mongod or the in-repo test server when MONGO_URL is not given, and sets MONGO_URL.
    globalSetup: ['./vitest.global-setup.ts'],
    fileParallelism: false,
    testTimeout: 20_000,
  },
});
