import { floatLiteral } from './json-number.js';
import {
  Decimal,
  describeKind,
  isValueObject,
  pointerSegment,
  Scalar,
  type ScalarType,
  type Value,
  ValueError,
} from './value.js';

/**
 * The kinds JSON has no literal for, as they are named where a value's JSON
 * travels with its types: bytes are base64 text, a timestamp ISO 8601 text, a
 * float that is not finite the text `NaN`/`Infinity`/`-Infinity`, a scalar
 * its text, and a decimal a number literal that must not be read as a float.
 */
export type JsonTypeTag = 'bytes' | 'timestamp' | 'decimal' | 'float' | ScalarType;

/** JSON pointer (RFC 6901) → tag, for every value whose JSON alone does not say its kind. */
export type JsonTypes = Record<string, JsonTypeTag>;

/** A value as JSON text, and the kinds the text cannot say (absent when it says them all). */
export interface JsonWithTypes {
  readonly text: string;
  readonly types?: JsonTypes;
}

/**
 * A value as JSON, losslessly: an integer is an integer literal, a float a
 * literal with a fraction or an exponent (`5.0`, `-0.0`, `1e+21`), a decimal
 * its own text; bytes, timestamps, scalars and floats that are not finite are
 * text, and `types` says which. Throws a ValueError naming the path of
 * anything that is not a value.
 */
export function toJson(value: Value): JsonWithTypes {
  const types: JsonTypes = {};
  const path: (string | number)[] = [];
  let tagged = false;
  const tag = (name: JsonTypeTag) => {
    types[path.map((segment) => `/${pointerSegment(segment)}`).join('')] = name;
    tagged = true;
  };
  const write = (item: unknown): string => {
    switch (typeof item) {
      case 'string':
        return JSON.stringify(item);
      case 'bigint':
        return String(item);
      case 'boolean':
        return item ? 'true' : 'false';
      case 'number':
        if (Number.isFinite(item)) return floatLiteral(item);
        tag('float');
        return `"${String(item)}"`;
      case 'object': {
        if (item === null) return 'null';
        if (Array.isArray(item)) {
          let out = '[';
          for (let i = 0; i < item.length; i++) {
            path.push(i);
            out += (i === 0 ? '' : ',') + write(item[i]);
            path.pop();
          }
          return `${out}]`;
        }
        if (item instanceof Uint8Array) {
          tag('bytes');
          return `"${Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('base64')}"`;
        }
        if (item instanceof Decimal) {
          tag('decimal');
          return item.text;
        }
        if (item instanceof Scalar) {
          tag(item.type);
          return `"${item.text}"`;
        }
        if (item instanceof Date) {
          if (Number.isNaN(item.getTime())) throw new ValueError(pointer(path), 'an invalid Date is not a timestamp');
          tag('timestamp');
          return `"${item.toISOString()}"`;
        }
        if (!isValueObject(item)) throw new ValueError(pointer(path), `${describeKind(item)} is not a value`);
        let out = '{';
        let first = true;
        for (const key in item) {
          if (!Object.hasOwn(item, key)) continue;
          path.push(key);
          out += `${first ? '' : ','}${JSON.stringify(key)}:${write(item[key])}`;
          path.pop();
          first = false;
        }
        return `${out}}`;
      }
      default:
        throw new ValueError(pointer(path), `${describeKind(item)} is not a value`);
    }
  };
  const text = write(value);
  return tagged ? { text, types } : { text };
}

function pointer(path: readonly (string | number)[]): string {
  return path.map((segment) => `/${pointerSegment(segment)}`).join('');
}
