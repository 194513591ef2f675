import type { DirectMove, DirectMoveResult } from '../contracts.js';
import { AbortedError, sleep } from '../retry.js';
import { failure, reportBatch } from './pump-progress.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';
import { room, Stop, stopBeforeBatch, stopOrWait } from './stop-rules.js';
import { usualStep } from './usual-step.js';

/**
 * One batch the direct way: the source and sink move it between themselves
 * in one atomic step, so there is nothing to journal, release or reconcile.
 * A retried move that had landed only moves the next records.
 */
export async function directStep(state: PumpState, path: DirectMove): Promise<void> {
  const { pollIntervalMs, signal } = state.settings;
  stopBeforeBatch(state);
  const max = await room(state);
  let moved: DirectMoveResult;
  const started = performance.now();
  try {
    moved = await retrying(state, 'moving a batch', () => path.move(max), true);
  } catch (error) {
    if (error instanceof AbortedError || signal?.aborted) throw new Stop('aborted');
    throw failure(state, error, `moving (${path.name})`);
  }
  if (moved.usual === true) {
    await usualStep(state);
    return;
  }
  if (moved.records === 0) {
    // Full: another writer took the room since free() said there was some, as free() would now say.
    stopOrWait(state, moved.full === true ? 'full' : 'empty');
    await sleep(pollIntervalMs, signal);
    return;
  }
  state.batches += 1;
  state.records += moved.records;
  state.bytes += moved.bytes;
  reportBatch(state, { records: moved.records, writeMs: performance.now() - started });
}
