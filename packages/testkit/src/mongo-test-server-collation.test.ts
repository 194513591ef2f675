import type { CollationOptions, Collection, Document, UpdateFilter } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { collationOf, collationSpec } from './mongo-collation.js';
import { serverError, useMongoTestServer } from './mongo-test-server-fixture.js';
import { uniqueName } from './names.js';

// A collation changes which strings are equal and how they sort, wherever
// mongod compares values for a command: matching, sort, distinct, grouping,
// update operators that compare, and a unique index's own collation.
const mongo = useMongoTestServer();

type Doc = { _id: number; [key: string]: unknown };

function coll(): Collection<Doc> {
  return mongo.database('ferry_collation').collection(uniqueName('c'));
}

const caseless = { locale: 'en_US', strength: 2 };
const accentless = { locale: 'en_US', strength: 1 };

describe('collation parsing (unit)', () => {
  it('gives no collator for the simple collation, and one per strength otherwise', () => {
    expect(collationOf(undefined)).toBeUndefined();
    expect(collationOf({ locale: 'simple' })).toBeUndefined();
    expect(collationOf(caseless)!('PING', 'ping')).toBe(0);
    expect(collationOf({ locale: 'en_US' })!('PING', 'ping')).not.toBe(0);
    expect(collationOf(accentless)!('cafe', 'Café')).toBe(0);
    expect(collationOf({ locale: 'en_US', strength: 1, caseLevel: true })!('a', 'A')).not.toBe(0);
    expect(collationOf({ locale: 'en_US', strength: 1, caseLevel: true })!('a', 'á')).toBe(0);
  });

  it('fills in every field as mongod lists an index collation', () => {
    expect(collationSpec(caseless)).toEqual({
      locale: 'en_US',
      caseLevel: false,
      caseFirst: 'off',
      strength: 2,
      numericOrdering: false,
      alternate: 'non-ignorable',
      maxVariable: 'punct',
      normalization: false,
      backwards: false,
      version: '57.1',
    });
  });
});

describe('mongo test server: collation', () => {
  it('matches strings by the collation in find, count, countDocuments and aggregate $match', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, x: 'ping' },
      { _id: 2, x: 'PING' },
      { _id: 3, x: 'píng' },
      { _id: 4, x: 11 },
    ]);
    const ids = async (filter: Document, collation?: CollationOptions) =>
      (await c.find(filter, collation === undefined ? {} : { collation }).toArray()).map((d) => d._id);
    expect(await ids({ x: 'PING' })).toEqual([2]);
    expect(await ids({ x: 'PING' }, caseless)).toEqual([1, 2]);
    expect(await ids({ x: 'PING' }, accentless)).toEqual([1, 2, 3]);
    expect(await ids({ x: 'PING' }, { locale: 'en_US', strength: 3 })).toEqual([2]);
    expect(await ids({ x: { $in: ['PING', 11] } }, caseless)).toEqual([1, 2, 4]);
    expect(await ids({ x: { $ne: 'ping' } }, caseless)).toEqual([3, 4]);
    expect(await ids({ $expr: { $eq: ['$x', 'PING'] } }, caseless)).toEqual([1, 2]);
    expect(await c.countDocuments({ x: 'Ping' }, { collation: caseless })).toBe(2);
    expect(await c.countDocuments({ x: 'Ping' })).toBe(0);
    const count = await mongo.db.command({ count: c.collectionName, query: { x: 'Ping' }, collation: caseless });
    expect(count.n).toBe(2);
    const matched = await c.aggregate([{ $match: { x: 'PÍNG' } }], { collation: accentless }).toArray();
    expect(matched.map((d) => d._id)).toEqual([1, 2, 3]);
  });

  it('orders strings by the locale in sort and in range operators', async () => {
    const c = coll();
    const words = ['b', 'A', 'a', 'B', 'é', 'e', '10', '9'];
    await c.insertMany(words.map((x, i) => ({ _id: i, x })));
    const sorted = async (collation?: CollationOptions) =>
      (await c.find({}, { sort: { x: 1 }, ...(collation === undefined ? {} : { collation }) }).toArray()).map(
        (d) => d.x,
      );
    expect(await sorted()).toEqual(['10', '9', 'A', 'B', 'a', 'b', 'e', 'é']);
    expect(await sorted({ locale: 'en_US' })).toEqual(['10', '9', 'a', 'A', 'b', 'B', 'e', 'é']);
    expect(await sorted({ locale: 'en_US', numericOrdering: true })).toEqual(['9', '10', 'a', 'A', 'b', 'B', 'e', 'é']);
    const above = await c.find({ x: { $gt: 'a' } }, { collation: caseless, sort: { x: 1 } }).toArray();
    expect(above.map((d) => d.x)).toEqual(['b', 'B', 'e', 'é']);
    const grouped = await c
      .aggregate([{ $group: { _id: '$x', n: { $sum: 1 } } }, { $sort: { _id: 1 } }], { collation: accentless })
      .toArray();
    expect(grouped.map((g) => [g._id, g.n])).toEqual([
      ['10', 1],
      ['9', 1],
      ['A', 2],
      ['b', 2],
      ['é', 2],
    ]);
  });

  it('gives distinct values once per collation class, the first one met', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, s: 'PING' },
      { _id: 2, s: 'ping' },
      { _id: 3, s: 'pong' },
    ]);
    expect(await c.distinct('s', {}, { collation: caseless })).toEqual(['PING', 'pong']);
    expect(await c.distinct('s', {})).toEqual(['PING', 'ping', 'pong']);
  });

  it('applies the collation of each write: update, replace, delete, findOneAnd* and bulkWrite', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, x: 'ping' },
      { _id: 2, x: 'PING' },
      { _id: 3, x: 'pINg' },
    ]);
    expect((await c.updateMany({ x: 'Ping' }, { $set: { y: 1 } }, { collation: caseless })).modifiedCount).toBe(3);
    expect((await c.replaceOne({ x: 'PING' }, { x: 'pong' }, { collation: { locale: 'en_US' } })).matchedCount).toBe(1);
    const before = await c.findOneAndUpdate(
      { x: 'PING' },
      { $set: { z: 1 } },
      { collation: caseless, sort: { _id: -1 }, returnDocument: 'before' },
    );
    expect(before?._id).toBe(3);
    const result = await c.bulkWrite([
      { deleteOne: { filter: { x: 'PONG' }, collation: caseless } },
      { deleteMany: { filter: { x: 'PING' }, collation: caseless } },
    ]);
    expect(result.deletedCount).toBe(3);
    expect(await c.countDocuments()).toBe(0);
  });

  it('compares by the collation in $min, $max and $addToSet', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, low: 'b', high: 'B', tags: ['Red'] });
    // The driver's typings take $addToSet only on fields declared as arrays.
    const spec: Document = { $min: { low: 'B' }, $max: { high: 'b' }, $addToSet: { tags: 'RED' } };
    const update = spec as UpdateFilter<Doc>;
    const caselessResult = await c.updateOne({ _id: 1 }, update, { collation: caseless });
    expect(caselessResult.modifiedCount).toBe(0);
    await c.updateOne({ _id: 1 }, update);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, low: 'B', high: 'b', tags: ['Red', 'RED'] });
  });

  it("enforces a unique index by the index's own collation, not the operation's", async () => {
    const c = coll();
    await c.createIndex({ name: 1 }, { unique: true, collation: caseless });
    await c.createIndex({ code: 1 }, { unique: true });
    await c.insertOne({ _id: 1, name: 'Anna', code: 'a' });
    const duplicate = await serverError(c.insertOne({ _id: 2, name: 'ANNA', code: 'b' }));
    expect(duplicate.code).toBe(11000);
    // mongod shows the ICU sort key of a collated index's key in the message: only the index is compared.
    expect(duplicate.message).toMatch(/index: name_1 dup key/);
    await c.insertOne({ _id: 3, name: 'Bob', code: 'A' });
    await c.updateOne({ _id: 1 }, { $set: { name: 'anna' } });
    expect((await c.findOne({ _id: 1 }))?.name).toBe('anna');
    const indexes = await c.listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'name_1')?.collation).toMatchObject({ locale: 'en_US', strength: 2 });
    expect(indexes.find((i) => i.name === 'code_1')?.collation).toBeUndefined();
  });

  it('answers a malformed collation as mongod, and refuses by name what Intl cannot set exactly', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, x: 'a' });
    const find = (collation: Document) =>
      serverError(c.find({}, { collation: collation as CollationOptions }).toArray());
    expect(await find({ locale: 'xx_YY' })).toMatchObject({
      code: 2,
      message: expect.stringMatching(/^Field 'locale' is invalid/),
    });
    expect((await find({ strength: 2 })).code).toBe(40414);
    expect((await find({ locale: 'en_US', strengh: 2 })).code).toBe(40415);
    expect(await find({ locale: 'en_US', strength: 2, caseLevel: true })).toMatchObject({
      code: 238,
      message: 'the MongoDB test server does not implement collation caseLevel: true with strength 2',
    });
    expect((await find({ locale: 'en_US', alternate: 'shifted', maxVariable: 'space' })).message).toBe(
      "the MongoDB test server does not implement collation maxVariable: 'space' with alternate: 'shifted'",
    );
  });
});
