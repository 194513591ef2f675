/**
 * ferry's value model: what a record's value holds, exactly. Each JavaScript
 * type stands for one kind of value, so that type information never hides in
 * a user's text:
 *
 * | kind        | JavaScript   | holds                                                   |
 * | ----------- | ------------ | ------------------------------------------------------- |
 * | `text`      | `string`     | text (UTF-16; lone surrogates kept)                     |
 * | `boolean`   | `boolean`    |                                                         |
 * | `null`      | `null`       |                                                         |
 * | `integer`   | `bigint`     | an integer of any size                                  |
 * | `float`     | `number`     | a 64-bit binary float, NaN, ±Infinity and -0 included   |
 * | `decimal`   | `Decimal`    | an exact decimal number, as its text (`1.50`, `1E+5`)   |
 * | `bytes`     | `Uint8Array` | bytes (a Buffer is one)                                 |
 * | `timestamp` | `Date`       | an instant, in milliseconds                             |
 * | `scalar`    | `Scalar`     | a value of a type only some systems have: ObjectId, UUID |
 * | `array`     | `Value[]`    |                                                         |
 * | `object`    | plain object | text keys to values                                     |
 *
 * Integers are never JavaScript numbers: a number is always a float, so that
 * an integer 5 and a float 5.0 stay apart on every trip.
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Decimal
  | Uint8Array
  | Date
  | Scalar
  | Value[]
  | ValueObject;

export interface ValueObject {
  [key: string]: Value;
}

/** Every kind, in the order of the table above: what a type table has one row for. */
export const valueKinds = [
  'text',
  'boolean',
  'null',
  'integer',
  'float',
  'decimal',
  'bytes',
  'timestamp',
  'scalar',
  'array',
  'object',
] as const;

export type ValueKind = (typeof valueKinds)[number];

/** The text of a JSON number: what a decimal's text must be. */
const decimalText = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** An exact decimal number, kept as the text it came as, so that `1.50` stays `1.50`. */
export class Decimal {
  readonly text: string;

  constructor(text: string) {
    if (!decimalText.test(text)) throw new TypeError(`not a decimal number: ${JSON.stringify(text)}`);
    this.text = text;
  }

  static isDecimalText(text: string): boolean {
    return decimalText.test(text);
  }

  toString(): string {
    return this.text;
  }
}

/** The types a `Scalar` may be, each with the one text form it is kept in. */
export const scalarTypes = {
  /** MongoDB's ObjectId: 24 lowercase hex digits. */
  objectId: /^[0-9a-f]{24}$/,
  /** A UUID: 8-4-4-4-12 lowercase hex digits. */
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
} as const;

export type ScalarType = keyof typeof scalarTypes;

/**
 * A value of a type that only some systems have, as its canonical text: a
 * system that has the type gets it back, the others keep the text.
 */
export class Scalar {
  constructor(
    readonly type: ScalarType,
    readonly text: string,
  ) {
    const pattern = scalarTypes[type] as RegExp | undefined;
    if (pattern === undefined) throw new TypeError(`not a scalar type: ${JSON.stringify(type)}`);
    if (!pattern.test(text)) throw new TypeError(`not the text of a ${type}: ${JSON.stringify(text)}`);
  }

  toString(): string {
    return this.text;
  }
}

/** The one text form of a timestamp as text: ISO 8601, UTC, milliseconds (what `Date.toISOString` writes). */
const timestampText = /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A timestamp from its text form, or undefined for any other text (no other format, no time zone, no rounding). */
export function timestampFromText(text: string): Date | undefined {
  if (!timestampText.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) || date.toISOString() !== text ? undefined : date;
}

export function isScalarType(type: string): type is ScalarType {
  return Object.hasOwn(scalarTypes, type);
}

/** True for a plain object (a value's object kind): not an array, not null, not one of the classes above. */
export function isValueObject(value: unknown): value is ValueObject {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The kind of a value, or undefined when it is not one (undefined, a function, a class instance…). */
export function kindOf(value: unknown): ValueKind | undefined {
  switch (typeof value) {
    case 'string':
      return 'text';
    case 'number':
      return 'float';
    case 'bigint':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'array';
      if (value instanceof Uint8Array) return 'bytes';
      if (value instanceof Decimal) return 'decimal';
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : 'timestamp';
      if (value instanceof Scalar) return 'scalar';
      return isValueObject(value) ? 'object' : undefined;
    default:
      return undefined;
  }
}

/**
 * Sets `key` on an object as data: a key named `__proto__` becomes an own
 * property instead of replacing the object's prototype.
 */
export function setEntry(object: ValueObject, key: string, value: Value): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** Thrown when a value holds something the model has no kind for; `path` is a JSON pointer to it. */
export class ValueError extends Error {
  override readonly name = 'ValueError';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
  }
}

/** A JSON pointer segment (RFC 6901): `~` and `/` escaped. */
export function pointerSegment(key: string | number): string {
  return typeof key === 'number' ? String(key) : key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** A JSON pointer's segments, unescaped. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new TypeError(`not a JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** What a value is, for messages: `an integer`, `bytes`… */
export function describeKind(value: unknown): string {
  const kind = kindOf(value);
  switch (kind) {
    case undefined:
      return value === undefined ? 'undefined' : `a ${typeof value === 'object' ? 'class instance' : typeof value}`;
    case 'integer':
    case 'array':
    case 'object':
      return `an ${kind}`;
    case 'bytes':
    case 'null':
      return kind;
    case 'scalar':
      return `a ${(value as Scalar).type}`;
    default:
      return `a ${kind}`;
  }
}

/**
 * True when two values are the same value of the same kind: floats by their
 * bits (NaN equals NaN, -0 differs from 0), decimals by their text, bytes by
 * their bytes, objects by their keys in any order.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  const kind = kindOf(a);
  if (kind === undefined || kind !== kindOf(b)) return false;
  switch (kind) {
    case 'float':
      return Object.is(a, b);
    case 'decimal':
    case 'scalar':
      return (a as Decimal).text === (b as Decimal).text && (a as Scalar).type === (b as Scalar).type;
    case 'bytes':
      return Buffer.from(a as Uint8Array).equals(b as Uint8Array);
    case 'timestamp':
      return (a as Date).getTime() === (b as Date).getTime();
    case 'array': {
      const x = a as Value[];
      const y = b as Value[];
      return x.length === y.length && x.every((item, i) => sameValue(item, y[i]));
    }
    case 'object': {
      const x = a as ValueObject;
      const y = b as ValueObject;
      const keys = Object.keys(x);
      return (
        keys.length === Object.keys(y).length && keys.every((key) => Object.hasOwn(y, key) && sameValue(x[key], y[key]))
      );
    }
    default:
      return a === b;
  }
}
