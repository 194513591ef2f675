import type { RejectedRecord } from '../contracts.js';
import { RecordRejectedError } from '../errors.js';
import { type FerryRecord, rejectRecord } from '../record.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';

/**
 * Writes a batch, retrying transient failures. A failed write may have landed
 * in part, so before each retry the sink's reconcile (where it has one) drops
 * the records that are already there. Resolves with the records the target
 * refused, where the sink can tell them apart (the rest are written). A sink
 * that fails a whole batch for one record (a RecordRejectedError naming it)
 * has that record set aside for the dead-letter sink, and the rest written:
 * one bad record does not stop a flow that has somewhere to put it.
 */
export async function writeWithReconcile(
  state: PumpState,
  batch: readonly FerryRecord[],
  since: string | undefined,
): Promise<readonly RejectedRecord[]> {
  const { sink, deadLetter } = state.settings;
  let attempt = 0;
  let remaining = batch;
  const isolated: RejectedRecord[] = [];
  for (;;) {
    try {
      const refused = await retrying(
        state,
        'writing a batch',
        async () => {
          const todo = attempt > 0 && sink.reconcile !== undefined ? await sink.reconcile(remaining, since) : remaining;
          attempt += 1;
          if (todo.length === 0) return [];
          const outcome = await sink.write(todo);
          if (outcome?.skipped !== undefined) {
            state.skippedFields += outcome.skipped.records;
            state.firstSkipped ??= outcome.skipped.first;
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
}
