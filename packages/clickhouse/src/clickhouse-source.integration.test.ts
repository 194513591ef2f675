import { ConfigError, FatalError, type RecordValue, type Source, toJson } from '@ferry/core';
import { sampleValues, testSource } from '@ferry/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClickHouseSource } from './index.js';
import { clickHouseUrl, closeAdmin, count, drop, exec, insert, rows, sampleColumns, tableName } from './test-admin.js';

afterAll(closeAdmin);

const ctxTable = (ctx: { name: string }) => ctx.name.replace(/[^A-Za-z0-9_]/g, '_');
const nextIds = new Map<string, number>();

async function ensureTable(table: string): Promise<void> {
  await exec(
    `CREATE TABLE IF NOT EXISTS default.\`${table}\` (id UInt64, ${sampleColumns}) ENGINE = MergeTree ORDER BY id`,
  );
}

/** Rows with increasing ids, ok and nested as lossless JSON text (the source parses them back: jsonColumns). */
async function seed(table: string, values: readonly RecordValue[]): Promise<void> {
  await ensureTable(table);
  let id = nextIds.get(table) ?? 1;
  const rowsToInsert = values.map((value) => ({
    ...value,
    id: id++,
    ok: toJson(value.ok ?? null).text,
    nested: toJson(value.nested ?? null).text,
  }));
  nextIds.set(table, id);
  await insert(table, rowsToInsert);
}

/** Rows after the checkpoint: what is still to read (acked rows of a move-mode source may await their mutation). */
async function unacked(table: string): Promise<number> {
  const [row] = await rows<{ position?: string }>(
    `SELECT argMax(position, version) AS position FROM default.ferry_checkpoints WHERE key = 'default.${table}'`,
  ).catch((): { position?: string }[] => []);
  if (row?.position === undefined || row.position === '') return count(table);
  const [left] = await rows<{ n: string }>(
    `SELECT count() AS n FROM default.\`${table}\` WHERE id > ${Number(row.position)}`,
  );
  return Number(left?.n);
}

for (const mode of ['copy', 'move'] as const) {
  testSource({
    name: `clickhouse source (contract, ${mode} mode)`,
    prefix: 'ferry_test',
    create: async (ctx) => {
      await ensureTable(ctxTable(ctx));
      return createClickHouseSource({
        url: clickHouseUrl,
        table: ctxTable(ctx),
        cursor: 'id',
        mode,
        jsonColumns: ['ok', 'nested'],
        pollIntervalMs: 50,
        deleteBatchRows: 2,
      });
    },
    seed: (ctx, values) => seed(ctxTable(ctx), values),
    count: (ctx) => unacked(ctxTable(ctx)),
    cleanup: (ctx) => drop(ctxTable(ctx)),
  });
}

describe('clickhouse source', () => {
  const tables: string[] = [];
  const sources: Source[] = [];
  afterEach(async () => {
    for (const source of sources.splice(0)) await source.close();
    for (const table of tables.splice(0)) await drop(table);
  });

  const fresh = async (): Promise<string> => {
    const name = tableName();
    tables.push(name);
    await ensureTable(name);
    return name;
  };
  const open = async (options: Record<string, unknown>): Promise<Source> => {
    const source = createClickHouseSource({ url: clickHouseUrl, cursor: 'id', ...options });
    sources.push(source);
    await source.open();
    return source;
  };

  it('the checkpoint survives a restart: no row read twice or skipped', async () => {
    const table = await fresh();
    await seed(table, sampleValues(25));
    const seen: string[] = [];
    for (let round = 0; round < 5; round++) {
      const source = await open({ table });
      const batch = await source.read(4, { waitMs: 0 });
      seen.push(...batch.records.map((r) => r.id));
      await source.ack(batch);
      // Read but never acked: comes back to the next instance.
      await source.read(4, { waitMs: 0 });
      await source.close();
    }
    const last = await open({ table });
    for (;;) {
      const batch = await last.read(7, { waitMs: 0 });
      if (batch.records.length === 0) break;
      seen.push(...batch.records.map((r) => r.id));
      await last.ack(batch);
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => String(i + 1)));
  });

  it('two checkpoint keys read the same table independently', async () => {
    const table = await fresh();
    await seed(table, sampleValues(3));
    const a = await open({ table, checkpointKey: 'flow-a' });
    await a.ack(await a.read(10, { waitMs: 0 }));
    const b = await open({ table, checkpointKey: 'flow-b' });
    expect((await b.read(10, { waitMs: 0 })).records).toHaveLength(3);
    expect((await a.read(10, { waitMs: 0 })).records).toHaveLength(0);
  });

  it('move mode deletes acked rows (one mutation per deleteBatchRows, the rest on close)', async () => {
    const table = await fresh();
    await seed(table, sampleValues(10));
    const source = await open({ table, mode: 'move', deleteBatchRows: 4 });
    await source.ack(await source.read(6, { waitMs: 0 }));
    await source.ack(await source.read(2, { waitMs: 0 }));
    await source.close();
    // Mutations run in the server's background, one after another per table: on a
    // busy machine (every package's tests at once) the last one can take a while.
    const deadline = Date.now() + 45_000;
    while ((await count(table)) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await rows<{ id: string }>(`SELECT id FROM default.\`${table}\` ORDER BY id`)).map((r) => r.id)).toEqual([
      '9',
      '10',
    ]);
  }, 60_000);

  it('move mode with a string cursor: exactly the acked rows are deleted, whatever their keys hold; the checkpoint, merged, reopens where it was', async () => {
    const table = tableName();
    tables.push(table);
    await exec(`CREATE TABLE default.\`${table}\` (k String, v UInt8) ENGINE = MergeTree ORDER BY k`);
    // Sorted as the server sorts bytes; each key is a value a query's text could mistake for its own.
    const keys = ["a'b", "b\\'); DROP TABLE x --", 'c\\d', 'd\ttab', 'e[1,2]', 'f"q"', 'g'];
    await insert(
      table,
      keys.map((k, v) => ({ k, v })),
    );
    const source = await open({ table, cursor: 'k', mode: 'move', deleteBatchRows: 2 });
    const first = await source.read(4, { waitMs: 0 });
    await source.ack(first);
    const second = await source.read(2, { waitMs: 0 });
    await source.ack(second);
    expect([...first.records, ...second.records].map((r) => r.id)).toEqual(keys.slice(0, 6));
    await source.close();
    const deadline = Date.now() + 45_000;
    while ((await count(table)) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await rows(`SELECT k, v FROM default.\`${table}\``)).toEqual([{ k: 'g', v: 6 }]);
    // The checkpoint table keeps one row per ack until it merges: merged, the newest version is what is left.
    await exec('OPTIMIZE TABLE default.ferry_checkpoints FINAL');
    const [checkpoint] = await rows<{ position: string; versions: string }>(
      `SELECT argMax(position, version) AS position, toString(count()) AS versions FROM default.ferry_checkpoints FINAL WHERE key = 'default.${table}'`,
    );
    expect(checkpoint).toEqual({ position: keys[5], versions: '1' });
    await exec(`INSERT INTO default.\`${table}\` (k, v) VALUES ('h', 7)`);
    const again = await open({ table, cursor: 'k', mode: 'move' });
    expect((await again.read(10, { waitMs: 0 })).records.map((r) => r.id)).toEqual(['g', 'h']);
  }, 60_000);

  it('move mode with a cursor that is not unique deletes nothing, on ack or on close, and says why', async () => {
    for (const deleteBatchRows of [2, 10_000]) {
      const table = tableName();
      tables.push(table);
      await exec(`CREATE TABLE default.\`${table}\` (id UInt64, v String) ENGINE = MergeTree ORDER BY id`);
      await insert(table, [
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
        { id: 2, v: 'c' },
        { id: 3, v: 'd' },
      ]);
      const source = await open({ table, mode: 'move', deleteBatchRows });
      const batch = await source.read(2, { waitMs: 0 });
      // Which of the two rows at 2 comes first is the server's choice: the other one is never read.
      const [one, two] = batch.records.map((r) => r.value.v);
      expect(one).toBe('a');
      const unread = two === 'b' ? 'c' : 'b';
      // Each step is where the delete runs: the ack reaching deleteBatchRows, else the close.
      const failed = deleteBatchRows === 2 ? source.ack(batch) : source.ack(batch).then(() => source.close());
      await expect(failed).rejects.toThrow(FatalError);
      await expect(failed).rejects.toThrow(
        `cursor column "id" is not unique: 3 rows share the cursor values of the 2 rows moved`,
      );
      await expect(failed).rejects.toThrow(/nothing was deleted.*make the cursor unique or use copy mode/);
      // After a refused ack, close tries those rows again and refuses again.
      if (deleteBatchRows === 2) await expect(source.close()).rejects.toThrow('is not unique');
      // A mutation runs in the background: wait until none is left, then every row is still there.
      const deadline = Date.now() + 45_000;
      const pending = async () =>
        Number(
          (
            await rows<{ n: string }>(
              `SELECT count() AS n FROM system.mutations WHERE database = 'default' AND table = '${table}' AND is_done = 0`,
            )
          )[0]?.n,
        );
      while ((await pending()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const left = await rows<{ id: string; v: string }>(`SELECT id, v FROM default.\`${table}\` ORDER BY id, v`);
      expect(left).toContainEqual({ id: '2', v: unread });
      expect(left).toEqual([
        { id: '1', v: 'a' },
        { id: '2', v: 'b' },
        { id: '2', v: 'c' },
        { id: '3', v: 'd' },
      ]);
    }
  }, 60_000);

  it('string and DateTime cursors', async () => {
    for (const type of ['String', "DateTime('UTC')"]) {
      const table = tableName();
      tables.push(table);
      await exec(`CREATE TABLE default.\`${table}\` (k ${type}, v UInt8) ENGINE = MergeTree ORDER BY k`);
      const keys =
        type === 'String'
          ? ["a'b", 'b; DROP TABLE x', 'c\\d']
          : ['2024-01-01 00:00:00', '2024-01-01 00:00:01', '2024-06-01 12:00:00'];
      await insert(
        table,
        keys.map((k, v) => ({ k, v })),
      );
      const source = await open({ table, cursor: 'k' });
      const first = await source.read(2, { waitMs: 0 });
      expect(first.records.map((r) => r.id)).toEqual(keys.slice(0, 2));
      await source.ack(first);
      const second = await source.read(2, { waitMs: 0 });
      expect(second.records.map((r) => r.id)).toEqual(keys.slice(2));
      expect(await source.backlog!()).toBe(1);
    }
  });

  it('a row whose JSON column is not JSON is handed over as rejected', async () => {
    const table = await fresh();
    await insert(table, [
      { id: 1, ok: 'true', nested: '{"a":1}' },
      { id: 2, ok: 'nope', nested: '{}' },
    ]);
    const source = await open({ table, jsonColumns: ['ok', 'nested'] });
    const batch = await source.read(10, { waitMs: 0 });
    expect(batch.records.map((r) => r.id)).toEqual(['1']);
    expect(batch.rejected?.map((r) => r.id)).toEqual(['2']);
    expect(batch.rejected?.[0]?.reason).toMatch(/^row 2 of default\.\w+: column "ok" is not JSON/);
  });

  it('records handed out again after a release are marked redelivered', async () => {
    const table = await fresh();
    await seed(table, sampleValues(3));
    const source = await open({ table });
    const first = await source.read(2, { waitMs: 0 });
    await source.release(first);
    const again = await source.read(3, { waitMs: 0 });
    expect(again.records.map((r) => r.redelivered === true)).toEqual([true, true, false]);
  });

  it('a missing table and a missing cursor column are FatalErrors naming them', async () => {
    const missing = tableName();
    await expect(open({ table: missing })).rejects.toThrow(new RegExp(`table default\\.${missing} does not exist`));
    const table = await fresh();
    const error = await open({ table, cursor: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/no cursor column "nope"/);
  });

  it('an injection attempt through a table or cursor name is refused before any SQL is sent', () => {
    expect(() => createClickHouseSource({ url: 'http://127.0.0.1:1', table: 't; DROP TABLE x', cursor: 'id' })).toThrow(
      ConfigError,
    );
    expect(() => createClickHouseSource({ url: 'http://127.0.0.1:1', table: 't', cursor: 'a`b' })).toThrow(ConfigError);
  });
});
