import type { RejectedRecord, SourceBatch } from '../contracts.js';
import type { JournalEntry } from '../journal.js';
import { rejectRecord } from '../record.js';
import type { PumpState } from './pump-state.js';

/**
 * This batch's attempt: one more than the note an earlier run left, when it
 * is that batch again (the same first record and size: the source gives a
 * batch in doubt back first), else the first.
 */
export function attemptOf(state: PumpState, batch: SourceBatch): number {
  const { prior } = state;
  const same =
    prior !== undefined && batch.records.length === prior.ids.length && batch.records[0]?.id === prior.ids[0];
  return same ? prior!.attempts + 1 : 1;
}

/** A record that failed on its own maxAttempts times: it goes to the dead-letter sink, unwritten. */
export function givenUp(state: PumpState, batch: SourceBatch, attempts: number): RejectedRecord[] {
  const { maxAttempts } = state.settings;
  if (attempts <= maxAttempts || batch.records.length !== 1) return [];
  const rejected = rejectRecord(
    batch.records[0]!,
    `written ${attempts - 1} times without being acknowledged (maxAttempts ${maxAttempts}): ` +
      'each attempt ended with the worker stopped or the write failed',
  );
  return [{ ...rejected, attempts: attempts - 1 }];
}

/**
 * How many records of an earlier run's batch in doubt to read one at a time:
 * as many as its note says are left, or the whole batch once it failed
 * maxAttempts times, so that the next failure names the record.
 */
export function carefulSpan(prior: JournalEntry | undefined, maxAttempts: number): number | undefined {
  if (prior?.span !== undefined) return prior.span;
  if (prior !== undefined && prior.attempts >= maxAttempts && prior.ids.length > 1) return prior.ids.length;
  return undefined;
}

/** The batch is acked: the earlier run's note is spent, and the records left to read one at a time count down. */
export function settleAttempts(state: PumpState, batch: SourceBatch): void {
  state.prior = undefined;
  if (state.careful > 0)
    state.careful = Math.max(0, state.careful - batch.records.length - (batch.rejected ?? []).length);
}

/**
 * A write that failed because a server was away is not the records' fault:
 * the note stays (the batch may have landed in part) but this attempt does
 * not count towards maxAttempts, so a long outage dead-letters nothing.
 */
export async function uncount(state: PumpState, entry: JournalEntry): Promise<void> {
  try {
    await state.settings.journal!.begin({ ...entry, attempts: entry.attempts - 1 });
  } catch {
    // The control store is away too: the attempt counts, which at worst reads the batch one record at a time.
  }
}
