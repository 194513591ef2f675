import {
  createMemoryJournal,
  createMemorySource,
  createPump,
  FatalError,
  type FerryRecord,
  type RecordValue,
  type Sink,
} from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseConnection } from './clickhouse-chdb.js';
import { createClickHouseSink } from './index.js';
import {
  admin,
  clickHouseUrl,
  closeAdmin,
  count,
  drop,
  exec,
  onChdb,
  type RanQuery,
  recordingConnection,
  rows,
  serverVersion,
  tableName,
} from './test-admin.js';

const tables: string[] = [];
const sinks: Sink[] = [];
/** chDB, which keeps no query_log: each reconcile the sinks of this file ran, with the rows the engine planned to read for it. */
const planned: { readonly query: string; readonly rows: number }[] = [];
/** 18.16 reads the batch's ids from a session's temporary table (counted in read_rows); later servers take them as a parameter. */
let idsInTable: boolean | undefined;

beforeAll(async () => {
  idsInTable = (await serverVersion())[0] < 19;
});
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
  for (const connection of connections.splice(0)) await connection.close();
  for (const table of tables.splice(0)) await drop(table);
});
afterAll(closeAdmin);

/** A table partitioned by `p`, holding `old` rows written before anything the test notes. */
async function table(old: number, engine = 'MergeTree PARTITION BY p ORDER BY n'): Promise<string> {
  const name = tableName();
  tables.push(name);
  await exec(`CREATE TABLE default.\`${name}\` (_source_id String, n UInt64, p UInt8) ENGINE = ${engine}`);
  if (old > 0) await others(name, old, 'old');
  return name;
}

/** Rows another writer adds, in one INSERT: `p` spreads them over partitions 0 and 1. */
async function others(name: string, rowCount: number, prefix: string): Promise<void> {
  await exec(
    `INSERT INTO default.\`${name}\` SELECT concat('${prefix}-', toString(number)), number, number % 2 FROM system.numbers LIMIT ${rowCount}`,
  );
}

/** Connections made for the sinks of a test: theirs to use, the test's to close. */
const connections: ClickHouseConnection[] = [];

/** Where a sink of this file writes: the server's url, or on chDB a connection that notes its queries. */
function target(): { url: string } | { connection: ClickHouseConnection } {
  const connection = recordingConnection(plan);
  if (connection === undefined) return { url: clickHouseUrl };
  connections.push(connection);
  return { connection };
}

async function open(name: string): Promise<Sink> {
  const sink = createClickHouseSink({ ...target(), table: name });
  sinks.push(sink);
  await sink.open();
  return sink;
}

const records = (prefix: string, values: readonly RecordValue[]): FerryRecord[] =>
  values.map((value, i) => ({ id: `${prefix}-${i}`, value, readAt: Date.now(), bytes: 0 }));

/** The rows of a reconcile's id set that count as read: the batch's ids where they go through a table. */
const ids = (n: number): number => (idsInTable ? n : 0);

/**
 * Notes what a reconcile (by query parameter: the path of later releases) was
 * planned to read, as soon as it ran: EXPLAIN ESTIMATE gives the rows of the
 * parts left after the `_part` filter. A table that is no MergeTree has no
 * parts to plan, and is read whole: its rows at that moment.
 */
async function plan({ query, params }: RanQuery): Promise<void> {
  if (!query.includes('IN {ids:Array(String)}')) return;
  const sql = query.replace(/\s*FORMAT JSONEachRow\s*$/, '');
  const estimate = await admin().query({
    query: `EXPLAIN ESTIMATE ${sql}`,
    format: 'JSONEachRow',
    ...(params === undefined ? {} : { query_params: params }),
  });
  const parts = await estimate.json<{ rows: string | number }>();
  const from = /FROM (\S+)/.exec(sql)?.[1];
  const rowsRead =
    parts.length > 0 || from === undefined
      ? parts.reduce((sum, part) => sum + Number(part.rows), 0)
      : Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${from}`))[0]?.n);
  planned.push({ query, rows: rowsRead });
}

/**
 * Rows read by each reconcile of this table, smallest first: the table's rows
 * read, plus the batch's ids where they are read from a temporary table (see
 * `ids`). On the server as it counted them (system.query_log, which the
 * sink's reconcile writes to; the log gets a query's end after its answer:
 * waited for until `expected` are there); on chDB as `plan` noted them. Only
 * reconciles by the path of the version count: a temporary table on 18.16, a
 * query parameter on later ones.
 */
async function rowsReadByReconciles(name: string, expected: number): Promise<number[]> {
  if (onChdb) {
    return planned
      .filter(({ query }) => query.includes(`\`${name}\``))
      .map((reconcile) => reconcile.rows)
      .sort((a, b) => a - b);
  }
  for (let attempt = 0; ; attempt++) {
    await exec('SYSTEM FLUSH LOGS');
    const found = await rows<{ read_rows: string }>(
      `SELECT read_rows FROM system.query_log WHERE type = 2 /* QueryFinish */ AND query LIKE '%IN ferry_ids%' AND query LIKE '%\`${name}\`%'`,
    );
    if (found.length >= expected || attempt === 50)
      return found.map((row) => Number(row.read_rows)).sort((a, b) => a - b);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** OPTIMIZE … FINAL does nothing, without a word, while a background merge holds the partition's parts: tried until one part is left. */
async function mergeEachPartition(name: string, partitions: readonly number[]): Promise<void> {
  for (const p of partitions) {
    for (let attempt = 0; ; attempt++) {
      await exec(`OPTIMIZE TABLE default.\`${name}\` PARTITION ${p} FINAL`);
      const [parts] = await rows<{ n: string }>(
        `SELECT count() AS n FROM system.parts WHERE database = 'default' AND table = '${name}' AND active AND partition_id = '${p}'`,
      );
      if (Number(parts?.n) === 1) break;
      if (attempt === 50) throw new Error(`partition ${p} of ${name} is still in ${parts?.n} parts`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('clickhouse sink position and reconcile', () => {
  it('finds a batch across partitions after many later inserts, reading only the parts written since the note', async () => {
    const name = await table(1_000_000);
    // Background merges would join old and new parts at random: the next test merges on purpose.
    await exec(`SYSTEM STOP MERGES default.\`${name}\``);
    const sink = await open(name);
    const since = await sink.position!();
    expect(since).toMatch(/^parts:new:\d+$/);

    // The batch in doubt spans partitions 0, 1 and 2 (2 is new since the note).
    const batch = records(
      'doubt',
      Array.from({ length: 30 }, (_, i) => ({ n: 5_000_000 + i, p: i % 3 })),
    );
    await sink.write(batch);
    for (let i = 0; i < 40; i++) await others(name, 100, `later${i}`);
    const unwritten = records('never', [{ n: 1, p: 0 }]);

    const missing = await sink.reconcile!([...batch, ...unwritten], since);
    expect(missing.map((r) => r.id)).toEqual(['never-0']);
    expect(await count(name)).toBe(1_000_000 + 30 + 4000);

    // Without a position: the whole table, as before.
    expect((await sink.reconcile!(batch)).map((r) => r.id)).toEqual([]);
    expect(await rowsReadByReconciles(name, 2)).toEqual([
      // From the note: the batch's parts and the later inserts, not one row of the million before it (+ 31 ids on 18.16).
      30 + 4000 + ids(31),
      1_000_000 + 30 + 4000 + ids(30),
    ]);
  });

  it('finds the batch after a merge joined it with older parts (then reads the merged parts whole)', async () => {
    const name = await table(200_000);
    const sink = await open(name);
    const since = await sink.position!();
    const batch = records(
      'doubt',
      Array.from({ length: 10 }, (_, i) => ({ n: 9_000_000 + i, p: i % 2 })),
    );
    await sink.write(batch);
    for (let i = 0; i < 10; i++) await others(name, 100, `later${i}`);
    // One part per partition, each holding old rows, the batch and later rows (18.16 merges one
    // partition per OPTIMIZE … FINAL without PARTITION: each is named).
    await mergeEachPartition(name, [0, 1]);

    expect(await sink.reconcile!([...batch, ...records('never', [{ n: 1, p: 1 }])], since)).toHaveLength(1);

    // Rows written after the merge are found from a position taken after it, reading only them.
    const after = await open(name);
    const later = await after.position!();
    const next = records(
      'next',
      Array.from({ length: 5 }, (_, i) => ({ n: 9_500_000 + i, p: i % 2 })),
    );
    await after.write(next);
    expect(await after.reconcile!(next, later)).toEqual([]);
    expect(await rowsReadByReconciles(name, 2)).toEqual([5 + ids(5), 200_000 + 10 + 1000 + ids(11)]);
  });

  it('a table of the syntax before custom partitioning (parts named by dates first) is searched from its note too', async () => {
    const name = tableName();
    tables.push(name);
    // Current releases refuse this syntax unless allow_deprecated_syntax_for_merge_tree is set; 18.16 knows no such setting.
    await admin().command({
      query: `CREATE TABLE default.\`${name}\` (d Date, _source_id String, n UInt64) ENGINE = MergeTree(d, n, 8192)`,
      clickhouse_settings: idsInTable ? {} : { allow_deprecated_syntax_for_merge_tree: 1 },
    });
    await exec(
      `INSERT INTO default.\`${name}\` SELECT toDate('2024-01-01') + number % 60, concat('old-', toString(number)), number FROM system.numbers LIMIT 100000`,
    );
    const sink = await open(name);
    const since = await sink.position!();
    expect(since).toMatch(/^parts:old:\d+$/);
    const batch = records('doubt', [
      { d: '2024-01-15', n: 1 },
      { d: '2024-02-15', n: 2 },
    ]);
    await sink.write(batch);
    expect(await sink.reconcile!([...batch, ...records('never', [{ d: '2024-01-15', n: 3 }])], since)).toHaveLength(1);
    expect(await rowsReadByReconciles(name, 1)).toEqual([2 + ids(3)]);
  });

  it('a position taken while the table has no part: every part is read, and the batch is found', async () => {
    const name = await table(0);
    const sink = await open(name);
    const since = await sink.position!();
    expect(since).toBe('parts:none');
    const batch = records('doubt', [{ n: 1, p: 0 }]);
    await sink.write(batch);
    expect(await sink.reconcile!(batch, since)).toEqual([]);
  });

  it('another engine than MergeTree has no parts: its position reads the whole table, which is correct', async () => {
    const name = await table(1000, 'Log');
    const sink = await open(name);
    const since = await sink.position!();
    expect(since).toBe('parts:none');
    const batch = records('doubt', [{ n: 1, p: 0 }]);
    await sink.write(batch);
    expect(await sink.reconcile!([...batch, ...records('never', [{ n: 2, p: 0 }])], since)).toHaveLength(1);
    expect(await rowsReadByReconciles(name, 1)).toEqual([1001 + ids(2)]);
  });

  it('a table made again with another engine since the note (no _part): the whole table is read', async () => {
    const name = await table(1000);
    const since = await (await open(name)).position!();
    expect(since).toMatch(/^parts:new:\d+$/);
    await exec(`DROP TABLE default.\`${name}\``);
    await exec(`CREATE TABLE default.\`${name}\` (_source_id String, n UInt64, p UInt8) ENGINE = Log`);
    const sink = await open(name);
    const batch = records('doubt', [{ n: 1, p: 0 }]);
    await sink.write(batch);
    expect(await sink.reconcile!([...batch, ...records('never', [{ n: 2, p: 0 }])], since)).toHaveLength(1);
  });

  it('a position text it did not write is no filter: the whole table is read', async () => {
    const name = await table(1000);
    const sink = await open(name);
    const batch = records('doubt', [{ n: 1, p: 0 }]);
    await sink.write(batch);
    expect(await sink.reconcile!(batch, "parts:new:0 OR 1=1) --'")).toEqual([]);
    expect(await rowsReadByReconciles(name, 1)).toEqual([1001 + ids(1)]);
  });
});

describe('pump into clickhouse, killed between a write and its ack', () => {
  /** The sink dies (as a SIGKILL would) right after its nth write, before the pump acks it. */
  function dyingAfter(sink: Sink, nth: number): Sink {
    let writes = 0;
    return {
      name: sink.name,
      open: () => sink.open(),
      free: () => sink.free(),
      position: () => sink.position!(),
      reconcile: (batch, since) => sink.reconcile!(batch, since),
      close: () => sink.close(),
      async write(batch) {
        await sink.write(batch);
        writes += 1;
        if (writes === nth) throw new FatalError('[clickhouse] the worker was killed');
      },
    };
  }

  it('writes every record exactly once, finding the batch in doubt from the noted position after later inserts', async () => {
    const name = await table(500_000);
    await exec(`SYSTEM STOP MERGES default.\`${name}\``);
    const values = Array.from({ length: 3000 }, (_, i) => ({ n: 7_000_000 + i, p: i % 3 }));
    const source = createMemorySource(values);
    const journal = createMemoryJournal();
    const first = createClickHouseSink({ ...target(), table: name });
    const pump = (sink: Sink) => createPump({ source, sink, journal, batchSize: 1000 }).run();
    await expect(pump(dyingAfter(first, 2))).rejects.toThrow(/the worker was killed/);
    expect(journal.entry?.position).toMatch(/^parts:new:\d+$/);
    // Other writers go on while the flow is down.
    for (let i = 0; i < 20; i++) await others(name, 500, `later${i}`);

    const again = await pump(createClickHouseSink({ ...target(), table: name }));
    expect(again).toMatchObject({ records: 1000, stopReason: 'empty' });
    const moved = await rows<{ n: string; copies: string }>(
      `SELECT n, count() AS copies FROM default.\`${name}\` WHERE _source_id NOT LIKE 'old-%' AND _source_id NOT LIKE 'later%' GROUP BY n`,
    );
    expect(moved).toHaveLength(3000);
    expect(moved.every((row) => Number(row.copies) === 1)).toBe(true);
    // The batch in doubt was looked for in the parts written after its note: its own, the later
    // inserts, and the batch before it when the note reused the position read for that one
    // (less than a second old) — not the half million rows before the flow (+ 1000 ids on 18.16).
    const [read] = await rowsReadByReconciles(name, 1);
    expect([1000 + 10_000 + ids(1000), 2000 + 10_000 + ids(1000)]).toContain(read);
    expect(journal.entry).toBeUndefined();
  });
});
