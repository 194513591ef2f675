import { Decimal128, Double, Int32, Long } from 'bson';
import { badValue, notImplemented } from './mongo-errors.js';

/** The four BSON number types, as mongod tells them apart. */
export type NumberType = 'int' | 'long' | 'double' | 'decimal';

/** The BSON number type of a value, or undefined for anything else (a JS number counts as a double unless an int32). */
export function numberType(value: unknown): NumberType | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && (value | 0) === value ? 'int' : 'double';
  if (typeof value === 'bigint') return 'long';
  switch ((value as { _bsontype?: string } | null)?._bsontype) {
    case 'Int32':
      return 'int';
    case 'Long':
      return 'long';
    case 'Double':
      return 'double';
    case 'Decimal128':
      return 'decimal';
    default:
      return undefined;
  }
}

/** A number as a JS number, for counts and options (a Long or Decimal128 beyond 2^53 rounds). */
export function toJsNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Decimal128) return Number(value.toString());
  return Number.NaN;
}

/** A number exactly, where a JS number would not do: a fraction num/den (den > 0), NaN or ±Infinity. */
type Exact =
  | { readonly kind: 'finite'; readonly num: bigint; readonly den: bigint }
  | { readonly kind: 'nan' }
  | { readonly kind: 'infinity'; readonly sign: 1 | -1 };

/** The value as a double when that is exact (Int32, Double, Long within ±2^53), else undefined. */
function asDouble(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Long) {
    const n = value.toNumber();
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function exactDouble(x: number): Exact {
  if (Number.isNaN(x)) return { kind: 'nan' };
  if (!Number.isFinite(x)) return { kind: 'infinity', sign: x > 0 ? 1 : -1 };
  // Doubling a finite non-integer double is exact, so this reaches its dyadic fraction.
  let den = 1n;
  while (!Number.isInteger(x)) {
    x *= 2;
    den *= 2n;
  }
  return { kind: 'finite', num: BigInt(x), den };
}

function exactDecimal(value: Decimal128): Exact {
  const text = value.toString();
  if (text === 'NaN' || text === '-NaN') return { kind: 'nan' };
  if (text === 'Infinity' || text === '-Infinity') return { kind: 'infinity', sign: text[0] === '-' ? -1 : 1 };
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$/.exec(text);
  if (match === null) throw new Error(`unexpected Decimal128 text ${text}`);
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const coefficient = BigInt(`${sign}${whole}${fraction}`);
  const scale = Number(exponent) - fraction.length;
  return scale >= 0
    ? { kind: 'finite', num: coefficient * 10n ** BigInt(scale), den: 1n }
    : { kind: 'finite', num: coefficient, den: 10n ** BigInt(-scale) };
}

function exact(value: unknown): Exact {
  if (value instanceof Decimal128) return exactDecimal(value);
  if (value instanceof Long) return { kind: 'finite', num: value.toBigInt(), den: 1n };
  if (typeof value === 'bigint') return { kind: 'finite', num: value, den: 1n };
  return exactDouble(toJsNumber(value));
}

/** NaN first, then -Infinity … +Infinity: the order mongod sorts numbers in (NaN equals NaN). */
function rankOf(e: Exact): number {
  if (e.kind === 'nan') return 0;
  if (e.kind === 'infinity') return e.sign === -1 ? 1 : 3;
  return 2;
}

/**
 * Compares two BSON numbers of any types by value, as mongod does (Int32 5,
 * Long 5, Double 5.0 and Decimal128 5 are equal; NaN sorts below all numbers).
 */
export function compareNumbers(a: unknown, b: unknown): number {
  const x = asDouble(a);
  const y = asDouble(b);
  if (x !== undefined && y !== undefined) {
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
    if (Number.isNaN(y)) return 1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const ea = exact(a);
  const eb = exact(b);
  const rank = rankOf(ea) - rankOf(eb);
  if (rank !== 0 || ea.kind !== 'finite' || eb.kind !== 'finite') return Math.sign(rank);
  const left = ea.num * eb.den;
  const right = eb.num * ea.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** A string that two numbers share exactly when they compare equal (the `_id` index's notion of one key). */
export function numberKey(value: unknown): string {
  const x = asDouble(value);
  if (x !== undefined && Number.isInteger(x)) return `${x === 0 ? 0 : x}`;
  const e = x === undefined ? exact(value) : exactDouble(x);
  if (e.kind === 'nan') return 'NaN';
  if (e.kind === 'infinity') return e.sign > 0 ? 'Infinity' : '-Infinity';
  const g = e.num === 0n ? e.den : gcd(e.num, e.den);
  const num = e.num / g;
  const den = e.den / g;
  return den === 1n ? `${num}` : `${num}/${den}`;
}

const int32Min = -(2n ** 31n);
const int32Max = 2n ** 31n - 1n;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** A Decimal128 as coefficient × 10^exponent, keeping its exponent (1.10 stays 110 × 10^-2). */
function decimalParts(value: unknown): { coefficient: bigint; exponent: number } | undefined {
  const type = numberType(value);
  if (type === 'int' || type === 'long') return { coefficient: toBigInt(value), exponent: 0 };
  if (type !== 'decimal') return undefined;
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$/.exec((value as Decimal128).toString());
  if (match === null) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  return { coefficient: BigInt(`${sign}${whole}${fraction}`), exponent: Number(exponent) - fraction.length };
}

function toBigInt(value: unknown): bigint {
  if (value instanceof Long) return value.toBigInt();
  if (typeof value === 'bigint') return value;
  return BigInt(toJsNumber(value));
}

/** Decimal sum of decimals and integers, exact as IEEE 754 decimal adds them, while the result fits 34 digits. */
function addDecimals(a: unknown, b: unknown, operator: string): Decimal128 {
  const x = decimalParts(a);
  const y = decimalParts(b);
  if (x === undefined || y === undefined) {
    throw notImplemented(`${operator} of a Decimal128 with a Double or a non-finite Decimal128`);
  }
  const exponent = Math.min(x.exponent, y.exponent);
  const coefficient =
    x.coefficient * 10n ** BigInt(x.exponent - exponent) + y.coefficient * 10n ** BigInt(y.exponent - exponent);
  const digits = (coefficient < 0n ? -coefficient : coefficient).toString();
  if (digits.length > 34) {
    throw notImplemented(`${operator} results that need Decimal128 rounding`);
  }
  return Decimal128.fromString(`${coefficient}E${exponent}`);
}

/**
 * Adds two BSON numbers with mongod's type rules (SafeNum for `$inc`, the
 * `$sum` accumulator for `$group`): Int32 + Int32 stays Int32 and widens to
 * Long on overflow; Long + Long overflows to an error (`$inc`) or a Double
 * (`$sum`); a Double makes a Double; a Decimal128 makes a Decimal128.
 */
export function addNumbers(a: unknown, b: unknown, longOverflow: 'error' | 'double', operator: string): unknown {
  const ta = numberType(a);
  const tb = numberType(b);
  if (ta === undefined || tb === undefined) throw badValue(`${operator} needs numbers`);
  if (ta === 'decimal' || tb === 'decimal') return addDecimals(a, b, operator);
  if (ta === 'double' || tb === 'double') return new Double(toJsNumber(a) + toJsNumber(b));
  const sum = toBigInt(a) + toBigInt(b);
  if (ta === 'int' && tb === 'int' && sum >= int32Min && sum <= int32Max) return new Int32(Number(sum));
  if (sum >= int64Min && sum <= int64Max) return Long.fromBigInt(sum);
  if (longOverflow === 'double') return new Double(toJsNumber(a) + toJsNumber(b));
  throw badValue(`Failed to apply ${operator} operations to current value: the result overflows a 64-bit integer`);
}

/** `$mul` with SafeNum's type rules: as `addNumbers` for `$inc`; Decimal128 products are refused. */
export function multiplyNumbers(a: unknown, b: unknown): unknown {
  const ta = numberType(a);
  const tb = numberType(b);
  if (ta === undefined || tb === undefined) throw badValue('$mul needs numbers');
  if (ta === 'decimal' || tb === 'decimal') throw notImplemented('$mul with Decimal128 values');
  if (ta === 'double' || tb === 'double') return new Double(toJsNumber(a) * toJsNumber(b));
  const product = toBigInt(a) * toBigInt(b);
  if (ta === 'int' && tb === 'int' && product >= int32Min && product <= int32Max) return new Int32(Number(product));
  if (product >= int64Min && product <= int64Max) return Long.fromBigInt(product);
  throw badValue('Failed to apply $mul operations to current value: the result overflows a 64-bit integer');
}
