import type { RecordValue } from '@ferry/core';

/** The `encoded.format` of a record read with the `fields` codec: its entry's field/value list. */
export const fieldsFormat = 'redis-stream/fields';

/** How a record value maps onto the field/value pairs of a stream entry. */
export type RedisStreamCodec = 'fields' | 'json';

/**
 * A field or value as read: text, or the bytes of a value that is not UTF-8
 * (which a string would corrupt), kept as they are.
 */
export type FieldText = string | Buffer;

/** How bytes that are not UTF-8 stand in a JSON value: `{ "$binary": "<base64>" }`. */
export interface BinaryValue {
  readonly $binary: string;
}

function isBinaryValue(value: unknown): value is BinaryValue {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$binary' && typeof (value as BinaryValue).$binary === 'string';
}

const jsonNumber = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A field value as the `fields` codec reads it: JSON when it is JSON, else the
 * raw text. Checked by its first and last characters before any JSON.parse,
 * because a failed parse (a throw) costs far more than the whole decode of plain text.
 */
export function decodeFieldValue(text: FieldText): unknown {
  if (typeof text !== 'string') return { $binary: text.toString('base64') } satisfies BinaryValue;
  const first = text.charCodeAt(0);
  if (first === 45 /* - */ || (first >= 48 && first <= 57) /* 0-9 */) {
    return jsonNumber.test(text) ? Number(text) : text;
  }
  if (first === 116 /* t */) return text === 'true' ? true : text;
  if (first === 102 /* f */) return text === 'false' ? false : text;
  if (first === 110 /* n */) return text === 'null' ? null : text;
  const close = first === 123 /* { */ ? 125 : first === 91 /* [ */ ? 93 : first === 34 /* " */ ? 34 : -1;
  if (close === -1 || text.length < 2 || text.charCodeAt(text.length - 1) !== close) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A string is stored raw, readable by any other client, unless the decoder
 * would read it back as something else ("1", "true", "{…}"): then it is stored JSON-encoded.
 */
export function encodeFieldValue(value: unknown): FieldText | undefined {
  if (isBinaryValue(value)) return Buffer.from(value.$binary, 'base64');
  switch (typeof value) {
    case 'string':
      return decodeFieldValue(value) === value ? value : JSON.stringify(value);
    case 'number':
      // The same text as JSON.stringify for finite numbers, without its generic path.
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return value === null ? 'null' : JSON.stringify(value);
  }
}

/**
 * `fields` codec: each top-level key becomes a stream field. Keys whose value
 * JSON cannot hold (undefined, functions) are left out, as JSON.stringify does.
 * Appends the flat `field, value, field, value…` list XADD takes to `out` and
 * returns how many strings it appended: the sink builds its command in place.
 */
export function appendFields(out: (FieldText | number)[], value: RecordValue, skipKey?: string): number {
  const before = out.length;
  for (const key in value) {
    if (key === skipKey || !Object.hasOwn(value, key)) continue;
    const text = encodeFieldValue(value[key]);
    if (text !== undefined) out.push(key, text);
  }
  return out.length - before;
}

/**
 * `appendFields` for a record that arrived as stream fields: copies them as
 * read, but for the pair named `skipKey`. The same entry, without encoding again.
 */
export function appendRawFields(out: (FieldText | number)[], fields: readonly FieldText[], skipKey?: string): number {
  const before = out.length;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === skipKey) continue;
    out.push(fields[i]!, fields[i + 1]!);
  }
  return out.length - before;
}

export function encodeFields(value: RecordValue, skipKey?: string): FieldText[] {
  const out: FieldText[] = [];
  appendFields(out as (FieldText | number)[], value, skipKey);
  return out;
}

export function decodeFields(fields: readonly FieldText[]): RecordValue {
  const value: RecordValue = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i]!.toString();
    // A field named __proto__ must stay data, not replace the object's prototype.
    if (key === '__proto__') {
      Object.defineProperty(value, key, {
        value: decodeFieldValue(fields[i + 1]!),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      value[key] = decodeFieldValue(fields[i + 1]!);
    }
  }
  return value;
}

/** `json` codec: the whole value, JSON-encoded, in one field. */
export function encodeJson(value: RecordValue, field: string): string[] {
  return [field, JSON.stringify(value)];
}

/** `encodeJson` into a command being built; returns 2, the strings appended. */
export function appendJson(out: (FieldText | number)[], value: RecordValue, field: string): number {
  out.push(field, JSON.stringify(value));
  return 2;
}

/** Thrown by a decoder; the source turns it into a RecordRejectedError naming the entry. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export function decodeJson(fields: readonly FieldText[], field: string): RecordValue {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toString() !== field) continue;
    const held = fields[i + 1]!;
    if (typeof held !== 'string') throw new DecodeError(`field "${field}" is not UTF-8 text`);
    const text = held;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new DecodeError(`field "${field}" is not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw new DecodeError(`field "${field}" holds ${kind}, not a JSON object`);
    }
    return value as RecordValue;
  }
  throw new DecodeError(`field "${field}" is missing`);
}
