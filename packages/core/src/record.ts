import type { RejectedRecord } from './contracts.js';

/** A JSON object: what a record carries. */
export type RecordValue = { [key: string]: unknown };

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

/** True for a plain JSON object (not an array, not null). */
export function isRecordValue(value: unknown): value is RecordValue {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A record that a sink refused, as the pump dead-letters it: its value as JSON for the original bytes. */
export function rejectRecord(record: FerryRecord, reason: string): RejectedRecord {
  return {
    id: record.id,
    reason,
    raw: Buffer.from(JSON.stringify(record.value)),
    ...(record.headers === undefined ? {} : { headers: record.headers }),
  };
}
