import {
  Decimal,
  describeKind,
  type FerryRecord,
  isValueObject,
  pointerSegment,
  type RecordValue,
  Scalar,
  setEntry,
  type Value,
  type ValueObject,
} from '@ferry/core';
import { Binary, BSON, Decimal128, type Document, Double, Int32, Long, ObjectId } from 'mongodb';

const { EJSON } = BSON;

/** MongoDB's limit on one document (BSON bytes), which the server and the driver enforce. */
export const maxDocumentBytes = 16 * 1024 * 1024;

/** The `encoded.format` of a record a mongo source read: `data` is the document's BSON bytes. */
export const bsonFormat = 'mongo/bson';

/** How documents are read: every number as its own BSON type (Int32, Int64 and Double stay apart). */
export const deserializeOptions = { promoteValues: false } as const;

/** Thrown for a BSON value that has no kind in ferry's value model; the source rejects the document with it. */
export class UnreadableValueError extends Error {
  override readonly name = 'UnreadableValueError';
}

/** Thrown for a value MongoDB cannot hold exactly; the sink dead-letters the record with the message. */
export class UnwritableValueError extends Error {
  override readonly name = 'UnwritableValueError';
}

const int32Min = -(2n ** 31n);
const int32Max = 2n ** 31n - 1n;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/**
 * The record id of a document: its `_id` as text: an ObjectId as its hex, a
 * string as itself, a number as its digits, anything else as canonical Extended JSON.
 */
export function renderId(id: unknown): string {
  if (typeof id === 'string') return id;
  if (id instanceof ObjectId) return id.toHexString();
  if (id instanceof Int32 || id instanceof Double) return String(id.value);
  if (id instanceof Long) return id.toString();
  if (typeof id === 'number' || typeof id === 'boolean' || typeof id === 'bigint') return String(id);
  return EJSON.stringify(id as Document, { relaxed: false });
}

/** One BSON value as a ferry value (see the type table in the README). */
export function bsonToValue(value: unknown, path = ''): Value {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'bigint':
      return value;
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((item, i) => bsonToValue(item, `${path}/${i}`));
  if (value instanceof Date) return value;
  const type = (value as { _bsontype?: string } | undefined)?._bsontype;
  switch (type) {
    case 'Int32':
      return BigInt((value as Int32).value);
    case 'Long':
      return (value as Long).toBigInt();
    case 'Double':
      return (value as Double).value;
    case 'Decimal128': {
      const text = (value as Decimal128).toString();
      if (!Decimal.isDecimalText(text))
        throw new UnreadableValueError(`${at(path)} is Decimal128 ${text}, which no other system holds`);
      return new Decimal(text);
    }
    case 'ObjectId':
      return new Scalar('objectId', (value as ObjectId).toHexString());
    case 'Binary': {
      const binary = value as Binary;
      if (binary.sub_type === Binary.SUBTYPE_UUID && binary.position === 16) {
        return new Scalar('uuid', binary.toUUID().toString());
      }
      if (binary.sub_type !== Binary.SUBTYPE_DEFAULT && binary.sub_type !== Binary.SUBTYPE_BYTE_ARRAY) {
        throw new UnreadableValueError(
          `${at(path)} is Binary of subtype ${binary.sub_type}, which only MongoDB holds (subtypes 0 and 2 are bytes, 4 a UUID)`,
        );
      }
      return Buffer.from(binary.buffer.subarray(0, binary.position));
    }
    case undefined:
      if (isValueObject(value)) return documentToValue(value as Document, path);
  }
  const name = type ?? (value instanceof RegExp ? 'regular expression' : describeKind(value));
  throw new UnreadableValueError(`${at(path)} is BSON ${name}, which only MongoDB holds`);
}

function at(path: string): string {
  return path === '' ? 'the document' : `field ${path}`;
}

/** A document, as read with `deserializeOptions`, as a record value. */
export function documentToValue(doc: Document, path = ''): RecordValue {
  const value: RecordValue = {};
  for (const key in doc) {
    if (!Object.hasOwn(doc, key)) continue;
    setEntry(value, key, bsonToValue(doc[key], `${path}/${pointerSegment(key)}`));
  }
  return value;
}

/** One ferry value as the BSON value that holds it exactly, or an UnwritableValueError naming why none does. */
export function valueToBson(value: Value, path: string): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) {
        throw new UnwritableValueError(`${at(path)} holds a lone UTF-16 surrogate, which BSON's UTF-8 cannot hold`);
      }
      return value;
    case 'boolean':
      return value;
    case 'number':
      return new Double(value);
    case 'bigint':
      if (value >= int32Min && value <= int32Max) return new Int32(Number(value));
      if (value >= int64Min && value <= int64Max) return Long.fromBigInt(value);
      throw new UnwritableValueError(
        `${at(path)} is the integer ${value}, beyond Int64, the widest integer BSON has (a Decimal128 would change its kind)`,
      );
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((item, i) => valueToBson(item, `${path}/${i}`));
  if (value instanceof Uint8Array) return new Binary(value, Binary.SUBTYPE_DEFAULT);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UnwritableValueError(`${at(path)} is an invalid Date`);
    return value;
  }
  if (value instanceof Decimal) {
    try {
      return Decimal128.fromString(value.text);
    } catch {
      throw new UnwritableValueError(
        `${at(path)} is the decimal ${value.text}, which Decimal128 (34 digits) cannot hold without rounding`,
      );
    }
  }
  if (value instanceof Scalar) {
    return value.type === 'objectId' ? ObjectId.createFromHexString(value.text) : new BSON.UUID(value.text);
  }
  if (isValueObject(value)) return valueToDocument(value, path);
  throw new UnwritableValueError(`${at(path)} is ${describeKind(value)}, which is not a value`);
}

function valueToDocument(value: ValueObject, path: string): Document {
  const doc: Document = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const inner = `${path}/${pointerSegment(key)}`;
    if (key.includes('\0')) throw new UnwritableValueError(`field name ${inner} holds a NUL, which BSON names cannot`);
    if (!key.isWellFormed()) {
      throw new UnwritableValueError(
        `field name ${inner} holds a lone UTF-16 surrogate, which BSON's UTF-8 cannot hold`,
      );
    }
    const item = valueToBson(value[key]!, inner);
    if (key === '__proto__') Object.defineProperty(doc, key, { value: item, enumerable: true, writable: true });
    else doc[key] = item;
  }
  return doc;
}

/**
 * The document a sink writes for a record, `_id` first: the value's own `_id`
 * when it has one (M2M keeps ids), else the record id. A record a mongo
 * source read is written from its BSON as read, so that every BSON type,
 * ferry's or not, stays as it was. Throws an UnwritableValueError naming what
 * MongoDB would refuse or change: a top-level `$` field name, a value no BSON type holds exactly.
 */
export function recordToDocument(record: FerryRecord): Document {
  if (record.encoded?.format === bsonFormat) {
    const { _id, ...rest } = BSON.deserialize(record.encoded.data as Uint8Array, deserializeOptions);
    return { _id: _id === undefined ? record.id : _id, ...rest };
  }
  for (const key of Object.keys(record.value)) {
    if (key.startsWith('$')) {
      throw new UnwritableValueError(
        `field name "${key}" starts with "$": MongoDB reserves top-level $ names for operators, so the document could not be queried or replaced`,
      );
    }
  }
  const { _id, ...rest } = valueToDocument(record.value, '');
  return { _id: _id === undefined ? record.id : _id, ...rest };
}

/** The BSON size of a document, as the server measures it against its 16 MiB limit. */
export function documentBytes(doc: Document): number {
  return BSON.calculateObjectSize(doc);
}

/** Why a document cannot be written, or undefined when it can: over 16 MiB, or not serializable as BSON. */
export function unwritableReason(doc: Document): string | undefined {
  let bytes: number;
  try {
    bytes = documentBytes(doc);
  } catch (error) {
    return `the document cannot be encoded as BSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (bytes > maxDocumentBytes) {
    return `the document is ${bytes} bytes of BSON, over MongoDB's limit of ${maxDocumentBytes} bytes (16 MiB) per document`;
  }
  return undefined;
}

/** Tries to serialize a document, for finding the one that made a whole batch fail in the driver. */
export function serializeError(doc: Document): string | undefined {
  try {
    BSON.serialize(doc, { checkKeys: false });
    return undefined;
  } catch (error) {
    return `the document cannot be encoded as BSON: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * A stable text for an `_id`, to compare ids found in a collection with ids
 * of records: numbers by value, as MongoDB matches `_id`s (Int32 1, Int64 1
 * and Double 1.0 are the same `_id`).
 */
export function idKey(id: unknown): string {
  if (id instanceof Int32 || id instanceof Double || typeof id === 'number') {
    const number = typeof id === 'number' ? id : id.value;
    if (Number.isInteger(number)) return `n:${BigInt(number)}`;
  }
  if (id instanceof Long) return `n:${id.toBigInt()}`;
  return EJSON.stringify({ id } as Document, { relaxed: false });
}
