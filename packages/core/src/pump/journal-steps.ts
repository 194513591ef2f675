import type { SourceBatch } from '../contracts.js';
import { describeError } from '../errors.js';
import type { JournalEntry } from '../journal.js';
import { carefulSpan } from './attempts.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';
import { stopOrFail } from './stop-rules.js';

/** A batch an earlier run wrote and did not ack comes back: its records are checked against the sink. */
export async function recallInDoubt(state: PumpState): Promise<void> {
  const { journal, maxAttempts } = state.settings;
  if (journal === undefined) return;
  try {
    const prior = await retrying(state, 'reading the journal', () => journal.inDoubt(), true);
    state.prior = prior;
    for (const id of prior?.ids ?? []) state.inDoubt.set(id, prior?.position);
    const span = carefulSpan(prior, maxAttempts);
    if (span !== undefined) state.careful = span;
  } catch (error) {
    throw stopOrFail(state, error, 'reading the journal');
  }
}

/**
 * Before any of the batch is written, with a journal: notes its records, its
 * attempt, and where to look for it (the sink's position) if it is ever in
 * doubt. Undefined without a journal.
 */
export async function noteBatch(
  state: PumpState,
  batch: SourceBatch,
  attempts: number,
): Promise<JournalEntry | undefined> {
  const { sink, journal } = state.settings;
  if (journal === undefined) return undefined;
  const position =
    sink.position === undefined
      ? undefined
      : await retrying(state, 'asking the sink its position', () => sink.position!(), true);
  const noted: JournalEntry = {
    ids: batch.records.map((record) => record.id),
    attempts,
    ...(state.careful > 0 ? { span: state.careful } : {}),
    ...(position === undefined ? {} : { position }),
  };
  await retrying(state, 'noting the batch in the journal', () => journal.begin(noted), true);
  return noted;
}

/** After the ack: the batch's note goes. */
export async function clearNote(state: PumpState): Promise<void> {
  const { journal } = state.settings;
  if (journal === undefined) return;
  try {
    await retrying(state, 'clearing the journal', () => journal.end(), false);
  } catch (error) {
    // The batch is acked: a note left behind only makes the next run ask the sink about it.
    state.lastError = `clearing the journal: ${describeError(error)}`;
  }
}
