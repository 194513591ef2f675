import { FerryError, isTransient } from './errors.js';

export interface RetryPolicy {
  /** Tries after the first one; 0 never retries. */
  readonly retries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  retries: 8,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
});

/** Thrown when an AbortSignal ends a wait or a retry. */
export class AbortedError extends FerryError {
  override readonly name = 'AbortedError';
}

/**
 * The delay before try number `attempt` (1 = the first retry): exponential,
 * capped, with "equal jitter" so that workers failing together do not all
 * come back in the same millisecond, yet none retries at once.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Waits `ms`, or less when the signal aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The promise, or a rejection with the error `make` builds once `ms` have passed without an answer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, make: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(make()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface RetryOptions {
  /** Aborting stops the waiting between tries with an AbortedError. */
  readonly signal?: AbortSignal;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Calls `fn` until it resolves, retrying only transient errors, at most `policy.retries` times. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isTransient(error) || attempt >= policy.retries) throw error;
      const delay = backoffDelay(policy, attempt + 1);
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw new AbortedError('[ferry] stopped while waiting to retry', { cause: error });
    }
  }
}
