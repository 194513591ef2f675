import { createClient } from '@clickhouse/client';
import {
  ConfigError,
  ConnectionError,
  FatalError,
  type FerryRecord,
  fromJson,
  type RecordValue,
  type Sink,
  type WriteOutcome,
} from '@ferry/core';
import { sampleRecords, testSink, type WrittenRecord } from '@ferry/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClickHouseSink } from './index.js';
import {
  chdbConnection,
  clickHouseUrl,
  closeAdmin,
  count,
  drop,
  exec,
  onChdb,
  rows,
  sampleColumns,
  tableName,
} from './test-admin.js';

const tables: string[] = [];
const sinks: Sink[] = [];

afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
  for (const table of tables.splice(0)) await drop(table);
});
afterAll(closeAdmin);

const ctxTable = (ctx: { name: string }) => ctx.name.replace(/[^A-Za-z0-9_]/g, '_');

async function createTable(table: string, columns: string): Promise<void> {
  await exec(`CREATE TABLE default.\`${table}\` (${columns}) ENGINE = MergeTree ORDER BY tuple()`);
}

async function table(columns: string): Promise<string> {
  const name = tableName();
  tables.push(name);
  await createTable(name, columns);
  return name;
}

async function open(options: Record<string, unknown>): Promise<Sink> {
  const sink = createClickHouseSink({ url: clickHouseUrl, ...options });
  sinks.push(sink);
  await sink.open();
  return sink;
}

const contractTable = async (ctx: { name: string }) => {
  await createTable(ctxTable(ctx), `_source_id String, ${sampleColumns}`);
  return ctxTable(ctx);
};

testSink({
  name: 'clickhouse sink (contract)',
  prefix: 'ferry_test',
  create: async (ctx) =>
    createClickHouseSink({ url: clickHouseUrl, table: await contractTable(ctx), connectionName: 'test' }),
  createWithMaxLen: async (ctx, maxLen) =>
    createClickHouseSink({ url: clickHouseUrl, table: await contractTable(ctx), maxRows: maxLen }),
  readBack: async (ctx) =>
    (await rows<Record<string, unknown>>(`SELECT * FROM default.\`${ctxTable(ctx)}\` ORDER BY n`)).map((row) => {
      const { _source_id, n, ok, nested, ...value } = row;
      return {
        sourceId: _source_id as string,
        // 18.16 quotes a UInt64 in JSON; ok and nested hold lossless JSON text.
        value: { ...value, n: BigInt(n as string), ok: fromJson(ok as string), nested: fromJson(nested as string) },
      } as WrittenRecord;
    }),
  count: (ctx) => count(ctxTable(ctx)),
  cleanup: (ctx) => drop(ctxTable(ctx)),
});

const records = (values: readonly RecordValue[]): FerryRecord[] =>
  values.map((value, i) => ({ id: `r-${i}`, value, readAt: Date.now(), bytes: 0 }));

describe('clickhouse sink', () => {
  it('a batch of 1000 with 3 bad rows: 997 inserted, exactly those 3 rejected with the reason', async () => {
    const name = await table('_source_id String, id UInt64, label String');
    const sink = await open({ table: name });
    const bad = new Set([17, 500, 998]);
    const batch = records(
      Array.from({ length: 1000 }, (_, i) => ({ id: bad.has(i) ? `not a number ${i}` : i, label: `l${i}` })),
    );
    const outcome = (await sink.write(batch)) as WriteOutcome;
    expect(outcome.rejected.map((r) => r.id).sort()).toEqual(['r-17', 'r-500', 'r-998']);
    for (const rejected of outcome.rejected) {
      expect(rejected.reason).toMatch(
        /^key "id" → column "id" UInt64 of default\.\w+: text "not a number \d+" is not a number literal$/,
      );
      expect(JSON.parse(Buffer.from(rejected.raw).toString('utf8')).label).toMatch(/^l(17|500|998)$/);
    }
    expect(await count(name)).toBe(997);
    const ids = await rows<{ id: string }>(`SELECT id FROM default.\`${name}\` ORDER BY id`);
    expect(ids.map((r) => Number(r.id))).toEqual([...Array(1000).keys()].filter((i) => !bad.has(i)));
  });

  it('rows the server refuses (a column computed by throwIf): the good rows written, exactly the refused ones rejected with its reason', async () => {
    const name = await table('_source_id String, n UInt64, guard UInt8 MATERIALIZED throwIf(n % 1000 = 999)');
    const sink = await open({ table: name });
    const bad = new Set([999, 1999, 2999]);
    const batch = records(Array.from({ length: 3000 }, (_, n) => ({ n })));
    const outcome = (await sink.write(batch)) as WriteOutcome;
    expect(outcome.rejected.map((r) => r.id).sort()).toEqual(['r-1999', 'r-2999', 'r-999']);
    for (const rejected of outcome.rejected)
      expect(rejected.reason).toMatch(/Value passed to 'throwIf' function is non.zero/);
    const kept = await rows<{ n: string; id: string }>(
      `SELECT n, _source_id AS id FROM default.\`${name}\` ORDER BY n`,
    );
    expect(kept.map((row) => Number(row.n))).toEqual([...Array(3000).keys()].filter((n) => !bad.has(n)));
    expect(kept.every((row) => row.id === `r-${row.n}`)).toBe(true);
  });

  // CHECK constraints came with 19.14: 18.16 would refuse the table.
  it.skipIf(!onChdb)(
    'rows that break a CHECK constraint: the good rows written, exactly the breaking ones rejected with the constraint named (current releases only)',
    async () => {
      const name = await table('_source_id String, n UInt64, label String, CONSTRAINT small CHECK n < 100');
      const sink = await open({ table: name });
      const batch = records(Array.from({ length: 60 }, (_, i) => ({ n: i % 2 === 0 ? i : 100 + i, label: `l${i}` })));
      const outcome = (await sink.write(batch)) as WriteOutcome;
      const refused = batch.filter((_, i) => i % 2 === 1).map((r) => r.id);
      expect(outcome.rejected.map((r) => r.id).sort()).toEqual([...refused].sort());
      for (const rejected of outcome.rejected) expect(rejected.reason).toMatch(/Constraint `small`.*is violated/);
      const kept = await rows<{ n: string; id: string; label: string }>(
        `SELECT n, _source_id AS id, label FROM default.\`${name}\` ORDER BY n`,
      );
      expect(kept.map((row) => row.id)).toEqual(batch.filter((_, i) => i % 2 === 0).map((r) => r.id));
      expect(kept.every((row) => row.label === `l${row.n}`)).toBe(true);
    },
  );

  // insert_deduplication_token came with 22.x: on 18.16 a retried batch is found by reconcile instead.
  it.skipIf(!onChdb)(
    'a batch written again (a retry after a lost ack) is kept once by a table that deduplicates, twice by one that does not, and other batches are all kept (current releases only)',
    async () => {
      const deduplicating = tableName();
      tables.push(deduplicating);
      await exec(
        `CREATE TABLE default.\`${deduplicating}\` (_source_id String, n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100`,
      );
      const plain = await table('_source_id String, n UInt64');
      const batch = records([{ n: 1 }, { n: 2 }, { n: 3 }]);
      // The same values under other ids, and the same ids with another value: other batches, not a retry.
      const otherIds = batch.map((record) => ({ ...record, id: `other-${record.id}` }));
      const otherValue = records([{ n: 1 }, { n: 2 }, { n: 4 }]);
      const copies = async (name: string) =>
        (
          await rows<{ id: string; n: string; copies: string }>(
            `SELECT _source_id AS id, n, toString(count()) AS copies FROM default.\`${name}\` GROUP BY id, n ORDER BY id, n`,
          )
        ).map((row) => `${row.id}:${row.n}×${row.copies}`);
      for (const name of [deduplicating, plain]) {
        await (await open({ table: name })).write(batch);
        // The retry comes from another sink, as after a restart.
        const again = await open({ table: name });
        await again.write(batch);
        await again.write(otherIds);
        await again.write(otherValue);
      }
      expect(await copies(deduplicating)).toEqual([
        'other-r-0:1×1',
        'other-r-1:2×1',
        'other-r-2:3×1',
        'r-0:1×2',
        'r-1:2×2',
        'r-2:3×1',
        'r-2:4×1',
      ]);
      expect(await copies(plain)).toEqual([
        'other-r-0:1×1',
        'other-r-1:2×1',
        'other-r-2:3×1',
        'r-0:1×3',
        'r-1:2×3',
        'r-2:3×2',
        'r-2:4×1',
      ]);
      // Without an id column, two batches of the same values are still two batches: the token (made of
      // the ids) keeps both, where the table's own check of the rows' bytes would drop the second.
      const idless = tableName();
      tables.push(idless);
      await exec(
        `CREATE TABLE default.\`${idless}\` (n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100`,
      );
      const sink = await open({ table: idless, idColumn: false });
      await sink.write(batch);
      await sink.write(batch);
      await sink.write(otherIds);
      expect((await rows<{ n: string }>(`SELECT n FROM default.\`${idless}\` ORDER BY n`)).map((row) => row.n)).toEqual(
        ['1', '1', '2', '2', '3', '3'],
      );
      // ferry never makes a table deduplicate: the plain one is as it was made.
      const [engine] = await rows<{ engine_full: string }>(
        `SELECT engine_full FROM system.tables WHERE database = 'default' AND name = '${plain}'`,
      );
      expect(engine?.engine_full).not.toMatch(/deduplication_window/);
    },
  );

  it.skipIf(!onChdb)(
    'a connection shared with the sink keeps no deduplication token of it: the next INSERT of its owner goes in (current releases only)',
    async () => {
      const name = tableName();
      tables.push(name);
      await exec(
        `CREATE TABLE default.\`${name}\` (_source_id String, n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100`,
      );
      const connection = chdbConnection(new URL(clickHouseUrl).pathname);
      const owners = createClient({ connection });
      try {
        const sink = await open({ connection, table: name, url: undefined });
        await sink.write(records([{ n: 1 }]));
        await owners.command({ query: `INSERT INTO default.\`${name}\` VALUES ('mine', 2)` });
        expect(await rows(`SELECT _source_id AS id, n FROM default.\`${name}\` ORDER BY n`)).toEqual([
          { id: 'r-0', n: '1' },
          { id: 'mine', n: '2' },
        ]);
      } finally {
        await owners.close();
      }
    },
  );

  it('every row bad: all rejected, none inserted', async () => {
    const name = await table('_source_id String, id UInt64');
    const sink = await open({ table: name });
    const outcome = (await sink.write(records([{ id: 'x' }, { id: 'y' }, { id: 'z' }]))) as WriteOutcome;
    expect(outcome.rejected.map((r) => r.id)).toEqual(['r-0', 'r-1', 'r-2']);
    expect(await count(name)).toBe(0);
  });

  it('maps value keys to columns, skips unknown fields by default, keeps JSON of objects in String columns', async () => {
    const name = await table('_source_id String, user_id UInt64, payload String, flag UInt8');
    const sink = await open({ table: name, columns: { userId: 'user_id' } });
    expect(
      await sink.write(records([{ userId: 7n, payload: { a: [1n, 'b'] }, flag: true, extra: 'dropped' }])),
    ).toEqual({
      rejected: [],
      skipped: { records: 1, first: { id: 'r-0', keys: ['extra'] } },
    });
    expect(await rows(`SELECT * FROM default.\`${name}\``)).toEqual([
      { _source_id: 'r-0', user_id: '7', payload: '{"a":[1,"b"]}', flag: 1 },
    ]);
  });

  it('unknownFields: reject refuses records with a field that has no column, writes the rest', async () => {
    const name = await table('_source_id String, a UInt64');
    const sink = await open({ table: name, unknownFields: 'reject' });
    const outcome = (await sink.write(records([{ a: 1 }, { a: 2, b: 3 }, { a: 3 }]))) as WriteOutcome;
    expect(outcome.rejected).toHaveLength(1);
    expect(outcome.rejected[0]).toMatchObject({ id: 'r-1' });
    expect(outcome.rejected[0]!.reason).toMatch(/field "b" has no column in default\./);
    expect(await count(name)).toBe(2);
  });

  it('idColumn: false writes no id (and reconcile cannot tell, so it returns every record)', async () => {
    const name = await table('a UInt64');
    const sink = await open({ table: name, idColumn: false });
    await sink.write(records([{ a: 1 }]));
    expect(await count(name)).toBe(1);
    expect(await sink.reconcile!(records([{ a: 1 }]))).toHaveLength(1);
  });

  it('a custom idColumn that the table lacks is a ConfigError naming it', async () => {
    const name = await table('a UInt64');
    await expect(open({ table: name, idColumn: 'src' })).rejects.toThrow(/has no column "src"/);
  });

  it('create makes the table when it is missing', async () => {
    const name = tableName();
    tables.push(name);
    const sink = await open({
      table: name,
      create: { columns: { _source_id: 'String', n: 'UInt32', at: "DateTime('UTC')" }, engine: 'MergeTree ORDER BY n' },
    });
    await sink.write(records([{ n: 1, at: '2024-01-02 03:04:05' }]));
    expect(await rows(`SELECT n, toString(at) AS at FROM default.\`${name}\``)).toEqual([
      { n: 1, at: '2024-01-02 03:04:05' },
    ]);
  });

  it('reconcile returns the records whose ids are not in the table, ids travelling as data', async () => {
    const name = await table('_source_id String, n Int32');
    const sink = await open({ table: name });
    const batch = sampleRecords(3).map((r) => ({
      ...r,
      id: `it's; DROP TABLE x -- ${r.id}`,
      value: { n: r.value.n ?? null },
    }));
    await sink.write(batch.slice(0, 1));
    expect((await sink.reconcile!(batch)).map((r) => r.id)).toEqual(batch.slice(1).map((r) => r.id));
  });

  it('a missing table is a FatalError naming database.table', async () => {
    const name = tableName();
    const error = await open({ table: name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(`table default.${name} does not exist`);
  });

  // Ports and users are the server's: an embedded ClickHouse has neither, and takes any credentials without a word.
  it.skipIf(onChdb)(
    'an unreachable port is a prompt ConnectionError naming host:port and the connection (server only: a network)',
    async () => {
      const started = Date.now();
      const sink = createClickHouseSink({ url: 'http://127.0.0.1:1', table: 't', connectionName: 'nowhere' });
      const error = await sink.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/127\.0\.0\.1:1 \(connection "nowhere"\)/);
      expect(Date.now() - started).toBeLessThan(3000);
      await sink.close();
    },
  );

  it.skipIf(onChdb)(
    'wrong credentials are a FatalError that says so, and never show the password (server only: users)',
    async () => {
      const url = new URL(clickHouseUrl);
      url.username = 'default';
      url.password = 's3cret';
      const sink = createClickHouseSink({ url: url.href, table: 't' });
      const error = await sink.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toMatch(/refused the credentials for user "default"/);
      expect((error as Error).message).not.toContain('s3cret');
      await sink.close();
    },
  );

  it.skipIf(onChdb)('credentials from options work, a user with a password (server only: users)', async () => {
    const name = await table('_source_id String, a UInt64');
    const sink = await open({ table: name, username: 'ferry_test', password: 'ferry_pass' });
    await sink.write(records([{ a: 1 }]));
    expect(await count(name)).toBe(1);
  });

  it('an injection attempt through a table name is refused before any SQL is sent', () => {
    for (const table of ['t; DROP TABLE x', 'a`b', "t' OR 1=1"]) {
      // A dead port: had anything been sent, the error would be a ConnectionError, not a ConfigError.
      expect(() => createClickHouseSink({ url: 'http://127.0.0.1:1', table })).toThrow(ConfigError);
    }
  });
});
