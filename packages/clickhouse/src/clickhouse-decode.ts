import { isUtf8 } from 'node:buffer';
import { Decimal, Scalar, setEntry, type Value, type ValueObject } from '@ferry/core';
import type { BinaryReader } from './clickhouse-binary.js';
import {
  type ColumnType,
  decimalBytes,
  decimalShape,
  enumMembers,
  integerShape,
  numberArg,
  TypeSyntaxError,
  typeArg,
} from './clickhouse-types.js';

/**
 * Reads one value of a column from RowBinary. A value ferry cannot hold
 * exactly (a DateTime64 finer than ms) is still read past, and `problem` says
 * why, so that the row is dead-lettered and the next rows read on.
 */
export type Decode = (input: BinaryReader, problem: Problem) => Value;

/** Collects the first reason a row cannot be a record. */
export interface Problem {
  reason: string | undefined;
}

/** Thrown at open for a column type ferry has no exact reading of. */
export class UnsupportedTypeError extends Error {
  override readonly name = 'UnsupportedTypeError';
}

export function decoderFor(type: ColumnType): Decode {
  const integer = integerShape(type.name);
  if (integer !== undefined) {
    const { bits, signed } = integer;
    return (input) => input.integer(bits, signed);
  }
  switch (type.name) {
    case 'Float64':
      return (input) => input.float64();
    case 'Float32':
      return (input) => input.float32();
    case 'Decimal':
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
    case 'Decimal256': {
      const { precision, scale } = decimalShape(type);
      const bits = decimalBytes(precision) * 8;
      return (input) => new Decimal(decimalText(input.integer(bits, true), scale));
    }
    case 'String':
      return (input) => textOrBytes(input.slice(input.varint()));
    case 'FixedString': {
      const size = numberArg(type, 0);
      return (input) => textOrBytes(input.slice(size));
    }
    case 'Date':
      return (input) => new Date(input.smallInt(2, false) * 86_400_000);
    case 'Date32':
      // Days since 1970 as a signed Int32: before 1970 is negative.
      return (input) => new Date(input.smallInt(4, true) * 86_400_000);
    case 'DateTime':
      return (input) => new Date(input.smallInt(4, false) * 1000);
    case 'DateTime64': {
      const precision = numberArg(type, 0);
      const perMs = precision >= 3 ? 10n ** BigInt(precision - 3) : 1n;
      const msPer = precision >= 3 ? 1 : 10 ** (3 - precision);
      return (input, problem) => {
        const ticks = input.integer(64, true);
        if (ticks % perMs !== 0n) {
          problem.reason ??= `the value has digits finer than milliseconds, which ferry's timestamps cannot hold`;
        }
        return new Date(Number(ticks / perMs) * msPer);
      };
    }
    case 'UUID':
      return (input) => {
        const high = Buffer.from(input.slice(8)).reverse().toString('hex');
        const low = Buffer.from(input.slice(8)).reverse().toString('hex');
        return new Scalar(
          'uuid',
          `${high.slice(0, 8)}-${high.slice(8, 12)}-${high.slice(12)}-${low.slice(0, 4)}-${low.slice(4)}`,
        );
      };
    case 'Enum8':
    case 'Enum16': {
      const { byValue } = enumMembers(type);
      const bytes = type.name === 'Enum8' ? 1 : 2;
      return (input, problem) => {
        const member = input.smallInt(bytes, true);
        const name = byValue.get(member);
        if (name !== undefined) return name;
        problem.reason ??= `${type.text} holds ${member}, which names no member`;
        return null;
      };
    }
    case 'Bool':
      return (input) => input.u8() !== 0;
    case 'Nothing':
      return () => null;
    case 'Nullable': {
      const inner = decoderFor(typeArg(type, 0));
      return (input, problem) => (input.u8() === 1 ? null : inner(input, problem));
    }
    case 'LowCardinality':
      return decoderFor(typeArg(type, 0));
    case 'Array': {
      const item = decoderFor(typeArg(type, 0));
      return (input, problem) => {
        const length = input.varint();
        const items: Value[] = new Array(length);
        for (let i = 0; i < length; i++) items[i] = item(input, problem);
        return items;
      };
    }
    case 'Tuple': {
      const items = type.args.map((_, i) => decoderFor(typeArg(type, i)));
      return (input, problem) => items.map((item) => item(input, problem));
    }
    case 'Map': {
      const key = decoderFor(typeArg(type, 0));
      const item = decoderFor(typeArg(type, 1));
      return (input, problem) => {
        const length = input.varint();
        const object: ValueObject = {};
        for (let i = 0; i < length; i++) {
          const k = key(input, problem);
          const v = item(input, problem);
          const text = keyText(k);
          if (text === undefined) problem.reason ??= `a ${type.text} key is not text or an integer`;
          // A Map may hold a key twice; an object cannot, and keeping one would drop the other.
          else if (Object.hasOwn(object, text))
            problem.reason ??= `the key ${JSON.stringify(text)} is in the map twice`;
          else setEntry(object, text, v);
        }
        return object;
      };
    }
    default:
      throw new UnsupportedTypeError(`ferry has no exact mapping for ${type.text}`);
  }
}

/** Like `decoderFor`, with a type the parser could not read reported the same way. */
export function columnDecoder(type: ColumnType): Decode {
  try {
    return decoderFor(type);
  } catch (error) {
    if (error instanceof TypeSyntaxError) throw new UnsupportedTypeError(error.message);
    throw error;
  }
}

function keyText(key: Value): string | undefined {
  if (typeof key === 'string') return key;
  if (typeof key === 'bigint') return key.toString();
  if (key instanceof Scalar || key instanceof Decimal) return key.text;
  return undefined;
}

/** A stored Decimal integer as its text with exactly `scale` fraction digits: -150, 2 → `-1.50`. */
export function decimalText(stored: bigint, scale: number): string {
  const negative = stored < 0n;
  let digits = (negative ? -stored : stored).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** A String's bytes: text when they are UTF-8, else a copy of the bytes (never a JS string that replaced them). */
export function textOrBytes(bytes: Buffer): string | Uint8Array {
  const text = bytes.toString('utf8');
  // Decoding replaces a bad sequence with U+FFFD: only then is the full check worth it.
  if (!text.includes('\uFFFD') || isUtf8(bytes)) return text;
  return Buffer.from(bytes);
}
