import { type Binary, BSONRegExp, Decimal128, Double, Int32, Long, type ObjectId, type Timestamp } from 'bson';

/**
 * MongoDB's comparison order of BSON types (the "BSON comparison order" page):
 * MinKey < null < numbers < strings < objects < arrays < BinData < ObjectId
 * < booleans < dates < timestamps < regular expressions < MaxKey.
 * Undefined and a missing field sort with null.
 */
export function typeRank(value: unknown): number {
  if (value === null || value === undefined) return 1;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 8;
    default:
      break;
  }
  if (Array.isArray(value)) return 5;
  if (value instanceof Date) return 9;
  const bsontype = (value as { _bsontype?: string })._bsontype;
  switch (bsontype) {
    case 'MinKey':
      return 0;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 2;
    case 'BSONSymbol':
      return 3;
    case 'Binary':
      return 6;
    case 'ObjectId':
      return 7;
    case 'Timestamp':
      return 10;
    case 'BSONRegExp':
      return 11;
    case 'MaxKey':
      return 12;
    default:
      return value instanceof RegExp ? 11 : 4;
  }
}

/** A BSON number as a JS number (or bigint for a Long beyond 2^53), for comparisons. */
export function numberOf(value: unknown): number | bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (value instanceof Long) {
    return value.greaterThan(Long.fromNumber(Number.MAX_SAFE_INTEGER)) ||
      value.lessThan(Long.fromNumber(Number.MIN_SAFE_INTEGER))
      ? value.toBigInt()
      : value.toNumber();
  }
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Decimal128) return Number(value.toString());
  return Number.NaN;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') {
    // MongoDB sorts NaN below every other number and equal to itself.
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
    if (Number.isNaN(b)) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number' && !Number.isFinite(a)) return Number.isNaN(a) ? -1 : a > 0 ? 1 : -1;
  if (typeof b === 'number' && !Number.isFinite(b)) return Number.isNaN(b) ? 1 : b > 0 ? -1 : 1;
  const x = typeof a === 'bigint' ? a : BigInt(Math.trunc(a));
  const y = typeof b === 'bigint' ? b : BigInt(Math.trunc(b));
  if (x !== y) return x < y ? -1 : 1;
  // Same integer part: a fraction decides.
  const fa = typeof a === 'number' ? a - Math.trunc(a) : 0;
  const fb = typeof b === 'number' ? b - Math.trunc(b) : 0;
  return fa < fb ? -1 : fa > fb ? 1 : 0;
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

/** Total order of two BSON values, as MongoDB sorts them: negative, 0 or positive. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
    case 1:
    case 12:
      return 0;
    case 2:
      return compareNumbers(numberOf(a), numberOf(b));
    case 3:
      return compareStrings(String(a), String(b));
    case 4:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 6: {
      const x = a as Binary;
      const y = b as Binary;
      // BinData: length first, then subtype, then bytes.
      if (x.position !== y.position) return x.position - y.position;
      if (x.sub_type !== y.sub_type) return x.sub_type - y.sub_type;
      return compareBytes(x.value(), y.value());
    }
    case 7:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 8:
      return Number(a) - Number(b);
    case 9: {
      const x = (a as Date).getTime();
      const y = (b as Date).getTime();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 10: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return x.high !== y.high ? (x.high >>> 0) - (y.high >>> 0) : (x.low >>> 0) - (y.low >>> 0);
    }
    case 11: {
      const x = a instanceof BSONRegExp ? a : new BSONRegExp((a as RegExp).source, (a as RegExp).flags);
      const y = b instanceof BSONRegExp ? b : new BSONRegExp((b as RegExp).source, (b as RegExp).flags);
      return compareStrings(x.pattern, y.pattern) || compareStrings(x.options, y.options);
    }
    default:
      return 0;
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const x = a[ka[i]!];
    const y = b[kb[i]!];
    const rank = typeRank(x) - typeRank(y);
    if (rank !== 0) return rank;
    const name = compareStrings(ka[i]!, kb[i]!);
    if (name !== 0) return name;
    const value = compareValues(x, y);
    if (value !== 0) return value;
  }
  return ka.length - kb.length;
}

/**
 * A string that two values share exactly when MongoDB sees them as equal
 * (1, 1.0 and Long 1 are one key): how the store keys documents by `_id`.
 */
export function valueKey(value: unknown): string {
  const rank = typeRank(value);
  switch (rank) {
    case 1:
      return 'null';
    case 2:
      return `n:${String(numberOf(value))}`;
    case 3:
      return `s:${String(value)}`;
    case 7:
      return `o:${(value as ObjectId).toHexString()}`;
    case 8:
      return `b:${String(value)}`;
    case 9:
      return `d:${(value as Date).getTime()}`;
    case 4: {
      const object = value as Record<string, unknown>;
      return `{${Object.keys(object)
        .map((key) => `${JSON.stringify(key)}:${valueKey(object[key])}`)
        .join(',')}}`;
    }
    case 5:
      return `[${(value as unknown[]).map(valueKey).join(',')}]`;
    case 6:
      return `x:${(value as Binary).sub_type}:${Buffer.from((value as Binary).value()).toString('hex')}`;
    case 10:
      return `t:${(value as Timestamp).toString()}`;
    default:
      return `${rank}:${String(value)}`;
  }
}
