import { createHash } from 'node:crypto';
import { type BatchJournal, ConnectionError, describeError } from '@ferry/core';
import type { Redis } from 'ioredis';
import { controlKeys } from './control.js';
import type { BuiltFlow } from './flow-builder.js';

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

/** The batch journal in the control Redis: one key per flow instance, holding the ids of the batch in doubt. */
export function createRedisJournal(redis: Redis, key: string): BatchJournal {
  const call = async <T>(doing: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      // The control store is a connection like any other: the pump retries with backoff.
      throw new ConnectionError(`[ferry] ${doing} in the control store: ${describeError(error)}`, { cause: error });
    }
  };
  return {
    async inDoubt() {
      const text = await call('reading the batch journal', () => redis.get(key));
      return text === null ? [] : (JSON.parse(text) as string[]);
    },
    async begin(ids) {
      await call('noting a batch in the journal', () => redis.set(key, JSON.stringify(ids)));
    },
    async end() {
      await call('clearing the batch journal', () => redis.del(key));
    },
  };
}
