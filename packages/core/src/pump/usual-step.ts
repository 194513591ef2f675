import type { RejectedRecord, SourceBatch } from '../contracts.js';
import { describeError, isTransient, LeaseLostError } from '../errors.js';
import type { JournalEntry } from '../journal.js';
import type { FerryRecord } from '../record.js';
import { AbortedError } from '../retry.js';
import { attemptOf, givenUp, settleAttempts, uncount } from './attempts.js';
import { deadLetterAll, deadLetterRefused } from './dead-letter.js';
import { clearNote, noteBatch } from './journal-steps.js';
import { failure, reportBatch } from './pump-progress.js';
import type { PumpState } from './pump-state.js';
import { isEmpty, readAhead, releaseQuietly, settleAhead, takeAhead } from './read-ahead.js';
import { dropInDoubt, settleTakenOver } from './reconcile.js';
import { retrying } from './retrying.js';
import { room, Stop, stopBeforeBatch, stopOrFail, stopOrWait } from './stop-rules.js';
import { writeWithReconcile } from './write-retry.js';

/** What the write of a batch did: the records it wrote (less those the sink refused) under the journal's note. */
interface Written {
  readonly toWrite: readonly FerryRecord[];
  readonly refused: readonly RejectedRecord[];
  readonly entry: JournalEntry | undefined;
  /** How long the sink's write took, its retries included. */
  readonly writeMs: number;
}

/**
 * One batch the usual way, the original worker's loop: read at most the
 * sink's room, dead-letter what the source rejected, note the batch in the
 * journal, write it, and only then ack it and clear the note.
 */
export async function usualStep(state: PumpState): Promise<void> {
  const { source, signal } = state.settings;
  stopBeforeBatch(state);
  const batch = await readBatch(state);
  const rejected = batch.rejected ?? [];
  if (isEmpty(batch)) {
    // A source may hand back a handle even for an empty read; give it back.
    await releaseQuietly(state, batch);
    stopOrWait(state, 'empty');
    return;
  }
  if (signal?.aborted) {
    await releaseQuietly(state, batch);
    throw new Stop('aborted');
  }
  await startReadAhead(state, batch);

  const attempts = attemptOf(state, batch);
  const spent = givenUp(state, batch, attempts);
  if (rejected.length > 0 || spent.length > 0) {
    await deadLetterAll(state, batch, [...rejected, ...spent], spent.length > 0 ? 'ferry' : source.name, 'reading');
  }
  const { toWrite, refused, entry, writeMs } = await writeBatch(state, batch, attempts, spent.length > 0);
  if (refused.length > 0) await deadLetterRefused(state, batch, toWrite, refused, entry?.position);

  // Written: from here the batch is acked whatever the signal says, so that
  // an abort never leaves a batch written but not acked.
  await ackBatch(state, batch, entry?.position);
  await clearNote(state);

  settleAttempts(state, batch);
  state.batches += 1;
  state.records += toWrite.length - refused.length;
  state.deadLettered += rejected.length + spent.length + refused.length;
  for (const record of toWrite) state.bytes += record.bytes;
  reportBatch(state, { records: toWrite.length - refused.length, writeMs });
}

/** The batch read ahead, else a read of at most the sink's room (one record while looking for a poison one). */
async function readBatch(state: PumpState): Promise<SourceBatch> {
  const { source, stopWhenEmpty, pollIntervalMs, signal } = state.settings;
  const readyAhead = await takeAhead(state);
  if (readyAhead !== undefined) return readyAhead;
  const max = state.careful > 0 ? 1 : await room(state);
  const waitMs = stopWhenEmpty ? 0 : pollIntervalMs;
  try {
    return await retrying(state, 'reading a batch', () => source.read(max, { waitMs, signal }), true);
  } catch (error) {
    if (error instanceof AbortedError || signal?.aborted) throw new Stop('aborted');
    throw failure(state, error, 'reading');
  }
}

/** Reads the next batch ahead where the source can; a failure to ask the sink's room gives the batch in hand back. */
async function startReadAhead(state: PumpState, batch: SourceBatch): Promise<void> {
  try {
    await readAhead(state, batch);
  } catch (error) {
    await releaseQuietly(state, batch);
    throw stopOrFail(state, error, 'checking free room');
  }
}

/**
 * Writes the batch, less what the sink already holds of it, noted in the
 * journal first; nothing when its one record was given up. A failure gives
 * the batch back and ends the flow.
 */
async function writeBatch(state: PumpState, batch: SourceBatch, attempts: number, spent: boolean): Promise<Written> {
  let entry: JournalEntry | undefined;
  try {
    const toWrite = spent ? [] : await dropInDoubt(state, batch.records);
    // Where to look for this batch if it is ever in doubt: noted before any of it is written.
    if (toWrite.length > 0) entry = await noteBatch(state, batch, attempts);
    const started = performance.now();
    const refused = await writeWithReconcile(state, toWrite, entry?.position);
    return { toWrite, refused, entry, writeMs: performance.now() - started };
  } catch (error) {
    if (entry !== undefined && isTransient(error)) await uncount(state, entry);
    await releaseQuietly(state, batch);
    throw stopOrFail(state, error, 'writing');
  }
}

/** Acks the written batch; a source that lost its hold on it gives it back, its records then in doubt. */
async function ackBatch(state: PumpState, batch: SourceBatch, position: string | undefined): Promise<void> {
  const { source } = state.settings;
  await settleAhead(state);
  try {
    await retrying(state, 'acking a batch', () => source.ack(batch), false);
  } catch (error) {
    if (!(error instanceof LeaseLostError)) throw failure(state, error, 'acking');
    // Written, and coming back: the redelivery is checked against the sink.
    for (const record of batch.records) state.inDoubt.set(record.id, position);
    state.lastError = `acking a batch: ${describeError(error)}`;
    return;
  }
  await settleTakenOver(state, batch.records);
}
