import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import {
  makeTestCertificates,
  startTlsTestMongo,
  type TestCertificates,
  type TlsTestMongo,
  tlsTestMongoSkipReason,
} from '@ferry/testkit';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// The HTTPS port `scripts/services.sh` gives ClickHouse, and the certificates it made for it (clients must show one).
const httpsUrl =
  process.env.CLICKHOUSE_HTTPS_URL ?? `https://127.0.0.1:${process.env.FERRY_CLICKHOUSE_HTTPS_PORT || 18443}`;
const chTls =
  process.env.CLICKHOUSE_TLS_DIR ?? join(process.env.FERRY_CLICKHOUSE_DIR ?? join(tmpdir(), 'ferry-clickhouse'), 'tls');
const chTrusted = {
  caFile: join(chTls, 'ca.crt'),
  certFile: join(chTls, 'client.crt'),
  keyFile: join(chTls, 'client.key'),
};

const streams = new TestStreams();
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const database = `ferry_e2e_tls_${run}`;
const tables: string[] = [];
let dir: string;
let certs: TestCertificates;
let mongo: TlsTestMongo | undefined;
let client: MongoClient | undefined;
let db: Db;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-e2e-tls-'));
  certs = await makeTestCertificates(dir);
  if (tlsTestMongoSkipReason() === undefined) {
    mongo = await startTlsTestMongo(certs);
    const { caFile, certFile, keyFile } = mongo.tls;
    const read = (file: string | undefined) => (file === undefined ? undefined : readFile(file, 'utf8'));
    client = new MongoClient(mongo.url, {
      tls: true,
      ca: await read(caFile),
      ...(certFile === undefined ? {} : { cert: await read(certFile), key: await read(keyFile) }),
      serverSelectionTimeoutMS: 3000,
    });
    await client.connect();
    db = client.db(database);
  }
  const read = (file: string) => readFile(file, 'utf8');
  const agent = new Agent({
    ca: await read(chTrusted.caFile),
    cert: await read(chTrusted.certFile),
    key: await read(chTrusted.keyFile),
  });
  ch = createClient({ url: httpsUrl, http_agent: agent, log: { level: ClickHouseLogLevel.OFF } });
}, 60_000);
afterAll(async () => {
  for (const table of tables) await ch?.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
  await ch?.close();
  await client?.db(database).dropDatabase();
  await client?.close();
  await mongo?.close();
  await streams.cleanup();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

/** `{ caFile: …, … }` for a YAML flow mapping. */
const yamlTls = (tls: Record<string, string | undefined>) =>
  `{ ${Object.entries(tls)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: "${value}"`)
    .join(', ')} }`;

/** Redis (`default`), MongoDB over TLS (`mongo`) and ClickHouse over HTTPS (`ch`), with these `tls` options. */
function config(flows: string, tls: { mongo?: Record<string, string | undefined> } = {}): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      ...(mongo === undefined
        ? []
        : [
            `  mongo: { kind: mongo, url: "${mongo.url}", database: ${database}, tls: ${yamlTls(tls.mongo ?? mongo.tls)} }`,
          ]),
      `  ch: { kind: clickhouse, url: "${httpsUrl}", database: default, tls: ${yamlTls(chTrusted)} }`,
      ...(flows === '' ? [] : ['flows:', flows]),
    ].join('\n'),
  );
}

describe.skipIf(tlsTestMongoSkipReason() !== undefined)('S2M and M2S over TLS through the ferry CLI', () => {
  it('moves 1,000 records S2M, then M2S back, every connection to MongoDB over TLS', async () => {
    const origin = streams.name('tls.s2m.in');
    const back = streams.name('tls.m2s.out');
    const ids = await streams.seed(origin, 1000);
    const file = config(
      [
        '  s2m:',
        `    source: { stream: ${origin} }`,
        '    sink: { connection: mongo, collection: docs }',
        '  m2s:',
        '    source: { connection: mongo, collection: docs }',
        `    sink: { stream: ${back} }`,
      ].join('\n'),
    );
    const s2m = await ferry(['run', file, 's2m']);
    expect(s2m.stderr).toBe('');
    expect(lastLine(s2m.stdout)).toMatch(/^moved 1000 records .*; stopped: source empty$/);
    const docs = await db.collection('docs').find({}).sort({ _id: 1 }).toArray();
    expect(docs.map((doc) => doc._id as unknown as string)).toEqual([...ids].sort());
    expect(docs.find((doc) => (doc._id as unknown as string) === ids[7])).toEqual({
      _id: ids[7],
      n: '7',
      name: 'msg-7',
      tags: '["e2e"]',
    });
    const m2s = await ferry(['run', file, 'm2s']);
    expect(m2s.stderr).toBe('');
    expect(lastLine(m2s.stdout)).toMatch(/^moved 1000 records .*; stopped: source empty$/);
    expect(await streams.len(back)).toBe(1000);
  });

  it('refuses a MongoDB whose certificate another CA signed: exit 1, the connection and the certificate named, nothing moved', async () => {
    const origin = streams.name('tls.refused.in');
    await streams.seed(origin, 10);
    const file = config(
      ['  s2m:', `    source: { stream: ${origin} }`, '    sink: { connection: mongo, collection: refused }'].join(
        '\n',
      ),
      { mongo: { caFile: certs.strangerCaFile } },
    );
    const result = await ferry(['run', file, 's2m']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /\[mongo\] TLS with the server at [^ ]+, database "[^"]+" \(connection "mongo"\) failed: the server's certificate is not signed by a CA this connection trusts/,
    );
    expect(await streams.len(origin)).toBe(10);
    expect(await db.collection('refused').countDocuments()).toBe(0);
  });
});

describe('S2C and C2S over HTTPS with a client certificate through the ferry CLI', () => {
  it('moves 1,000 records S2C, then C2S back: exact counts, ids and values', async () => {
    const origin = streams.name('tls.s2c.in');
    const back = streams.name('tls.c2s.out');
    const table = `ferry_e2e_tls_${run}`;
    tables.push(table);
    await ch.command({
      query: `CREATE TABLE default.\`${table}\` (_source_id String, n UInt32, name String, tags String) ENGINE = MergeTree ORDER BY n`,
    });
    const ids = await streams.seed(origin, 1000);
    const file = config(
      [
        '  s2c:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: ch, table: ${table} }`,
        '  c2s:',
        `    source: { connection: ch, table: ${table}, cursor: n, columns: [n, name] }`,
        `    sink: { stream: ${back} }`,
      ].join('\n'),
    );
    const s2c = await ferry(['run', file, 's2c']);
    expect(s2c.stderr).toBe('');
    expect(lastLine(s2c.stdout)).toMatch(/^moved 1000 records .*; stopped: source empty$/);
    const rows = await (
      await ch.query({ query: `SELECT * FROM default.\`${table}\` ORDER BY n`, format: 'JSONEachRow' })
    ).json<{ _source_id: string; n: number; name: string }>();
    expect(rows.map((row) => row._source_id)).toEqual(ids);
    expect(rows[999]).toEqual({ _source_id: ids[999], n: 999, name: 'msg-999', tags: '["e2e"]' });
    const c2s = await ferry(['run', file, 'c2s']);
    expect(c2s.stderr).toBe('');
    expect(lastLine(c2s.stdout)).toMatch(/^moved 1000 records .*; stopped: source empty$/);
    const out = await streams.entries(back);
    expect(out.map((entry) => entry.name)).toEqual(ids.map((_, i) => `msg-${i}`));
  });
});

describe.skipIf(tlsTestMongoSkipReason() !== undefined)(
  "ferry serve: API flows on the config's TLS connections",
  () => {
    const token = 'test-token-tls';
    const prefix = uniquePrefix('tls');
    let server: FerryProcess;
    let api: ReturnType<typeof apiClient>;
    beforeAll(async () => {
      server = await startFerry('serve', ['--config', config(''), '--prefix', prefix], { FERRY_API_TOKEN: token });
      api = apiClient(server.url, token);
    }, 30_000);
    afterAll(async () => {
      await server?.stop(5000);
      await dropPrefix(prefix);
    });

    it('runs the S2M and S2C flows a caller posts over the TLS the config gives', async () => {
      const toMongo = streams.name('tls.api.m');
      const toClickHouse = streams.name('tls.api.c');
      await streams.seed(toMongo, 50);
      await streams.seed(toClickHouse, 50);
      const table = `ferry_e2e_tls_api_${run}`;
      tables.push(table);
      await ch.command({
        query: `CREATE TABLE default.\`${table}\` (_source_id String, n UInt32, name String, tags String) ENGINE = MergeTree ORDER BY n`,
      });
      const flows = [
        { source: { stream: toMongo }, sink: { connection: 'mongo', collection: 'api_docs' } },
        { source: { stream: toClickHouse }, sink: { connection: 'ch', table } },
      ];
      for (const flow of flows) {
        const res = await api.post('/flows', flow);
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        expect(await api.waitFor(id)).toMatchObject({ state: 'completed', result: { records: 50 } });
      }
      expect(await db.collection('api_docs').countDocuments()).toBe(50);
      const [row] = await (
        await ch.query({ query: `SELECT count() AS n FROM default.\`${table}\``, format: 'JSONEachRow' })
      ).json<{ n: string }>();
      expect(Number(row?.n)).toBe(50);
    });
  },
);
