import { defineConfig } from 'vitest/config';

/**
 * Every test runs twice: against ClickHouse 18.16, the server `scripts/services.sh`
 * starts, over HTTP; and against the engine of a current release, chDB, in the
 * test's own process through `@clickhouse/client`'s `connection` (see test-admin.ts).
 */
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: 'server', include: ['src/**/*.test.ts'], globalSetup: ['./src/test-versions.ts'] },
      },
      // Unit tests ask no server: once is enough.
      {
        extends: true,
        test: { name: 'chdb', include: ['src/**/*.integration.test.ts'], env: { CLICKHOUSE_TARGET: 'chdb' } },
      },
    ],
  },
});
