import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';

const clickHouseUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const streams = new TestStreams();
const vhost = new TestVhost();
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const tables: string[] = [];
let ch: ClickHouseClient;

beforeAll(async () => {
  ch = createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } });
  await vhost.setUp();
}, 60_000);
afterAll(async () => {
  for (const table of tables) await ch.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
  await ch.close();
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

/** A table of its own for this run, dropped after. */
async function table(label: string, columns: string, orderBy: string): Promise<string> {
  const name = `ferry_e2e_${run}_${label}`;
  tables.push(name);
  await ch.command({ query: `CREATE TABLE default.\`${name}\` (${columns}) ENGINE = MergeTree ORDER BY ${orderBy}` });
  return name;
}

async function select<T>(query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

function config(flows: string): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
      `  ch: { kind: clickhouse, url: "${clickHouseUrl}", database: default }`,
      'flows:',
      flows,
    ].join('\n'),
  );
}

describe('S2C, C2S, Q2C and C2Q through the ferry CLI against real Redis, RabbitMQ and ClickHouse', () => {
  it('moves 10,000 records S2C, then C2S back: exact counts, values and ids', async () => {
    const origin = streams.name('s2c.in');
    const back = streams.name('c2s.out');
    const events = await table('s2c', '_source_id String, n UInt32, name String, tags String', 'n');
    const ids = await streams.seed(origin, 10_000);
    const file = config(
      [
        '  s2c:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: ch, table: ${events} }`,
        '    batchSize: 1000',
        '  c2s:',
        `    source: { connection: ch, table: ${events}, cursor: n, columns: [n, name, tags], jsonColumns: [tags] }`,
        `    sink: { stream: ${back} }`,
        '    batchSize: 1000',
      ].join('\n'),
    );

    const s2c = await ferry(['run', file, 's2c']);
    expect(s2c.stderr).toBe('');
    expect(s2c.code).toBe(0);
    expect(lastLine(s2c.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    expect(await streams.len(origin)).toBe(0);
    const rows = await select<{ _source_id: string; n: number; name: string; tags: string }>(
      `SELECT * FROM default.\`${events}\` ORDER BY n`,
    );
    expect(rows).toHaveLength(10_000);
    expect(rows.map((row) => row._source_id)).toEqual(ids);
    rows.forEach((row, i) => {
      expect(row).toEqual({ _source_id: ids[i], n: i, name: `msg-${i}`, tags: '["e2e"]' });
    });

    const c2s = await ferry(['run', file, 'c2s']);
    expect(c2s.stderr).toBe('');
    expect(c2s.code).toBe(0);
    expect(lastLine(c2s.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    const out = await streams.entries(back);
    expect(out).toHaveLength(10_000);
    // The record id of a ClickHouse row is its cursor value, as text.
    expect(out.map((entry) => entry._source_id)).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)));
    out.forEach((entry, i) => {
      expect(entry).toMatchObject({ n: String(i), name: `msg-${i}`, tags: '["e2e"]' });
    });
    // Copy mode keeps the rows; a second run finds nothing past the checkpoint.
    const again = await ferry(['run', file, 'c2s']);
    expect(lastLine(again.stdout)).toMatch(/^moved 0 records .*; stopped: source empty$/);
    expect(await streams.len(back)).toBe(10_000);
  });

  it('Q2C then C2Q (move mode): message ids kept as source ids, bodies intact', async () => {
    const from = streams.name('q2c.queue');
    const to = streams.name('c2q.queue');
    const orders = await table('q2c', '_source_id String, id UInt64, kind String, price Float64', 'id');
    await vhost.publish(
      from,
      Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i + 1, kind: 'order', price: i / 2 })),
      Array.from({ length: 300 }, (_, i) => `order-${i}`),
    );
    const file = config(
      [
        '  q2c:',
        `    source: { connection: rabbit, queue: ${from} }`,
        `    sink: { connection: ch, table: ${orders} }`,
        '    batchSize: 100',
        '  c2q:',
        `    source: { connection: ch, table: ${orders}, cursor: id, mode: move, columns: [id, kind, price] }`,
        `    sink: { connection: rabbit, queue: ${to}, declare: true }`,
        '    batchSize: 70',
      ].join('\n'),
    );
    const q2c = await ferry(['run', file, 'q2c']);
    expect(q2c.stderr).toBe('');
    expect(lastLine(q2c.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
    expect(await vhost.count(from)).toBe(0);
    const rows = await select<{ _source_id: string; id: string }>(
      `SELECT _source_id, id FROM default.\`${orders}\` ORDER BY id`,
    );
    expect(rows.map((row) => row._source_id)).toEqual(Array.from({ length: 300 }, (_, i) => `order-${i}`));

    const c2q = await ferry(['run', file, 'c2q']);
    expect(c2q.stderr).toBe('');
    expect(lastLine(c2q.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
    const messages = await vhost.drain(to);
    expect(messages.map((m) => m.messageId)).toEqual(Array.from({ length: 300 }, (_, i) => String(i + 1)));
    messages.forEach((m, i) => {
      // UInt64 comes out of ClickHouse's JSON as a string, to keep its precision.
      expect(m.body).toEqual({ id: i + 1, kind: 'order', price: i / 2 });
    });
    // Move mode: the acked rows are deleted (a mutation, applied in the background).
    const deadline = Date.now() + 15_000;
    let left = -1;
    while (Date.now() < deadline) {
      left = Number((await select<{ n: string }>(`SELECT count() AS n FROM default.\`${orders}\``))[0]?.n);
      if (left === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(left).toBe(0);
  });

  it('S2C with 3 rows ClickHouse cannot hold among 1,000: 997 inserted, 3 dead-lettered with the reason', async () => {
    const origin = streams.name('s2c.bad');
    const dlq = streams.name('s2c.dlq');
    const events = await table('dlq', '_source_id String, n UInt32, name String', 'n');
    const bad = new Set([10, 500, 999]);
    const pipeline = streams.redis.pipeline();
    for (let i = 0; i < 1000; i++)
      pipeline.xadd(origin, '*', 'n', bad.has(i) ? `bad-${i}` : String(i), 'name', `m-${i}`);
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const file = config(
      [
        '  s2c:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: ch, table: ${events} }`,
        `    deadLetter: { stream: ${dlq} }`,
        '    batchSize: 1000',
      ].join('\n'),
    );
    const s2c = await ferry(['run', file, 's2c']);
    expect(s2c.stderr).toBe('');
    expect(s2c.code).toBe(0);
    expect(lastLine(s2c.stdout)).toMatch(/^moved 997 records .*; dead-lettered 3; stopped: source empty$/);
    expect(await streams.len(origin)).toBe(0);
    const [count] = await select<{ n: string }>(`SELECT count() AS n FROM default.\`${events}\``);
    expect(Number(count?.n)).toBe(997);
    const dead = await streams.entries(dlq);
    expect(dead.map((entry) => entry.sourceId).sort()).toEqual([ids[10], ids[500], ids[999]].sort());
    for (const entry of dead) {
      expect(entry.source).toBe('redis-stream');
      expect(entry.reason).toMatch(
        /^key "n" → column "n" UInt32 of default\.\w+: text "bad-\d+" is not a number literal$/,
      );
      // The original is the record's value as JSON, its bytes as they were.
      const original = JSON.parse(entry.original!);
      expect(original.n).toMatch(/^bad-(10|500|999)$/);
    }
  });

  it('refuses a create engine that fetches a URL (exit 2, naming the key): no table, no request, nothing moved', async () => {
    let calls = 0;
    const server = createServer((_request, response) => {
      calls += 1;
      response.end('{"a":"from the url"}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`;
      const origin = streams.name('ssrf.in');
      const name = `ferry_e2e_${run}_ssrf`;
      tables.push(name);
      await streams.seed(origin, 10);
      const sink = `{ connection: ch, table: ${name}, create: { columns: { a: String }, engine: "URL('${target}', JSONEachRow)" } }`;
      const file = config(['  s2c:', `    source: { stream: ${origin} }`, `    sink: ${sink}`].join('\n'));

      const refused = await ferry(['run', file, 's2c']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('create.engine: engine "URL" is not allowed: expected one of MergeTree, ');
      expect(await streams.len(origin)).toBe(10);
      expect(await select(`EXISTS TABLE default.\`${name}\``)).toEqual([{ result: 0 }]);
      expect(calls).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
