import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * Who holds a reader's name: a process of a host. `pids` tells apart hosts
 * that share a name but not their processes (containers with one hostname).
 */
interface Holder {
  readonly host: string;
  readonly pids: string;
  readonly pid: number;
  readonly token: string;
}

function pidSpace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

const self = { host: hostname(), pids: pidSpace(), pid: process.pid };

/** True when the holder was a process of this host, in this pid space, and it no longer runs. */
function isGone(holder: Holder): boolean {
  if (holder.host !== self.host || holder.pids !== self.pids || holder.pid === self.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const takeOverScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return false end`;
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** The most readers of one flow on one source at once: more is a runaway, not a deployment. */
const maxSlots = 256;

export interface ReaderLease {
  /** The reader's stable name: `ferry:<flow>:<n>`, the lowest n free. */
  readonly name: string;
  /** Aborted when the lease was lost (not renewed within its time to live): the reader must stop. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * A stable name for one reader of a source, held in the control store so
 * that two readers never have the same one (a Redis consumer, a journal
 * note): `ferry:<flow>:<n>` with the lowest n that no live reader holds.
 * A restart takes back the name of its predecessor at once when that was a
 * process of this host that is gone (a crash); a name held by a process of
 * another host is free again when its lease runs out (`ttlMs`), never sooner.
 */
export async function acquireReaderLease(
  redis: Redis,
  keyOf: (slot: number) => string,
  flowName: string,
  ttlMs = 30_000,
): Promise<ReaderLease> {
  const holder: Holder = { ...self, token: randomUUID() };
  const value = JSON.stringify(holder);
  for (let slot = 0; slot < maxSlots; slot++) {
    const key = keyOf(slot);
    let taken = (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
    if (!taken) {
      const current = await redis.get(key);
      let other: Holder | undefined;
      try {
        other = current === null ? undefined : (JSON.parse(current) as Holder);
      } catch {
        other = undefined;
      }
      if (other !== undefined && isGone(other)) {
        taken = (await redis.eval(takeOverScript, 1, key, current!, value, String(ttlMs))) === 'OK';
      }
    }
    if (taken) return hold(redis, key, value, `ferry:${flowName}:${slot}`, ttlMs);
  }
  throw new Error(`[ferry] flow "${flowName}": ${maxSlots} readers of its source already run`);
}

function hold(redis: Redis, key: string, value: string, name: string, ttlMs: number): ReaderLease {
  const lost = new AbortController();
  let confirmedAt = Date.now();
  const timer = setInterval(
    () => {
      redis.eval(renewScript, 1, key, value, String(ttlMs)).then(
        (renewed) => {
          if (renewed === 1) confirmedAt = Date.now();
          else lost.abort(new Error(`reader ${name}: its lease was taken or expired`));
        },
        () => {
          // A blip of the control store: the next renewal tries again, well before the lease ends.
          if (Date.now() - confirmedAt > ttlMs)
            lost.abort(new Error(`reader ${name}: lease not renewed for ${ttlMs} ms`));
        },
      );
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    name,
    lost: lost.signal,
    async release() {
      clearInterval(timer);
      await redis.eval(releaseScript, 1, key, value).catch(() => undefined);
    },
  };
}
