import {
  type FerryRecord,
  type ReadOptions,
  RecordRejectedError,
  type RecordValue,
  type RejectedRecord,
  type Source,
  type SourceBatch,
} from '@ferry/core';
import { BSON, type Document, Double, type Filter, Int32, Long, ObjectId } from 'mongodb';
import { MongoConnection } from './mongo-client.js';
import { bsonFormat, deserializeOptions, documentToValue, renderId, UnreadableValueError } from './mongo-codec.js';
import { type MongoSourceConfig, parseSourceOptions } from './mongo-config.js';

const { EJSON } = BSON;

/** What `ack` and `release` need of a batch: its `_id`s and the cursor value of its last document. */
export interface MongoHandle {
  readonly ids: readonly unknown[];
  /** The cursor field of the batch's last document; undefined for an empty batch. */
  readonly last?: unknown;
}

/** The checkpoint document, one per checkpointKey in the checkpoint collection. */
interface Checkpoint {
  _id: string;
  /** The cursor value of the last acked document, as canonical Extended JSON. */
  position: string;
  updatedAt: Date;
}

const emptyHandle: MongoHandle = Object.freeze({ ids: Object.freeze([]) });
const emptyBatch: SourceBatch<MongoHandle> = Object.freeze({ records: Object.freeze([]), handle: emptyHandle });

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function valueAt(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Document)[part];
  }
  return current;
}

/**
 * Orders two cursor values of the types a cursor field usually holds
 * (numbers, strings, ObjectIds, dates); 0 when it cannot tell, which only
 * makes a record count as a possible redelivery that the pump checks at the sink.
 */
export function compareCursor(a: unknown, b: unknown): number {
  const number = (v: unknown) =>
    typeof v === 'number'
      ? v
      : v instanceof Long
        ? v.toNumber()
        : v instanceof Int32 || v instanceof Double
          ? v.value
          : undefined;
  const x = number(a);
  const y = number(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof ObjectId && b instanceof ObjectId) return Buffer.compare(a.id, b.id);
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return 0;
}

/**
 * A record a mongo source read. It carries the document's BSON as read
 * (`encoded`), which a mongo sink writes as it is (M2M keeps every BSON type),
 * and converts the value only when something asks for it; a document with a
 * value no other system holds (a regular expression…) is then a rejected record.
 */
class DocumentRecord implements FerryRecord {
  readonly encoded: { readonly format: string; readonly data: Uint8Array };
  readonly bytes: number;
  readonly redelivered?: boolean;
  #value: RecordValue | undefined;

  constructor(
    readonly id: string,
    readonly document: Document,
    raw: Uint8Array,
    readonly readAt: number,
    redelivered: boolean,
    readonly target: string,
  ) {
    this.encoded = { format: bsonFormat, data: raw };
    this.bytes = raw.byteLength;
    if (redelivered) this.redelivered = true;
  }

  get value(): RecordValue {
    if (this.#value === undefined) {
      try {
        this.#value = documentToValue(this.document);
      } catch (error) {
        if (!(error instanceof UnreadableValueError)) throw error;
        const reason = `document of ${this.target} cannot be carried outside MongoDB: ${error.message}`;
        throw new RecordRejectedError(this.id, reason, `[mongo] ${reason} (_id ${this.id})`, { cause: error });
      }
    }
    return this.#value;
  }

  /** A plain record, for JSON.stringify and spreads: the getter above is not an own property. */
  toJSON(): FerryRecord {
    const { id, value, readAt, bytes, redelivered } = this;
    return redelivered ? { id, value, readAt, bytes, redelivered } : { id, value, readAt, bytes };
  }
}

export function createMongoSource(options: unknown): Source<MongoHandle> {
  return new MongoSource(parseSourceOptions(options));
}

class MongoSource implements Source<MongoHandle> {
  readonly name = 'mongo';
  /** A read goes on after the last one read, not the last one acked, while batches are out. */
  readonly readAhead = true;
  readonly #config: MongoSourceConfig;
  readonly #connection: MongoConnection;
  readonly #filter: Filter<Document> | undefined;
  /** copy: the cursor value of the last acked document (undefined: from the start). */
  #acked: unknown;
  /** Where the next read starts: after the last batch handed out, or after `#acked` when none is out. */
  #readFrom: unknown;
  #outstanding = 0;
  /** The greatest cursor value handed out since open: a record at or below it is a redelivery. */
  #highWater: unknown;

  constructor(config: MongoSourceConfig) {
    this.#config = config;
    this.#connection = new MongoConnection(config);
    this.#filter = config.filter === undefined ? undefined : (EJSON.deserialize(config.filter) as Filter<Document>);
  }

  async open(): Promise<void> {
    await this.#connection.open();
    this.#outstanding = 0;
    this.#highWater = undefined;
    this.#acked = undefined;
    if (this.#config.mode === 'copy') {
      const { checkpointCollection, checkpointKey } = this.#config;
      const saved = await this.#connection.call('reading the checkpoint', () =>
        this.#connection.collection<Checkpoint>(checkpointCollection).findOne({ _id: checkpointKey }),
      );
      if (saved !== null) this.#acked = (EJSON.parse(saved.position, { relaxed: false }) as { v: unknown }).v;
    }
    this.#readFrom = this.#acked;
  }

  /** The query of a read: after `from` on the cursor field, and the configured filter. */
  #query(from: unknown): Filter<Document> {
    const after: Filter<Document> | undefined =
      from === undefined ? undefined : { [this.#config.cursor]: { $gt: from } };
    if (after === undefined) return this.#filter ?? {};
    return this.#filter === undefined ? after : { $and: [after, this.#filter] };
  }

  async read(max: number, options: ReadOptions): Promise<SourceBatch<MongoHandle>> {
    if (max <= 0 || options.signal?.aborted) return emptyBatch;
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const batch = await this.#readOnce(max);
      if (batch.records.length > 0 || (batch.rejected?.length ?? 0) > 0) return batch;
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return emptyBatch;
      await sleep(Math.min(left, this.#config.pollMs), options.signal);
    }
  }

  async #readOnce(max: number): Promise<SourceBatch<MongoHandle>> {
    // move mode reads from the start while nothing is out: acked documents are gone.
    const from = this.#config.mode === 'move' && this.#outstanding === 0 ? undefined : this.#readFrom;
    const { cursor } = this.#config;
    const raw = (await this.#connection.call('reading documents', () =>
      this.#connection
        .collection()
        .find(this.#query(from), { sort: { [cursor]: 1 }, limit: max, batchSize: max, raw: true })
        .toArray(),
    )) as unknown as Uint8Array[];
    if (raw.length === 0) return emptyBatch;
    const readAt = Date.now();
    const records: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    const ids: unknown[] = new Array(raw.length);
    let last: unknown;
    const highWater = this.#highWater;
    for (let i = 0; i < raw.length; i++) {
      const bytes = raw[i]!;
      const doc = BSON.deserialize(bytes, deserializeOptions);
      ids[i] = doc._id;
      last = valueAt(doc, cursor);
      const again = highWater !== undefined && last !== undefined && compareCursor(last, highWater) <= 0;
      records.push(new DocumentRecord(renderId(doc._id), doc, bytes, readAt, again, this.#connection.target));
    }
    this.#readFrom = last;
    this.#outstanding++;
    if (last !== undefined && (highWater === undefined || compareCursor(last, highWater) > 0)) this.#highWater = last;
    const handle: MongoHandle = { ids, last };
    return rejected.length === 0 ? { records, handle } : { records, handle, rejected };
  }

  async ack(batch: SourceBatch<MongoHandle>): Promise<void> {
    const { ids, last } = batch.handle;
    if (ids.length === 0) return;
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    if (this.#config.mode === 'move') {
      await this.#connection.call('deleting acked documents', () =>
        this.#connection.collection().deleteMany({ _id: { $in: ids as never[] } }),
      );
      return;
    }
    const { checkpointCollection, checkpointKey } = this.#config;
    const position = EJSON.stringify({ v: last } as Document, { relaxed: false });
    await this.#connection.call('saving the checkpoint', () =>
      this.#connection
        .collection<Checkpoint>(checkpointCollection)
        .replaceOne({ _id: checkpointKey }, { position, updatedAt: new Date() }, { upsert: true }),
    );
    this.#acked = last;
    if (this.#outstanding === 0) this.#readFrom = last;
  }

  async release(batch: SourceBatch<MongoHandle>): Promise<void> {
    // Nothing moved at the server: the checkpoint did not advance, the documents are still there.
    if (batch.handle.ids.length === 0) return;
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    this.#readFrom = this.#acked;
  }

  async backlog(): Promise<number | undefined> {
    const from = this.#config.mode === 'copy' ? this.#acked : undefined;
    return this.#connection.call('counting documents', () =>
      this.#connection.collection().countDocuments(this.#query(from)),
    );
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
