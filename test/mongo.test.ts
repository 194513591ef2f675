import { randomBytes } from 'node:crypto';
import { startTestMongo, type TestMongo } from '@ferry/testkit/mongo-test-server';
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';

// MONGO_URL when given; else a mongod on PATH; else the in-repo test server.
let mongo: TestMongo;
let client: MongoClient;
let db: Db;
const database = `ferry_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
const streams = new TestStreams();
const vhost = new TestVhost();

beforeAll(async () => {
  mongo = await startTestMongo();
  client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  db = client.db(database);
  await vhost.setUp();
}, 60_000);
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
  await mongo.close();
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

/** A config with Redis (`default`), RabbitMQ (`rabbit`) and MongoDB (`mongo`), plus the given flows. */
function config(flows: string): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
      `  mongo: { kind: mongo, url: "${mongo.url}", database: ${database} }`,
      'flows:',
      flows,
    ].join('\n'),
  );
}

describe('S2M, M2S, Q2M, M2Q and M2M through the ferry CLI', () => {
  it('moves 10,000 records S2M with exact count and values, then M2S back in _id order', async () => {
    const origin = streams.name('s2m.in');
    const back = streams.name('m2s.out');
    const collection = streams.name('s2m.docs');
    const ids = await streams.seed(origin, 10_000);
    const file = config(
      [
        '  s2m:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: mongo, collection: ${collection} }`,
        '  m2s:',
        `    source: { connection: mongo, collection: ${collection} }`,
        `    sink: { stream: ${back} }`,
      ].join('\n'),
    );

    const s2m = await ferry(['run', file, 's2m']);
    expect(s2m.stderr).toBe('');
    expect(s2m.code).toBe(0);
    expect(lastLine(s2m.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    expect(await streams.len(origin)).toBe(0);
    const docs = await db.collection(collection).find({}).toArray();
    expect(docs).toHaveLength(10_000);
    const byId = new Map(docs.map((doc) => [doc._id as unknown as string, doc]));
    ids.forEach((id, i) => {
      // Stream fields are text, and stay text in the documents.
      expect(byId.get(id)).toEqual({ _id: id, n: String(i), name: `msg-${i}`, tags: '["e2e"]' });
    });

    const m2s = await ferry(['run', file, 'm2s']);
    expect(m2s.stderr).toBe('');
    expect(m2s.code).toBe(0);
    expect(lastLine(m2s.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    // Copy mode: the documents stay, the checkpoint moved past the last one.
    expect(await db.collection(collection).countDocuments()).toBe(10_000);
    const out = await streams.entries(back);
    // MongoDB orders string _ids by their bytes.
    expect(out.map((entry) => entry._source_id)).toEqual([...ids].sort());
    expect(out[0]).toMatchObject({ _id: ids.slice().sort()[0], name: expect.stringMatching(/^msg-/) });
    const again = await ferry(['run', file, 'm2s']);
    expect(lastLine(again.stdout)).toMatch(/^moved 0 records/);
  });

  it('moves Q2M keeping the messageId as _id, then M2Q in move mode leaving the collection empty', async () => {
    const queue = streams.name('q2m.queue');
    const collection = streams.name('q2m.docs');
    const outQueue = streams.name('m2q.queue');
    await vhost.publish(
      queue,
      Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i, kind: 'order' })),
      Array.from({ length: 300 }, (_, i) => `order-${String(i).padStart(3, '0')}`),
    );
    const file = config(
      [
        '  q2m:',
        `    source: { connection: rabbit, queue: ${queue} }`,
        `    sink: { connection: mongo, collection: ${collection} }`,
        '    batchSize: 100',
        '  m2q:',
        `    source: { connection: mongo, collection: ${collection}, mode: move }`,
        `    sink: { connection: rabbit, queue: ${outQueue}, declare: true }`,
      ].join('\n'),
    );
    const q2m = await ferry(['run', file, 'q2m']);
    expect(q2m.code, q2m.stderr).toBe(0);
    expect(lastLine(q2m.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
    expect(await vhost.count(queue)).toBe(0);
    const docs = await db.collection(collection).find({}).sort({ _id: 1 }).toArray();
    expect(docs).toHaveLength(300);
    expect(docs[7]).toEqual({ _id: 'order-007', n: 7, kind: 'order' });

    const m2q = await ferry(['run', file, 'm2q']);
    expect(m2q.code, m2q.stderr).toBe(0);
    expect(lastLine(m2q.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
    expect(await db.collection(collection).countDocuments()).toBe(0);
    const messages = await vhost.drain(outQueue);
    expect(messages.map((m) => m.messageId)).toEqual(docs.map((d) => d._id));
    expect(messages[7]!.body).toEqual({ _id: 'order-007', n: 7, kind: 'order' });
  });

  it('copies M2M with ObjectId and Date kept as BSON types', async () => {
    const from = streams.name('m2m.a');
    const to = streams.name('m2m.b');
    const docs = Array.from({ length: 500 }, (_, i) => ({
      _id: new ObjectId(),
      at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
      n: i,
      nested: { ok: i % 2 === 0 },
    }));
    await db.collection(from).insertMany(docs);
    const file = config(
      [
        '  m2m:',
        `    source: { connection: mongo, collection: ${from} }`,
        `    sink: { connection: mongo, collection: ${to} }`,
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'm2m']);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 500 records .*; stopped: source empty$/);
    expect(await db.collection(to).find({}).sort({ _id: 1 }).toArray()).toEqual(docs);
  });

  it('dead-letters a document over 16 MiB in S2M with the reason, and writes the rest', async () => {
    const origin = streams.name('big.in');
    const dead = streams.name('big.dead');
    const collection = streams.name('big.docs');
    const ids = await streams.seed(origin, 20);
    const bigId = await streams.redis.xadd(origin, '*', 'n', '20', 'blob', 'x'.repeat(17 * 1024 * 1024));
    await streams.seed(origin, 5);
    const file = config(
      [
        '  s2m:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: mongo, collection: ${collection} }`,
        `    deadLetter: { stream: ${dead}, codec: json }`,
      ].join('\n'),
    );
    const run = await ferry(['run', file, 's2m']);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 25 records .*; dead-lettered 1; stopped: source empty$/);
    expect(await db.collection(collection).countDocuments()).toBe(25);
    expect(await db.collection(collection).countDocuments({ _id: bigId as never })).toBe(0);
    expect(await db.collection(collection).countDocuments({ _id: ids[0] as never })).toBe(1);
    const [letter] = await streams.entries(dead);
    expect(JSON.parse(letter!.data!)).toMatchObject({
      sourceId: bigId,
      reason: expect.stringMatching(/over MongoDB's limit of 16777216 bytes/),
    });
    expect(await streams.len(origin)).toBe(0);
  });

  it('refuses a move whose filter runs JavaScript (exit 2, naming its path): every document stays', async () => {
    const collection = streams.name('where.docs');
    const out = streams.name('where.out');
    await db.collection<{ _id: number }>(collection).insertMany([1, 2, 3].map((n) => ({ _id: n })));
    const filter = `{ $or: [{ _id: 1 }, { $where: "true" }] }`;
    const file = config(
      [
        '  m2s:',
        `    source: { connection: mongo, collection: ${collection}, mode: move, filter: ${filter} }`,
        `    sink: { stream: ${out} }`,
      ].join('\n'),
    );

    const refused = await ferry(['run', file, 'm2s']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "filter.$or.1.$where: $where runs JavaScript on the server: refused unless the connection's allowOperators names it",
    );
    expect(await db.collection(collection).countDocuments()).toBe(3);
    expect(await streams.len(out)).toBe(0);
  });
});
