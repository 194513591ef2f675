import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, type Sink } from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseSink } from './index.js';
import { clickHouseUrl, closeAdmin, drop, rows, tableName } from './test-admin.js';

/** A local HTTP server that answers one JSON row and counts who asked: the host a smuggled URL would reach. */
let server: Server;
let calls = 0;
let target = '';

beforeAll(async () => {
  server = createServer((_request, response) => {
    calls += 1;
    response.end('{"a":"from the url"}\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`;
});

const tables: string[] = [];
const sinks: Sink[] = [];

afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
  for (const table of tables.splice(0)) await drop(table);
});
afterAll(async () => {
  await closeAdmin();
  await new Promise((resolve) => server.close(resolve));
});

function table(): string {
  const name = tableName();
  tables.push(name);
  return name;
}

async function exists(name: string): Promise<boolean> {
  const [row] = await rows<{ result: number }>(`EXISTS TABLE default.\`${name}\``);
  return Number(row?.result) === 1;
}

describe('clickhouse create', () => {
  it('refuses an engine or a column type that would fetch a URL before any SQL is sent: no table, no request', async () => {
    const name = table();
    const engine = `URL('${target}', JSONEachRow)`;
    const make = (create: object) => () => createClickHouseSink({ url: clickHouseUrl, table: name, create });
    expect(make({ columns: { a: 'String' }, engine })).toThrow(ConfigError);
    expect(make({ columns: { a: 'String' }, engine })).toThrow(
      /^\[clickhouse\] invalid sink options:\n {2}- create\.engine: engine "URL" is not allowed: expected one of MergeTree, /,
    );
    const smuggled = `String DEFAULT (SELECT a FROM url('${target}', JSONEachRow, 'a String'))`;
    expect(make({ columns: { a: smuggled }, engine: 'MergeTree ORDER BY a' })).toThrow(
      /- create\.columns\.a: a column type is a type name and its literal arguments only: expected the end, got "DEFAULT/,
    );
    expect(make({ columns: { a: 'String' }, engine: `MergeTree ORDER BY a PARTITION BY url('${target}')` })).toThrow(
      /- create\.engine: function "url" is not one a key or engine argument may call/,
    );
    expect(await exists(name)).toBe(false);
    expect(calls).toBe(0);
  });

  it('creates an engine the connection names, and then the server does reach the URL', async () => {
    const name = table();
    const sink = createClickHouseSink({
      url: clickHouseUrl,
      table: name,
      engines: ['URL'],
      idColumn: false,
      create: { columns: { a: 'String' }, engine: `URL('${target}', JSONEachRow)` },
    });
    sinks.push(sink);
    await sink.open();
    const [row] = await rows<{ engine: string }>(
      `SELECT engine FROM system.tables WHERE database = 'default' AND name = '${name}'`,
    );
    expect(row?.engine).toBe('URL');
    // What the refusal above prevents: reading the table makes the server fetch the URL.
    expect(await rows(`SELECT a FROM default.\`${name}\``)).toEqual([{ a: 'from the url' }]);
    expect(calls).toBeGreaterThan(0);
  });

  it('creates the MergeTree family with keys, settings and every kind of literal argument, as written', async () => {
    const name = table();
    const sink = createClickHouseSink({
      url: clickHouseUrl,
      table: name,
      create: {
        columns: {
          id: 'UInt64',
          v: 'UInt32',
          at: "DateTime('UTC')",
          kind: "Enum8('b' = -2, 'it''s' = 1)",
          price: 'Decimal(18, 4)',
          tags: 'Array(Nullable(String))',
          pair: 'Tuple(UInt8, String)',
          code: 'Nullable(FixedString(3))',
          _source_id: 'String',
        },
        engine:
          'ReplacingMergeTree(v) PARTITION BY toYYYYMM(at) ORDER BY (id, intHash32(id)) SAMPLE BY intHash32(id) SETTINGS index_granularity = 8192',
      },
    });
    sinks.push(sink);
    await sink.open();
    const described = await rows<{ name: string; type: string }>(`DESCRIBE TABLE default.\`${name}\``);
    expect(Object.fromEntries(described.map((column) => [column.name, column.type]))).toEqual({
      id: 'UInt64',
      v: 'UInt32',
      at: "DateTime('UTC')",
      kind: "Enum8('b' = -2, 'it\\'s' = 1)",
      price: 'Decimal(18, 4)',
      tags: 'Array(Nullable(String))',
      pair: 'Tuple(UInt8, String)',
      code: 'Nullable(FixedString(3))',
      _source_id: 'String',
    });
    const [table_] = await rows<{ engine: string; partition_key: string; sorting_key: string }>(
      `SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = 'default' AND name = '${name}'`,
    );
    expect(table_).toEqual({
      engine: 'ReplacingMergeTree',
      partition_key: 'toYYYYMM(at)',
      sorting_key: 'id, intHash32(id)',
    });
  });
});
