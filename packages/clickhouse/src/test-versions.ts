import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { ClickHouseConnection } from './clickhouse-chdb.js';

/** One line in the test log that names both ClickHouse versions the suite ran against; scripts/test.sh repeats it. */
export default async function versions(): Promise<void> {
  const ask = async (client: ReturnType<typeof createClient>) => {
    try {
      const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const [row] = await result.json<{ v: string }>();
      return row?.v ?? 'unknown';
    } catch (error) {
      return `not reachable (${error instanceof Error ? error.message : String(error)})`;
    } finally {
      await client.close();
    }
  };
  const url = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
  const server = await ask(createClient({ url, log: { level: ClickHouseLogLevel.OFF } }));
  const embedded = await ask(
    createClient({
      // chdb types its connection against its own copy of the client's common types: the same shape.
      connection: createChdbConnection({ path: ':memory:' }) as unknown as ClickHouseConnection,
      log: { level: ClickHouseLogLevel.OFF },
    }),
  );
  console.log(`clickhouse versions: ${server} (server at ${url}), ${embedded} (chDB, in process)`);
}
