import type { RecordValue } from '@ferry/core';
import { mongoUrl, sampleValues, testSource, uniqueName } from '@ferry/testkit';
import { type Db, Double, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoSource } from './index.js';

let client: MongoClient;
let db: Db;
const database = uniqueName('ferry_test_source').replace(/\./g, '_');
const checkpoints = 'ferry_checkpoints';

beforeAll(async () => {
  client = new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  db = client.db(database);
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

const options = (collection: string, more: Record<string, unknown> = {}) => ({
  url: mongoUrl(),
  database,
  collection,
  connectionName: 'test',
  ...more,
});

const seed = async (ctx: { name: string }, values: readonly RecordValue[]) => {
  // The driver gives each document a new ObjectId, in increasing order; a float is a Double even when whole.
  await db
    .collection(ctx.name)
    .insertMany(values.map((value) => ({ ...value, ratio: new Double(value.ratio as number) })));
};

const cleanup = async (ctx: { name: string }) => {
  await db.collection(ctx.name).drop();
  await db.collection<{ _id: string }>(checkpoints).deleteOne({ _id: `${database}.${ctx.name}` });
};

/** Documents after the saved checkpoint: what a copy-mode source still has to hand out. */
async function afterCheckpoint(name: string): Promise<number> {
  const saved = await db.collection<{ _id: string; position: string }>(checkpoints).findOne({
    _id: `${database}.${name}`,
  });
  if (saved === null) return db.collection(name).countDocuments();
  const { v } = JSON.parse(saved.position) as { v: { $oid: string } };
  return db.collection(name).countDocuments({ _id: { $gt: new ObjectId(v.$oid) } });
}

testSource({
  name: 'mongo source, copy mode (contract)',
  create: (ctx) => createMongoSource(options(ctx.name, { pollMs: 50 })),
  seed,
  count: (ctx) => afterCheckpoint(ctx.name),
  cleanup,
});

testSource({
  name: 'mongo source, move mode (contract)',
  create: (ctx) => createMongoSource(options(ctx.name, { mode: 'move', pollMs: 50 })),
  seed,
  count: (ctx) => db.collection(ctx.name).countDocuments(),
  cleanup,
});

describe('mongo source', () => {
  const names: string[] = [];
  const collection = () => {
    const name = uniqueName('ferry.test.source');
    names.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of names) await cleanup({ name });
  });

  it('copy mode: the checkpoint survives a restart, in ferry_checkpoints, and the documents stay', async () => {
    const name = collection();
    await seed({ name }, sampleValues(10));
    const first = createMongoSource(options(name));
    await first.open();
    const batch = await first.read(4, { waitMs: 0 });
    await first.ack(batch);
    // Read but never acked: must come back after the restart.
    const lost = await first.read(3, { waitMs: 0 });
    expect(lost.records.map((r) => r.value.n)).toEqual([4n, 5n, 6n]);
    await first.close();

    const saved = await db.collection<{ _id: string }>(checkpoints).findOne({ _id: `${database}.${name}` });
    expect(saved).toMatchObject({ position: expect.stringContaining('$oid'), updatedAt: expect.any(Date) });

    const second = createMongoSource(options(name));
    await second.open();
    try {
      expect(await second.backlog?.()).toBe(6);
      const rest = await second.read(100, { waitMs: 0 });
      expect(rest.records.map((r) => r.value.n)).toEqual([4n, 5n, 6n, 7n, 8n, 9n]);
      await second.ack(rest);
      expect((await second.read(100, { waitMs: 0 })).records).toEqual([]);
      expect(await db.collection(name).countDocuments()).toBe(10);
    } finally {
      await second.close();
    }
  });

  it('move mode leaves the source empty', async () => {
    const name = collection();
    await seed({ name }, sampleValues(25));
    const source = createMongoSource(options(name, { mode: 'move' }));
    await source.open();
    try {
      let moved = 0;
      for (;;) {
        const batch = await source.read(10, { waitMs: 0 });
        if (batch.records.length === 0) break;
        moved += batch.records.length;
        await source.ack(batch);
      }
      expect(moved).toBe(25);
      expect(await db.collection(name).countDocuments()).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('reads by a configured cursor field, with a filter, ids as strings and values of their own kinds', async () => {
    const name = collection();
    const at = new Date('2024-01-02T03:04:05Z');
    await db.collection(name).insertMany([
      { _id: 'c' as never, seq: 3, kind: 'a', at },
      { _id: 'a' as never, seq: 1, kind: 'a', at },
      { _id: 'b' as never, seq: 2, kind: 'b', at },
      { _id: 'd' as never, seq: 4, kind: 'a', at },
    ]);
    const source = createMongoSource(options(name, { cursor: 'seq', filter: { kind: 'a' } }));
    await source.open();
    try {
      const first = await source.read(2, { waitMs: 0 });
      expect(first.records.map((r) => r.id)).toEqual(['a', 'c']);
      expect(first.records[0]!.value).toEqual({ _id: 'a', seq: 1n, kind: 'a', at });
      await source.ack(first);
      expect((await source.read(10, { waitMs: 0 })).records.map((r) => r.id)).toEqual(['d']);
    } finally {
      await source.close();
    }
  });

  it('renders an ObjectId _id as its hex, and marks records given back by a release as redelivered', async () => {
    const name = collection();
    const ids = [new ObjectId(), new ObjectId()];
    await db.collection(name).insertMany(ids.map((_id, n) => ({ _id, n })));
    const source = createMongoSource(options(name));
    await source.open();
    try {
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records.map((r) => r.id)).toEqual(ids.map((id) => id.toHexString()));
      expect(batch.records.some((r) => r.redelivered)).toBe(false);
      await source.release(batch);
      const again = await source.read(10, { waitMs: 0 });
      expect(again.records.map((r) => r.redelivered)).toEqual([true, true]);
    } finally {
      await source.close();
    }
  });

  it('refuses a filter with an unknown top-level operator at construction', () => {
    expect(() => createMongoSource(options('x', { filter: { $frob: 1 } }))).toThrow(
      /filter\.\$frob: unknown top-level/,
    );
  });
});
