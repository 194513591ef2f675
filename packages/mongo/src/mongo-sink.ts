import {
  AbortedError,
  type FerryRecord,
  RecordRejectedError,
  type RejectedRecord,
  rejectRecord,
  type Sink,
  type WriteOptions,
  type WriteOutcome,
} from '@ferry/core';
import {
  type AnyBulkWriteOperation,
  BSON,
  type Document,
  MongoBulkWriteError,
  MongoInvalidArgumentError,
} from 'mongodb';
import { MongoConnection } from './mongo-client.js';
import { idKey, recordToDocument, serializeError, UnwritableValueError, unwritableReason } from './mongo-codec.js';
import { type MongoSinkConfig, parseSinkOptions } from './mongo-config.js';

/** MongoDB's duplicate key error: in insert mode, the document is already there. */
const duplicateKey = 11000;

export function createMongoSink(options: unknown): Sink {
  return new MongoSink(parseSinkOptions(options));
}

interface WriteError {
  readonly index: number;
  readonly code: number;
  readonly errmsg?: string;
}

function writeErrorsOf(error: MongoBulkWriteError): WriteError[] {
  const errors = error.writeErrors as unknown;
  if (Array.isArray(errors)) return errors as WriteError[];
  return errors === undefined || errors === null ? [] : [errors as WriteError];
}

class MongoSink implements Sink {
  readonly name = 'mongo';
  readonly #config: MongoSinkConfig;
  readonly #connection: MongoConnection;

  constructor(config: MongoSinkConfig) {
    this.#config = config;
    this.#connection = new MongoConnection(config);
  }

  async open(): Promise<void> {
    await this.#connection.open();
  }

  async free(): Promise<number> {
    const max = this.#config.maxDocuments;
    if (max === undefined) return Number.POSITIVE_INFINITY;
    const count = await this.#connection.call('counting documents', () =>
      this.#connection.collection().countDocuments({}),
    );
    return Math.max(0, max - count);
  }

  async write(records: readonly FerryRecord[], options?: WriteOptions): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return undefined;
    if (options?.signal?.aborted) {
      throw new AbortedError(`[mongo] write to ${this.#connection.target} aborted before it started`);
    }
    // Documents the server would not let anyone query ($ names) are rejected here,
    // one by one; those the driver refuses for the whole batch (over 16 MiB,
    // not encodable) are found when it does, so that the common path measures nothing twice.
    const rejected: RejectedRecord[] = [];
    const docs: Document[] = [];
    const sent: FerryRecord[] = [];
    for (const record of records) {
      let doc: Document;
      try {
        doc = recordToDocument(record);
      } catch (error) {
        if (error instanceof RecordRejectedError) rejected.push(rejectRecord(record, error.reason));
        else if (error instanceof UnwritableValueError) rejected.push(rejectRecord(record, error.message));
        else throw error;
        continue;
      }
      docs.push(doc);
      sent.push(record);
    }
    if (docs.length > 0) rejected.push(...(await this.#send(docs, sent)));
    return rejected.length > 0 ? { rejected } : undefined;
  }

  /** Writes the documents; the records the server refused come back with its message. */
  async #send(docs: Document[], records: FerryRecord[]): Promise<RejectedRecord[]> {
    const collection = this.#connection.collection();
    const doing = this.#config.mode === 'insert' ? 'insertMany' : 'bulkWrite (replaceOne upsert)';
    try {
      if (this.#config.mode === 'insert') {
        await collection.insertMany(docs, { ordered: false });
      } else {
        const operations: AnyBulkWriteOperation[] = docs.map((doc) => ({
          // $eq: an _id that is an object of operators ({ $gt: '' }) is matched as a value, never as a query.
          replaceOne: { filter: { _id: { $eq: doc._id } }, replacement: doc, upsert: true },
        }));
        await collection.bulkWrite(operations, { ordered: false });
      }
      return [];
    } catch (error) {
      if (error instanceof MongoBulkWriteError && error.writeConcernError === undefined) {
        const errors = writeErrorsOf(error);
        if (errors.length > 0) return this.#refused(errors, records);
      }
      if (error instanceof BSON.BSONError || error instanceof MongoInvalidArgumentError) {
        return this.#resendWritable(docs, records, error);
      }
      throw this.#connection.toError(error, doing);
    }
  }

  /**
   * Unordered writes went on past every error: a duplicate key is a document
   * an earlier (retried or in-doubt) write put there, so it counts as written;
   * any other error refuses that document alone.
   */
  #refused(errors: readonly WriteError[], records: readonly FerryRecord[]): RejectedRecord[] {
    const rejected: RejectedRecord[] = [];
    for (const error of errors) {
      if (error.code === duplicateKey && this.#config.mode === 'insert') continue;
      const record = records[error.index];
      if (record === undefined) continue;
      rejected.push(rejectRecord(record, `${error.errmsg ?? 'refused by the server'} (code ${error.code})`));
    }
    return rejected;
  }

  /**
   * The driver refused the whole batch before sending any of it (a document
   * over 16 MiB, one it cannot encode): find those, send the others.
   */
  async #resendWritable(docs: Document[], records: FerryRecord[], cause: Error): Promise<RejectedRecord[]> {
    const keep: Document[] = [];
    const kept: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    docs.forEach((doc, i) => {
      const reason = unwritableReason(doc) ?? serializeError(doc);
      if (reason === undefined) {
        keep.push(doc);
        kept.push(records[i]!);
      } else {
        rejected.push(rejectRecord(records[i]!, reason));
      }
    });
    if (rejected.length === 0) throw this.#connection.toError(cause, 'encoding the batch');
    if (keep.length > 0) rejected.push(...(await this.#send(keep, kept)));
    return rejected;
  }

  async reconcile(records: readonly FerryRecord[]): Promise<readonly FerryRecord[]> {
    if (records.length === 0) return records;
    const keyed: [FerryRecord, unknown][] = [];
    for (const record of records) {
      try {
        keyed.push([record, recordToDocument(record)._id]);
      } catch {
        // A record the codec refuses was never written: it stays in the answer.
        keyed.push([record, undefined]);
      }
    }
    const ids = keyed.filter(([, id]) => id !== undefined).map(([, id]) => id);
    const found = await this.#connection.call('finding written _ids', () =>
      this.#connection
        .collection()
        .find({ _id: { $in: ids as never[] } }, { projection: { _id: 1 }, batchSize: Math.max(1, ids.length) })
        .toArray(),
    );
    const written = new Set(found.map((doc) => idKey(doc._id)));
    return keyed.filter(([, id]) => id === undefined || !written.has(idKey(id))).map(([record]) => record);
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
