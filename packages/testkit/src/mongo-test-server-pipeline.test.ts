import type { Collection } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { evaluate } from './mongo-expression.js';
import { shapeStage } from './mongo-stages.js';
import { serverError, useMongoTestServer } from './mongo-test-server-fixture.js';
import { uniqueName } from './names.js';

// Pipeline-style updates (an array of stages as the update) and the
// aggregation stages they are made of, including the $setField/$getField
// route to field names with dots or a leading `$`.
const mongo = useMongoTestServer();

type Doc = { _id: number; [key: string]: unknown };

function coll(): Collection<Doc> {
  return mongo.database('ferry_pipeline').collection(uniqueName('c'));
}

describe('shaping stages and field expressions (unit)', () => {
  it('sets, merges, projects and replaces as aggregation does', () => {
    const doc = { _id: 1, a: { b: 1, c: 2 }, l: [{ k: 1 }, { k: 2 }], t: { u: 1 } };
    expect(shapeStage('$set', { 'a.d': '$t.u', n: { m: '$a.b' } })!(doc, {})).toEqual({
      ...doc,
      a: { b: 1, c: 2, d: 1 },
      n: { m: 1 },
    });
    expect(shapeStage('$project', { 'a.b': 1, 'l.k': 1 })!(doc, {})).toEqual({
      _id: 1,
      a: { b: 1 },
      l: [{ k: 1 }, { k: 2 }],
    });
    expect(shapeStage('$unset', ['a.c', 'l', '_id'])!(doc, {})).toEqual({ a: { b: 1 }, t: { u: 1 } });
    expect(shapeStage('$replaceWith', '$t')!(doc, {})).toEqual({ u: 1 });
    expect(evaluate('$l.k', doc)).toEqual([1, 2]);
  });

  it('reads and writes field names with dots and dollars through $getField/$setField', () => {
    const doc = { _id: 1, 'a.b': 1, $c: 2 };
    expect(evaluate({ $getField: 'a.b' }, doc)).toBe(1);
    expect(evaluate({ $getField: { field: { $literal: '$c' }, input: '$$ROOT' } }, doc)).toBe(2);
    expect(evaluate({ $setField: { field: 'x.y', input: '$$ROOT', value: 3 } }, doc)).toEqual({ ...doc, 'x.y': 3 });
    expect(evaluate({ $unsetField: { field: 'a.b', input: '$$ROOT' } }, doc)).toEqual({ _id: 1, $c: 2 });
    expect(evaluate({ $setField: { field: 'a', input: null, value: 1 } }, doc)).toBeNull();
  });
});

describe('mongo test server: pipeline-style updates', () => {
  it('runs $project, $addFields, $unset and $replaceRoot with updateOne, updateMany and findOneAndUpdate', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, x: 1, y: 1, t: { u: { v: 1 } } },
      { _id: 2, x: 2, y: 1 },
    ]);
    const many = await c.updateMany({}, [{ $project: { x: 1 } }, { $addFields: { foo: 1 } }]);
    expect([many.matchedCount, many.modifiedCount]).toEqual([2, 2]);
    expect(await c.find().toArray()).toEqual([
      { _id: 1, x: 1, foo: 1 },
      { _id: 2, x: 2, foo: 1 },
    ]);
    await c.updateOne({ _id: 1 }, [{ $set: { t: { u: { v: '$x' } } } }, { $replaceRoot: { newRoot: '$t' } }]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, u: { v: 1 } });
    const after = await c.findOneAndUpdate({ _id: 2 }, [{ $set: { sum: ['$x', '$foo'] } }, { $unset: 'foo' }], {
      returnDocument: 'after',
    });
    expect(after).toEqual({ _id: 2, x: 2, sum: [2, 1] });
  });

  it('counts a pipeline that changes nothing as matched, not modified', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, x: 1 });
    const result = await c.updateOne({ _id: 1 }, [{ $set: { x: '$x' } }]);
    expect([result.matchedCount, result.modifiedCount]).toEqual([1, 0]);
  });

  it('sees the command let, the statement constants and $$REMOVE', async () => {
    const c = coll();
    await c.insertMany([{ _id: 1, gone: true }, { _id: 2 }]);
    await c.updateMany({ $expr: { $eq: ['$_id', '$$id'] } }, [{ $set: { x: '$$x', gone: '$$REMOVE' } }], {
      let: { id: 1, x: 'foo' },
    });
    expect(await c.find().toArray()).toEqual([{ _id: 1, x: 'foo' }, { _id: 2 }]);
    await mongo.db.command({
      update: c.collectionName,
      updates: [{ q: { _id: 2 }, u: [{ $set: { y: '$$k' } }], c: { k: 'constant' } }],
    });
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, y: 'constant' });
  });

  it('writes dotted and dollar-prefixed field names with $setField, top-level and embedded', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, foo: {} });
    await c.updateOne({ _id: 1 }, [
      { $replaceWith: { $setField: { field: { $literal: '$a' }, value: 1, input: '$$ROOT' } } },
      { $set: { foo: { $setField: { field: 'a.b', value: { $getField: { $literal: '$a' } }, input: '$foo' } } } },
    ]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, foo: { 'a.b': 1 }, $a: 1 });
  });

  it('keeps _id through a pipeline, refuses changing it, and upserts from the query', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, x: 1 });
    await c.updateOne({ _id: 1 }, [{ $project: { _id: 0, x: 1 } }]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, x: 1 });
    const changed = await serverError(c.updateOne({ _id: 1 }, [{ $set: { _id: 2 } }]));
    expect(changed.code).toBe(66);
    const upserted = await c.updateOne({ _id: 5, k: 'a' }, [{ $set: { k2: '$k' } }], { upsert: true });
    expect(upserted.upsertedId).toBe(5);
    expect(await c.findOne({ _id: 5 })).toEqual({ _id: 5, k: 'a', k2: 'a' });
  });

  it('answers what mongod refuses in an update pipeline with its codes', async () => {
    const c = coll();
    await c.insertOne({ _id: 1, l: [{ k: 1 }] });
    expect(await serverError(c.updateOne({ _id: 1 }, [{ $match: { _id: 1 } }]))).toMatchObject({
      code: 72,
      message: '$match is not allowed to be used within an update',
    });
    const filters = await serverError(c.updateOne({ _id: 1 }, [{ $set: { a: 1 } }], { arrayFilters: [{ 'i.k': 1 }] }));
    expect(filters.code).toBe(9);
    expect((await serverError(c.updateOne({ _id: 1 }, [{ $replaceWith: '$nope' }]))).code).toBe(40228);
    expect((await serverError(c.updateOne({ _id: 1 }, [{ $set: { $bad: 1 } }]))).code).toBe(16410);
    const constants = await mongo.db.command({
      update: c.collectionName,
      updates: [{ q: {}, u: { $set: { a: 1 } }, c: { k: 1 } }],
    });
    expect(constants.writeErrors[0].code).toBe(51198);
    expect((await serverError(c.updateOne({ _id: 1 }, [{ $set: { 'l.k': 2 } }]))).message).toBe(
      "the MongoDB test server does not implement $set of a computed field through an array (path 'l.k')",
    );
  });
});

describe('mongo test server: shaping stages in aggregate', () => {
  it('runs $set, $project, $unset and $replaceWith stages', async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, a: { b: 1 }, n: 'x' },
      { _id: 2, a: { b: 2 }, n: 'y' },
    ]);
    const out = await c
      .aggregate([
        { $set: { 'a.c': '$n' } },
        { $project: { a: 1, copy: '$n' } },
        { $unset: 'copy' },
        { $replaceWith: '$a' },
      ])
      .toArray();
    expect(out).toEqual([
      { b: 1, c: 'x' },
      { b: 2, c: 'y' },
    ]);
  });
});
