import type { SourceBatch } from '../contracts.js';
import { describeError } from '../errors.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';

export function isEmpty(batch: SourceBatch): boolean {
  return batch.records.length === 0 && (batch.rejected ?? []).length === 0;
}

/**
 * Starts reading the next batch while the one in hand is written: an edge
 * then runs near the speed of its slower side, not the sum of both. Only
 * for sources that say they can (`readAhead`), one whole batch ahead, when
 * the sink has room for it besides the batch in hand, never past maxBatches.
 * The source is never called twice at once: its ack waits for this read to
 * settle (unless it says `acksWhileReading`). The read does not wait for new
 * records, so that it cannot hold up that ack.
 */
export async function readAhead(state: PumpState, inHand: SourceBatch): Promise<void> {
  const { source, sink, batchSize, maxBatches, signal } = state.settings;
  if (source.readAhead !== true || state.careful > 0 || state.direct !== undefined || signal?.aborted) return;
  if (maxBatches !== undefined && state.batches + 2 > maxBatches) return;
  const free = await retrying(state, 'checking free room', () => sink.free(), true);
  // Only a whole batch ahead: near a full target the next read waits for the
  // write and asks the sink again, whatever its own rule for room is.
  if (free - inHand.records.length - (inHand.rejected ?? []).length < batchSize) return;
  state.ahead = retrying(state, 'reading a batch', () => source.read(batchSize, { waitMs: 0, signal }), true).catch(
    (error) => {
      state.lastError = `reading ahead: ${describeError(error)}`;
      return undefined;
    },
  );
}

/** The batch read ahead, when there is one with records in it; an empty one is given back. */
export async function takeAhead(state: PumpState): Promise<SourceBatch | undefined> {
  if (state.ahead === undefined) return undefined;
  const batch = await state.ahead;
  state.ahead = undefined;
  if (batch === undefined) return undefined;
  if (!isEmpty(batch)) return batch;
  await releaseQuietly(state, batch);
  return undefined;
}

/** On the way out: a batch read ahead and never written goes back to the source. */
export async function dropAhead(state: PumpState): Promise<void> {
  const batch = await takeAhead(state);
  if (batch !== undefined) await releaseQuietly(state, batch);
}

/** Before an ack: a read under way settles first, unless the source may be acked while it reads. */
export async function settleAhead(state: PumpState): Promise<void> {
  if (state.ahead !== undefined && state.settings.source.acksWhileReading !== true) await state.ahead;
}

export async function releaseQuietly(state: PumpState, batch: SourceBatch): Promise<void> {
  // Never two calls at the source at once: a read ahead settles first.
  if (state.ahead !== undefined) await state.ahead;
  try {
    await state.settings.source.release(batch);
  } catch (error) {
    // The source gives unacked records back on its own (pending list, requeue,
    // checkpoint not advanced); a failed release only delays that.
    state.lastError = `releasing a batch: ${describeError(error)}`;
  }
}
