import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface SourceLock {
  /** Aborted when the lock is lost (not renewed in time): the flow must stop. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * One reader per single-reader source, across every worker: SET NX PX, renewed
 * at a third of its time to live, released only by its holder. Resolves to
 * undefined when another job holds it.
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
  let renewing = false;
  const timer = setInterval(
    async () => {
      if (renewing) return;
      renewing = true;
      try {
        const renewed = await redis.eval(renewScript, 1, key, token, String(ttlMs));
        if (renewed !== 1) lost.abort(new Error(`source lock ${key} lost`));
      } catch {
        // A blip of the control store: the next renewal tries again, well before the lock expires.
      } finally {
        renewing = false;
      }
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    lost: lost.signal,
    async release() {
      clearInterval(timer);
      await redis.eval(releaseScript, 1, key, token).catch(() => undefined);
    },
  };
}
