import { randomBytes } from 'node:crypto';
import { AbortedError } from '@ferry/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisJournal } from './journal.js';
import { acquireSourceLock } from './source-lock.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const base = `ferry-unit-journal-${process.pid}-${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${base}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('the batch journal', () => {
  it('keeps the attempt count and the span with the ids, and reads a note kept as a bare list of ids', async () => {
    const journal = createRedisJournal(redis, `${base}:journal:plain`);
    await journal.begin({ ids: ['5-0'], attempts: 3, span: 7 });
    expect(await journal.inDoubt()).toEqual({ ids: ['5-0'], attempts: 3, span: 7 });
    await redis.set(`${base}:journal:plain`, JSON.stringify(['1-0', '2-0']));
    expect(await journal.inDoubt()).toEqual({ ids: ['1-0', '2-0'], attempts: 1 });
    await journal.end();
    expect(await redis.exists(`${base}:journal:plain`)).toBe(0);
  });
});

describe('the batch journal fenced by the source lock', () => {
  it('notes a batch and renews the lock while the lock is this holder’s', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:a`, 'me', 5_000))!;
    const journal = createRedisJournal(redis, `${base}:journal:a`, lock);
    await redis.pexpire(lock.key, 1_000);
    await journal.begin({ ids: ['1-0', '2-0'], attempts: 2 });
    expect(await journal.inDoubt()).toEqual({ ids: ['1-0', '2-0'], attempts: 2 });
    expect(await redis.pttl(lock.key)).toBeGreaterThan(1_000);
    await journal.end();
    expect(await journal.inDoubt()).toBeUndefined();
    await lock.release();
    expect(await redis.exists(lock.key)).toBe(0);
  });

  it('refuses to note a batch once the lock expired or passed to another job, and says the lock is lost', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:b`, 'me', 5_000))!;
    const journal = createRedisJournal(redis, `${base}:journal:b`, lock);
    await redis.set(lock.key, 'someone-else');
    await expect(journal.begin({ ids: ['1-0'], attempts: 1 })).rejects.toBeInstanceOf(AbortedError);
    expect(lock.lost.aborted).toBe(true);
    expect(await redis.exists(`${base}:journal:b`)).toBe(0);
    await lock.release();
    // Released only by its holder.
    expect(await redis.get(lock.key)).toBe('someone-else');
  });

  it('counts a lock it could not renew within its time to live as lost', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:c`, 'me', 300))!;
    await redis.del(lock.key);
    await expect.poll(() => lock.lost.aborted, { timeout: 2_000 }).toBe(true);
    await lock.release();
  });
});
