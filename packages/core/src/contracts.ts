import type { FerryRecord } from './record.js';

/**
 * Something a source read but cannot hand over as a record: a body that is
 * not JSON, an entry its codec cannot decode, a message delivered too often
 * (poison). The pump sends it to the flow's dead-letter sink with the reason,
 * or stops the flow with the reason when there is none.
 */
export interface RejectedRecord {
  /** The source's own id for it (entry id, messageId or delivery tag). */
  readonly id: string;
  readonly reason: string;
  /** The original bytes, as read. */
  readonly raw: Uint8Array;
  /** How many times the source has delivered it, where the source can tell. */
  readonly attempts?: number;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A batch read from a source. The handle is the source's own: only it reads it.
 * It covers the rejected entries too: acking the batch removes them at the
 * source (once they are dead-lettered), releasing it gives them back.
 */
export interface SourceBatch<Handle = unknown> {
  readonly records: readonly FerryRecord[];
  readonly handle: Handle;
  readonly rejected?: readonly RejectedRecord[];
}

export interface ReadOptions {
  /**
   * How long to wait for records when there are none. 0 answers at once
   * (stop-when-empty flows); follow-mode flows wait this long, then get an empty batch.
   */
  readonly waitMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Where records come from. A batch is in doubt from `read` until `ack` or
 * `release`: a source must give back every batch it did not ack, after a
 * release or after a crash (pending entries, requeue, checkpoint not advanced).
 */
export interface Source<Handle = unknown> {
  /** Names the connector in messages: `redis-stream`, `rabbitmq`… */
  readonly name: string;
  /**
   * True when the source may be read again before its last batch is acked:
   * the next read hands out the records after that batch, never the same
   * ones, and acks come in read order. The pump then reads the next batch
   * while the sink writes the current one. Never two calls at once.
   */
  readonly readAhead?: boolean;
  /**
   * True when `ack` may be called while a read made ahead is still under way
   * (the one exception to "never two calls at once"): the two share nothing a
   * concurrent call could break. For a source whose server sends no more
   * until earlier records are acked (a RabbitMQ prefetch window), the ack
   * must not wait for a read that waits for those very sends.
   */
  readonly acksWhileReading?: boolean;
  open(): Promise<void>;
  /** Up to `max` records, oldest first; an empty batch means none were there. */
  read(max: number, options: ReadOptions): Promise<SourceBatch<Handle>>;
  /** The batch is gone at the source: called only once its write resolved. */
  ack(batch: SourceBatch<Handle>): Promise<void>;
  /** The batch goes back, unacknowledged, to be read again. */
  release(batch: SourceBatch<Handle>): Promise<void>;
  /** How many records wait to be read, when the source can tell cheaply. */
  backlog?(): Promise<number | undefined>;
  /**
   * A way to move batches straight to this sink without bringing them to the
   * client, when the source can (both on one server, nothing to decode): the
   * pump then moves every batch with it. Asked once, after both are open;
   * the source reads what it needs of the sink from `sink.directTarget()`.
   * Undefined means the pump reads, writes and acks as usual.
   */
  directTo?(sink: Sink): DirectMove | undefined;
  close(): Promise<void>;
}

/** What one direct move did. */
export interface DirectMoveResult {
  /** Records moved; 0 means the source had none, or (with `full`) the sink no room. */
  readonly records: number;
  readonly bytes: number;
  /**
   * Nothing moved because the sink had no room when the move ran: a path
   * that checks the sink's bound in the same atomic step as the write says
   * so when another writer took the room since the pump asked `free()`.
   */
  readonly full?: boolean;
  /**
   * Nothing moved because the next record must take the usual path (read,
   * write, ack), where the sink can refuse it with its reason: the pump
   * takes one usual step, then moves on the direct way.
   */
  readonly usual?: boolean;
}

/**
 * Moves a batch from a source to a sink in one atomic step on their server:
 * read, write and ack together, so a crash leaves each record either at the
 * source or at the sink, never both and never neither. No batch is ever in
 * doubt, so the pump needs no journal for it.
 */
export interface DirectMove {
  /** Describes the path in progress and logs (`same-server script`). */
  readonly name: string;
  /** Moves up to `max` records, oldest first. */
  move(max: number): Promise<DirectMoveResult>;
}

export interface WriteOptions {
  readonly signal?: AbortSignal;
}

/**
 * What a write that landed in part says: every record of the batch is durable
 * except these, which the target refused (a row of the wrong type, a document
 * over its size limit…), each with the server's reason. The pump dead-letters
 * them, or stops the flow when there is no dead-letter sink.
 */
export interface WriteOutcome {
  readonly rejected: readonly RejectedRecord[];
  /** Records written without some of their keys, which the target had no place for (a sink told to skip them). */
  readonly skipped?: SkippedFields;
}

/** How many written records lost keys, and the first of them, so that a run can name it. */
export interface SkippedFields {
  readonly records: number;
  readonly first: { readonly id: string; readonly keys: readonly string[] };
}

/** Where records go. A write is durable when its promise resolves. */
export interface Sink {
  readonly name: string;
  open(): Promise<void>;
  /**
   * How many more records the target takes before its `maxLen`: the original
   * worker's `_is_q_available`. Infinity when the target is unbounded.
   */
  free(): Promise<number>;
  /**
   * Resolves when the batch is durable. A sink that can tell which records
   * its target refused writes the others and resolves with them as `rejected`;
   * one that cannot throws a RecordRejectedError for the batch.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a sink that never refuses a record resolves with nothing
  write(records: readonly FerryRecord[], options?: WriteOptions): Promise<void | WriteOutcome>;
  /**
   * Where the target stands now, as text only this sink reads back (a Redis
   * entry id, a row count): the pump notes it with a batch before writing it,
   * so that `reconcile` can look for that batch from there instead of
   * through the whole target. Any earlier position is also valid (a lower
   * bound), so a sink may answer from its own last write without a round trip.
   */
  position?(): Promise<string | undefined>;
  /**
   * The records of an in-doubt batch that are not in the target yet, where
   * the target can tell. `since` is a `position()` taken before any of them
   * was written: the search starts there. Without it, a sink searches where
   * it can afford to and says so in its README.
   */
  reconcile?(records: readonly FerryRecord[], since?: string): Promise<readonly FerryRecord[]>;
  /**
   * What a source needs to move records into this target itself (see
   * `Source.directTo`): a description only sources of the same system read
   * and check, such as the server and stream of a Redis sink. Asked after
   * `open`; undefined, or no such member, means no source may take that way.
   * A wrapper of a sink forwards it, so that the way stays open through it.
   */
  directTarget?(): unknown;
  close(): Promise<void>;
}
