import { isUtf8 } from 'node:buffer';
import {
  Decimal,
  describeKind,
  floatText,
  fromJson,
  isScalarType,
  isValueObject,
  type JsonTypes,
  parseJsonTypes,
  pointerSegment,
  pointerSegments,
  type RecordValue,
  Scalar,
  setEntry,
  timestampFromText,
  toJson,
  typesHeader,
  type Value,
} from '@ferry/core';

/** The `encoded.format` of a record read with the `fields` codec: its entry's field/value list. */
export const fieldsFormat = 'redis-stream/fields';

/** How a record value maps onto the field/value pairs of a stream entry. */
export type RedisStreamCodec = 'fields' | 'json';

/**
 * A field or value as read: text, or the bytes of one that is not UTF-8
 * (which a string would corrupt), kept as they are.
 */
export type FieldText = string | Buffer;

/**
 * The field that says which fields hold something other than text: a JSON
 * object of JSON pointers (`/price`) to tags (`decimal`). Written only when
 * some value is not text, so an entry of text is written exactly as given.
 * A user's own field of that name is written with one more leading `\`.
 */
export const typesField = 'ferry:types';

/** A user's field name that would read as `typesField`, or as one escaped: escaped with one more `\`. */
const reservedName = /^\\*ferry:types$/;

/**
 * What a field's text stands for when it is not text: `integer` (decimal
 * digits), `float` (the shortest text that reads back as the same float,
 * `NaN`, `Infinity`, `-Infinity`, `-0`), `decimal` (its text), `boolean`
 * (`true`/`false`), `null` (`null`), `timestamp` (ISO 8601, UTC,
 * milliseconds), `bytes` (as stored: needed only for bytes that happen to be
 * UTF-8), `json` (an object or array as lossless JSON, its inner kinds tagged
 * by deeper pointers), `objectId`, `uuid`.
 */
export type FieldTag =
  | 'integer'
  | 'float'
  | 'decimal'
  | 'boolean'
  | 'null'
  | 'timestamp'
  | 'bytes'
  | 'json'
  | 'objectId'
  | 'uuid';

/** Thrown by a decoder; the source turns it into a rejected record naming the entry. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Thrown for a value a stream entry cannot hold; the sink dead-letters the record with the message. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

/** A value as the text a stream field holds, and its tag when it is not text. */
export interface EncodedField {
  readonly text: FieldText;
  readonly tag?: FieldTag;
  /** For `json`: the inner kinds, by pointers below the field's own. */
  readonly types?: JsonTypes;
}

function wellFormed(text: string, what: string): string {
  if (!text.isWellFormed()) {
    throw new EncodeError(`${what} holds a lone UTF-16 surrogate, which UTF-8 (and so Redis text) cannot hold`);
  }
  return text;
}

/** One value as field text: text as it is, anything else as its text and a tag. */
export function encodeFieldValue(value: Value, what = 'the value'): EncodedField {
  switch (typeof value) {
    case 'string':
      return { text: wellFormed(value, what) };
    case 'bigint':
      return { text: String(value), tag: 'integer' };
    case 'number':
      return { text: floatText(value), tag: 'float' };
    case 'boolean':
      return { text: value ? 'true' : 'false', tag: 'boolean' };
  }
  if (value === null) return { text: 'null', tag: 'null' };
  if (value instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    // Bytes that are not UTF-8 read back as bytes untagged: tagging them would add a field a trip never had.
    return isUtf8(bytes) ? { text: bytes, tag: 'bytes' } : { text: bytes };
  }
  if (value instanceof Decimal) return { text: value.text, tag: 'decimal' };
  if (value instanceof Scalar) return { text: value.text, tag: value.type };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new EncodeError(`${what} is an invalid Date`);
    return { text: value.toISOString(), tag: 'timestamp' };
  }
  if (Array.isArray(value) || isValueObject(value)) {
    let json: ReturnType<typeof toJson>;
    try {
      json = toJson(value);
    } catch (error) {
      throw new EncodeError(`${what} ${(error as Error).message}`);
    }
    wellFormed(json.text, what);
    return json.types === undefined
      ? { text: json.text, tag: 'json' }
      : { text: json.text, tag: 'json', types: json.types };
  }
  throw new EncodeError(`${what} is ${describeKind(value)}, which is not a value`);
}

/** A field name as written (escaped when it reads as the types field) and its JSON pointer as JSON text. */
interface KeyForm {
  readonly name: string;
  readonly pointer: string;
}

/** Record after record carries the same keys: their forms are kept, up to a bound. */
const keyForms = new Map<string, KeyForm>();
const keyFormLimit = 4096;

function keyForm(key: string): KeyForm {
  let form = keyForms.get(key);
  if (form === undefined) {
    const name = reservedName.test(key) ? `\\${key}` : wellFormed(key, `field name ${JSON.stringify(key)}`);
    form = { name, pointer: JSON.stringify(`/${pointerSegment(key)}`) };
    if (keyForms.size >= keyFormLimit) keyForms.clear();
    keyForms.set(key, form);
  }
  return form;
}

/**
 * `fields` codec: each top-level key becomes a stream field, its value as
 * text (see `FieldTag`), plus the `ferry:types` field when some value is not
 * text. Appends the flat `field, value, …` list XADD takes to `out` and
 * returns how many strings it appended: the sink builds its command in place.
 * A value of the key `skipKey` must be the record's id (`id`): the sink adds
 * that field itself, and a different one would be overwritten.
 */
export function appendFields(out: (FieldText | number)[], value: RecordValue, skipKey?: string, id?: string): number {
  const before = out.length;
  // The types field's JSON, built as the fields go: the same text JSON.stringify gives an object of them.
  let types = '';
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = value[key]!;
    if (key === skipKey) {
      if (item === id) continue;
      throw new EncodeError(sourceIdClash(key, item));
    }
    const form = keyForm(key);
    let text: FieldText;
    let tag: string | undefined;
    let inner: JsonTypes | undefined;
    switch (typeof item) {
      case 'string':
        if (!item.isWellFormed()) wellFormed(item, `field "${key}"`);
        out.push(form.name, item);
        continue;
      case 'bigint':
        text = String(item);
        tag = 'integer';
        break;
      case 'number':
        text = floatText(item);
        tag = 'float';
        break;
      default: {
        const field = encodeFieldValue(item, `field "${key}"`);
        text = field.text;
        tag = field.tag;
        inner = field.types;
      }
    }
    out.push(form.name, text);
    if (tag === undefined) continue;
    types += `${types === '' ? '{' : ','}${form.pointer}:"${tag}"`;
    if (inner !== undefined) {
      for (const [at, innerTag] of Object.entries(inner)) {
        types += `,${JSON.stringify(`/${pointerSegment(key)}${at}`)}:"${innerTag}"`;
      }
    }
  }
  if (types !== '') out.push(typesField, `${types}}`);
  return out.length - before;
}

function sourceIdClash(key: string, held: unknown): string {
  const shown = typeof held === 'string' ? JSON.stringify(held) : describeKind(held);
  return `the record has its own field "${key}" (${shown}), which the sink's source-id field would overwrite: set sourceIdField to another name on this sink, or false`;
}

/**
 * `appendFields` for a record that arrived as stream fields: copies them as
 * read, the types field and escaped names included. A field named `skipKey`
 * refuses the record, as in `appendFields`, unless it holds the record's id.
 */
export function appendRawFields(
  out: (FieldText | number)[],
  fields: readonly FieldText[],
  skipKey?: string,
  id?: string,
): number {
  const before = out.length;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (skipKey !== undefined && fields[i] === skipKey) {
      if (fields[i + 1] === id) continue;
      out.length = before;
      throw new EncodeError(sourceIdClash(skipKey, fields[i + 1]));
    }
    out.push(fields[i]!, fields[i + 1]!);
  }
  return out.length - before;
}

export function encodeFields(value: RecordValue, skipKey?: string, id?: string): FieldText[] {
  const out: FieldText[] = [];
  appendFields(out as (FieldText | number)[], value, skipKey, id);
  return out;
}

const integerText = /^-?(?:0|[1-9]\d*)$/;

/** A field's text as the value its tag says, or as text (bytes when not UTF-8) without one. */
export function decodeFieldValue(text: FieldText, tag?: string, types?: JsonTypes): Value {
  if (tag === undefined) return text;
  if (tag === 'bytes') return typeof text === 'string' ? Buffer.from(text) : text;
  if (typeof text !== 'string') throw new DecodeError(`is tagged ${tag} but is not UTF-8 text`);
  const bad = (what: string) => new DecodeError(`is tagged ${tag} but ${JSON.stringify(text)} is not ${what}`);
  switch (tag) {
    case 'integer':
      if (!integerText.test(text)) throw bad('an integer');
      return text.length <= 15 ? BigInt(Number(text)) : BigInt(text);
    case 'float': {
      const value = text === 'NaN' ? Number.NaN : Number(text);
      if (text === '' || floatText(value) !== text) throw bad("a float's shortest text");
      return value;
    }
    case 'decimal':
      if (!Decimal.isDecimalText(text)) throw bad('a decimal number');
      return new Decimal(text);
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw bad('true or false');
      return text === 'true';
    case 'null':
      if (text !== 'null') throw bad('null');
      return null;
    case 'timestamp': {
      const date = timestampFromText(text);
      if (date === undefined) throw bad('an ISO 8601 UTC time with milliseconds');
      return date;
    }
    case 'json': {
      let value: Value;
      try {
        value = fromJson(text, types);
      } catch (error) {
        throw new DecodeError(`is tagged json but ${(error as Error).message}`);
      }
      if (!Array.isArray(value) && !isValueObject(value)) throw bad('a JSON object or array');
      return value;
    }
    default:
      if (!isScalarType(tag)) throw new DecodeError(`has an unknown type tag ${JSON.stringify(tag)}`);
      try {
        return new Scalar(tag, text);
      } catch (error) {
        throw new DecodeError(`is tagged ${tag} but ${(error as Error).message}`);
      }
  }
}

/** The types annotation of an entry, split by top-level field: its tag and its inner pointers. */
function readTypes(fields: readonly FieldText[]): Map<string, { tag?: string; inner?: JsonTypes }> | undefined {
  let text: FieldText | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === typesField) text = fields[i + 1];
  }
  if (text === undefined) return undefined;
  if (typeof text !== 'string') throw new DecodeError(`field "${typesField}" is not UTF-8 text`);
  let parsed: JsonTypes;
  try {
    parsed = parseJsonTypes(text);
  } catch (error) {
    throw new DecodeError(`field "${typesField}": ${(error as Error).message}`);
  }
  const byField = new Map<string, { tag?: string; inner?: JsonTypes }>();
  for (const [at, tag] of Object.entries(parsed)) {
    const cut = at.indexOf('/', 1);
    const head = cut === -1 ? at : at.slice(0, cut);
    const key = pointerSegments(head)[0]!;
    const entry = byField.get(key) ?? {};
    if (cut === -1) entry.tag = tag;
    else {
      entry.inner ??= {};
      entry.inner[at.slice(cut)] = tag as JsonTypes[string];
    }
    byField.set(key, entry);
  }
  return byField;
}

/** A field name as the user gave it: not UTF-8 is refused (no other system has such names), escapes undone. */
function fieldName(name: FieldText): string {
  if (typeof name !== 'string') {
    throw new DecodeError(
      `field name 0x${name.toString('hex')} is not UTF-8: only a Redis stream can hold it (the fields codec copies it to another stream as it is)`,
    );
  }
  return /^\\+ferry:types$/.test(name) ? name.slice(1) : name;
}

export function decodeFields(fields: readonly FieldText[]): RecordValue {
  const types = readTypes(fields);
  const value: RecordValue = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name === typesField) continue;
    const key = fieldName(name);
    if (Object.hasOwn(value, key)) {
      throw new DecodeError(
        `field "${key}" appears twice in the entry: only a Redis stream can hold that (the fields codec copies it to another stream as it is)`,
      );
    }
    const typed = types?.get(key);
    if (typed !== undefined) types!.delete(key);
    if (typed?.tag === undefined && typed?.inner !== undefined) {
      throw new DecodeError(`field "${typesField}" gives inner types to field "${key}", which is not tagged json`);
    }
    try {
      setEntry(value, key, decodeFieldValue(fields[i + 1]!, typed?.tag, typed?.inner));
    } catch (error) {
      throw new DecodeError(`field "${key}" ${(error as Error).message}`);
    }
  }
  if (types !== undefined && types.size > 0) {
    throw new DecodeError(`field "${typesField}" names field "${[...types.keys()][0]}", which the entry does not have`);
  }
  return value;
}

/** `json` codec: the whole value as lossless JSON in one field, and its types in `ferry:types` when JSON cannot say them. */
export function encodeJson(value: RecordValue, field: string): string[] {
  let json: ReturnType<typeof toJson>;
  try {
    json = toJson(value);
  } catch (error) {
    throw new EncodeError(`the value ${(error as Error).message}`);
  }
  wellFormed(json.text, 'the value');
  return json.types === undefined ? [field, json.text] : [field, json.text, typesField, JSON.stringify(json.types)];
}

/** `encodeJson` into a command being built; returns the count of strings appended. */
export function appendJson(out: (FieldText | number)[], value: RecordValue, field: string): number {
  const fields = encodeJson(value, field);
  for (const text of fields) out.push(text);
  return fields.length;
}

export function decodeJson(fields: readonly FieldText[], field: string): RecordValue {
  let held: FieldText | undefined;
  let typesText: FieldText | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    if (name === field) held = fields[i + 1]!;
    else if (name === typesField) typesText = fields[i + 1]!;
  }
  if (held === undefined) throw new DecodeError(`field "${field}" is missing`);
  if (typeof held !== 'string') throw new DecodeError(`field "${field}" is not UTF-8 text`);
  if (typesText !== undefined && typeof typesText !== 'string') {
    throw new DecodeError(`field "${typesField}" is not UTF-8 text`);
  }
  let value: unknown;
  try {
    value = fromJson(held, typesText === undefined ? undefined : parseJsonTypes(typesText));
  } catch (error) {
    throw new DecodeError(`field "${field}" is not JSON (${(error as Error).message})`);
  }
  if (!isValueObject(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : describeKind(value);
    throw new DecodeError(`field "${field}" holds ${kind}, not a JSON object`);
  }
  return value;
}

/**
 * An entry's fields as a dead letter's original bytes: the list of names and
 * values as lossless JSON, bytes that are not UTF-8 kept as bytes (tagged in
 * the `ferry-types` header).
 */
export function rawFieldsLetter(fields: readonly FieldText[]): {
  raw: Buffer;
  contentType: string;
  headers?: Record<string, string>;
} {
  const { text, types } = toJson([...fields]);
  return {
    raw: Buffer.from(text),
    contentType: 'application/json',
    ...(types === undefined ? {} : { headers: { [typesHeader]: JSON.stringify(types) } }),
  };
}
