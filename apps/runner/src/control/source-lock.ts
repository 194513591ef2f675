import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface SourceLock {
  /** Aborted when the lock is lost (taken over, or not renewed within its time to live): the flow must stop. */
  readonly lost: AbortSignal;
  readonly key: string;
  /** What the holder wrote in the key: who holds it. */
  readonly token: string;
  readonly ttlMs: number;
  /** The lock was just renewed by other means (the journal's fenced write). */
  confirmed(): void;
  /** The lock was found held by another or gone: stop. */
  markLost(reason: string): void;
  release(): Promise<void>;
}

/**
 * One reader per single-reader source, across every worker: SET NX PX, renewed
 * at a third of its time to live, released only by its holder. Resolves to
 * undefined when another job holds it.
 *
 * A holder that cannot renew it (the control store away) for longer than its
 * time to live counts it as lost, as another worker may have taken it since;
 * and the batch journal renews it with each batch and refuses to note a batch
 * when it is not held (see createRedisJournal), so no write goes out after the
 * lock passed to another job.
 */
export async function acquireSourceLock(
  redis: Redis,
  key: string,
  holder: string,
  ttlMs = 30_000,
): Promise<SourceLock | undefined> {
  const token = `${holder}:${randomUUID()}`;
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return undefined;
  const lost = new AbortController();
  let confirmedAt = Date.now();
  let renewing = false;
  const markLost = (reason: string) => {
    if (!lost.signal.aborted) lost.abort(new Error(`source lock ${key} lost: ${reason}`));
  };
  const timer = setInterval(
    async () => {
      if (renewing) {
        // A renewal still waiting for the control store: past the time to live, another may hold the lock.
        if (Date.now() - confirmedAt > ttlMs) markLost(`not renewed for ${ttlMs} ms`);
        return;
      }
      renewing = true;
      try {
        const renewed = await redis.eval(renewScript, 1, key, token, String(ttlMs));
        if (renewed === 1) confirmedAt = Date.now();
        else markLost('held by another job or expired');
      } catch {
        // A blip of the control store: the next renewal tries again, well before the lock expires.
        if (Date.now() - confirmedAt > ttlMs) markLost(`not renewed for ${ttlMs} ms`);
      } finally {
        renewing = false;
      }
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    lost: lost.signal,
    key,
    token,
    ttlMs,
    confirmed() {
      confirmedAt = Date.now();
    },
    markLost,
    async release() {
      clearInterval(timer);
      await redis.eval(releaseScript, 1, key, token).catch(() => undefined);
    },
  };
}
