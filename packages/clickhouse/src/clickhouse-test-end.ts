import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { OpenTestEnd, RecordValue, TestEnd, Value } from '@ferry/core';
import { endName } from '@ferry/testkit/ends';
import { chdbDirectory, openChdb } from './clickhouse-chdb.js';
import { clickHouseFidelity } from './clickhouse-fidelity.js';
import { checkpointTable } from './clickhouse-source.js';

const clickHouseUrl = () => process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
/** 64-bit integers as their digits: a current release writes them as JSON numbers unless told. */
const exactJson = { output_format_json_quote_64bit_integers: 1 } as const;
const seedChunk = 5000;
/** The column that orders a seeded table and that its source reads by. */
const cursor = 'n';

const quoted = (name: string) => `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;

/** The column a value of this kind goes into, exactly. */
function columnType(item: Value): string {
  if (typeof item === 'bigint') return 'Int64';
  if (typeof item === 'number') return 'Float64';
  if (typeof item === 'boolean') return 'UInt8';
  if (item === null) return 'Nullable(String)';
  return 'String';
}

/** A value as an SQL literal of its column: text and bytes through their hex, so that no byte is escaped wrong. */
function literal(item: Value): string {
  if (typeof item === 'bigint') return item.toString();
  if (typeof item === 'boolean') return item ? '1' : '0';
  if (item === null) return 'NULL';
  if (typeof item === 'string') return `unhex('${Buffer.from(item).toString('hex')}')`;
  if (item instanceof Uint8Array) return `unhex('${Buffer.from(item).toString('hex')}')`;
  throw new Error(`[clickhouse test end] cannot seed a ${typeof item}: only integers, text, bytes, booleans and null`);
}

/** The end's own client, as the connector makes it: over http(s), or on the embedded ClickHouse of a `chdb:///dir` url. */
async function testClient(url: string): Promise<ClickHouseClient> {
  const log = { level: ClickHouseLogLevel.OFF };
  if (new URL(url).protocol !== 'chdb:') return createClient({ url, log });
  // The same directory the connector's source and sink open: chDB shares it between connections of one process.
  return createClient({ connection: await openChdb(chdbDirectory(url)), log });
}

/**
 * ClickHouse (C) on CLICKHOUSE_URL (a server, or `chdb:///dir`): MergeTree tables of their own in
 * `default`; a seeded table is read by its `n` column, and the source's
 * checkpoints are removed by `close`.
 */
export const openClickHouseTestEnd: OpenTestEnd = async ({ scope }) => {
  const url = clickHouseUrl();
  const ch = await testClient(url);
  const tables: string[] = [];
  const table = (name: string) => `default.${quoted(name)}`;
  const exec = (query: string) => ch.command({ query });
  const make = async (name: string, columns: readonly string[], orderBy: string) => {
    await exec(
      `CREATE TABLE IF NOT EXISTS ${table(name)} (${columns.join(', ')}) ENGINE = MergeTree ORDER BY ${orderBy}`,
    );
  };
  const name = (label: string) => {
    const made = endName({ prefix: 'ferry_test_', scope, label, separator: '_', allowed: /\w/ });
    tables.push(made);
    return made;
  };
  const end: TestEnd = {
    connection: () => ({ kind: 'clickhouse', url }),
    name,
    endpoint: (name, role) => (role === 'source' ? { table: name, cursor } : { table: name }),
    async create(name, sample) {
      const columns = Object.entries(sample).map(([key, item]) => `${quoted(key)} ${columnType(item)}`);
      await make(name, [...columns, '_source_id String'], '_source_id');
    },
    async seed(name, values) {
      const first = values[0];
      if (first === undefined) return [];
      const keys = Object.keys(first);
      if (typeof first[cursor] !== 'bigint')
        throw new Error(`[clickhouse test end] seeded values need "${cursor}", an integer`);
      await make(
        name,
        keys.map((key) => `${quoted(key)} ${columnType(first[key]!)}`),
        cursor,
      );
      for (let start = 0; start < values.length; start += seedChunk) {
        const rows = values
          .slice(start, start + seedChunk)
          .map((v: RecordValue) => `(${keys.map((k) => literal(v[k]!)).join(', ')})`);
        await exec(`INSERT INTO ${table(name)} (${keys.map(quoted).join(', ')}) VALUES ${rows.join(', ')}`);
      }
      // The source's record id is the cursor's value.
      return values.map((value) => String(value[cursor]));
    },
    async readBack(name) {
      const rows = await (
        await ch.query({ query: `SELECT * FROM ${table(name)}`, format: 'JSONEachRow', clickhouse_settings: exactJson })
      ).json<Record<string, unknown>>();
      return rows.map(({ _source_id, ...rest }) => ({
        id: _source_id === undefined ? undefined : String(_source_id),
        value: Object.fromEntries(
          Object.entries(rest).map(([key, item]) => [
            key,
            item === null ? null : typeof item === 'object' ? JSON.stringify(item) : String(item),
          ]),
        ),
      }));
    },
    async count(name) {
      const [row] = await (
        await ch.query({
          query: `SELECT count() AS n FROM ${table(name)}`,
          format: 'JSONEachRow',
          clickhouse_settings: exactJson,
        })
      ).json<{ n: string }>();
      return Number(row?.n);
    },
    // A copy-mode source leaves the rows; its checkpoint says what was read.
    left: async () => undefined,
    async drop(name) {
      await exec(`DROP TABLE IF EXISTS ${table(name)}`);
    },
    fidelity: clickHouseFidelity(ch, name),
    async close() {
      for (const name of tables) await exec(`DROP TABLE IF EXISTS ${table(name)}`);
      // A source's checkpoint is `<database>.<table>` by default.
      if (tables.length > 0) {
        const keys = tables.map((name) => `'default.${name}'`).join(', ');
        await exec(`ALTER TABLE default.${checkpointTable} DELETE WHERE key IN (${keys})`).catch(() => undefined);
      }
      await ch.close();
    },
  };
  return end;
};

export { openChdb } from './clickhouse-chdb.js';
export { type RowView, readTable } from './clickhouse-fidelity.js';
