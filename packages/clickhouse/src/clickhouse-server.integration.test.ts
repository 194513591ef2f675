import { type ClickHouseClient, createClient } from '@clickhouse/client';
import type { FerryRecord } from '@ferry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouseSink, createClickHouseSource } from './index.js';
import {
  admin,
  chdbConnection,
  clickHouseUrl,
  closeAdmin,
  count,
  drop,
  exec,
  onChdb,
  rows,
  tableName,
} from './test-admin.js';

afterAll(closeAdmin);

const record = (id: string, n: bigint): FerryRecord => ({ id, value: { n }, readAt: Date.now(), bytes: 8 });

/** The test's own client, each statement it is given written down first: what SQL ferry chose. */
function recording(client: ClickHouseClient): { client: ClickHouseClient; sql: string[] } {
  const sql: string[] = [];
  const wrapped = new Proxy(client, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      return (params: { query?: string; table?: string }, ...rest: unknown[]) => {
        sql.push(params?.query ?? `INSERT INTO ${params?.table}`);
        return member.call(target, params, ...rest);
      };
    },
  });
  return { client: wrapped, sql };
}

describe(`the SQL each ClickHouse version gets (${onChdb ? 'ClickHouse 26 through chDB' : 'ClickHouse 18.16 over HTTP'})`, () => {
  it('reads the version at open and takes query parameters from 19.x on, session tables before', async () => {
    const table = tableName();
    await exec(`CREATE TABLE default.\`${table}\` (id UInt64, v UInt64) ENGINE = MergeTree ORDER BY id`);
    await exec(`INSERT INTO default.\`${table}\` VALUES (1, 18446744073709551615), (2, 7)`);
    const { client, sql } = recording(admin());
    const source = createClickHouseSource({ client, table, cursor: 'id' });
    await source.open();
    const first = await source.read(1, { waitMs: 0 });
    expect(first.records.map((r) => r.value)).toEqual([{ id: 1n, v: 18446744073709551615n }]);
    await source.ack(first);
    expect(await source.backlog!()).toBe(1);
    const second = await source.read(10, { waitMs: 0 });
    expect(second.records.map((r) => r.value)).toEqual([{ id: 2n, v: 7n }]);
    await source.close();

    const [{ version } = { version: '' }] = await rows<{ version: string }>('SELECT version() AS version');
    // One round trip at open: the version and the settings the server has.
    expect(sql[0]).toMatch(
      /^SELECT version\(\) AS version, groupArray\(name\) AS names FROM system\.settings WHERE name IN \('/,
    );
    const text = sql.join('\n');
    if (onChdb) {
      expect(version).toMatch(/^26\./);
      expect(text).toContain('CAST({position:String} AS UInt64)');
      expect(text).not.toContain('TEMPORARY');
      expect(text).not.toContain('unhex(');
    } else {
      expect(version).toMatch(/^18\.16\./);
      expect(text).toContain('CREATE TEMPORARY TABLE ferry_position');
      expect(text).toMatch(/CAST\(unhex\('31'\) AS UInt64\)/);
      expect(text).not.toContain('{position:');
    }
    await drop(table);
  });

  it('reconciles by a parameter on 26 and through a session table on 18.16', async () => {
    const table = tableName();
    await exec(
      `CREATE TABLE default.\`${table}\` (_source_id String, n UInt64) ENGINE = MergeTree ORDER BY _source_id`,
    );
    const { client, sql } = recording(admin());
    const sink = createClickHouseSink({ client, table });
    await sink.open();
    const records = ['a', 'b', "c'); DROP TABLE x; --"].map((id, i) => record(id, BigInt(i)));
    await sink.write(records.slice(0, 2));
    expect((await sink.reconcile!(records))?.map((r) => r.id)).toEqual([records[2]!.id]);
    await sink.close();
    const text = sql.join('\n');
    expect(text.includes('IN {ids:Array(String)}')).toBe(onChdb);
    expect(text.includes('CREATE TEMPORARY TABLE ferry_ids')).toBe(!onChdb);
    expect(await count(table)).toBe(2);
    await drop(table);
  });

  it('leaves a ready client open, and closes a client a function made', async () => {
    const table = tableName();
    await exec(
      `CREATE TABLE default.\`${table}\` (_source_id String, n UInt64) ENGINE = MergeTree ORDER BY _source_id`,
    );
    const given = createClickHouseSink({ client: admin(), table });
    await given.open();
    await given.write([record('one', 1n)]);
    await given.close();
    // The test's client still answers: ferry did not close what it was given.
    expect(await count(table)).toBe(1);

    let closed = 0;
    const factory = createClickHouseSink({
      client: () => {
        const made = onChdb
          ? createClient({ connection: chdbConnection(new URL(clickHouseUrl).pathname) })
          : createClient({ url: clickHouseUrl });
        const close = made.close.bind(made);
        made.close = () => {
          closed += 1;
          return close();
        };
        return made;
      },
      table,
    });
    await factory.open();
    await factory.write([record('two', 2n)]);
    expect(closed).toBe(0);
    await factory.close();
    expect(closed).toBe(1);
    expect(await count(table)).toBe(2);
    await drop(table);
  });

  // A connection ferry does not know (here one wrapping chDB's) gets RowBinary as hex: its body may pass through text.
  it.skipIf(!onChdb)(
    'stores bytes exactly through a connection or client it does not know (chDB only: an in-process connection)',
    async () => {
      const table = tableName();
      await exec(
        `CREATE TABLE default.\`${table}\` (_source_id String, s String) ENGINE = MergeTree ORDER BY _source_id`,
      );
      const inner = chdbConnection(new URL(clickHouseUrl).pathname);
      const forward = (name: 'query' | 'insert' | 'exec' | 'command' | 'ping' | 'close') => (params: never) =>
        (inner[name] as (p: never) => unknown).call(inner, params);
      const wrapper = Object.fromEntries(
        (['query', 'insert', 'exec', 'command', 'ping', 'close'] as const).map((name) => [name, forward(name)]),
      ) as unknown as typeof inner;
      const bytes = new Uint8Array([0x80, 0x00, 0x00, 0xff]);
      for (const [id, options] of [
        ['by-connection', { connection: wrapper }],
        ['by-client', { client: createClient({ connection: wrapper }) }],
      ] as const) {
        const sink = createClickHouseSink({ ...options, table });
        await sink.open();
        expect(await sink.write([{ id, value: { s: bytes }, readAt: Date.now(), bytes: 4 }])).toBeUndefined();
        await sink.close();
      }
      expect(await rows(`SELECT _source_id AS id, hex(s) AS h FROM default.\`${table}\` ORDER BY id`)).toEqual([
        { id: 'by-client', h: '800000FF' },
        { id: 'by-connection', h: '800000FF' },
      ]);
      await inner.close();
      await drop(table);
    },
  );
});
