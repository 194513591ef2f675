import { calculateObjectSize } from 'bson';
import {
  type Collection,
  type CommandStartedEvent,
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  ObjectId,
} from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MongoTestServer, startMongoTestServer } from './mongo-test-server.js';
import { uniqueName } from './names.js';

// These tests check the test server against what the official driver sends and expects.
let server: MongoTestServer;
let client: MongoClient;
const started: CommandStartedEvent[] = [];
let dbName: string;

beforeAll(async () => {
  server = await startMongoTestServer();
  client = new MongoClient(server.url, { monitorCommands: true, serverSelectionTimeoutMS: 3000 });
  client.on('commandStarted', (event) => started.push(event));
  await client.connect();
});
afterAll(async () => {
  await client.close();
  await server.close();
});
afterEach(async () => {
  await client.db(dbName).dropDatabase();
  started.length = 0;
});

type Doc = { _id: string | number | ObjectId; [key: string]: unknown };

/** A collection in a database of its own, dropped after the test. */
function coll(): Collection<Doc> {
  dbName = uniqueName('ferry_test').replace(/\./g, '_');
  return client.db(dbName).collection<Doc>(uniqueName('c'));
}

describe('mongo test server, driven by the official driver', () => {
  it('answers the handshake, ping and buildInfo, and says it is a standalone 7.0', async () => {
    coll();
    const admin = client.db('admin');
    expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({ isWritablePrimary: true, maxBsonObjectSize: 16 * 1024 * 1024, maxWireVersion: 21 });
    expect(hello.setName).toBeUndefined();
    expect((await admin.command({ buildInfo: 1 })).version).toBe('7.0.0');
  });

  it('answers an unknown command with CommandNotFound (59)', async () => {
    coll();
    const error = await client
      .db('admin')
      .command({ frobnicate: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
    expect((error as Error).message).toMatch(/no such command: 'frobnicate'/);
  });

  it('batches a cursor: the first batch then getMore until the cursor is exhausted', async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i, n: i })));
    started.length = 0;
    const docs = await c.find({}, { batchSize: 100 }).toArray();
    expect(docs.map((d) => d.n)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    const names = started.map((e) => e.commandName);
    expect(names).toEqual(['find', 'getMore', 'getMore']);
    // Without batchSize the first batch holds 101 documents, a getMore the rest.
    started.length = 0;
    expect(await c.find({}).toArray()).toHaveLength(250);
    expect(started.map((e) => e.commandName)).toEqual(['find', 'getMore']);
  });

  it('kills a cursor closed before its end; a getMore on it is CursorNotFound (43)', async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, n: i })));
    const cursor = c.find({}, { batchSize: 5 });
    expect(await cursor.next()).toMatchObject({ n: 0 });
    const id = cursor.id;
    await cursor.close();
    expect(started.map((e) => e.commandName)).toContain('killCursors');
    const error = await client
      .db(dbName)
      .command({ getMore: id!, collection: c.collectionName })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 43 });
  });

  it('inserts unordered past errors, reporting each with its index and code 11000', async () => {
    const c = coll();
    await c.insertOne({ _id: 'b', v: 0 });
    const error = await c
      .insertMany(
        [
          { _id: 'a', v: 1 },
          { _id: 'b', v: 2 },
          { _id: 'c', v: 3 },
          { _id: 'a', v: 4 },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulk = error as MongoBulkWriteError;
    expect(bulk.result.insertedCount).toBe(2);
    expect(bulk.writeErrors).toBeInstanceOf(Array);
    const errors = bulk.writeErrors as unknown as { index: number; code: number; errmsg?: string }[];
    expect(errors.map((e) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(errors[0]!.errmsg).toMatch(
      /^E11000 duplicate key error collection: .* index: _id_ dup key: \{ _id: "b" \}$/,
    );
    expect(await c.countDocuments()).toBe(3);
  });

  it('stops an ordered insert at the first error', async () => {
    const c = coll();
    const error = await c.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    expect((error as MongoBulkWriteError).result.insertedCount).toBe(1);
    expect(await c.countDocuments()).toBe(1);
  });

  it('refuses a document over 16 MiB: the driver before sending, the server with BadValue (2) as mongod 7.0', async () => {
    const c = coll();
    const big = { _id: 'big', blob: 'x'.repeat(16 * 1024 * 1024) };
    const driver = await c.insertMany([{ _id: 'ok' }, big], { ordered: false }).catch((e: unknown) => e);
    expect((driver as Error).message).toMatch(/Document is larger than the maximum size 16777216/);
    expect(await c.countDocuments()).toBe(0);
    // Sent as a plain command, the body may exceed 16 MiB by a little: the server refuses the one document.
    const reply = await client
      .db(dbName)
      .command({ insert: c.collectionName, documents: [{ _id: 'ok' }, big], ordered: false });
    expect(reply.n).toBe(1);
    expect(reply.writeErrors).toHaveLength(1);
    expect(reply.writeErrors[0]).toMatchObject({ index: 1, code: 2 });
    expect(reply.writeErrors[0].errmsg).toBe(
      `object to insert too large. size in bytes: ${calculateObjectSize(big)}, max size: 16777216`,
    );
  });

  it('filters with comparison, set, existence and logical operators, and dotted paths', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, n: 1, s: 'a', tags: ['x', 'y'], sub: { k: 1 } },
      { _id: 2, n: 2, s: 'b', tags: ['y'], sub: { k: 2 } },
      { _id: 3, n: 3, s: 'c', sub: { k: 3 }, none: null },
      { _id: 4, n: '4', s: 'd' },
    ]);
    const ids = async (filter: Record<string, unknown>) => (await c.find(filter).toArray()).map((d) => d._id);
    expect(await ids({ n: 2 })).toEqual([2]);
    expect(await ids({ n: { $eq: 2 } })).toEqual([2]);
    expect(await ids({ n: { $ne: 2 } })).toEqual([1, 3, 4]);
    // Comparisons stay within one type: the string '4' is not greater than 1.
    expect(await ids({ n: { $gt: 1 } })).toEqual([2, 3]);
    expect(await ids({ n: { $gte: 2, $lt: 3 } })).toEqual([2]);
    expect(await ids({ n: { $lte: 1 } })).toEqual([1]);
    expect(await ids({ s: { $in: ['a', 'c'] } })).toEqual([1, 3]);
    expect(await ids({ s: { $nin: ['a', 'c'] } })).toEqual([2, 4]);
    expect(await ids({ tags: 'y' })).toEqual([1, 2]);
    expect(await ids({ tags: { $exists: false } })).toEqual([3, 4]);
    expect(await ids({ none: null })).toEqual([1, 2, 3, 4]);
    expect(await ids({ none: { $exists: true } })).toEqual([3]);
    expect(await ids({ 'sub.k': { $gt: 1 } })).toEqual([2, 3]);
    expect(await ids({ $or: [{ n: 1 }, { s: 'd' }] })).toEqual([1, 4]);
    expect(await ids({ $and: [{ n: { $gt: 1 } }, { 'sub.k': { $lt: 3 } }] })).toEqual([2]);
    const error = await c
      .find({ n: { $frob: 1 } })
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 2 });
    expect((error as Error).message).toMatch(/unknown operator: \$frob/);
  });

  it('sorts by BSON type order, then skips, limits and projects', async () => {
    const c = coll();
    const oid = new ObjectId();
    const when = new Date(0);
    await c.insertMany([
      { _id: 1, v: 'b' },
      { _id: 2, v: 10 },
      { _id: 3, v: null },
      { _id: 4, v: true },
      { _id: 5, v: oid },
      { _id: 6, v: when },
      { _id: 7, v: 2.5 },
      { _id: 8, v: 'a' },
    ]);
    const sorted = await c.find({}).sort({ v: 1 }).toArray();
    expect(sorted.map((d) => d._id)).toEqual([3, 7, 2, 8, 1, 5, 4, 6]);
    const page = await c.find({}).sort({ _id: -1 }).skip(2).limit(3).toArray();
    expect(page.map((d) => d._id)).toEqual([6, 5, 4]);
    expect(await c.find({ _id: 1 }, { projection: { v: 1 } }).toArray()).toEqual([{ _id: 1, v: 'b' }]);
    expect(await c.find({ _id: 1 }, { projection: { _id: 0 } }).toArray()).toEqual([{ v: 'b' }]);
    expect(await c.find({ _id: 1 }, { projection: { v: 0 } }).toArray()).toEqual([{ _id: 1 }]);
  });

  it('counts with countDocuments (aggregate), estimatedDocumentCount (count) and filters', async () => {
    const c = coll();
    expect(await c.countDocuments()).toBe(0);
    await c.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i })));
    expect(await c.countDocuments()).toBe(30);
    expect(await c.countDocuments({ _id: { $gte: 10 } })).toBe(20);
    expect(await c.countDocuments({}, { skip: 5, limit: 10 })).toBe(10);
    expect(await c.estimatedDocumentCount()).toBe(30);
    expect(started.map((e) => e.commandName)).toContain('aggregate');
  });

  it('replaces, upserts and deletes', async () => {
    const c = coll();
    await c.insertOne({ _id: 'a', v: 1 });
    const result = await c.bulkWrite([
      { replaceOne: { filter: { _id: 'a' }, replacement: { _id: 'a', v: 2 }, upsert: true } },
      { replaceOne: { filter: { _id: 'b' }, replacement: { _id: 'b', v: 3 }, upsert: true } },
    ]);
    expect(result.matchedCount).toBe(1);
    expect(result.modifiedCount).toBe(1);
    expect(result.upsertedCount).toBe(1);
    expect(result.upsertedIds).toEqual({ 1: 'b' });
    await c.updateOne({ _id: 'c' }, { $set: { v: 4 } }, { upsert: true });
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', v: 2 },
      { _id: 'b', v: 3 },
      { _id: 'c', v: 4 },
    ]);
    expect((await c.deleteOne({ v: { $gt: 2 } })).deletedCount).toBe(1);
    expect((await c.deleteMany({ _id: { $in: ['a', 'b', 'c'] } })).deletedCount).toBe(2);
    expect(await c.countDocuments()).toBe(0);
  });

  it('creates, lists and drops collections and indexes', async () => {
    const c = coll();
    const db = client.db(dbName);
    await db.createCollection(c.collectionName);
    const exists = await db.createCollection(c.collectionName).catch((e: unknown) => e);
    expect(exists).toMatchObject({ code: 48 });
    expect((await db.listCollections().toArray()).map((i) => i.name)).toEqual([c.collectionName]);
    expect(await c.createIndex({ n: 1 })).toBe('n_1');
    expect((await c.listIndexes().toArray()).map((i: Doc) => i.name)).toEqual(['_id_', 'n_1']);
    expect(await c.drop()).toBe(true);
    expect(await db.listCollections().toArray()).toEqual([]);
    const missing = await c
      .listIndexes()
      .toArray()
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 26 });
  });

  it('refuses any credentials with AuthenticationFailed (18): it has no users', async () => {
    coll();
    const url = server.url.replace('mongodb://', 'mongodb://someone:wrong@');
    const other = new MongoClient(url, { serverSelectionTimeoutMS: 2000 });
    const error = await other.connect().catch((e: unknown) => e);
    await other.close();
    expect(error).toMatchObject({ code: 18 });
  });
});
