// biome-ignore-all lint/suspicious/noTemplateCurlyInString: a request's ${VAR} must arrive as written
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { startTestMongo, type TestMongo } from '@ferry/testkit/mongo-test-server';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';
import { clickHouseUrl } from './support/world.js';

const streams = new TestStreams();
const token = 'test-token-data-plane';
const prefix = uniquePrefix('plane');
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const database = `ferry_plane_${run}`;
const table = `plane_${run}`;
let mongo: TestMongo;
let client: MongoClient;
let db: Db;
let ch: ClickHouseClient;
let server: FerryProcess;
let api: ReturnType<typeof apiClient>;
/** A web server that counts what asks it: nothing a request sends may reach it. */
let web: Server;
let fetched = 0;

beforeAll(async () => {
  mongo = await startTestMongo();
  client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  db = client.db(database);
  await db.collection('docs').insertMany([0, 1, 2, 3, 4].map((n) => ({ _id: `d${n}` as never, n })));
  ch = createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } });
  await ch.command({
    query: `CREATE TABLE default.\`${table}\` (id UInt64, name String) ENGINE = MergeTree ORDER BY id`,
  });
  await ch.insert({ table: `default.${table}`, values: [{ id: 1, name: 'a' }], format: 'JSONEachRow' });
  web = createServer((_req, res) => {
    fetched += 1;
    res.end('{"id":1}\n');
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  const config = configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  orders: { kind: redis-stream, url: "${redisUrl}" }`,
      `  mongo: { kind: mongo, url: "${mongo.url}", database: ${database} }`,
      `  mongoOpen: { kind: mongo, url: "${mongo.url}", database: ${database} }`,
      `  clickhouse: { kind: clickhouse, url: "${clickHouseUrl}" }`,
      'api:',
      '  allow:',
      '    mongoOpen: { keys: [filter] }',
      `    orders: { names: ["orders-${run}-*"], destructive: false }`,
    ].join('\n'),
  );
  server = await startFerry('serve', ['--config', config, '--prefix', prefix], { FERRY_API_TOKEN: token });
  api = apiClient(server.url, token);
}, 60_000);

afterAll(async () => {
  await server?.stop(5000);
  await dropPrefix(prefix);
  await streams.cleanup();
  await ch?.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
  await ch?.close();
  await db?.dropDatabase();
  await client?.close();
  await mongo?.close();
  await new Promise((resolve) => web?.close(resolve));
}, 60_000);

/** Posts a body, expects a 400 whose error has every line given. */
async function refused(path: string, body: unknown, ...lines: string[]): Promise<string> {
  const res = await api.post(path, body);
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const { error } = JSON.parse(text) as { error: string };
  for (const line of lines) expect(error).toContain(line);
  return error;
}

async function exists(stream: string): Promise<boolean> {
  return (await streams.redis.exists(stream)) === 1;
}

async function jobCount(): Promise<number> {
  const res = await api.get('/jobs?limit=1000');
  return ((await res.json()) as { jobs: unknown[] }).jobs.length;
}

describe('an API caller sets the data plane only', () => {
  it('refuses another ClickHouse database, username and password: 400 naming each, nothing fetched', async () => {
    const out = streams.name('ch-out');
    const before = await jobCount();
    const error = await refused(
      '/flows',
      {
        source: { connection: 'clickhouse', table: 'tables', database: 'system', username: 'default', password: 'pw' },
        sink: { stream: out },
      },
      '  - source.database: a connection key, set in the config file; through the API only table, cursor, mode,',
      '  - source.username: a connection key, set in the config file',
      '  - source.password: a connection key, set in the config file',
    );
    expect(error).not.toContain('"pw"');
    expect(await exists(out)).toBe(false);
    expect(await jobCount()).toBe(before);
  });

  it('refuses a MongoDB database and a $where filter, and moves nothing', async () => {
    const out = streams.name('mongo-out');
    await refused(
      '/flows',
      { source: { connection: 'mongo', collection: 'docs', database: 'admin', mode: 'move' }, sink: { stream: out } },
      '  - source.database: a connection key, set in the config file',
    );
    await refused(
      '/flows',
      {
        source: { connection: 'mongo', collection: 'docs', mode: 'move', filter: { $where: 'sleep(100) || true' } },
        sink: { stream: out },
      },
      '  - source.filter: a connection key, set in the config file',
    );
    expect(await db.collection('docs').countDocuments()).toBe(5);
    expect(await exists(out)).toBe(false);
  });

  it('refuses ClickHouse DDL: no table made, the URL never fetched', async () => {
    const made = `plane_url_${run}`;
    const source = streams.name('ddl-in');
    await streams.seed(source, 3);
    const { port } = web.address() as AddressInfo;
    await refused(
      '/flows',
      {
        source: { stream: source },
        sink: {
          connection: 'clickhouse',
          table: made,
          create: { engine: `URL('http://127.0.0.1:${port}/anything', JSONEachRow)`, columns: { id: 'UInt64' } },
        },
      },
      '  - sink.create: a connection key, set in the config file; through the API only table, columns,',
    );
    const answer = await ch.query({ query: `EXISTS TABLE default.\`${made}\``, format: 'JSONEachRow' });
    expect(await answer.json()).toEqual([{ result: 0 }]);
    expect(fetched).toBe(0);
    expect(await streams.len(source)).toBe(3);
  });

  it('refuses the same keys in a schedule', async () => {
    await refused(
      '/schedules',
      {
        id: `plane-${run}`,
        every: 60,
        flow: { source: { connection: 'clickhouse', table, database: 'system' }, sink: { stream: 'x' } },
      },
      '  - source.database: a connection key',
    );
    const res = await api.get('/schedules');
    expect(JSON.stringify(await res.json())).not.toContain(`plane-${run}`);
  });

  it('sends a ${VAR} as written: the stream is named so, never resolved', async () => {
    const source = streams.name('var-in');
    const literal = `\${HOME}.${run}`;
    await streams.seed(source, 2);
    const res = await api.post('/flows', { source: { stream: source }, sink: { stream: literal } });
    expect(res.status).toBe(202);
    const job = await api.waitFor(((await res.json()) as { id: string }).id);
    expect(job.state).toBe('completed');
    try {
      expect(await streams.len(literal)).toBe(2);
      expect(await exists(`${process.env.HOME}.${run}`)).toBe(false);
    } finally {
      await streams.redis.del(literal);
    }
  });
});

describe('the control store is off limits', () => {
  it('refuses a range source on its events stream through /flows and /s2s/, and moves nothing', async () => {
    const events = `${prefix}:ferry-flows:events`;
    // A job of its own, so that BullMQ's events stream holds entries.
    const seeded = streams.name('events-seed');
    await streams.seed(seeded, 1);
    const res = await api.post('/flows', { source: { stream: seeded }, sink: { stream: streams.name('seed-out') } });
    await api.waitFor(((await res.json()) as { id: string }).id);
    const before = await streams.len(events);
    expect(before).toBeGreaterThan(0);
    const out = streams.name('events-out');
    await refused(
      '/flows',
      { source: { stream: events, mode: 'range' }, sink: { stream: out } },
      `source: stream "${events}" is the control store's (127.0.0.1:6379/0, prefix "${prefix}")`,
    );
    await refused(
      '/s2s/',
      {
        source_stream: events,
        target_stream: out,
        source_read_batch_num: 10,
        target_write_batch_num: 10,
        max_exec_cnt: 1,
      },
      `source: stream "${events}" is the control store's`,
    );
    await refused(
      '/flows',
      { source: { stream: out }, sink: { stream: `${prefix}:ferry-flows:wait` } },
      'sink: stream',
    );
    expect(await streams.len(events)).toBeGreaterThanOrEqual(before);
    expect(await exists(out)).toBe(false);
  });

  it('refuses it from the command line too: exit 2', async () => {
    const config = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `control: { url: "redis://localhost:6379", prefix: "${prefix}" }`,
        'flows:',
        `  drain: { source: { stream: "${prefix}:ferry-flows:events" }, sink: { stream: "${streams.name('cli-out')}" } }`,
      ].join('\n'),
    );
    const result = await ferry(['run', config, 'drain']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `flow "drain", source: stream "${prefix}:ferry-flows:events" is the control store's`,
    );
  });
});

describe('api.allow', () => {
  it('opens a key on one connection: a filter there moves the matching documents only', async () => {
    const out = streams.name('filtered');
    const res = await api.post('/flows', {
      source: { connection: 'mongoOpen', collection: 'docs', filter: { n: { $gte: 3 } } },
      sink: { stream: out },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const job = await api.waitFor(((await res.json()) as { id: string }).id);
    expect(job.state).toBe('completed');
    expect((await streams.entries(out)).map((e) => e._source_id).sort()).toEqual(['d3', 'd4']);
  });

  it('refuses a name outside its patterns and a destructive mode, and creates nothing', async () => {
    const source = `orders-${run}-in`;
    await streams.redis.xadd(source, '*', 'n', '1');
    try {
      await refused(
        '/flows',
        {
          source: { connection: 'orders', stream: source, mode: 'group', keep: true },
          sink: { connection: 'orders', stream: `payments-${run}` },
        },
        `  - sink.stream: "payments-${run}" is not a name API callers may use on connection "orders" (api.allow.orders.names: orders-${run}-*)`,
      );
      await refused(
        '/flows',
        {
          source: { connection: 'orders', stream: source },
          sink: { connection: 'orders', stream: `orders-${run}-out` },
        },
        '  - source.mode: mode "range" deletes each entry once moved, and connection "orders" refuses it to API callers (api.allow.orders.destructive: false)',
      );
      expect(await exists(`payments-${run}`)).toBe(false);
      expect(await exists(`orders-${run}-out`)).toBe(false);
      expect(await streams.len(source)).toBe(1);
    } finally {
      await streams.redis.del(source);
    }
  });
});
