import { ConfigError } from '@ferry/core';
import { mongoUrl, uniqueName } from '@ferry/testkit';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoSource } from './index.js';

let client: MongoClient;
let db: Db;
const database = uniqueName('ferry_test_filter').replace(/\./g, '_');

beforeAll(async () => {
  client = new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  db = client.db(database);
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

const options = (collection: string, filter: object) => ({
  url: mongoUrl(),
  database,
  collection,
  mode: 'move',
  filter,
  connectionName: 'test',
});

async function seeded(): Promise<string> {
  const name = uniqueName('ferry.test.filter');
  await db
    .collection<{ _id: number; kind: string }>(name)
    .insertMany([1, 2, 3, 4, 5, 6].map((n) => ({ _id: n, kind: n % 2 === 0 ? 'even' : 'odd' })));
  return name;
}

describe('mongo source filter', () => {
  it('refuses a filter that runs JavaScript before anything reaches the server: nothing moved, no checkpoint', async () => {
    const name = await seeded();
    const filters = [
      { $where: 'true' },
      { $or: [{ kind: 'odd' }, { $where: 'true' }] },
      {
        $and: [
          { kind: 'odd' },
          { $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } },
        ],
      },
    ];
    for (const filter of filters) {
      expect(() => createMongoSource(options(name, filter))).toThrow(ConfigError);
    }
    expect(() => createMongoSource(options(name, filters[2]!))).toThrow(
      "[mongo] invalid source options:\n  - filter.$and.1.$expr.$function: $function runs JavaScript on the server: refused unless the connection's allowOperators names it",
    );
    expect(await db.collection(name).countDocuments()).toBe(6);
    expect(await db.collection('ferry_checkpoints').countDocuments()).toBe(0);
  });

  it('moves what a filter of query operators matches, and leaves the rest', async () => {
    const name = await seeded();
    const source = createMongoSource(options(name, { $or: [{ kind: 'even' }, { _id: { $in: [1] } }] }));
    await source.open();
    try {
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records.map((record) => record.id)).toEqual(['1', '2', '4', '6']);
      await source.ack(batch);
    } finally {
      await source.close();
    }
    const left = await db.collection<{ _id: number }>(name).find({}).sort({ _id: 1 }).toArray();
    expect(left.map((doc) => doc._id)).toEqual([3, 5]);
  });
});
