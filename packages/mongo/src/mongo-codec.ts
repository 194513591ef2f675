import type { FerryRecord, RecordValue } from '@ferry/core';
import { BSON, type Document, ObjectId } from 'mongodb';

const { EJSON } = BSON;

/** MongoDB's limit on one document (BSON bytes), which the server and the driver enforce. */
export const maxDocumentBytes = 16 * 1024 * 1024;

/**
 * The record id of a document: its `_id` as a string: an ObjectId as its hex,
 * a string as itself, a number as its digits, anything else as canonical Extended JSON.
 */
export function renderId(id: unknown): string {
  if (typeof id === 'string') return id;
  if (id instanceof ObjectId) return id.toHexString();
  if (typeof id === 'number' || typeof id === 'boolean' || typeof id === 'bigint') return String(id);
  return EJSON.stringify(id as Document, { relaxed: false });
}

/**
 * A document as a record value: relaxed Extended JSON, so that BSON types
 * (ObjectId, Date, Long, Binary…) travel as JSON and come back as themselves
 * when a mongo sink writes them (M2M).
 */
export function documentToValue(doc: Document): RecordValue {
  return EJSON.serialize(doc, { relaxed: true }) as RecordValue;
}

export class UnwritableValueError extends Error {
  override readonly name = 'UnwritableValueError';
}

/**
 * The document a sink writes for a record: the value read as relaxed
 * Extended JSON, `_id` first: the value's own `_id` when it has one (M2M keeps
 * ids), else the record id. Throws an UnwritableValueError naming what MongoDB
 * would refuse: a top-level `$` field name, a value Extended JSON cannot read.
 */
export function recordToDocument(record: FerryRecord): Document {
  for (const key of Object.keys(record.value)) {
    if (key.startsWith('$')) {
      throw new UnwritableValueError(
        `field name "${key}" starts with "$": MongoDB reserves top-level $ names for operators, so the document could not be queried or replaced`,
      );
    }
  }
  // Extended JSON only ever changes objects with $ keys: without any, the value is the document.
  if (!hasDollarKey(record.value)) {
    const { _id, ...rest } = record.value;
    return { _id: _id === undefined ? record.id : _id, ...rest };
  }
  let decoded: unknown;
  try {
    decoded = EJSON.deserialize(record.value, { relaxed: true });
  } catch (error) {
    throw new UnwritableValueError(
      `the value is not valid Extended JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { _id, ...rest } = decoded as Document;
  return { _id: _id === undefined ? record.id : _id, ...rest };
}

/** True when an object or array holds, at any depth, an object with a key starting with `$`. */
function hasDollarKey(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object' && hasDollarKey(item)) return true;
    return false;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (key.charCodeAt(0) === 36) return true;
    const item = object[key];
    if (item !== null && typeof item === 'object' && hasDollarKey(item)) return true;
  }
  return false;
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

/** A stable text for an `_id`, to compare ids found in a collection with ids of records. */
export function idKey(id: unknown): string {
  return EJSON.stringify({ id } as Document, { relaxed: false });
}
