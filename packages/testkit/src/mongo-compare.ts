import { type Binary, BSONRegExp, type Code, type ObjectId, serialize, type Timestamp } from 'bson';
import { compareNumbers, numberKey } from './mongo-numbers.js';

/** MongoDB's comparison order of BSON types, as ranks. */
export const ranks = {
  minKey: 0,
  null: 1,
  number: 2,
  string: 3,
  object: 4,
  array: 5,
  binData: 6,
  objectId: 7,
  boolean: 8,
  date: 9,
  timestamp: 10,
  regex: 11,
  code: 12,
  codeWithScope: 13,
  maxKey: 14,
} as const;

/**
 * The rank of a value in MongoDB's comparison order of BSON types (the "BSON
 * comparison order" page): MinKey < null < numbers < strings < objects <
 * arrays < BinData < ObjectId < booleans < dates < timestamps < regular
 * expressions < JavaScript < MaxKey. Undefined and a missing field sort with null.
 */
export function typeRank(value: unknown): number {
  if (value === null || value === undefined) return ranks.null;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return ranks.number;
    case 'string':
      return ranks.string;
    case 'boolean':
      return ranks.boolean;
    default:
      break;
  }
  if (Array.isArray(value)) return ranks.array;
  if (value instanceof Date) return ranks.date;
  switch ((value as { _bsontype?: string })._bsontype) {
    case 'MinKey':
      return ranks.minKey;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return ranks.number;
    case 'BSONSymbol':
      return ranks.string;
    case 'Binary':
      return ranks.binData;
    case 'ObjectId':
      return ranks.objectId;
    case 'Timestamp':
      return ranks.timestamp;
    case 'BSONRegExp':
      return ranks.regex;
    case 'Code':
      return (value as Code).scope == null ? ranks.code : ranks.codeWithScope;
    case 'MaxKey':
      return ranks.maxKey;
    default:
      return value instanceof RegExp ? ranks.regex : ranks.object;
  }
}

/** MongoDB compares strings by their UTF-8 bytes (the simple collation). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates: only then compare bytes.
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) {
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  return a < b ? -1 : 1;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function asBsonRegExp(value: unknown): BSONRegExp {
  return value instanceof BSONRegExp ? value : new BSONRegExp((value as RegExp).source, (value as RegExp).flags);
}

/** How a collation orders two strings: negative, 0 or positive. */
export type Collator = (a: string, b: string) => number;

/**
 * Total order of two BSON values, as MongoDB sorts them: negative, 0 or
 * positive. A collator orders strings, inside documents and arrays too (field
 * names, regexes and code stay binary); without one, strings compare by bytes.
 */
export function compareValues(a: unknown, b: unknown, collator?: Collator): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case ranks.number:
      return compareNumbers(a, b);
    case ranks.string:
      return collator === undefined ? compareStrings(String(a), String(b)) : collator(String(a), String(b));
    case ranks.object:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>, collator);
    case ranks.array: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i], collator);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case ranks.binData: {
      const x = a as Binary;
      const y = b as Binary;
      // BinData: length first, then subtype, then bytes.
      if (x.position !== y.position) return x.position - y.position;
      if (x.sub_type !== y.sub_type) return x.sub_type - y.sub_type;
      return compareBytes(x.value(), y.value());
    }
    case ranks.objectId:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case ranks.boolean:
      return Number(a) - Number(b);
    case ranks.date: {
      const x = (a as Date).getTime();
      const y = (b as Date).getTime();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case ranks.timestamp: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return x.high !== y.high ? (x.high >>> 0) - (y.high >>> 0) : (x.low >>> 0) - (y.low >>> 0);
    }
    case ranks.regex: {
      const x = asBsonRegExp(a);
      const y = asBsonRegExp(b);
      return compareStrings(x.pattern, y.pattern) || compareStrings(x.options, y.options);
    }
    case ranks.code:
      return compareStrings((a as Code).code, (b as Code).code);
    case ranks.codeWithScope:
      return (
        compareStrings((a as Code).code, (b as Code).code) ||
        compareObjects((a as Code).scope ?? {}, (b as Code).scope ?? {})
      );
    default:
      // MinKey, null and MaxKey: one value each.
      return 0;
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>, collator?: Collator): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const x = a[ka[i]!];
    const y = b[kb[i]!];
    const rank = typeRank(x) - typeRank(y);
    if (rank !== 0) return rank;
    const name = compareStrings(ka[i]!, kb[i]!);
    if (name !== 0) return name;
    const value = compareValues(x, y, collator);
    if (value !== 0) return value;
  }
  return ka.length - kb.length;
}

/**
 * A string that two values share exactly when MongoDB sees them as equal
 * (Int32 1, Double 1.0, Long 1 and Decimal128 1.0 are one key): how the store
 * keys documents by `_id`.
 */
export function valueKey(value: unknown): string {
  const rank = typeRank(value);
  switch (rank) {
    case ranks.null:
      return 'null';
    case ranks.number:
      return `n:${numberKey(value)}`;
    case ranks.string:
      return `s:${String(value)}`;
    case ranks.objectId:
      return `o:${(value as ObjectId).toHexString()}`;
    case ranks.boolean:
      return `b:${String(value)}`;
    case ranks.date:
      return `d:${(value as Date).getTime()}`;
    case ranks.object: {
      const object = value as Record<string, unknown>;
      return `{${Object.keys(object)
        .map((key) => `${JSON.stringify(key)}:${valueKey(object[key])}`)
        .join(',')}}`;
    }
    case ranks.array:
      return `[${(value as unknown[]).map(valueKey).join(',')}]`;
    case ranks.binData:
      return `x:${(value as Binary).sub_type}:${Buffer.from((value as Binary).value()).toString('hex')}`;
    case ranks.timestamp:
      return `t:${(value as Timestamp).toString()}`;
    case ranks.regex: {
      const regex = asBsonRegExp(value);
      return `r:${JSON.stringify([regex.pattern, regex.options])}`;
    }
    case ranks.code:
      return `c:${JSON.stringify((value as Code).code)}`;
    case ranks.codeWithScope:
      return `w:${JSON.stringify((value as Code).code)}${valueKey((value as Code).scope)}`;
    default:
      return `${rank}`;
  }
}

/** True when two documents have the same BSON bytes: types, values and field order (mongod's no-op test for updates). */
export function sameBson(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return Buffer.from(serialize(a)).equals(Buffer.from(serialize(b)));
}
