import { ConnectionError, FatalError, type FerryRecord, Scalar, type WriteOutcome } from '@ferry/core';
import { mongoUrl, sampleRecords, testSink, uniqueName, type WrittenRecord } from '@ferry/testkit';
import { type Db, Double, Int32, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoSink, documentToValue } from './index.js';

let client: MongoClient;
let db: Db;
const database = uniqueName('ferry_test_sink').replace(/\./g, '_');

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

/** Documents as the driver reads them, every number its own BSON type, in ferry's kinds for the comparison. */
async function readBack(collection: string): Promise<WrittenRecord[]> {
  const docs = await db.collection(collection).find({}, { promoteValues: false }).toArray();
  return docs.map(({ _id, ...value }) => ({ sourceId: String(_id), value: documentToValue(value) }));
}

const cleanup = async (ctx: { name: string }) => {
  await db.collection(ctx.name).drop();
};

for (const mode of ['insert', 'upsert'] as const) {
  testSink({
    name: `mongo sink, ${mode} mode (contract)`,
    create: (ctx) => createMongoSink(options(ctx.name, { mode })),
    createWithMaxLen: (ctx, maxDocuments) => createMongoSink(options(ctx.name, { mode, maxDocuments })),
    readBack: (ctx) => readBack(ctx.name),
    count: (ctx) => db.collection(ctx.name).countDocuments(),
    cleanup,
  });
}

describe('mongo sink', () => {
  const collections: string[] = [];
  const collection = () => {
    const name = uniqueName('ferry.test.sink');
    collections.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of collections) await db.collection(name).drop();
  });
  const open = async (name: string, more: Record<string, unknown> = {}) => {
    const sink = createMongoSink(options(name, more));
    await sink.open();
    return sink;
  };
  // biome-ignore lint/suspicious/noConfusingVoidType: Sink.write resolves with void or an outcome
  const rejectedOf = (outcome: void | WriteOutcome) => (outcome === undefined ? [] : outcome.rejected);

  it('writes a batch written twice once: a duplicate _id counts as already written', async () => {
    const name = collection();
    const sink = await open(name);
    try {
      const records = sampleRecords(50);
      expect(rejectedOf(await sink.write(records))).toEqual([]);
      expect(rejectedOf(await sink.write(records))).toEqual([]);
      expect(await db.collection(name).countDocuments()).toBe(50);
      // A batch half written before (in doubt) lands whole, once.
      const more = sampleRecords(10, 'more');
      await sink.write(more.slice(0, 4));
      await sink.write(more);
      expect(await db.collection(name).countDocuments()).toBe(60);
    } finally {
      await sink.close();
    }
  });

  it('rejects one document over 16 MiB among 100 with the reason, and writes the other 99', async () => {
    const name = collection();
    const sink = await open(name);
    try {
      const records: FerryRecord[] = sampleRecords(100);
      const big = records[37]!;
      records[37] = { ...big, value: { ...big.value, blob: 'x'.repeat(17 * 1024 * 1024) } };
      const rejected = rejectedOf(await sink.write(records));
      expect(rejected.map((r) => r.id)).toEqual(['rec-37']);
      expect(rejected[0]!.reason).toMatch(/over MongoDB's limit of 16777216 bytes/);
      expect(rejected[0]!.raw.byteLength).toBeGreaterThan(17 * 1024 * 1024);
      expect(await db.collection(name).countDocuments()).toBe(99);
      expect(await db.collection(name).countDocuments({ _id: 'rec-37' as never })).toBe(0);
    } finally {
      await sink.close();
    }
  });

  it('rejects a top-level $ field name, writing the rest; user data that looks like Extended JSON stays data', async () => {
    const name = collection();
    const sink = await open(name);
    try {
      const records: FerryRecord[] = sampleRecords(3);
      records[0] = { ...records[0]!, value: { $set: { a: 1n } } };
      records[1] = {
        ...records[1]!,
        value: { ref: { $binary: 'aGVsbG8=' }, when: '{"$date":"2024-01-01T00:00:00Z"}' },
      };
      const rejected = rejectedOf(await sink.write(records));
      expect(rejected.map((r) => r.id)).toEqual(['rec-0']);
      expect(rejected[0]!.reason).toMatch(/field name "\$set" starts with "\$"/);
      expect(await db.collection(name).countDocuments()).toBe(2);
      const doc = await db.collection(name).findOne({ _id: 'rec-1' as never });
      expect(doc).toEqual({ _id: 'rec-1', ref: { $binary: 'aGVsbG8=' }, when: '{"$date":"2024-01-01T00:00:00Z"}' });
    } finally {
      await sink.close();
    }
  });

  it('rejects a document the server refuses with the server message, writing the rest', async () => {
    const name = collection();
    const sink = await open(name);
    try {
      const records: FerryRecord[] = sampleRecords(3);
      // An array is never a valid _id: the server refuses that one document (code 2).
      records[1] = { ...records[1]!, value: { _id: [1, 2], n: 1 } };
      const rejected = rejectedOf(await sink.write(records));
      expect(rejected.map((r) => r.id)).toEqual(['rec-1']);
      expect(rejected[0]!.reason).toMatch(/can't use an array for _id \(code 2\)/);
      expect(await db.collection(name).countDocuments()).toBe(2);
    } finally {
      await sink.close();
    }
  });

  it('writes ObjectIds, timestamps, integers and floats as their BSON types, keeping the value _id', async () => {
    const name = collection();
    const sink = await open(name);
    try {
      const oid = new ObjectId();
      await sink.write([
        {
          id: oid.toHexString(),
          value: { _id: new Scalar('objectId', oid.toHexString()), at: new Date('2024-05-01T10:00:00Z'), n: 1n, f: 1 },
          readAt: Date.now(),
          bytes: 0,
        },
      ]);
      const doc = await db.collection(name).findOne({}, { promoteValues: false });
      expect(doc).not.toBeNull();
      expect(doc!._id).toBeInstanceOf(ObjectId);
      expect((doc!._id as ObjectId).toHexString()).toBe(oid.toHexString());
      expect(doc!.at).toEqual(new Date('2024-05-01T10:00:00Z'));
      expect(doc!.n).toEqual(new Int32(1));
      expect(doc!.f).toEqual(new Double(1));
    } finally {
      await sink.close();
    }
  });

  it('upsert mode replaces a document by _id', async () => {
    const name = collection();
    const sink = await open(name, { mode: 'upsert' });
    try {
      await sink.write([{ id: 'a', value: { v: 1 }, readAt: 0, bytes: 0 }]);
      await sink.write([{ id: 'a', value: { v: 2, w: true }, readAt: 0, bytes: 0 }]);
      expect(await db.collection(name).find({}).toArray()).toEqual([{ _id: 'a', v: 2, w: true }]);
    } finally {
      await sink.close();
    }
  });

  it('upsert mode matches an _id made of operators as a value: no other document is replaced', async () => {
    const name = collection();
    const sink = await open(name, { mode: 'upsert' });
    try {
      await sink.write([{ id: 'a', value: { v: 1 }, readAt: 0, bytes: 0 }]);
      await sink.write([{ id: 'b', value: { _id: { $gt: '' }, v: 2 }, readAt: 0, bytes: 0 }]);
      expect(await db.collection(name).findOne({ _id: 'a' as never })).toEqual({ _id: 'a', v: 1 });
    } finally {
      await sink.close();
    }
  });

  it('fails promptly with a ConnectionError naming host:port, database and connection when unreachable', async () => {
    const sink = createMongoSink({
      url: 'mongodb://127.0.0.1:1',
      database,
      collection: 'x',
      connectionName: 'nowhere',
      serverSelectionTimeoutMs: 500,
    });
    const started = Date.now();
    const error = await sink.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(
      new RegExp(`^\\[mongo\\] cannot reach 127\\.0\\.0\\.1:1, database "${database}" \\(connection "nowhere"\\)`),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails with a FatalError saying the credentials were refused, without the password', async () => {
    const url = mongoUrl().replace('mongodb://', 'mongodb://nobody:secret-pw@');
    const sink = createMongoSink({ url, database, collection: 'x' });
    const error = await sink.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/refused the credentials of user "nobody"/);
    expect((error as Error).message).not.toMatch(/secret-pw/);
  });
});
