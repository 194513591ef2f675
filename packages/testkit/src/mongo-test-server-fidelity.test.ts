import { serialize } from 'bson';
import {
  type Collection,
  Decimal128,
  type Document,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  type UpdateFilter,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { serverError, useMongoTestServer } from './mongo-test-server-fixture.js';
import { uniqueName } from './names.js';

// What a test of ferry's M edges relies on: the server gives back exactly the
// BSON it was given, compares as mongod does, and refuses what it cannot do.
const mongo = useMongoTestServer();

type Id =
  | string
  | number
  | boolean
  | null
  | Date
  | Int32
  | Long
  | Double
  | Decimal128
  | MinKey
  | MaxKey
  | { k: number };
type Doc = { _id: Id; [key: string]: unknown };

/** A collection in a database of its own, read back without promoting any BSON type. */
function coll(): Collection<Doc> {
  return mongo.database('ferry_fidelity').collection(uniqueName('c'), { promoteValues: false, promoteLongs: false });
}

/** The BSON type name and value of a field as read back, e.g. `Long 5`. */
function typed(value: unknown): string {
  const type = (value as { _bsontype?: string })._bsontype ?? typeof value;
  if (value instanceof Double) return `Double ${Object.is(value.value, -0) ? '-0' : String(value.value)}`;
  return `${type} ${String(value)}`;
}

/** An `$inc` of BSON numbers: the driver's typings take only fields declared numeric. */
function inc(fields: Record<string, Int32 | Long | Double>): UpdateFilter<Doc> {
  return { $inc: fields } as UpdateFilter<Doc>;
}

describe('mongo test server: BSON number types kept as sent', () => {
  const sample = {
    _id: 'types',
    int32: new Int32(5),
    int64small: Long.fromNumber(5),
    int64mid: Long.fromNumber(2 ** 40),
    int64big: Long.fromBigInt(2n ** 53n + 1n),
    int64min: Long.MIN_VALUE,
    double1: new Double(1),
    double0: new Double(0),
    doubleNeg0: new Double(-0),
    doubleFrac: new Double(2.5),
    decimal: Decimal128.fromString('1.10'),
    decimalNeg0: Decimal128.fromString('-0'),
    nested: { list: [new Int32(1), Long.fromNumber(2), new Double(3), { d: Decimal128.fromString('3') }] },
  };

  it('gives back the very BSON bytes it stored', async () => {
    const c = coll();
    await c.insertOne(sample);
    const raw = await c.find({ _id: 'types' }, { raw: true }).toArray();
    expect(Buffer.from(raw[0] as unknown as Uint8Array).equals(Buffer.from(serialize(sample)))).toBe(true);
  });

  it('keeps Int32, Long, Double (1.0, 0.0, -0.0) and Decimal128 apart, nested too', async () => {
    const c = coll();
    await c.insertOne(sample);
    const back = (await c.findOne({ _id: 'types' }))!;
    expect(
      Object.fromEntries(
        Object.entries(back)
          .filter(([k]) => k !== '_id' && k !== 'nested')
          .map(([k, v]) => [k, typed(v)]),
      ),
    ).toEqual({
      int32: 'Int32 5',
      int64small: 'Long 5',
      int64mid: `Long ${2 ** 40}`,
      int64big: `Long ${2n ** 53n + 1n}`,
      int64min: `Long ${-(2n ** 63n)}`,
      double1: 'Double 1',
      double0: 'Double 0',
      doubleNeg0: 'Double -0',
      doubleFrac: 'Double 2.5',
      decimal: 'Decimal128 1.10',
      decimalNeg0: 'Decimal128 -0',
    });
    expect((back.nested as { list: unknown[] }).list.map(typed)).toEqual([
      'Int32 1',
      'Long 2',
      'Double 3',
      'object [object Object]',
    ]);
  });

  it('matches numbers by value across types, exactly beyond 2^53', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, n: Long.fromNumber(5) },
      { _id: 2, n: Long.fromBigInt(2n ** 53n + 1n) },
      { _id: 3, n: Decimal128.fromString('0.1') },
      { _id: 4, n: new Double(0.1) },
    ]);
    const ids = async (filter: Document) => (await c.find(filter).toArray()).map((d) => typed(d._id));
    expect(await ids({ n: new Int32(5) })).toEqual(['Int32 1']);
    expect(await ids({ n: new Double(5) })).toEqual(['Int32 1']);
    expect(await ids({ n: Decimal128.fromString('5.00') })).toEqual(['Int32 1']);
    // 2^53 + 1 is not the double 2^53, which a JS number would round it to.
    expect(await ids({ n: new Double(2 ** 53) })).toEqual([]);
    expect(await ids({ n: { $gt: new Double(2 ** 53) } })).toEqual(['Int32 2']);
    // Decimal 0.1 is exactly 1/10; the double 0.1 is not, and is a little above it.
    expect(await ids({ n: Decimal128.fromString('0.1') })).toEqual(['Int32 3']);
    expect(await ids({ n: { $gt: Decimal128.fromString('0.1'), $lt: new Int32(1) } })).toEqual(['Int32 4']);
    const sorted = await c.find({}, { sort: { n: 1 } }).toArray();
    expect(sorted.map((d) => typed(d._id))).toEqual(['Int32 3', 'Int32 4', 'Int32 1', 'Int32 2']);
  });

  it('treats numerically equal _ids of any type as one key, and only those', async () => {
    const c = coll();
    await c.insertOne({ _id: new Int32(1) });
    for (const id of [new Double(1), Long.fromNumber(1), Decimal128.fromString('1.0')]) {
      const error = await serverError(c.insertOne({ _id: id }));
      expect(error.code).toBe(11000);
    }
    await c.insertOne({ _id: Decimal128.fromString('0.1') });
    await c.insertOne({ _id: new Double(0.1) });
    expect(Number(await c.countDocuments())).toBe(3);
  });

  it('applies $set and $inc with mongod type rules, and a change of type counts as a modification', async () => {
    const c = coll();
    await c.insertOne({
      _id: 1,
      i: new Int32(5),
      max: new Int32(2 ** 31 - 1),
      l: Long.fromNumber(5),
      top: Long.MAX_VALUE,
    });
    await c.updateOne({ _id: 1 }, inc({ i: new Int32(1), max: new Int32(1), l: new Int32(1) }));
    const back = (await c.findOne({ _id: 1 }))!;
    expect([back.i, back.max, back.l].map(typed)).toEqual(['Int32 6', `Long ${2 ** 31}`, 'Long 6']);
    await c.updateOne({ _id: 1 }, inc({ i: new Double(0.5) }));
    expect(typed((await c.findOne({ _id: 1 }))!.i)).toBe('Double 6.5');
    const overflow = await serverError(c.updateOne({ _id: 1 }, inc({ top: new Int32(1) })));
    expect(overflow.code).toBe(2);
    // Same value, other type: mongod compares BSON bytes, so this is a modification.
    const retyped = await c.updateOne({ _id: 1 }, { $set: { l: new Double(6) } });
    expect(Number(retyped.modifiedCount)).toBe(1);
    expect(typed((await c.findOne({ _id: 1 }))!.l)).toBe('Double 6');
    const same = await c.updateOne({ _id: 1 }, { $set: { l: new Double(6) } });
    expect(Number(same.modifiedCount)).toBe(0);
  });

  it('returns the document of findOneAndUpdate with its types, before or after', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, n: Long.fromNumber(41) });
    const before = await c.findOneAndUpdate({ _id: 1 }, inc({ n: Long.fromNumber(1) }));
    expect(typed(before!.n)).toBe('Long 41');
    const after = await c.findOneAndUpdate({ _id: 1 }, inc({ n: new Int32(1) }), { returnDocument: 'after' });
    expect(typed(after!.n)).toBe('Long 43');
  });
});

describe('mongo test server: MinKey and MaxKey bound every value', () => {
  it('finds every other document with $gt: MinKey and $lt: MaxKey, on _id and on other fields', async () => {
    const c = coll();
    const values = [new MinKey(), null, new Int32(1), 'a', { k: 1 }, true, new Date(0), new MaxKey()];
    await c.insertMany(values.map((v, i) => ({ _id: v, i: new Int32(i), v })));
    const found = async (filter: Document) =>
      (await c.find(filter, { sort: { i: 1 } }).toArray()).map((d) => (d.i as Int32).value);
    expect(await found({ _id: { $gt: new MinKey() } })).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await found({ _id: { $lt: new MaxKey() } })).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await found({ _id: { $gte: new MinKey(), $lte: new MaxKey() } })).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await found({ v: { $gt: new MinKey(), $lt: new MaxKey() } })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await found({ _id: { $lt: new MinKey() } })).toEqual([]);
  });
});

describe('mongo test server: refuses what it does not implement', () => {
  it('answers an unknown command field with 40415, as mongod', async () => {
    const c = coll();
    const error = await serverError(mongo.db.command({ find: c.collectionName, filtr: {} }));
    expect(error.code).toBe(40415);
    expect(error.message).toBe(`BSON field 'find.filtr' is an unknown field.`);
    const inStatement = await serverError(
      mongo.db.command({ update: c.collectionName, updates: [{ q: {}, u: { $set: { a: 1 } }, mutli: true }] }),
    );
    expect(inStatement.message).toBe(`BSON field 'update.updates.mutli' is an unknown field.`);
  });

  it('refuses a collation setting Intl cannot give exactly, naming it', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, x: 'PING' });
    const error = await serverError(c.find({ x: 'ping' }, { collation: { locale: 'en_US', strength: 4 } }).toArray());
    expect(error.code).toBe(238);
    expect(error.message).toBe('the MongoDB test server does not implement collation strength 4 (quaternary)');
    expect(await c.find({ x: 'PING' }, { collation: { locale: 'simple' } }).toArray()).toHaveLength(1);
  });

  it('refuses options and expression operators mongod has and it lacks, by name', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, a: new Int32(1) });
    const returnKey = await serverError(mongo.db.command({ find: c.collectionName, returnKey: true }));
    expect(returnKey.message).toBe("the MongoDB test server does not implement the option 'returnKey' of find");
    const pipeline = await serverError(c.updateOne({ _id: 1 }, [{ $set: { b: { $concat: ['x', 'y'] } } }]));
    expect(pipeline.message).toBe('the MongoDB test server does not implement the expression operator $concat');
    const capped = await serverError(mongo.db.createCollection(uniqueName('capped'), { capped: true, size: 4096 }));
    expect(capped.message).toBe("the MongoDB test server does not implement the option 'capped' of create");
  });

  it('takes a hint that names an existing index and refuses one that does not, as mongod', async () => {
    const c = coll();
    await c.insertOne({ _id: 1 });
    expect(await c.find({}, { hint: '_id_' }).toArray()).toHaveLength(1);
    expect(await c.find({}, { hint: { _id: 1 } }).toArray()).toHaveLength(1);
    const error = await serverError(c.find({}, { hint: 'nope_1' }).toArray());
    expect(error.code).toBe(2);
    expect(error.message).toBe('hint provided does not correspond to an existing index');
    const update = await serverError(c.updateOne({ _id: 1 }, { $set: { a: 1 } }, { hint: { a: 1 } }));
    expect(update.code).toBe(2);
  });

  it('applies arrayFilters, let with $expr, and unique indexes rather than ignoring them', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, y: [{ b: new Int32(1) }, { b: new Int32(2) }] });
    await c.updateOne({ _id: 1 }, { $set: { 'y.$[i].b': new Int32(9) } }, { arrayFilters: [{ 'i.b': new Int32(2) }] });
    expect(((await c.findOne({ _id: 1 }))!.y as { b: Int32 }[]).map((e) => e.b.value)).toEqual([1, 9]);
    const found = await c.find({ $expr: { $eq: ['$_id', '$$wanted'] } }, { let: { wanted: 1 } }).toArray();
    expect(found).toHaveLength(1);
    await c.createIndex({ x: 1 }, { unique: true });
    await c.insertOne({ _id: 2, x: 'a' });
    const duplicate = await serverError(c.insertOne({ _id: 3, x: 'a' }));
    expect(duplicate.code).toBe(11000);
    expect(duplicate.message).toMatch(/index: x_1 dup key: \{ x: "a" \}/);
    expect(Object.keys(duplicate.errorResponse.keyPattern as Document)).toEqual(['x']);
    expect(duplicate.errorResponse.keyValue).toEqual({ x: 'a' });
  });

  it('refuses a transaction rather than running its writes one by one', async () => {
    const c = coll();
    const session = mongo.client.startSession();
    try {
      session.startTransaction();
      const error = await serverError(c.insertOne({ _id: 1 }, { session }));
      expect(error.message).toMatch(/does not implement transactions/);
    } finally {
      await session.endSession();
    }
    expect(Number(await c.countDocuments())).toBe(0);
  });

  it('still takes what the driver sends with every command: sessions, concerns, comments, API version', async () => {
    const c = coll();
    const session = mongo.client.startSession();
    try {
      await c.insertOne({ _id: 1 }, { session, writeConcern: { w: 1, journal: true }, comment: 'x' });
      const read = await c
        .find({}, { session, readConcern: { level: 'local' }, comment: 'y', maxTimeMS: 1000 })
        .toArray();
      expect(read).toHaveLength(1);
    } finally {
      await session.endSession();
    }
    const versioned = new MongoClient(mongo.server.url, { serverApi: { version: '1', strict: true } });
    try {
      await versioned.db(mongo.db.databaseName).collection<Doc>(c.collectionName).insertOne({ _id: 2 });
      expect(await versioned.db(mongo.db.databaseName).collection(c.collectionName).countDocuments()).toBe(2);
    } finally {
      await versioned.close();
    }
  });
});
