import type { Long } from 'bson';
import { runPipeline } from './mongo-aggregate.js';
import { collationOf } from './mongo-collation.js';
import { type Command, collectionName, cursorBatchSize, documentOr, int } from './mongo-command-args.js';
import { compareValues, typeRank, valueKey } from './mongo-compare.js';
import { CommandError, codes, notImplemented } from './mongo-errors.js';
import type { Scope } from './mongo-expression.js';
import { checkHint, variablesOf } from './mongo-options.js';
import { makeProjection } from './mongo-projection.js';
import { type Document, isDocument, parseSort, pathValues, validateFilter } from './mongo-query.js';

function nonNegative(field: string, value: number): void {
  if (value < 0) {
    throw new CommandError(51024, 'Location51024', `BSON field '${field}' value must be >= 0, actual value '${value}'`);
  }
}

const find: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'find');
  const filter = documentOr(cmd.filter, 'filter', {});
  const scope: Scope = { variables: variablesOf(cmd.let), collator: collationOf(cmd.collation) };
  validateFilter(filter, scope);
  const sort = parseSort(cmd.sort);
  const projection = makeProjection(cmd.projection);
  const skip = int(cmd.skip, 'skip', 0);
  let limit = int(cmd.limit, 'limit', 0);
  const batchSize = cmd.batchSize === undefined ? undefined : int(cmd.batchSize, 'batchSize', 0);
  if (skip < 0)
    throw new CommandError(51024, 'Location51024', "BSON field 'skip' value must be >= 0, actual value '-1'");
  nonNegative('limit', limit);
  if (batchSize !== undefined) nonNegative('batchSize', batchSize);
  if (cmd.singleBatch === true && limit === 0 && batchSize !== undefined) limit = batchSize;
  const collection = state.store.collection(db, name, false);
  checkHint(cmd.hint, collection);
  let docs = collection === undefined ? [] : collection.query({ filter, scope, sort, skip, limit });
  if (projection !== undefined) docs = docs.map(projection);
  const reply = state.cursors.reply(`${db}.${name}`, docs, batchSize);
  if (cmd.singleBatch === true) state.cursors.close((reply.cursor as Document).id as Long, reply);
  return reply;
};

const distinct: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'distinct');
  if (typeof cmd.key !== 'string') {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      "BSON field 'distinct.key' is the wrong type, expected type 'string'",
    );
  }
  const filter = documentOr(cmd.query, 'query', {});
  const collator = collationOf(cmd.collation);
  validateFilter(filter, { collator });
  const collection = state.store.collection(db, name, false);
  checkHint(cmd.hint, collection);
  const seen = new Map<string, unknown>();
  const parts = cmd.key.split('.');
  for (const doc of collection?.query({ filter, scope: { collator }, sort: [], skip: 0, limit: 0 }) ?? []) {
    for (const value of pathValues(doc, parts)) {
      // An array's elements are distinct values of their own; the array itself is not one.
      if (value === undefined || Array.isArray(value)) continue;
      if (collator === undefined) {
        const key = valueKey(value);
        if (!seen.has(key)) seen.set(key, value);
      } else if (
        ![...seen.values()].some((v) => typeRank(v) === typeRank(value) && compareValues(v, value, collator) === 0)
      ) {
        // Values equal by the collation are one value: the first one met.
        seen.set(String(seen.size), value);
      }
    }
  }
  return { values: [...seen.values()], ok: 1 };
};

const aggregate: Command = (state, cmd, db) => {
  const name = cmd.aggregate;
  if (typeof name !== 'string') throw notImplemented('aggregate on a whole database (aggregate: 1)');
  const pipeline = cmd.pipeline;
  if (!Array.isArray(pipeline) || !pipeline.every(isDocument)) {
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', "'pipeline' option must be specified as an array");
  }
  const scope: Scope = { collator: collationOf(cmd.collation), variables: variablesOf(cmd.let) };
  const batchSize = cursorBatchSize(cmd);
  const collection = state.store.collection(db, name, false);
  checkHint(cmd.hint, collection);
  const docs = runPipeline(collection, pipeline as Document[], scope);
  return state.cursors.reply(`${db}.${name}`, docs, batchSize);
};

const count: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'count');
  const query = documentOr(cmd.query, 'query', {});
  const scope: Scope = { collator: collationOf(cmd.collation) };
  validateFilter(query, scope);
  const collection = state.store.collection(db, name, false);
  checkHint(cmd.hint, collection);
  const n = collection?.count(query, int(cmd.skip, 'skip', 0), Math.abs(int(cmd.limit, 'limit', 0)), scope) ?? 0;
  return { n, ok: 1 };
};

export const readCommands: Readonly<Record<string, Command>> = { find, distinct, aggregate, count };
