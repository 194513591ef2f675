import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { isValueObject, type RecordValue, toJson, type Value } from '@ferry/core';
import { uniqueName } from '@ferry/testkit';
import { createChdbConnection } from 'chdb/connection';
import type { ClickHouseConnection } from './clickhouse-chdb.js';

/**
 * Which ClickHouse the tests run against: `CLICKHOUSE_TARGET=chdb`, the
 * engine of a current release in this process (chDB, one directory per test
 * process); else the server at `CLICKHOUSE_URL`, or the private port
 * `scripts/services.sh` starts 18.16 on.
 */
export const onChdb = process.env.CLICKHOUSE_TARGET === 'chdb';

const chdbDir = onChdb ? mkdtempSync(join(tmpdir(), 'ferry-chdb-test-')) : undefined;

/** The url a test gives the connector: `chdb:///tmp/…` or the server's. */
export const clickHouseUrl =
  chdbDir !== undefined ? `chdb://${chdbDir}` : (process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123');

/** For a test that needs a network or users, which an embedded engine has not: skipped on chDB, with why. */
export const serverOnly = (why: string) => (onChdb ? { skip: true, why } : { skip: false, why });

let client: ClickHouseClient | undefined;

/**
 * A chDB connection at `path`, typed as `@clickhouse/client`'s: chdb declares
 * it against its own copy of the client's common types, the same shape.
 */
export const chdbConnection = (path: string): ClickHouseConnection =>
  createChdbConnection({ path }) as unknown as ClickHouseConnection;

/** The tests' own client, reading back through the driver: over HTTP, or through chDB's connection. */
export function admin(): ClickHouseClient {
  client ??=
    chdbDir !== undefined
      ? createClient({ connection: chdbConnection(chdbDir), log: { level: ClickHouseLogLevel.OFF } })
      : createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } });
  return client;
}

/** A query the connector ran through a recording connection, with its parameters. */
export interface RanQuery {
  readonly query: string;
  readonly params: Record<string, unknown> | undefined;
}

/**
 * For a connector the test watches on chDB, which keeps no system.query_log:
 * a connection to the test's embedded ClickHouse that hands `ran` every query
 * after it ran, before the connector gets the answer (the caller closes it);
 * undefined on the server, whose query_log tells.
 */
export function recordingConnection(ran: (query: RanQuery) => Promise<void>): ClickHouseConnection | undefined {
  if (chdbDir === undefined) return undefined;
  const inner = chdbConnection(chdbDir);
  return new Proxy(inner, {
    get(target, property) {
      const member = Reflect.get(target, property, target) as unknown;
      if (typeof member !== 'function') return member;
      if (property !== 'query') return member.bind(target);
      return async (params: { query: string; query_params?: Record<string, unknown> }) => {
        const answer = await member.call(target, params);
        await ran({ query: params.query, params: params.query_params });
        return answer;
      };
    },
  });
}

/** The server's version, as `[major, minor]`. */
export async function serverVersion(): Promise<[number, number]> {
  const [row] = await rows<{ v: string }>('SELECT version() AS v');
  const [major = 0, minor = 0] = (row?.v ?? '0').split('.').map(Number);
  return [major, minor];
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
  // As 18.16 answers by default: 64-bit integers as strings, never through a JS number.
  const settings = { output_format_json_quote_64bit_integers: 1 } as const;
  return (await (await admin().query({ query, format: 'JSONEachRow', clickhouse_settings: settings })).json()) as T[];
}

export async function count(table: string): Promise<number> {
  const [row] = await rows<{ n: string }>(`SELECT count() AS n FROM default.\`${table}\``);
  return Number(row?.n);
}

export async function drop(table: string): Promise<void> {
  await exec(`DROP TABLE IF EXISTS default.\`${table}\``);
  await exec(`ALTER TABLE default.ferry_checkpoints DELETE WHERE key = 'default.${table}'`).catch(() => undefined);
}

/** The columns of `sampleValues` (testkit), with ok and nested kept as JSON text; n is an integer there. */
export const sampleColumns =
  'n UInt64, tag String, ok String, none Nullable(String), ratio Float64, looksNumeric String, text String, nested String';

/** A whole JS number as an integer: JSONEachRow's `1.0` is no UInt64 on 18.16. */
function wholeAsInteger(value: Value): Value {
  if (typeof value === 'number' && Number.isInteger(value) && !Object.is(value, -0)) return BigInt(value);
  if (Array.isArray(value)) return value.map(wholeAsInteger);
  if (isValueObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wholeAsInteger(v)]));
  return value;
}

/** Inserts rows as JSONEachRow lines written by core's lossless JSON, so that integers of any size go as their digits. */
export async function insert(table: string, values: readonly RecordValue[]): Promise<void> {
  const body = values.map((value) => toJson(wholeAsInteger(value)).text).join('\n');
  await exec(`INSERT INTO default.\`${table}\` FORMAT JSONEachRow\n${body}`);
}
