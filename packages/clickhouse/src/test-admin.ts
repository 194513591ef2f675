import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { uniqueName } from '@ferry/testkit';

/** The server the tests use: `CLICKHOUSE_URL`, else the private port `scripts/services.sh` starts it on. */
export const clickHouseUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';

let client: ClickHouseClient | undefined;

export function admin(): ClickHouseClient {
  client ??= createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } });
  return client;
}

export async function closeAdmin(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.close();
}

/** A table name no other test or run uses (`uniqueName` joins with dots, which identifiers do not allow). */
export function tableName(prefix = 'ferry_test'): string {
  return uniqueName(prefix).replace(/[^A-Za-z0-9_]/g, '_');
}

export async function exec(query: string): Promise<void> {
  await admin().command({ query });
}

export async function rows<T = Record<string, unknown>>(query: string): Promise<T[]> {
  return (await (await admin().query({ query, format: 'JSONEachRow' })).json()) as T[];
}

export async function count(table: string): Promise<number> {
  const [row] = await rows<{ n: string }>(`SELECT count() AS n FROM default.\`${table}\``);
  return Number(row?.n);
}

export async function drop(table: string): Promise<void> {
  await exec(`DROP TABLE IF EXISTS default.\`${table}\``);
  await exec(`ALTER TABLE default.ferry_checkpoints DELETE WHERE key = 'default.${table}'`).catch(() => undefined);
}

/** The columns of `sampleValues` (testkit), with ok and nested kept as JSON text; n is a float there, so Float64. */
export const sampleColumns =
  'n Float64, tag String, ok String, none Nullable(String), ratio Float64, looksNumeric String, text String, nested String';

export async function insert(table: string, values: readonly Record<string, unknown>[]): Promise<void> {
  await admin().insert({
    table: `default.\`${table}\``,
    values: values as Record<string, unknown>[],
    format: 'JSONEachRow',
  });
}
