import type { RejectedRecord } from './contracts.js';
import { toJson } from './json.js';
import { isValueObject, type Value, type ValueObject } from './value.js';

/** What a record carries: an object of values (see `Value` for the kinds). */
export type RecordValue = ValueObject;

/**
 * What travels from a source to a sink. `id` is the source's own identity
 * (stream entry id, AMQP messageId, Mongo _id, ClickHouse cursor key): it
 * travels with the record so that every target can be traced back and deduplicated.
 */
export interface FerryRecord {
  readonly id: string;
  readonly value: RecordValue;
  readonly headers?: Readonly<Record<string, string>>;
  /** Epoch milliseconds when the source read it. */
  readonly readAt: number;
  /** Approximate size as read from the source, for progress and byte limits. */
  readonly bytes: number;
  /**
   * The source handed this record out before (a redelivery after a release, a
   * lost channel or a crash): it may already be at the sink, which the pump
   * asks where it can tell.
   */
  readonly redelivered?: boolean;
  /**
   * The record as its source's codec read it, so that a sink with the same
   * encoding can write it without encoding the value again: nothing on the
   * way changes a value, so both say the same. `format` names the encoding.
   */
  readonly encoded?: { readonly format: string; readonly data: unknown };
}

/** True for a plain object: not an array, not null, not bytes or another kind. */
export function isRecordValue(value: unknown): value is RecordValue {
  return isValueObject(value);
}

/**
 * A record that a sink refused, as the pump dead-letters it: the bytes its
 * source read where it kept them, else its value as lossless JSON (whose
 * types, where JSON cannot say them, go in the `ferry-types` header).
 */
export function rejectRecord(record: FerryRecord, reason: string): RejectedRecord {
  const headers = { ...record.headers };
  let raw: Uint8Array;
  let contentType: string | undefined;
  try {
    const { text, types } = toJson(readable(record));
    raw = Buffer.from(text);
    contentType = 'application/json';
    if (types !== undefined) headers[typesHeader] = JSON.stringify(types);
  } catch (error) {
    const encoded = record.encoded?.data;
    raw =
      encoded instanceof Uint8Array
        ? encoded
        : Buffer.from(`the value could not be written as JSON: ${(error as Error).message}`);
  }
  return {
    id: record.id,
    reason,
    raw,
    ...(contentType === undefined ? {} : { contentType }),
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
  };
}

/**
 * What a dead letter shows of a record: its value, or, when the value cannot
 * be read (its source decodes lazily, and refused), what its source read as
 * a list of texts and bytes (a stream entry's fields).
 */
function readable(record: FerryRecord): Value {
  try {
    return record.value;
  } catch (error) {
    const encoded = record.encoded?.data;
    if (Array.isArray(encoded)) return encoded as Value[];
    throw error;
  }
}

/** The header (or field) that carries a JSON value's types beside it: see `toJson`. */
export const typesHeader = 'ferry-types';
