import {
  Decimal,
  describeKind,
  floatText,
  isFloatLiteralExact,
  isValueObject,
  kindOf,
  Scalar,
  toJson,
  type Value,
} from '@ferry/core';
import type { BinaryWriter } from './clickhouse-binary.js';
import {
  type ColumnType,
  decimalBytes,
  decimalShape,
  enumMembers,
  integerShape,
  numberArg,
  stringArg,
  TypeSyntaxError,
  typeArg,
} from './clickhouse-types.js';

/**
 * Writes a value into a column's RowBinary form, or says why the column cannot
 * hold exactly that value (the reason, without the column: the caller names it).
 * Nothing is written when it refuses, except inside a row the caller rewinds.
 */
export type Encode = (value: Value, out: BinaryWriter) => string | undefined;

/** The text of a JSON number: what text or a decimal must be to go into a numeric column. */
const numberLiteral = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A number's exact value: `(-1)^negative × digits × 10^exponent`, digits without trailing zeros. */
interface Exact {
  readonly negative: boolean;
  readonly digits: bigint;
  readonly exponent: number;
}

/** The exact value of a number literal (already checked against `numberLiteral`). */
export function exactOf(literal: string): Exact {
  const negative = literal.startsWith('-');
  const body = negative ? literal.slice(1) : literal;
  const e = body.search(/[eE]/);
  const mantissa = e === -1 ? body : body.slice(0, e);
  let exponent = e === -1 ? 0 : Number(body.slice(e + 1));
  const dot = mantissa.indexOf('.');
  let digitText = mantissa;
  if (dot !== -1) {
    digitText = mantissa.slice(0, dot) + mantissa.slice(dot + 1);
    exponent -= mantissa.length - dot - 1;
  }
  let end = digitText.length;
  while (end > 1 && digitText.charCodeAt(end - 1) === 48) {
    end -= 1;
    exponent += 1;
  }
  const digits = BigInt(digitText.slice(0, end));
  return { negative, digits, exponent: digits === 0n ? 0 : exponent };
}

/** `digits × 10^shift` when that is an integer of at most `maxDigits` digits, else why not. */
function scaled(exact: Exact, shift: number, maxDigits: number): bigint | 'fraction' | 'range' {
  const exponent = exact.exponent + shift;
  if (exponent < 0) return 'fraction';
  const digitCount = exact.digits === 0n ? 0 : exact.digits.toString().length;
  if (digitCount + exponent > maxDigits + 1) return 'range';
  const value = exact.digits * 10n ** BigInt(exponent);
  return exact.negative ? -value : value;
}

/** A value shown in a reason: its kind, and a short form of it where that helps. */
export function shown(value: Value): string {
  const kind = describeKind(value);
  switch (kindOf(value)) {
    case 'text': {
      const text = value as string;
      return `text ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`;
    }
    case 'integer':
    case 'boolean':
      return `${kind} ${String(value)}`;
    case 'float':
      return `${kind} ${floatText(value as number)}`;
    case 'decimal':
    case 'scalar':
      return `${kind} ${(value as Decimal | Scalar).text}`;
    case 'timestamp':
      return `${kind} ${(value as Date).toISOString()}`;
    case 'bytes':
      return `${(value as Uint8Array).byteLength} bytes`;
    default:
      return kind;
  }
}

/** The exact value of a number-like value (integer, float, decimal, number-literal text), or a reason. */
function exactNumber(value: Value): Exact | string {
  switch (typeof value) {
    case 'bigint':
      return { negative: value < 0n, digits: value < 0n ? -value : value, exponent: 0 };
    case 'number':
      if (!Number.isFinite(value)) return `${shown(value)} is not a finite number`;
      if (Object.is(value, -0)) return 'a float -0 would lose its sign';
      // The float's shortest text: the decimal that reads back as this very float.
      return exactOf(floatText(value));
    case 'string':
      if (!numberLiteral.test(value)) return `${shown(value)} is not a number literal`;
      return negativeZero(exactOf(value)) ?? `${shown(value)} is -0, whose sign would be lost`;
    case 'object':
      if (value instanceof Decimal) {
        return negativeZero(exactOf(value.text)) ?? `${shown(value)} is -0, whose sign would be lost`;
      }
      return `${shown(value)} is not a number`;
    default:
      return `${shown(value)} is not a number`;
  }
}

/** undefined for -0 (which no integer or decimal column can hold with its sign). */
function negativeZero(exact: Exact): Exact | undefined {
  return exact.negative && exact.digits === 0n ? undefined : exact;
}

/** Builds the converter of one column type; a type ferry has no exact mapping for refuses every value. */
export function encoderFor(type: ColumnType): Encode {
  try {
    return build(type);
  } catch (error) {
    const why = error instanceof TypeSyntaxError ? error.message : `ferry has no exact mapping for ${type.text}`;
    return () => why;
  }
}

function build(type: ColumnType): Encode {
  const integer = integerShape(type.name);
  if (integer !== undefined) return integerEncoder(integer.bits, integer.signed, type.name === 'UInt8');
  switch (type.name) {
    case 'Float64':
      return (value, out) => {
        const float = floatOf(value);
        if (typeof float === 'string') return float;
        out.float64(float);
        return undefined;
      };
    case 'Float32':
      return (value, out) => {
        const float = floatOf(value);
        if (typeof float === 'string') return float;
        if (Math.fround(float) !== float && !Number.isNaN(float)) {
          return `${shown(value)} has no exact Float32 (the nearest is ${Math.fround(float)})`;
        }
        out.float32(float);
        return undefined;
      };
    case 'Decimal':
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
    case 'Decimal256':
      return decimalEncoder(type);
    case 'String':
      return (value, out) => {
        const bytes = stringBytes(value);
        if (typeof bytes === 'string') {
          out.text(bytes);
          return undefined;
        }
        if (bytes instanceof Uint8Array) {
          out.varint(bytes.byteLength);
          out.bytes(bytes);
          return undefined;
        }
        return bytes.refused;
      };
    case 'FixedString': {
      const size = numberArg(type, 0);
      return (value, out) => {
        const held = stringBytes(value);
        if (!(typeof held === 'string' || held instanceof Uint8Array)) return held.refused;
        const bytes = typeof held === 'string' ? Buffer.from(held, 'utf8') : held;
        if (bytes.byteLength !== size) {
          return `${shown(value)} is ${bytes.byteLength} bytes, not ${size}${bytes.byteLength < size ? ' (the server would pad it with zero bytes)' : ''}`;
        }
        out.bytes(bytes);
        return undefined;
      };
    }
    case 'Date':
      return (value, out) => {
        const ms = dayOf(value, dateRange);
        if (typeof ms === 'string') return ms;
        out.integer(BigInt(ms / 86_400_000), 16);
        return undefined;
      };
    case 'Date32':
      return (value, out) => {
        const ms = dayOf(value, date32Range);
        if (typeof ms === 'string') return ms;
        out.integer(BigInt(ms / 86_400_000), 32);
        return undefined;
      };
    case 'DateTime': {
      const zone = stringArg(type, 0);
      const utc = zone === 'UTC' || zone === 'Etc/UTC';
      return (value, out) => {
        const ms = instantOf(value, utc);
        if (typeof ms === 'string') return ms;
        if (ms % 1000 !== 0) return `${shown(value)} has milliseconds, which DateTime cannot hold`;
        if (ms < 0 || ms > 4_294_967_295_000) return `${shown(value)} is outside DateTime's range (1970 to 2106)`;
        out.integer(BigInt(ms / 1000), 32);
        return undefined;
      };
    }
    case 'DateTime64': {
      const precision = numberArg(type, 0);
      const zone = stringArg(type, 1);
      const utc = zone === 'UTC' || zone === 'Etc/UTC';
      const { first, last } = dateTime64Range(precision);
      const range = `${type.text}'s range (${new Date(first).toISOString()} to ${new Date(last).toISOString()})`;
      return (value, out) => {
        const ms = instantOf(value, utc);
        if (typeof ms === 'string') return ms;
        // Out of range, the server would read the ticks as another time, or they would not fit 64 bits.
        if (ms < first || ms > last) return `${shown(value)} is outside ${range}`;
        let ticks: bigint;
        if (precision >= 3) ticks = BigInt(ms) * 10n ** BigInt(precision - 3);
        else {
          const unit = 10 ** (3 - precision);
          if (ms % unit !== 0) return `${shown(value)} has digits finer than DateTime64(${precision}) holds`;
          ticks = BigInt(ms / unit);
        }
        out.integer(ticks, 64);
        return undefined;
      };
    }
    case 'UUID':
      return (value, out) => {
        let text: string | undefined;
        if (value instanceof Scalar && value.type === 'uuid') text = value.text;
        else if (typeof value === 'string' && uuidText.test(value)) text = value.toLowerCase();
        if (text === undefined) return `${shown(value)} is not a UUID`;
        const hex = text.replaceAll('-', '');
        // Each 8-byte half is stored as a little-endian integer.
        out.bytes(Buffer.from(hex.slice(0, 16), 'hex').reverse());
        out.bytes(Buffer.from(hex.slice(16), 'hex').reverse());
        return undefined;
      };
    case 'Enum8':
    case 'Enum16': {
      const { byName } = enumMembers(type);
      const bits = type.name === 'Enum8' ? 8 : 16;
      const names = [...byName.keys()].map((name) => JSON.stringify(name)).join(', ');
      return (value, out) => {
        const member = typeof value === 'string' ? byName.get(value) : undefined;
        if (member === undefined) return `${shown(value)} is not one of ${names}`;
        out.integer(BigInt(member), bits);
        return undefined;
      };
    }
    case 'Bool':
      return (value, out) => {
        const bool = value === 'true' ? true : value === 'false' ? false : value;
        if (typeof bool !== 'boolean') return `${shown(value)} is not a boolean`;
        out.u8(bool ? 1 : 0);
        return undefined;
      };
    case 'Nullable': {
      const inner = build(typeArg(type, 0));
      return (value, out) => {
        if (value === null) {
          out.u8(1);
          return undefined;
        }
        out.u8(0);
        return inner(value, out);
      };
    }
    case 'LowCardinality':
      return build(typeArg(type, 0));
    case 'Nothing':
      return (value) => `${shown(value)}: a Nothing column holds only null`;
    case 'Array': {
      const item = build(typeArg(type, 0));
      return (value, out) => {
        if (!Array.isArray(value)) return `${shown(value)} is not an array`;
        out.varint(value.length);
        for (let i = 0; i < value.length; i++) {
          const refused = item(value[i]!, out);
          if (refused !== undefined) return `item ${i}: ${refused}`;
        }
        return undefined;
      };
    }
    case 'Tuple': {
      const items = type.args.map((_, i) => build(typeArg(type, i)));
      return (value, out) => {
        if (!Array.isArray(value) || value.length !== items.length) {
          return `${shown(value)} is not an array of ${items.length} items`;
        }
        for (let i = 0; i < items.length; i++) {
          const refused = items[i]!(value[i]!, out);
          if (refused !== undefined) return `item ${i}: ${refused}`;
        }
        return undefined;
      };
    }
    case 'Map': {
      const key = build(typeArg(type, 0));
      const item = build(typeArg(type, 1));
      return (value, out) => {
        if (!isValueObject(value)) return `${shown(value)} is not an object`;
        const keys = Object.keys(value);
        out.varint(keys.length);
        for (const k of keys) {
          const refused = key(k, out) ?? item(value[k]!, out);
          if (refused !== undefined) return `key ${JSON.stringify(k)}: ${refused}`;
        }
        return undefined;
      };
    }
    default:
      throw new Error(`no mapping for ${type.text}`);
  }
}

/** A plain decimal integer without leading zeros: its text and its value say the same. */
const plainInteger = /^(?:0|-?[1-9]\d*)$/;

const uuidText = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function integerEncoder(bits: 8 | 16 | 32 | 64 | 128 | 256, signed: boolean, takesBoolean: boolean): Encode {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const digits = max.toString().length;
  const small = { min: Math.max(Number(min), -(2 ** 53)), max: Math.min(Number(max), 2 ** 53) };
  return (value, out) => {
    // Most text is a short plain integer: read it as a safe JS number, skip the exact path.
    if (typeof value === 'string' && value.length < 16 && plainInteger.test(value)) {
      const n = Number(value);
      if (n >= small.min && n <= small.max) {
        out.safeInteger(n, bits);
        return undefined;
      }
    }
    let integer: bigint;
    if (typeof value === 'bigint') integer = value;
    else if (typeof value === 'boolean' && takesBoolean) integer = value ? 1n : 0n;
    else {
      const exact = exactNumber(value);
      if (typeof exact === 'string') return exact;
      const whole = scaled(exact, 0, digits);
      if (whole === 'fraction') return `${shown(value)} is not an integer`;
      if (whole === 'range') return `${shown(value)} is out of range`;
      integer = whole;
    }
    if (integer < min || integer > max) return `${shown(value)} is out of range`;
    out.integer(integer, bits);
    return undefined;
  };
}

function decimalEncoder(type: ColumnType): Encode {
  const { precision, scale } = decimalShape(type);
  const bits = decimalBytes(precision) * 8;
  const limit = 10n ** BigInt(precision);
  return (value, out) => {
    const exact = exactNumber(value);
    if (typeof exact === 'string') return exact;
    const stored = scaled(exact, scale, precision);
    if (stored === 'fraction') return `${shown(value)} has more than ${scale} fraction digits`;
    if (stored === 'range' || stored >= limit || stored <= -limit) {
      return `${shown(value)} has more than ${precision - scale} integer digits`;
    }
    out.integer(stored, bits);
    return undefined;
  };
}

/** A float a Float column holds exactly, or why not. */
function floatOf(value: Value): number | string {
  switch (typeof value) {
    case 'number':
      return value;
    case 'bigint': {
      const float = Number(value);
      return Number.isFinite(float) && BigInt(float) === value ? float : `${shown(value)} has no exact float`;
    }
    case 'string': {
      if (value === 'NaN') return Number.NaN;
      if (value === 'Infinity') return Number.POSITIVE_INFINITY;
      if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
      if (!numberLiteral.test(value)) return `${shown(value)} is not a number literal`;
      const float = Number(value);
      return isFloatLiteralExact(value, float) ? float : `${shown(value)} has no exact float`;
    }
    case 'object':
      if (value instanceof Decimal) {
        const float = Number(value.text);
        return isFloatLiteralExact(value.text, float) ? float : `${shown(value)} has no exact float`;
      }
      return `${shown(value)} is not a number`;
    default:
      return `${shown(value)} is not a number`;
  }
}

/** Only lone surrogates: a pair is one code point in a `u` pattern. */
const loneSurrogate = /\p{Surrogate}/u;

/** What a String column stores for a value: text (as UTF-8), bytes as they are, or why nothing. */
function stringBytes(value: Value): string | Uint8Array | { refused: string } {
  switch (typeof value) {
    case 'string':
      // Only text with a character beyond ASCII can hold a surrogate.
      return Buffer.byteLength(value) !== value.length && loneSurrogate.test(value)
        ? { refused: `${shown(value)} holds a lone surrogate, which UTF-8 cannot` }
        : value;
    case 'bigint':
      return value.toString();
    case 'number':
      return floatText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return { refused: 'null, and the column is not Nullable' };
      if (value instanceof Uint8Array) return value;
      if (value instanceof Decimal || value instanceof Scalar) return value.text;
      if (value instanceof Date) return value.toISOString();
      let json: ReturnType<typeof toJson>;
      try {
        json = toJson(value);
      } catch (error) {
        return { refused: (error as Error).message };
      }
      if (json.types !== undefined) {
        const at = Object.entries(json.types)
          .slice(0, 3)
          .map(([pointer, tag]) => `${tag} at ${pointer}`)
          .join(', ');
        return { refused: `${shown(value)} holds values its JSON text cannot say the kind of (${at})` };
      }
      return json.text;
    }
    default:
      return { refused: `${shown(value)} is not a value` };
  }
}

/** The days a day column holds, as ms of UTC midnights, and how a reason says it. */
interface DayRange {
  readonly first: number;
  readonly last: number;
  readonly text: string;
}

// 18.16's calendar ends with 2105 (it shows later days as 0000-00-00); current releases go to 2149-06-06.
const dateRange: DayRange = { first: 0, last: Date.UTC(2105, 11, 31), text: "Date's range (1970-01-01 to 2105-12-31)" };
const date32Range: DayRange = {
  first: Date.UTC(1900, 0, 1),
  last: Date.UTC(2299, 11, 31),
  text: "Date32's range (1900-01-01 to 2299-12-31)",
};

/** The instants a DateTime64(p) holds, in ms: its calendar's years, and ticks that fit an Int64. */
function dateTime64Range(precision: number): { first: number; last: number } {
  const ticksPerMs = 10n ** BigInt(Math.max(precision - 3, 0));
  const int64Ms = Number((2n ** 63n - 1n) / ticksPerMs);
  return { first: Date.UTC(1900, 0, 1), last: Math.min(Date.UTC(2299, 11, 31, 23, 59, 59, 999), int64Ms) };
}

const dayText = /^(\d{4})-(\d\d)-(\d\d)$/;

/** A day column's day, as the ms of its UTC midnight, or why not. */
function dayOf(value: Value, range: DayRange): number | string {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') {
    const match = dayText.exec(value);
    if (match === null) return `${shown(value)} is not a day (YYYY-MM-DD)`;
    ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    if (new Date(ms).toISOString().slice(0, 10) !== value) return `${shown(value)} is not a day of the calendar`;
  } else return `${shown(value)} is not a timestamp or a day`;
  if (ms % 86_400_000 !== 0) return `${shown(value)} is not a UTC midnight, and the column holds days`;
  if (ms < range.first || ms > range.last) return `${shown(value)} is outside ${range.text}`;
  return ms;
}

const zonedText = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/;

/** An instant in ms from a timestamp or zoned ISO 8601 text (zone-less text only when the column is UTC), or why not. */
function instantOf(value: Value, columnIsUtc: boolean): number | string {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return `${shown(value)} is not a timestamp`;
  const match = zonedText.exec(value);
  if (match === null) return `${shown(value)} is not an ISO 8601 time`;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = match;
  if (zone === undefined && !columnIsUtc) {
    return `${shown(value)} has no time zone (add Z or an offset; without one its meaning depends on the server's zone)`;
  }
  if (!/^\d{0,3}0*$/.test(fraction)) return `${shown(value)} has digits finer than milliseconds`;
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const back = new Date(local).toISOString();
  if (back.slice(0, 19) !== `${y}-${mo}-${d}T${h}:${mi}:${s}`) return `${shown(value)} is not a time of the calendar`;
  if (zone === undefined || zone === 'Z') return local;
  const sign = zone.startsWith('-') ? -1 : 1;
  return local - sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}
