import { createHash } from 'node:crypto';
import {
  AbortedError,
  type BatchJournal,
  ConnectionError,
  describeError,
  mapErrors,
  parseJournalEntry,
} from '@ferry/core';
import type { Redis } from 'ioredis';
import { controlKeys } from './control.js';
import type { BuiltFlow } from './flow-builder.js';
import type { SourceLock } from './source-lock.js';

/**
 * The journal key of a flow: the same source and sink (by connection name and
 * keys) give the same key from one run to the next, so a restarted run finds
 * the batch its predecessor left in doubt. `instance` tells apart the pumps of
 * one job with parallelism, each with a batch of its own.
 */
export function journalKey(prefix: string, flow: BuiltFlow, instance = 0): string {
  const identity = JSON.stringify({ source: flow.spec.source, sink: flow.spec.sink });
  const digest = createHash('sha1').update(identity).digest('hex').slice(0, 20);
  return `${controlKeys(prefix).journal}:${digest}:${instance}`;
}

/** Notes a batch only while the source lock is held by this holder, and renews the lock with it. */
const fencedBeginScript = `if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/**
 * The batch journal in the control Redis: one key per flow instance, holding
 * the ids of the batch in doubt. With `fence` (the source lock of a
 * single-reader source), a batch is noted, and so written, only while the lock
 * is this job's: after the control store was away longer than the lock's time
 * to live, another job may read the source, and this one stops before it
 * writes (the pump sees an AbortedError and releases the batch).
 */
export function createRedisJournal(redis: Redis, key: string, fence?: SourceLock): BatchJournal {
  // The control store is a connection like any other: the pump retries with backoff.
  const call = <T>(doing: string, run: () => Promise<T>): Promise<T> =>
    mapErrors(
      run,
      (error) =>
        new ConnectionError(`[ferry] ${doing} in the control store: ${describeError(error)}`, { cause: error }),
    );
  return {
    async inDoubt() {
      const text = await call('reading the batch journal', () => redis.get(key));
      return text === null ? undefined : parseJournalEntry(text);
    },
    async begin(entry) {
      const text = JSON.stringify(entry);
      if (fence === undefined) {
        await call('noting a batch in the journal', () => redis.set(key, text));
        return;
      }
      if (fence.lost.aborted) throw new AbortedError(`[ferry] ${describeError(fence.lost.reason)}`);
      const held = await call('noting a batch in the journal', () =>
        redis.eval(fencedBeginScript, 2, key, fence.key, text, fence.token, String(fence.ttlMs)),
      );
      if (held !== 1) {
        fence.markLost('held by another job or expired when a batch was to be written');
        throw new AbortedError(`[ferry] ${describeError(fence.lost.reason)}`);
      }
      fence.confirmed();
    },
    async end() {
      await call('clearing the batch journal', () => redis.del(key));
    },
  };
}
