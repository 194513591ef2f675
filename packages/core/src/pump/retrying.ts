import { describeError } from '../errors.js';
import { withRetry } from '../retry.js';
import { report } from './pump-progress.js';
import type { PumpState } from './pump-state.js';

/**
 * Calls `fn` with the flow's retry policy (transient errors, exponential
 * backoff with jitter), each retry reported as the progress's `lastError`.
 * Not `abortable`: an abort does not cut the retries short (an ack, a journal
 * clear, which must land once the batch is written).
 */
export function retrying<T>(state: PumpState, what: string, fn: () => Promise<T>, abortable: boolean): Promise<T> {
  const { policy, signal } = state.settings;
  return withRetry(fn, policy, {
    signal: abortable ? signal : undefined,
    onRetry: (error, attempt, delayMs) => {
      state.lastError = `${what}: ${describeError(error)} (retry ${attempt} in ${Math.round(delayMs)} ms)`;
      report(state);
    },
  });
}
