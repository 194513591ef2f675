import type {
  DirectMove,
  DirectMoveResult,
  RejectedRecord,
  Sink,
  SkippedFields,
  Source,
  SourceBatch,
} from '../contracts.js';
import {
  describeError,
  FerryError,
  type FerryErrorOptions,
  isTransient,
  LeaseLostError,
  RecordRejectedError,
} from '../errors.js';
import type { BatchJournal, JournalEntry, ReaderNote } from '../journal.js';
import { type FerryRecord, type RecordValue, rejectRecord } from '../record.js';
import { AbortedError, defaultRetryPolicy, type RetryPolicy, sleep, withRetry } from '../retry.js';

export type StopReason = 'empty' | 'maxBatches' | 'full' | 'aborted';

export interface PumpOptions {
  readonly source: Source;
  readonly sink: Sink;
  /**
   * Where the records a source rejects (not decodable, delivered too often) go,
   * with the reason and their original bytes. Without one, a rejected record
   * stops the flow and nothing of its batch is acked.
   */
  readonly deadLetter?: Sink;
  /**
   * Notes each batch between its write and its ack, so that a batch a crash
   * left in doubt is not written twice where the sink can tell. Without one,
   * such a batch may be written twice (at-least-once).
   */
  readonly journal?: BatchJournal;
  /**
   * How many times a batch may be written without an ack (the worker killed,
   * the write failing for good) before its records are read one at a time,
   * and how many times one record may, before it is dead-lettered. Needs the
   * journal, which counts; sources that count deliveries themselves (a Redis
   * group, a RabbitMQ queue) stop a poison record earlier. Default 5.
   */
  readonly maxAttempts?: number;
  /** Records per batch; each batch is also capped by the sink's free room. */
  readonly batchSize: number;
  /** Stop after this many batches (the original `max_exec_cnt`); undefined: no limit. */
  readonly maxBatches?: number;
  /** false is follow mode: an empty source is waited on, not a reason to stop. */
  readonly stopWhenEmpty?: boolean;
  /** A full sink is polled until it has room (`wait`), or ends the flow (`stop`). */
  readonly whenFull?: 'wait' | 'stop';
  /** How often a full sink is polled, and how long a follow-mode read waits. */
  readonly pollIntervalMs?: number;
  readonly retry?: RetryPolicy;
  /** Stops the flow cleanly: the batch in hand is written and acked, or released. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PumpProgress) => void;
  /** Names the flow in errors. */
  readonly flowName?: string;
}

export interface PumpProgress {
  readonly records: number;
  /** Records sent to the dead-letter sink. */
  readonly deadLettered: number;
  /** Records written without some of their keys (a sink told to skip keys it has no place for); absent when none. */
  readonly skippedFields?: number;
  /** The first such record of the run, to name in a warning. */
  readonly firstSkipped?: SkippedFields['first'];
  readonly batches: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  /** Records per second since the flow started. */
  readonly rate: number;
  /** Records still waiting at the source, when the source can tell. */
  readonly backlog?: number;
  /** Set while the pump waits: for room at the sink, or for records at the source. */
  readonly waiting?: 'full' | 'empty';
  readonly lastError?: string;
  /** Set when batches move straight from source to sink on their server (see `Source.directTo`). */
  readonly direct?: string;
}

export interface PumpResult extends PumpProgress {
  readonly stopReason: StopReason;
}

/** The flow stopped on an error it could not retry; `progress` tells how far it got. */
export class FlowFailedError extends FerryError {
  override readonly name = 'FlowFailedError';
  readonly progress: PumpProgress;

  constructor(message: string, progress: PumpProgress, options: FerryErrorOptions = {}) {
    super(message, options);
    this.progress = progress;
  }
}

export interface Pump {
  /** Opens the source and sink, moves batches until a stop condition, closes both. */
  run(): Promise<PumpResult>;
}

/** Ends the loop with a reason; thrown inside `run` only. */
class Stop {
  constructor(readonly reason: StopReason) {}
}

/**
 * The pump drives one source and one sink with the original worker's loop:
 * check the sink's room, read at most that much, write, and only then ack.
 * Everything the connectors should not each re-implement lives here: backpressure,
 * retries of transient errors, clean stops and progress.
 */
export function createPump(options: PumpOptions): Pump {
  const { source, sink, deadLetter, journal, batchSize, maxBatches, signal, onProgress } = options;
  const stopWhenEmpty = options.stopWhenEmpty ?? true;
  const whenFull = options.whenFull ?? 'wait';
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const policy = options.retry ?? defaultRetryPolicy;
  const label = options.flowName === undefined ? 'flow' : `flow "${options.flowName}"`;
  const maxAttempts = options.maxAttempts ?? 5;

  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new FerryError(`[ferry] ${label}: batchSize must be a positive integer, got ${batchSize}`);
  }

  let records = 0;
  let deadLettered = 0;
  let skippedFields = 0;
  let firstSkipped: SkippedFields['first'] | undefined;
  let batches = 0;
  let bytes = 0;
  let startedAt = 0;
  let backlog: number | undefined;
  /** `records` when the backlog was last asked for: what moved since is taken off it. */
  let recordsAtBacklog = 0;
  let lastError: string | undefined;
  /**
   * Ids of records that may be at the sink already (written but not acked
   * because the source lost its hold on their batch, or noted by an earlier
   * run), each with the sink's position noted before that write: they come
   * back, and must not be written twice where the sink can tell.
   */
  const inDoubt = new Map<string, string | undefined>();
  /** Notes of readers that died, whose records this run took over: removed once all of them are acked here. */
  const takenOver = new Map<string, { note: ReaderNote; left: Set<string> }>();
  /** The journal's note of the batch an earlier run left in doubt, until the next batch is acked. */
  let prior: JournalEntry | undefined;
  /** Records still to read one at a time, to find the one a batch keeps failing on. */
  let careful = 0;
  /**
   * The next batch, read while the sink writes the one in hand (sources that
   * read ahead only). Settles with undefined when that read failed: the next
   * read is then made the usual way, and meets the error there.
   */
  let ahead: Promise<SourceBatch | undefined> | undefined;
  /** The source's direct path to the sink, when it has one. */
  let direct: DirectMove | undefined;

  const progress = (waiting?: 'full' | 'empty'): PumpProgress => {
    const elapsedMs = startedAt === 0 ? 0 : performance.now() - startedAt;
    return {
      records,
      deadLettered,
      ...(skippedFields === 0 ? {} : { skippedFields, firstSkipped }),
      batches,
      bytes,
      elapsedMs,
      rate: elapsedMs > 0 ? (records * 1000) / elapsedMs : 0,
      ...(backlog === undefined ? {} : { backlog: Math.max(0, backlog - (records - recordsAtBacklog)) }),
      ...(waiting === undefined ? {} : { waiting }),
      ...(lastError === undefined ? {} : { lastError }),
      ...(direct === undefined ? {} : { direct: direct.name }),
    };
  };

  const retrying = <T>(what: string, fn: () => Promise<T>, abortable: boolean): Promise<T> =>
    withRetry(fn, policy, {
      signal: abortable ? signal : undefined,
      onRetry: (error, attempt, delayMs) => {
        lastError = `${what}: ${describeError(error)} (retry ${attempt} in ${Math.round(delayMs)} ms)`;
        onProgress?.(progress());
      },
    });

  const fail = (error: unknown, doing: string): FlowFailedError =>
    new FlowFailedError(
      `[ferry] ${label} failed while ${doing} after ${batches} batches (${records} records): ${describeError(error)}`,
      progress(),
      { cause: error },
    );

  /** Room at the sink for the next batch; waits while full unless the flow stops when full. */
  const room = async (): Promise<number> => {
    for (;;) {
      if (signal?.aborted) throw new Stop('aborted');
      const free = await retrying('checking free room', () => sink.free(), true);
      if (free >= 1) return Math.min(batchSize, Math.floor(free));
      if (whenFull === 'stop') throw new Stop('full');
      onProgress?.(progress('full'));
      await sleep(pollIntervalMs, signal);
    }
  };

  const releaseQuietly = async (batch: SourceBatch): Promise<void> => {
    // Never two calls at the source at once: a read ahead settles first.
    if (ahead !== undefined) await ahead;
    try {
      await source.release(batch);
    } catch (error) {
      // The source gives unacked records back on its own (pending list, requeue,
      // checkpoint not advanced); a failed release only delays that.
      lastError = `releasing a batch: ${describeError(error)}`;
    }
  };

  /**
   * Writes a batch, retrying transient failures. A failed write may have landed
   * in part, so before each retry the sink's reconcile (where it has one) drops
   * the records that are already there. Resolves with the records the target
   * refused, where the sink can tell them apart (the rest are written). A sink
   * that fails a whole batch for one record (a RecordRejectedError naming it)
   * has that record set aside for the dead-letter sink, and the rest written:
   * one bad record does not stop a flow that has somewhere to put it.
   */
  const writeWithReconcile = async (
    batch: readonly FerryRecord[],
    since: string | undefined,
  ): Promise<readonly RejectedRecord[]> => {
    let attempt = 0;
    let remaining = batch;
    const isolated: RejectedRecord[] = [];
    for (;;) {
      try {
        const refused = await retrying(
          'writing a batch',
          async () => {
            const todo =
              attempt > 0 && sink.reconcile !== undefined ? await sink.reconcile(remaining, since) : remaining;
            attempt += 1;
            if (todo.length === 0) return [];
            const outcome = await sink.write(todo);
            if (outcome?.skipped !== undefined) {
              skippedFields += outcome.skipped.records;
              firstSkipped ??= outcome.skipped.first;
            }
            return outcome?.rejected ?? [];
          },
          true,
        );
        return isolated.length === 0 ? refused : [...isolated, ...refused];
      } catch (error) {
        if (!(error instanceof RecordRejectedError) || deadLetter === undefined) throw error;
        const bad = remaining.find((record) => record.id === error.recordId);
        if (bad === undefined) throw error;
        isolated.push(rejectRecord(bad, error.reason));
        remaining = remaining.filter((record) => record !== bad);
      }
    }
  };

  /**
   * Sends rejected records to the dead-letter sink, before the batch is
   * acked. With no dead-letter sink, the flow stops and the batch goes back
   * whole: nothing of it is acked.
   */
  const deadLetterAll = async (
    batch: SourceBatch,
    rejected: readonly RejectedRecord[],
    by: string,
    doing: string,
    written = 0,
  ): Promise<void> => {
    const first = rejected[0]!;
    if (deadLetter === undefined) {
      await releaseQuietly(batch);
      const more = rejected.length > 1 ? ` (and ${rejected.length - 1} more in the batch)` : '';
      const landed = written > 0 ? ` (its other ${written} records were written and will be read again)` : '';
      throw fail(
        new RecordRejectedError(
          first.id,
          first.reason,
          `[${by}] record ${first.id} rejected: ${first.reason}${more}; no dead-letter sink is set, so nothing of its batch was acked${landed}`,
        ),
        doing,
      );
    }
    try {
      await retrying('dead-lettering', () => deadLetter.write(rejected.map(deadLetterRecord)), true);
    } catch (error) {
      await releaseQuietly(batch);
      if (error instanceof AbortedError) throw new Stop('aborted');
      throw fail(error, 'dead-lettering');
    }
  };

  const deadLetterRecord = (rejected: RejectedRecord): FerryRecord => {
    const value: RecordValue = {
      reason: rejected.reason,
      sourceId: rejected.id,
      source: source.name,
      original: Buffer.from(rejected.raw),
      rejectedAt: new Date(),
    };
    if (options.flowName !== undefined) value.flow = options.flowName;
    if (rejected.attempts !== undefined) value.attempts = BigInt(rejected.attempts);
    if (rejected.contentType !== undefined) value.contentType = rejected.contentType;
    if (rejected.headers !== undefined) value.headers = rejected.headers;
    return { id: rejected.id, value, readAt: Date.now(), bytes: rejected.raw.byteLength };
  };

  /**
   * Where the sink was before each of these records may have been written:
   * the position noted with them (by this run or an earlier one), else the
   * note of a reader that died holding them, which this run then settles.
   */
  const positionsOf = async (again: readonly FerryRecord[]): Promise<Map<FerryRecord, string | undefined>> => {
    const since = new Map<FerryRecord, string | undefined>();
    const unknown: FerryRecord[] = [];
    for (const record of again) {
      if (inDoubt.has(record.id)) since.set(record, inDoubt.get(record.id));
      else unknown.push(record);
    }
    if (unknown.length === 0 || journal?.notesOf === undefined) {
      for (const record of unknown) since.set(record, undefined);
      return since;
    }
    const notes = await retrying('reading the journal', () => journal.notesOf!(unknown.map((r) => r.id)), true);
    for (const record of unknown) {
      const note = notes.find((n) => n.ids.includes(record.id));
      since.set(record, note?.position);
      if (note !== undefined && !takenOver.has(note.reader)) {
        takenOver.set(note.reader, { note, left: new Set(note.ids) });
      }
    }
    return since;
  };

  /**
   * The records of a batch minus those the sink already holds, asked only of
   * records that may be there: redeliveries, and records of a batch in doubt.
   * Each is looked for from the sink's position noted before it was written.
   */
  const dropInDoubt = async (batch: readonly FerryRecord[]): Promise<readonly FerryRecord[]> => {
    // Nothing in doubt (the usual case): no lookup per record.
    const again = batch.filter((record) => record.redelivered === true || (inDoubt.size > 0 && inDoubt.has(record.id)));
    if (again.length === 0) return batch;
    if (sink.reconcile === undefined) {
      for (const record of again) inDoubt.delete(record.id);
      return batch;
    }
    const since = await positionsOf(again);
    for (const record of again) inDoubt.delete(record.id);
    const groups = new Map<string | undefined, FerryRecord[]>();
    for (const [record, position] of since) {
      const group = groups.get(position);
      if (group === undefined) groups.set(position, [record]);
      else group.push(record);
    }
    const missing = new Set<string>();
    for (const [position, records] of groups) {
      const left = await retrying('reconciling a redelivered batch', () => sink.reconcile!(records, position), true);
      for (const record of left) missing.add(record.id);
    }
    return batch.filter((record) => !since.has(record) || missing.has(record.id));
  };

  /** After an ack: a dead reader's note whose records are now all acked here is settled, and removed. */
  const settleTakenOver = async (acked: readonly FerryRecord[]): Promise<void> => {
    if (takenOver.size === 0 || journal?.settle === undefined) return;
    for (const [reader, taken] of takenOver) {
      for (const record of acked) taken.left.delete(record.id);
      if (taken.left.size > 0) continue;
      takenOver.delete(reader);
      try {
        await retrying('settling a note taken over', () => journal.settle!(taken.note), false);
      } catch (error) {
        // Left for `ferry doctor` to list: it names a batch that is acked.
        lastError = `settling the journal note of reader ${reader}: ${describeError(error)}`;
      }
    }
  };

  /**
   * This batch's attempt: one more than the note an earlier run left, when it
   * is that batch again (the same first record and size: the source gives a
   * batch in doubt back first), else the first.
   */
  const attemptOf = (batch: SourceBatch): number => {
    const same =
      prior !== undefined && batch.records.length === prior.ids.length && batch.records[0]?.id === prior.ids[0];
    return same ? prior!.attempts + 1 : 1;
  };

  /** A record that failed on its own maxAttempts times: it goes to the dead-letter sink, unwritten. */
  const giveUp = (record: FerryRecord, attempts: number): RejectedRecord[] => {
    const rejected = rejectRecord(
      record,
      `written ${attempts - 1} times without being acknowledged (maxAttempts ${maxAttempts}): ` +
        'each attempt ended with the worker stopped or the write failed',
    );
    return [{ ...rejected, attempts: attempts - 1 }];
  };

  /**
   * A write that failed because a server was away is not the records' fault:
   * the note stays (the batch may have landed in part) but this attempt does
   * not count towards maxAttempts, so a long outage dead-letters nothing.
   */
  const uncount = async (entry: JournalEntry): Promise<void> => {
    try {
      await journal!.begin({ ...entry, attempts: entry.attempts - 1 });
    } catch {
      // The control store is away too: the attempt counts, which at worst reads the batch one record at a time.
    }
  };

  const isEmpty = (batch: SourceBatch): boolean => batch.records.length === 0 && (batch.rejected ?? []).length === 0;

  /**
   * Starts reading the next batch while the one in hand is written: an edge
   * then runs near the speed of its slower side, not the sum of both. Only
   * for sources that say they can (`readAhead`), one whole batch ahead, when
   * the sink has room for it besides the batch in hand, never past maxBatches.
   * The source is never called twice at once: its ack waits for this read to
   * settle (unless it says `acksWhileReading`). The read does not wait for new
   * records, so that it cannot hold up that ack.
   */
  const readAhead = async (inHand: SourceBatch): Promise<void> => {
    if (source.readAhead !== true || careful > 0 || direct !== undefined || signal?.aborted) return;
    if (maxBatches !== undefined && batches + 2 > maxBatches) return;
    const free = await retrying('checking free room', () => sink.free(), true);
    // Only a whole batch ahead: near a full target the next read waits for the
    // write and asks the sink again, whatever its own rule for room is.
    if (free - inHand.records.length - (inHand.rejected ?? []).length < batchSize) return;
    ahead = retrying('reading a batch', () => source.read(batchSize, { waitMs: 0, signal }), true).catch((error) => {
      lastError = `reading ahead: ${describeError(error)}`;
      return undefined;
    });
  };

  /** The batch read ahead, when there is one with records in it; an empty one is given back. */
  const takeAhead = async (): Promise<SourceBatch | undefined> => {
    if (ahead === undefined) return undefined;
    const batch = await ahead;
    ahead = undefined;
    if (batch === undefined) return undefined;
    if (!isEmpty(batch)) return batch;
    await releaseQuietly(batch);
    return undefined;
  };

  /** On the way out: a batch read ahead and never written goes back to the source. */
  const dropAhead = async (): Promise<void> => {
    const batch = await takeAhead();
    if (batch !== undefined) await releaseQuietly(batch);
  };

  const read = async (): Promise<SourceBatch> => {
    const readyAhead = await takeAhead();
    if (readyAhead !== undefined) return readyAhead;
    const max = careful > 0 ? 1 : await room();
    const waitMs = stopWhenEmpty ? 0 : pollIntervalMs;
    try {
      return await retrying('reading a batch', () => source.read(max, { waitMs, signal }), true);
    } catch (error) {
      if (error instanceof AbortedError || signal?.aborted) throw new Stop('aborted');
      throw fail(error, 'reading');
    }
  };

  /** Before each batch, either way: the flow stops when aborted or after maxBatches. */
  const stopBeforeBatch = (): void => {
    if (signal?.aborted) throw new Stop('aborted');
    if (maxBatches !== undefined && batches >= maxBatches) throw new Stop('maxBatches');
  };

  const step = async (): Promise<void> => {
    stopBeforeBatch();
    const batch = await read();
    const rejected = batch.rejected ?? [];
    if (isEmpty(batch)) {
      // A source may hand back a handle even for an empty read; give it back.
      await releaseQuietly(batch);
      if (stopWhenEmpty) throw new Stop('empty');
      onProgress?.(progress('empty'));
      return;
    }
    if (signal?.aborted) {
      await releaseQuietly(batch);
      throw new Stop('aborted');
    }

    try {
      await readAhead(batch);
    } catch (error) {
      await releaseQuietly(batch);
      if (error instanceof AbortedError) throw new Stop('aborted');
      throw fail(error, 'checking free room');
    }

    const attempts = attemptOf(batch);
    const givenUp = attempts > maxAttempts && batch.records.length === 1 ? giveUp(batch.records[0]!, attempts) : [];
    if (rejected.length > 0 || givenUp.length > 0) {
      await deadLetterAll(batch, [...rejected, ...givenUp], givenUp.length > 0 ? 'ferry' : source.name, 'reading');
    }

    let toWrite: readonly FerryRecord[];
    let refused: readonly RejectedRecord[];
    let entry: JournalEntry | undefined;
    try {
      toWrite = givenUp.length > 0 ? [] : await dropInDoubt(batch.records);
      if (journal !== undefined && toWrite.length > 0) {
        // Where to look for this batch if it is ever in doubt: noted before any of it is written.
        const position =
          sink.position === undefined
            ? undefined
            : await retrying('asking the sink its position', () => sink.position!(), true);
        const noted: JournalEntry = {
          ids: batch.records.map((record) => record.id),
          attempts,
          ...(careful > 0 ? { span: careful } : {}),
          ...(position === undefined ? {} : { position }),
        };
        await retrying('noting the batch in the journal', () => journal.begin(noted), true);
        entry = noted;
      }
      refused = await writeWithReconcile(toWrite, entry?.position);
    } catch (error) {
      if (entry !== undefined && isTransient(error)) await uncount(entry);
      await releaseQuietly(batch);
      if (error instanceof AbortedError) throw new Stop('aborted');
      throw fail(error, 'writing');
    }
    if (refused.length > 0) {
      // The rest of the batch is written: if the flow stops here, they come back in doubt.
      const refusedIds = new Set(refused.map((r) => r.id));
      for (const record of toWrite) if (!refusedIds.has(record.id)) inDoubt.set(record.id, entry?.position);
      await deadLetterAll(batch, refused, sink.name, 'writing', toWrite.length - refused.length);
      for (const record of toWrite) inDoubt.delete(record.id);
    }

    // Written: from here the batch is acked whatever the signal says, so that
    // an abort never leaves a batch written but not acked.
    if (ahead !== undefined && source.acksWhileReading !== true) await ahead;
    let acked = false;
    try {
      await retrying('acking a batch', () => source.ack(batch), false);
      acked = true;
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw fail(error, 'acking');
      // Written, and coming back: the redelivery is checked against the sink.
      for (const record of batch.records) inDoubt.set(record.id, entry?.position);
      lastError = `acking a batch: ${describeError(error)}`;
    }
    if (acked) await settleTakenOver(batch.records);

    if (journal !== undefined) {
      try {
        await retrying('clearing the journal', () => journal.end(), false);
      } catch (error) {
        // The batch is acked: a note left behind only makes the next run ask the sink about it.
        lastError = `clearing the journal: ${describeError(error)}`;
      }
    }

    prior = undefined;
    if (careful > 0) careful = Math.max(0, careful - batch.records.length - rejected.length);
    batches += 1;
    records += toWrite.length - refused.length;
    deadLettered += rejected.length + givenUp.length + refused.length;
    for (const record of toWrite) bytes += record.bytes;
    onProgress?.(progress());
  };

  /**
   * One batch the direct way: the source and sink move it between themselves
   * in one atomic step, so there is nothing to journal, release or reconcile.
   * A retried move that had landed only moves the next records.
   */
  const directStep = async (path: DirectMove): Promise<void> => {
    stopBeforeBatch();
    const max = await room();
    let moved: DirectMoveResult;
    try {
      moved = await retrying('moving a batch', () => path.move(max), true);
    } catch (error) {
      if (error instanceof AbortedError || signal?.aborted) throw new Stop('aborted');
      throw fail(error, `moving (${path.name})`);
    }
    if (moved.usual === true) {
      await step();
      return;
    }
    if (moved.records === 0) {
      // Full: another writer took the room since free() said there was some, as free() would now say.
      const waiting = moved.full === true ? 'full' : 'empty';
      if (waiting === 'full' ? whenFull === 'stop' : stopWhenEmpty) throw new Stop(waiting);
      onProgress?.(progress(waiting));
      await sleep(pollIntervalMs, signal);
      return;
    }
    batches += 1;
    records += moved.records;
    bytes += moved.bytes;
    onProgress?.(progress());
  };

  const open = async (): Promise<void> => {
    try {
      await retrying('opening the source', () => source.open(), true);
      await retrying('opening the sink', () => sink.open(), true);
      if (deadLetter !== undefined) await retrying('opening the dead-letter sink', () => deadLetter.open(), true);
    } catch (error) {
      if (error instanceof AbortedError) throw new Stop('aborted');
      throw fail(error, 'connecting');
    }
  };

  /** A batch an earlier run wrote and did not ack comes back: its records are checked against the sink. */
  const recallInDoubt = async (): Promise<void> => {
    if (journal === undefined) return;
    try {
      prior = await retrying('reading the journal', () => journal.inDoubt(), true);
      for (const id of prior?.ids ?? []) inDoubt.set(id, prior?.position);
      if (prior?.span !== undefined) careful = prior.span;
      // A batch that failed maxAttempts times: read it one record at a time, so that the next failure names the record.
      else if (prior !== undefined && prior.attempts >= maxAttempts && prior.ids.length > 1) careful = prior.ids.length;
    } catch (error) {
      if (error instanceof AbortedError) throw new Stop('aborted');
      throw fail(error, 'reading the journal');
    }
  };

  const refreshBacklog = async (): Promise<void> => {
    if (source.backlog === undefined) return;
    try {
      backlog = await source.backlog();
      recordsAtBacklog = records;
    } catch {
      backlog = undefined;
    }
  };

  const closeAll = async (): Promise<void> => {
    await Promise.allSettled([source.close(), sink.close(), deadLetter?.close()]);
  };

  return {
    async run() {
      startedAt = performance.now();
      let stopReason: StopReason;
      try {
        await open();
        await recallInDoubt();
        await refreshBacklog();
        direct = source.directTo?.(sink);
        onProgress?.(progress());
        let lastBacklogAt = Date.now();
        for (;;) {
          // A batch an earlier run left in doubt goes the usual way first, so
          // that the sink is asked about it; a direct move would not ask.
          if (direct === undefined) await step();
          else if (inDoubt.size === 0) await directStep(direct);
          else {
            const before = inDoubt.size;
            await step();
            // The source reads oldest first: a batch with none of them means they are not coming back.
            if (inDoubt.size === before) inDoubt.clear();
          }
          // The backlog is for display: ask for it now and then, not every batch.
          if (Date.now() - lastBacklogAt >= 1000) {
            lastBacklogAt = Date.now();
            await refreshBacklog();
          }
        }
      } catch (thrown) {
        await dropAhead();
        if (!(thrown instanceof Stop)) {
          await closeAll();
          throw thrown;
        }
        stopReason = thrown.reason;
      }
      await closeAll();
      if (stopReason === 'empty') backlog = 0;
      const result: PumpResult = { ...progress(), stopReason };
      onProgress?.(result);
      return result;
    },
  };
}
