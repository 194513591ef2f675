import type { RejectedRecord, SourceBatch } from '../contracts.js';
import { RecordRejectedError } from '../errors.js';
import type { FerryRecord, RecordValue } from '../record.js';
import type { PumpSettings } from './pump-options.js';
import { failure } from './pump-progress.js';
import type { PumpState } from './pump-state.js';
import { releaseQuietly } from './read-ahead.js';
import { retrying } from './retrying.js';
import { stopOrFail } from './stop-rules.js';

/**
 * Sends rejected records to the dead-letter sink, before the batch is
 * acked. With no dead-letter sink, the flow stops and the batch goes back
 * whole: nothing of it is acked.
 */
export async function deadLetterAll(
  state: PumpState,
  batch: SourceBatch,
  rejected: readonly RejectedRecord[],
  by: string,
  doing: string,
  written = 0,
): Promise<void> {
  const { deadLetter } = state.settings;
  const first = rejected[0]!;
  if (deadLetter === undefined) {
    await releaseQuietly(state, batch);
    const more = rejected.length > 1 ? ` (and ${rejected.length - 1} more in the batch)` : '';
    const landed = written > 0 ? ` (its other ${written} records were written and will be read again)` : '';
    throw failure(
      state,
      new RecordRejectedError(
        first.id,
        first.reason,
        `[${by}] record ${first.id} rejected: ${first.reason}${more}; no dead-letter sink is set, so nothing of its batch was acked${landed}`,
      ),
      doing,
    );
  }
  try {
    await retrying(
      state,
      'dead-lettering',
      () => deadLetter.write(rejected.map((r) => deadLetterRecord(state.settings, r))),
      true,
    );
  } catch (error) {
    await releaseQuietly(state, batch);
    throw stopOrFail(state, error, 'dead-lettering');
  }
}

/**
 * Dead-letters the records the sink refused out of a batch it wrote the rest
 * of. Those others are at the sink: should the flow stop here, they come
 * back in doubt, to be checked against the sink.
 */
export async function deadLetterRefused(
  state: PumpState,
  batch: SourceBatch,
  toWrite: readonly FerryRecord[],
  refused: readonly RejectedRecord[],
  position: string | undefined,
): Promise<void> {
  const refusedIds = new Set(refused.map((r) => r.id));
  for (const record of toWrite) if (!refusedIds.has(record.id)) state.inDoubt.set(record.id, position);
  await deadLetterAll(state, batch, refused, state.settings.sink.name, 'writing', toWrite.length - refused.length);
  for (const record of toWrite) state.inDoubt.delete(record.id);
}

/** A dead letter: the reason, where the record came from, and its original bytes. */
export function deadLetterRecord(settings: PumpSettings, rejected: RejectedRecord): FerryRecord {
  const value: RecordValue = {
    reason: rejected.reason,
    sourceId: rejected.id,
    source: settings.source.name,
    original: Buffer.from(rejected.raw),
    rejectedAt: new Date(),
  };
  if (settings.flowName !== undefined) value.flow = settings.flowName;
  if (rejected.attempts !== undefined) value.attempts = BigInt(rejected.attempts);
  if (rejected.contentType !== undefined) value.contentType = rejected.contentType;
  if (rejected.headers !== undefined) value.headers = rejected.headers;
  return { id: rejected.id, value, readAt: Date.now(), bytes: rejected.raw.byteLength };
}
