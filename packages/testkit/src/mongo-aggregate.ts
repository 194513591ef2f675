import { Int32 } from 'bson';
import { type Collator, compareValues, typeRank, valueKey } from './mongo-compare.js';
import { CommandError, notImplemented } from './mongo-errors.js';
import { evaluate, type Scope } from './mongo-expression.js';
import { addNumbers, numberType, toJsNumber } from './mongo-numbers.js';
import { type Document, isDocument, matches, parseSort, sortDocuments, validateFilter } from './mongo-query.js';
import { shapeStage } from './mongo-stages.js';
import type { Collection } from './mongo-store.js';

/** Stages mongod has that this server does not run: refused by name. */
const knownStages = new Set([
  '$bucket',
  '$bucketAuto',
  '$changeStream',
  '$collStats',
  '$currentOp',
  '$densify',
  '$documents',
  '$facet',
  '$fill',
  '$geoNear',
  '$graphLookup',
  '$indexStats',
  '$listLocalSessions',
  '$listSessions',
  '$lookup',
  '$merge',
  '$out',
  '$redact',
  '$sample',
  '$search',
  '$setWindowFields',
  '$sortByCount',
  '$unionWith',
  '$unwind',
]);

/** A whole non-negative count argument of a stage or option. */
export function countArgument(value: unknown, name: string): number {
  if (numberType(value) === undefined) throw new CommandError(14, 'TypeMismatch', `${name} must be a number`);
  return Math.trunc(toJsNumber(value));
}

function isCountGroup(group: Document): boolean {
  const fields = Object.entries(group).filter(([k]) => k !== '_id');
  if (fields.length !== 1 || typeof group._id === 'string' || isDocument(group._id)) return false;
  const [, acc] = fields[0]!;
  return (
    isDocument(acc) && Object.keys(acc).length === 1 && numberType(acc.$sum) === 'int' && toJsNumber(acc.$sum) === 1
  );
}

/**
 * The groups of $group, by key: a map by `valueKey` for the simple collation;
 * with another, a list searched by the collation (keys equal by it are one group).
 */
class Groups {
  readonly #byKey = new Map<string, Document>();
  readonly #list: Document[] = [];

  constructor(readonly collator: Collator | undefined) {}

  get(key: unknown): Document | undefined {
    if (this.collator === undefined) return this.#byKey.get(valueKey(key));
    return this.#list.find((g) => typeRank(g._id) === typeRank(key) && compareValues(g._id, key, this.collator) === 0);
  }

  add(key: unknown, group: Document): void {
    if (this.collator === undefined) this.#byKey.set(valueKey(key), group);
    else this.#list.push(group);
  }

  values(): Document[] {
    return this.collator === undefined ? [...this.#byKey.values()] : this.#list;
  }
}

/** $group by an expression, with `$sum` accumulators (numbers summed with mongod's type rules). */
function group(docs: Document[], spec: Document, scope: Scope): Document[] {
  const groups = new Groups(scope.collator);
  const accumulators = Object.entries(spec).filter(([field]) => field !== '_id');
  for (const [, acc] of accumulators) {
    const op = isDocument(acc) ? Object.keys(acc)[0] : undefined;
    if (op === '$sum') continue;
    if (
      op !== undefined &&
      [
        '$avg',
        '$min',
        '$max',
        '$first',
        '$last',
        '$push',
        '$addToSet',
        '$count',
        '$top',
        '$bottom',
        '$mergeObjects',
        '$stdDevPop',
        '$stdDevSamp',
      ].includes(op)
    ) {
      throw notImplemented(`the $group accumulator ${op}`);
    }
    throw new CommandError(15952, 'Location15952', `unknown group operator '${op ?? String(acc)}'`);
  }
  for (const doc of docs) {
    const key = evaluate(spec._id, doc, scope) ?? null;
    let out = groups.get(key);
    if (out === undefined) {
      out = { _id: key };
      for (const [field] of accumulators) out[field] = new Int32(0);
      groups.add(key, out);
    }
    for (const [field, acc] of accumulators) {
      const term = evaluate((acc as Document).$sum, doc, scope);
      // $sum skips what is not a number, as mongod does.
      if (numberType(term) !== undefined) out[field] = addNumbers(out[field], term, 'double', '$sum');
    }
  }
  return [...groups.values()];
}

/**
 * Runs the aggregation stages this server has: $match, $skip, $limit, $sort,
 * $count, $group with $sum (what countDocuments sends), and the stages that
 * reshape documents ($addFields/$set, $project/$unset, $replaceRoot/$replaceWith),
 * counting without copying when the pipeline is countDocuments' own. Strings
 * compare by the scope's collation.
 */
export function runPipeline(collection: Collection | undefined, pipeline: Document[], scope: Scope): Document[] {
  const first = pipeline[0];
  let stages = pipeline;
  let docs: Document[];
  if (first !== undefined && isDocument(first.$match)) {
    const filter = first.$match;
    validateFilter(filter, scope);
    let skip = 0;
    let limit = 0;
    let i = 1;
    if (pipeline[i] !== undefined && '$skip' in pipeline[i]!) skip = countArgument(pipeline[i++]!.$skip, '$skip');
    if (pipeline[i] !== undefined && '$limit' in pipeline[i]!) limit = countArgument(pipeline[i++]!.$limit, '$limit');
    const spec = pipeline[i]?.$group;
    if (isDocument(spec) && i === pipeline.length - 1 && isCountGroup(spec)) {
      const n = collection?.count(filter, skip, limit, scope) ?? 0;
      const field = Object.keys(spec).find((k) => k !== '_id')!;
      return n === 0 ? [] : [{ _id: spec._id, [field]: n }];
    }
    docs = collection?.query({ filter, scope, sort: [], skip: 0, limit: 0 }) ?? [];
    stages = pipeline.slice(1);
  } else {
    docs = collection?.query({ filter: {}, sort: [], skip: 0, limit: 0 }) ?? [];
  }
  for (const stage of stages) {
    const keys = Object.keys(stage);
    const op = keys[0]!;
    if (keys.length !== 1) {
      throw new CommandError(
        40323,
        'Location40323',
        'A pipeline stage specification object must contain exactly one field.',
      );
    }
    const arg = stage[op];
    switch (op) {
      case '$match': {
        if (!isDocument(arg))
          throw new CommandError(15959, 'Location15959', 'the match filter must be an expression in an object');
        validateFilter(arg, scope);
        docs = docs.filter((d) => matches(d, arg, scope));
        break;
      }
      case '$skip':
        docs = docs.slice(countArgument(arg, '$skip'));
        break;
      case '$limit':
        docs = docs.slice(0, countArgument(arg, '$limit'));
        break;
      case '$sort':
        docs = sortDocuments([...docs], parseSort(arg), scope.collator);
        break;
      case '$count':
        docs = docs.length === 0 ? [] : [{ [String(arg)]: docs.length }];
        break;
      case '$group':
        if (!isDocument(arg))
          throw new CommandError(15947, 'Location15947', "a group's fields must be specified in an object");
        docs = group(docs, arg, scope);
        break;
      default: {
        const shape = shapeStage(op, arg);
        if (shape !== undefined) {
          docs = docs.map((d) => shape(d, scope));
          break;
        }
        if (knownStages.has(op)) throw notImplemented(`the aggregation stage ${op}`);
        throw new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${op}'`);
      }
    }
  }
  return docs;
}
