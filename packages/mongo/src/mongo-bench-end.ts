import type { BenchEnd, OpenBenchEnd } from '@ferry/core';
import { BSON, type Document, MongoClient, ObjectId } from 'mongodb';
import { documentToValue, recordToDocument, renderId } from './mongo-codec.js';
import { createMongoSink } from './mongo-sink.js';
import { createMongoSource } from './mongo-source.js';

const { EJSON } = BSON;
const mongoUrl = () => process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const seedChunk = 10_000;

/**
 * MongoDB (M) on MONGO_URL: copy-mode sources (a checkpoint per batch, the
 * documents stay), inserting sinks. Where MONGO_URL is not given, `npm run
 * bench` starts a server (a real mongod on PATH, else the in-repo test
 * server) in its own process and sets it, so that its memory is not the
 * edge's. The rates on the test server measure it as much as ferry, which is
 * why the pump and the loop share it.
 */
export const openMongoBenchEnd: OpenBenchEnd = async (_ctx, scope) => {
  const url = mongoUrl();
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  const database = `ferry_bench_${scope}`;
  const db = client.db(database);
  const options = (collection: string) => ({ url, database, collection });
  const end: BenchEnd = {
    async seed(name, count) {
      // Small documents like the stream entries of the other benches, with increasing ObjectIds.
      for (let start = 0; start < count; start += seedChunk) {
        const docs = [];
        for (let i = start; i < Math.min(count, start + seedChunk); i++) {
          docs.push({ _id: new ObjectId(), task: `task-${i}`, n: i, text: 'hello from the bench' });
        }
        await db.collection(name).insertMany(docs, { ordered: false });
      }
    },
    // Copy mode leaves the documents: what is left to read is what lies after the checkpoint.
    left: async () => 0,
    source: (name) => createMongoSource(options(name)),
    async drain(name, batchSize, _expected, write) {
      // The source's calls: find after the checkpoint in _id order, then the checkpoint saved with replaceOne upsert.
      const collection = db.collection(name);
      const checkpoints = db.collection<{ _id: string; position: string; updatedAt: Date }>('ferry_checkpoints');
      let moved = 0;
      let last: unknown;
      for (;;) {
        const filter = last === undefined ? {} : { _id: { $gt: last } };
        const docs = await collection
          .find(filter as Document, { sort: { _id: 1 }, limit: batchSize, batchSize })
          .toArray();
        if (docs.length === 0) return moved;
        await write(docs.map((doc) => ({ id: renderId(doc._id), value: documentToValue(doc) })));
        last = docs[docs.length - 1]!._id;
        await checkpoints.replaceOne(
          { _id: `${database}.${name}` },
          { position: EJSON.stringify({ v: last } as Document, { relaxed: false }), updatedAt: new Date() },
          { upsert: true },
        );
        moved += docs.length;
      }
    },
    async fresh(name) {
      await db
        .collection(name)
        .drop()
        .catch(() => undefined);
    },
    arrived: (name) => db.collection(name).countDocuments(),
    sink: (name) => createMongoSink(options(name)),
    writer(name) {
      // The sink's call: insertMany unordered, majority write concern, _id = the record id (or the value's own, M2M).
      const collection = db.collection(name, { writeConcern: { w: 'majority' } });
      return async (records) => {
        await collection.insertMany(
          records.map((record) => recordToDocument({ ...record, readAt: 0, bytes: 0 })),
          { ordered: false },
        );
      };
    },
    async drop(name) {
      await db.collection(name).drop();
    },
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
  return end;
};
