import { createMongoSink, createMongoSource } from '@ferry/mongo';
import {
  addEntriesScript,
  createRedisStreamSink,
  createRedisStreamSource,
  decodeFields,
  encodeFields,
  scriptChunk,
} from '@ferry/redis-stream';
import { startTestMongo, type TestMongo } from '@ferry/testkit/mongo-test-server';
import { Redis } from 'ioredis';
import { BSON, type Db, type Document, MongoClient, ObjectId } from 'mongodb';
import {
  type BenchCase,
  type BenchContext,
  checkMoved,
  type PreparedCase,
  type Timed,
  timedPump,
} from './bench-case.js';
import { seedStream, trimBelow } from './s2s.js';

const { EJSON } = BSON;

interface Environment {
  readonly mongo: TestMongo;
  readonly client: MongoClient;
  readonly db: Db;
  readonly database: string;
  readonly redis: Redis;
  name(role: string): string;
}

/**
 * MONGO_URL when given (a real mongod), else a mongod on PATH, else the
 * in-repo test server, started here: the rates then measure the test
 * server as much as ferry, which is why the pump and the loop share it.
 */
async function environment(ctx: BenchContext, edge: string): Promise<Environment> {
  const mongo = await startTestMongo();
  const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  const database = `ferry_bench_${process.pid}_${ctx.round}_${edge}`;
  return {
    mongo,
    client,
    db: client.db(database),
    database,
    redis: new Redis(ctx.redisUrl),
    name: (role) => `ferry.bench.${process.pid}.${ctx.round}.${edge}.${role}`,
  };
}

function prepared(env: Environment, pump: () => Promise<Timed>, loop: () => Promise<Timed>): PreparedCase {
  return {
    pump,
    loop,
    async close() {
      await env.db.dropDatabase().catch(() => undefined);
      await env.client.close();
      await env.redis.quit();
      await env.mongo.close();
    },
  };
}

export const s2m: BenchCase = {
  edge: 'S2M',
  defaultRecords: 100_000,
  async prepare(ctx) {
    const env = await environment(ctx, 's2m');
    const options = { url: env.mongo.url, database: env.database };
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = env.name(`${side}-in`);
      const to = `${side}_out`;
      await env.redis.del(from);
      await seedStream(env.redis, from, ctx.records);
      const timed = await move(from, to);
      checkMoved(
        'S2M',
        ctx.records,
        timed.records,
        await env.redis.xlen(from),
        await env.db.collection(to).countDocuments(),
      );
      await env.db.collection(to).drop();
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createRedisStreamSource({ url: ctx.redisUrl, stream: from }),
            createMongoSink({ ...options, collection: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          // The sink's calls: XRANGE, insertMany unordered with _id = entry id, XTRIM of the acked head.
          const collection = env.db.collection(to, { writeConcern: { w: 'majority' } });
          const started = performance.now();
          let moved = 0;
          for (;;) {
            const entries = await env.redis.xrange(from, '-', '+', 'COUNT', ctx.batchSize);
            if (entries.length === 0) break;
            const docs = entries.map(([id, fields]) => ({ _id: id, ...decodeFields(fields) }) as Document);
            await collection.insertMany(docs, { ordered: false });
            await trimBelow(env.redis, from, entries[entries.length - 1]![0]);
            moved += entries.length;
          }
          return { records: moved, seconds: (performance.now() - started) / 1000 };
        }),
    );
  },
};

const seedChunk = 10_000;

/** Small documents like the stream entries of the other benches, with increasing ObjectIds. */
async function seedCollection(db: Db, name: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += seedChunk) {
    const docs = [];
    for (let i = start; i < Math.min(count, start + seedChunk); i++) {
      docs.push({ _id: new ObjectId(), task: `task-${i}`, n: i, text: 'hello from the bench' });
    }
    await db.collection(name).insertMany(docs, { ordered: false });
  }
}

export const m2s: BenchCase = {
  edge: 'M2S',
  defaultRecords: 100_000,
  async prepare(ctx) {
    const env = await environment(ctx, 'm2s');
    const options = { url: env.mongo.url, database: env.database };
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = `${side}_in`;
      const to = env.name(`${side}-out`);
      await env.redis.del(to);
      await seedCollection(env.db, from, ctx.records);
      const timed = await move(from, to);
      // Copy mode leaves the documents: what is left to read is what lies after the checkpoint.
      checkMoved('M2S', ctx.records, timed.records, 0, await env.redis.xlen(to));
      await env.db.collection(from).drop();
      await env.redis.del(to);
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createMongoSource({ ...options, collection: from }),
            createRedisStreamSink({ url: ctx.redisUrl, stream: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          // The source's calls: find after the checkpoint in _id order, XADD through the sink's script,
          // then the checkpoint saved with replaceOne upsert.
          const collection = env.db.collection(from);
          const checkpoints = env.db.collection<{ _id: string; position: string; updatedAt: Date }>(
            'ferry_checkpoints',
          );
          const started = performance.now();
          let moved = 0;
          let last: unknown;
          for (;;) {
            const filter = last === undefined ? {} : { _id: { $gt: last } };
            const docs = await collection
              .find(filter as Document, { sort: { _id: 1 }, limit: ctx.batchSize, batchSize: ctx.batchSize })
              .toArray();
            if (docs.length === 0) break;
            const pipeline = env.redis.pipeline();
            for (let start = 0; start < docs.length; start += scriptChunk) {
              const args: (string | number | Buffer)[] = [addEntriesScript, 1, to, ''];
              for (const doc of docs.slice(start, start + scriptChunk)) {
                const fields = encodeFields(EJSON.serialize(doc, { relaxed: true }));
                args.push(fields.length + 2, ...fields, '_source_id', (doc._id as ObjectId).toHexString());
              }
              pipeline.call('EVAL', ...args);
            }
            for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
            last = docs[docs.length - 1]!._id;
            await checkpoints.replaceOne(
              { _id: `${env.database}.${from}` },
              { position: EJSON.stringify({ v: last } as Document, { relaxed: false }), updatedAt: new Date() },
              { upsert: true },
            );
            moved += docs.length;
          }
          return { records: moved, seconds: (performance.now() - started) / 1000 };
        }),
    );
  },
};
