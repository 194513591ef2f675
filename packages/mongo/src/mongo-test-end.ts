import type { HeldRecord, OpenTestEnd, RecordValue, TestEnd } from '@ferry/core';
import { endName } from '@ferry/testkit/ends';
import { startTestMongo } from '@ferry/testkit/mongo-test-server';
import { Binary, BSON, type Document, Long, MongoClient } from 'mongodb';
import { mongoFidelity } from './mongo-fidelity.js';

const seedChunk = 5000;

/** A value as an outside writer inserts it: integers as Int64, bytes as Binary, the rest as BSON has them. */
function bsonOf(value: RecordValue): Document {
  const doc: Document = {};
  for (const [key, item] of Object.entries(value)) {
    let held: unknown = item;
    if (typeof item === 'bigint') held = Long.fromBigInt(item);
    else if (item instanceof Uint8Array) held = new Binary(item);
    else if (typeof item === 'object' && item !== null && !(item instanceof Date)) {
      throw new Error(`[mongo test end] cannot seed key "${key}": only scalar values`);
    }
    Object.defineProperty(doc, key, { value: held, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** A document as a held record: `_id` as its id, each other field as text (Binary as its bytes, documents and arrays as relaxed Extended JSON). */
function heldOf(doc: Document): HeldRecord {
  const { _id, ...rest } = doc;
  const value: Record<string, string | Buffer | null> = {};
  for (const [key, item] of Object.entries(rest)) {
    let held: string | Buffer | null;
    if (item === null) held = null;
    else if (item instanceof Binary) held = Buffer.from(item.buffer);
    else if (typeof item === 'object' && !(item instanceof Date) && !('_bsontype' in item)) {
      held = BSON.EJSON.stringify(item as Document);
    } else held = item instanceof Date ? item.toISOString() : String(item);
    Object.defineProperty(value, key, { value: held, enumerable: true, writable: true, configurable: true });
  }
  return { id: typeof _id === 'string' ? _id : BSON.EJSON.stringify(_id), value };
}

/**
 * MongoDB (M): MONGO_URL, else a mongod on PATH, else the in-repo test
 * server, started for the end; a database of its own, dropped by `close`.
 */
export const openMongoTestEnd: OpenTestEnd = async ({ scope }) => {
  const mongo = await startTestMongo();
  const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  const database = endName({ prefix: 'ferry_', scope, label: 'db', separator: '_', allowed: /\w/ });
  const db = client.db(database);
  const name = (label: string) => endName({ prefix: 'test.', scope, label, separator: '.', allowed: /[\w.-]/ });
  const end: TestEnd = {
    connection: () => ({ kind: 'mongo', url: mongo.url, database }),
    name,
    endpoint: (name) => ({ collection: name }),
    // An insert makes the collection.
    create: async () => undefined,
    async seed(name, values) {
      // Ids that sort as the values come: the source reads in _id order.
      const ids = values.map((_, i) => `m-${String(i).padStart(8, '0')}`);
      for (let start = 0; start < values.length; start += seedChunk) {
        const docs = values.slice(start, start + seedChunk).map((value, i) => ({
          ...bsonOf(value),
          _id: ids[start + i] as never,
        }));
        await db.collection(name).insertMany(docs);
      }
      return ids;
    },
    async readBack(name) {
      return (await db.collection(name).find({}).toArray()).map(heldOf);
    },
    count: (name) => db.collection(name).countDocuments(),
    // A copy-mode source leaves the documents; its checkpoint says what was read.
    left: async () => undefined,
    async drop(name) {
      await db
        .collection(name)
        .drop()
        .catch(() => undefined);
    },
    fidelity: mongoFidelity(db, mongo.url, name),
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
      await mongo.close();
    },
  };
  return end;
};

export { canonical, readCollection } from './mongo-fidelity.js';
