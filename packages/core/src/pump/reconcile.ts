import { describeError } from '../errors.js';
import type { FerryRecord } from '../record.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';

/**
 * The records of a batch minus those the sink already holds, asked only of
 * records that may be there: redeliveries, and records of a batch in doubt.
 * Each is looked for from the sink's position noted before it was written.
 */
export async function dropInDoubt(state: PumpState, batch: readonly FerryRecord[]): Promise<readonly FerryRecord[]> {
  const { sink } = state.settings;
  const { inDoubt } = state;
  // Nothing in doubt (the usual case): no lookup per record.
  const again = batch.filter((record) => record.redelivered === true || (inDoubt.size > 0 && inDoubt.has(record.id)));
  if (again.length === 0) return batch;
  if (sink.reconcile === undefined) {
    for (const record of again) inDoubt.delete(record.id);
    return batch;
  }
  const since = await positionsOf(state, again);
  for (const record of again) inDoubt.delete(record.id);
  const groups = new Map<string | undefined, FerryRecord[]>();
  for (const [record, position] of since) {
    const group = groups.get(position);
    if (group === undefined) groups.set(position, [record]);
    else group.push(record);
  }
  const missing = new Set<string>();
  for (const [position, records] of groups) {
    const left = await retrying(
      state,
      'reconciling a redelivered batch',
      () => sink.reconcile!(records, position),
      true,
    );
    for (const record of left) missing.add(record.id);
  }
  return batch.filter((record) => !since.has(record) || missing.has(record.id));
}

/**
 * Where the sink was before each of these records may have been written:
 * the position noted with them (by this run or an earlier one), else the
 * note of a reader that died holding them, which this run then settles.
 */
async function positionsOf(
  state: PumpState,
  again: readonly FerryRecord[],
): Promise<Map<FerryRecord, string | undefined>> {
  const { journal } = state.settings;
  const { inDoubt, takenOver } = state;
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
  const notes = await retrying(state, 'reading the journal', () => journal.notesOf!(unknown.map((r) => r.id)), true);
  for (const record of unknown) {
    const note = notes.find((n) => n.ids.includes(record.id));
    since.set(record, note?.position);
    if (note !== undefined && !takenOver.has(note.reader)) {
      takenOver.set(note.reader, { note, left: new Set(note.ids) });
    }
  }
  return since;
}

/** After an ack: a dead reader's note whose records are now all acked here is settled, and removed. */
export async function settleTakenOver(state: PumpState, acked: readonly FerryRecord[]): Promise<void> {
  const { journal } = state.settings;
  const { takenOver } = state;
  if (takenOver.size === 0 || journal?.settle === undefined) return;
  for (const [reader, taken] of takenOver) {
    for (const record of acked) taken.left.delete(record.id);
    if (taken.left.size > 0) continue;
    takenOver.delete(reader);
    try {
      await retrying(state, 'settling a note taken over', () => journal.settle!(taken.note), false);
    } catch (error) {
      // Left for `ferry doctor` to list: it names a batch that is acked.
      state.lastError = `settling the journal note of reader ${reader}: ${describeError(error)}`;
    }
  }
}
