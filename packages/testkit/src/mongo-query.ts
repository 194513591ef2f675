import { BSONRegExp } from 'bson';
import { type Collator, compareValues, ranks, typeRank } from './mongo-compare.js';
import { badValue, CommandError, notImplemented } from './mongo-errors.js';
import { evaluate, type Scope, truthyExpression } from './mongo-expression.js';
import { numberType, toJsNumber } from './mongo-numbers.js';

export type Document = Record<string, unknown>;

/** A plain embedded document (not an array, not a BSON value object). */
export function isDocument(value: unknown): value is Document {
  return typeRank(value) === ranks.object && value !== null && typeof value === 'object';
}

/** True when an object's first key is an operator (`{ $gt: 1 }`), as MongoDB decides it. */
function isOperatorObject(value: unknown): value is Document {
  if (!isDocument(value)) return false;
  for (const key in value) return key.startsWith('$');
  return false;
}

/**
 * The values a dotted path reaches in a document, the way a query sees them:
 * an array at the end adds each of its elements, an array on the way is
 * searched element by element; undefined when the path reaches nothing.
 */
export function pathValues(doc: unknown, parts: readonly string[], from = 0, out: unknown[] = []): unknown[] {
  if (from === parts.length) {
    out.push(doc);
    if (Array.isArray(doc)) out.push(...doc);
    return out;
  }
  const part = parts[from]!;
  if (Array.isArray(doc)) {
    if (/^\d+$/.test(part)) pathValues(doc[Number(part)], parts, from + 1, out);
    for (const element of doc) {
      if (isDocument(element)) pathValues(element, parts, from, out);
    }
    if (out.length === 0) out.push(undefined);
    return out;
  }
  if (isDocument(doc)) return pathValues(doc[part], parts, from + 1, out);
  out.push(undefined);
  return out;
}

/** The one value at a path, through embedded documents only (projection, sort, upsert). */
export function getPath(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (!isDocument(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** A BSON regular expression as JS runs it: the flags both know, the others refused by name. */
export function toRegExp(pattern: string, options: string): RegExp {
  const unknown = options.replace(/[imsu]/g, '');
  if (unknown !== '') throw notImplemented(`regular expression option(s) '${unknown}'`);
  try {
    return new RegExp(pattern, options.replace('u', ''));
  } catch (error) {
    throw new CommandError(51091, 'Location51091', `Regular expression is invalid: ${(error as Error).message}`);
  }
}

function regexOf(value: unknown): RegExp | undefined {
  if (value instanceof RegExp) return value;
  if (value instanceof BSONRegExp) return toRegExp(value.pattern, value.options);
  return undefined;
}

function testRegex(regex: RegExp, candidate: unknown): boolean {
  const text =
    typeof candidate === 'string'
      ? candidate
      : (candidate as { _bsontype?: string } | null)?._bsontype === 'BSONSymbol'
        ? String(candidate)
        : undefined;
  return text !== undefined && regex.test(text);
}

/** Equality of a query: a regex matches strings, other values compare within their type (strings by the collation). */
function equals(candidate: unknown, value: unknown, collator: Collator | undefined): boolean {
  const regex = regexOf(value);
  if (regex !== undefined && testRegex(regex, candidate)) return true;
  return typeRank(candidate) === typeRank(value) && compareValues(candidate, value, collator) === 0;
}

/**
 * Comparisons only match values of the same BSON type bracket (numbers with
 * numbers…), except against MinKey and MaxKey: every value is above MinKey
 * and below MaxKey, so `$gt: MinKey` and `$lt: MaxKey` match whatever is there.
 */
function compares(
  candidates: readonly unknown[],
  value: unknown,
  collator: Collator | undefined,
  test: (order: number) => boolean,
): boolean {
  const rank = typeRank(value);
  const crossType = rank === ranks.minKey || rank === ranks.maxKey;
  return candidates.some((c) => (typeRank(c) === rank || crossType) && test(compareValues(c, value, collator)));
}

function inList(candidates: readonly unknown[], list: unknown, op: string, collator: Collator | undefined): boolean {
  if (!Array.isArray(list)) throw badValue(`${op} needs an array`);
  return candidates.some((c) => list.some((v) => equals(c, v, collator)));
}

/** A boolean argument as mongod reads one: a boolean or a number (0 is false). */
export function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (numberType(value) !== undefined) return toJsNumber(value) !== 0;
  return value !== null && value !== undefined;
}

/** The `$type` codes and aliases mongod knows. */
const typeAliases: Record<string, number> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};

/** The BSON type byte a value is stored with. */
export function bsonTypeCode(value: unknown): number {
  if (value === undefined) return 6;
  if (value === null) return 10;
  switch (numberType(value)) {
    case 'double':
      return 1;
    case 'int':
      return 16;
    case 'long':
      return 18;
    case 'decimal':
      return 19;
    default:
      break;
  }
  if (typeof value === 'string') return 2;
  if (typeof value === 'boolean') return 8;
  if (Array.isArray(value)) return 4;
  if (value instanceof Date) return 9;
  switch ((value as { _bsontype?: string })._bsontype) {
    case 'Binary':
      return 5;
    case 'ObjectId':
      return 7;
    case 'BSONRegExp':
      return 11;
    case 'Code':
      return (value as { scope?: unknown }).scope == null ? 13 : 15;
    case 'BSONSymbol':
      return 14;
    case 'Timestamp':
      return 17;
    case 'MinKey':
      return -1;
    case 'MaxKey':
      return 127;
    default:
      return value instanceof RegExp ? 11 : 3;
  }
}

function typeCodes(spec: unknown): Set<number | 'number'> {
  const out = new Set<number | 'number'>();
  for (const item of Array.isArray(spec) ? spec : [spec]) {
    if (typeof item === 'string') {
      if (item === 'number') out.add('number');
      else if (typeAliases[item] !== undefined) out.add(typeAliases[item]);
      else throw badValue(`Unknown type name alias: ${item}`);
    } else if (numberType(item) !== undefined) {
      out.add(toJsNumber(item));
    } else {
      throw new CommandError(14, 'TypeMismatch', 'type must be represented as a number or a string');
    }
  }
  return out;
}

function matchesType(candidate: unknown, wanted: Set<number | 'number'>): boolean {
  if (candidate === undefined) return false;
  if (wanted.has('number') && numberType(candidate) !== undefined) return true;
  return wanted.has(bsonTypeCode(candidate));
}

/** Operators mongod has that this server does not evaluate: refused by name rather than answered wrongly. */
const unimplementedOperators = new Set([
  '$mod',
  '$bitsAllSet',
  '$bitsAllClear',
  '$bitsAnySet',
  '$bitsAnyClear',
  '$geoWithin',
  '$geoIntersects',
  '$near',
  '$nearSphere',
  '$within',
]);

function matchOperator(
  candidates: readonly unknown[],
  op: string,
  value: unknown,
  conditions: Document,
  scope: Scope,
): boolean {
  const collator = scope.collator;
  switch (op) {
    case '$eq':
      return candidates.some((c) => equals(c, value, collator));
    case '$ne':
      return !candidates.some((c) => equals(c, value, collator));
    case '$gt':
      return compares(candidates, value, collator, (o) => o > 0);
    case '$gte':
      return compares(candidates, value, collator, (o) => o >= 0);
    case '$lt':
      return compares(candidates, value, collator, (o) => o < 0);
    case '$lte':
      return compares(candidates, value, collator, (o) => o <= 0);
    case '$in':
      return inList(candidates, value, '$in', collator);
    case '$nin':
      return !inList(candidates, value, '$nin', collator);
    case '$exists':
      return candidates.some((c) => c !== undefined) === truthy(value);
    case '$type':
      return candidates.some((c) => matchesType(c, typeCodes(value)));
    case '$size': {
      if (numberType(value) === undefined) throw badValue('$size needs a number');
      const size = toJsNumber(value);
      return candidates.some((c) => Array.isArray(c) && c.length === size);
    }
    case '$regex': {
      const options = conditions.$options;
      if (options !== undefined && typeof options !== 'string') throw badValue('$options has to be a string');
      const source = value instanceof BSONRegExp ? value.pattern : value;
      if (typeof source !== 'string') throw badValue('$regex has to be a string');
      const flags = `${value instanceof BSONRegExp ? value.options : ''}${options ?? ''}`;
      const regex = toRegExp(source, [...new Set(flags)].join(''));
      return candidates.some((c) => testRegex(regex, c));
    }
    case '$options':
      if (!('$regex' in conditions)) throw badValue('$options needs a $regex');
      return true;
    case '$elemMatch': {
      if (!isDocument(value)) throw badValue('$elemMatch needs an Object');
      const byOperators = isOperatorObject(value);
      return candidates.some(
        (c) =>
          Array.isArray(c) &&
          c.some((element) =>
            byOperators
              ? matchConditions([element], value, scope)
              : isDocument(element) && matches(element, value, scope),
          ),
      );
    }
    case '$all': {
      if (!Array.isArray(value)) throw badValue('$all needs an array');
      if (value.some(isOperatorObject)) throw notImplemented('$all with $elemMatch');
      return value.length > 0 && value.every((v) => candidates.some((c) => equals(c, v, collator)));
    }
    case '$not':
      if (regexOf(value) !== undefined) return !candidates.some((c) => equals(c, value, collator));
      if (!isOperatorObject(value)) throw badValue('$not needs a regex or a document');
      return !matchConditions(candidates, value, scope);
    default:
      if (unimplementedOperators.has(op)) throw notImplemented(`the query operator ${op}`);
      throw badValue(`unknown operator: ${op}`);
  }
}

function matchConditions(candidates: readonly unknown[], conditions: Document, scope: Scope): boolean {
  for (const op in conditions) {
    if (!matchOperator(candidates, op, conditions[op], conditions, scope)) return false;
  }
  return true;
}

function clauses(value: unknown, op: string): Document[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isDocument)) {
    throw badValue(`${op} argument must be a non-empty array`);
  }
  return value as Document[];
}

/** Top-level operators mongod has that this server does not evaluate. */
const unimplementedTopLevel = new Set(['$where', '$text', '$jsonSchema', '$sampleRate', '$alwaysTrue', '$alwaysFalse']);

/**
 * True when the document matches a query filter (the operators of the find
 * command this server knows), with the command's variables and collation.
 */
export function matches(doc: Document, filter: Document, scope: Scope = {}): boolean {
  for (const key in filter) {
    const condition = filter[key];
    if (key.startsWith('$')) {
      if (key === '$and') {
        if (!clauses(condition, key).every((c) => matches(doc, c, scope))) return false;
      } else if (key === '$or') {
        if (!clauses(condition, key).some((c) => matches(doc, c, scope))) return false;
      } else if (key === '$nor') {
        if (clauses(condition, key).some((c) => matches(doc, c, scope))) return false;
      } else if (key === '$expr') {
        if (!truthyExpression(evaluate(condition, doc, scope))) return false;
      } else if (key === '$comment') {
        // A comment for the logs: nothing to match.
      } else if (unimplementedTopLevel.has(key)) {
        throw notImplemented(`the query operator ${key}`);
      } else {
        throw badValue(`unknown top level operator: ${key}`);
      }
      continue;
    }
    const candidates = pathValues(doc, key.split('.'));
    if (isOperatorObject(condition)) {
      if (!matchConditions(candidates, condition, scope)) return false;
    } else if (!candidates.some((c) => equals(c, condition, scope.collator))) {
      return false;
    }
  }
  return true;
}

/** Checks a filter's operators once, so that an unknown one fails even on an empty collection. */
export function validateFilter(filter: Document, scope?: Scope): void {
  matches({}, filter, scope);
}

export type SortSpec = readonly (readonly [path: string, direction: 1 | -1])[];

export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined || sort === null) return [];
  if (!isDocument(sort)) throw new CommandError(14, 'TypeMismatch', 'Expected field sort to be of type object');
  return Object.entries(sort).map(([path, direction]) => {
    if (isDocument(direction)) throw notImplemented(`sort by ${Object.keys(direction)[0] ?? 'an object'}`);
    const n = numberType(direction) === undefined ? Number.NaN : toJsNumber(direction);
    if (n !== 1 && n !== -1) throw badValue('$sort key ordering must be 1 (for ascending) or -1 (for descending)');
    return [path, n] as const;
  });
}

/** The value a document sorts by: for an array, its smallest element ascending, its largest descending. */
function sortKey(doc: Document, path: string, direction: 1 | -1, collator: Collator | undefined): unknown {
  const value = getPath(doc, path);
  if (!Array.isArray(value)) return value;
  if (value.length === 0) return undefined;
  return value.reduce((best, v) => (compareValues(v, best, collator) * direction < 0 ? v : best));
}

/** Sorts in place by the spec, strings by the collation when there is one. */
export function sortDocuments(docs: Document[], sort: SortSpec, collator?: Collator): Document[] {
  if (sort.length === 0) return docs;
  return docs.sort((a, b) => {
    for (const [path, direction] of sort) {
      const order = compareValues(
        sortKey(a, path, direction, collator),
        sortKey(b, path, direction, collator),
        collator,
      );
      if (order !== 0) return order * direction;
    }
    return 0;
  });
}
