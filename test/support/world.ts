import { randomBytes } from 'node:crypto';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { startTestMongo, type TestMongo } from '@ferry/testkit/mongo-test-server';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { redisUrl } from './cli.js';
import { TestVhost } from './rabbit.js';
import { TestStreams } from './streams.js';

export const clickHouseUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';

/** The four systems for one test file: names of its own in each, removed after it. */
export interface World {
  readonly streams: TestStreams;
  readonly vhost: TestVhost;
  readonly mongo: TestMongo;
  /** The file's MongoDB database. */
  readonly db: Db;
  readonly ch: ClickHouseClient;
  /** `connections:` with `default` (Redis), `rabbit`, `mongo` and `clickhouse`, for a config file. */
  connections(): string;
  /** A ClickHouse table of its own in `default`, made with these columns and dropped after the file. */
  table(columns: string, orderBy: string): Promise<string>;
}

/** Starts what a test file needs (the MongoDB test server unless MONGO_URL is set) and registers its cleanup. */
export function useWorld(label: string): World {
  const streams = new TestStreams();
  const vhost = new TestVhost();
  const database = `ferry_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const tables: string[] = [];
  let mongo: TestMongo | undefined;
  let client: MongoClient | undefined;
  let ch: ClickHouseClient | undefined;

  beforeAll(async () => {
    mongo = await startTestMongo();
    client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 3000 });
    await client.connect();
    ch = createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } });
    await vhost.setUp();
  }, 60_000);
  afterAll(async () => {
    for (const table of tables) await ch?.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
    await ch?.close();
    await client?.db(database).dropDatabase();
    await client?.close();
    await mongo?.close();
    await streams.cleanup();
    await vhost.tearDown();
  }, 60_000);

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the world is set up in beforeAll');
    return value;
  };
  return {
    streams,
    vhost,
    get mongo() {
      return ready(mongo);
    },
    get db() {
      return ready(client).db(database);
    },
    get ch() {
      return ready(ch);
    },
    connections: () =>
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
        `  mongo: { kind: mongo, url: "${ready(mongo).url}", database: ${database} }`,
        `  clickhouse: { kind: clickhouse, url: "${clickHouseUrl}" }`,
      ].join('\n'),
    async table(columns, orderBy) {
      const name = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
      tables.push(name);
      await ready(ch).command({
        query: `CREATE TABLE default.\`${name}\` (${columns}) ENGINE = MergeTree ORDER BY ${orderBy}`,
      });
      return name;
    },
  };
}
