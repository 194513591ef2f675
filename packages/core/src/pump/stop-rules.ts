import { AbortedError, sleep } from '../retry.js';
import { type FlowFailedError, failure, report } from './pump-progress.js';
import type { PumpState } from './pump-state.js';
import { retrying } from './retrying.js';

export type StopReason = 'empty' | 'maxBatches' | 'full' | 'aborted';

/** Ends the loop with a reason; thrown inside `run` only. */
export class Stop {
  constructor(readonly reason: StopReason) {}
}

/** Before each batch, either way: the flow stops when aborted or after maxBatches. */
export function stopBeforeBatch(state: PumpState): void {
  const { signal, maxBatches } = state.settings;
  if (signal?.aborted) throw new Stop('aborted');
  if (maxBatches !== undefined && state.batches >= maxBatches) throw new Stop('maxBatches');
}

/** A full sink or an empty source stops the flow when it says so (`whenFull: 'stop'`, `stopWhenEmpty`); else the wait is reported. */
export function stopOrWait(state: PumpState, waiting: 'full' | 'empty'): void {
  const { whenFull, stopWhenEmpty } = state.settings;
  if (waiting === 'full' ? whenFull === 'stop' : stopWhenEmpty) throw new Stop(waiting);
  report(state, waiting);
}

/** Room at the sink for the next batch; waits while full unless the flow stops when full. */
export async function room(state: PumpState): Promise<number> {
  const { sink, batchSize, pollIntervalMs, signal } = state.settings;
  for (;;) {
    if (signal?.aborted) throw new Stop('aborted');
    const free = await retrying(state, 'checking free room', () => sink.free(), true);
    if (free >= 1) return Math.min(batchSize, Math.floor(free));
    stopOrWait(state, 'full');
    await sleep(pollIntervalMs, signal);
  }
}

/** What a step throws when a call failed: a stop when an abort cut its retries short, else the flow's failure. */
export function stopOrFail(state: PumpState, error: unknown, doing: string): Stop | FlowFailedError {
  return error instanceof AbortedError ? new Stop('aborted') : failure(state, error, doing);
}
