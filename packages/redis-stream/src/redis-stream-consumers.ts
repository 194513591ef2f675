import { hostname } from 'node:os';

/** The consumer name group mode uses when none is given: this process, on this host. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}`;
}

/**
 * True only when a consumer named the default way (`host-pid`) was a process
 * of this host that no longer runs: its pending entries can be taken at once.
 * Any other name (another host, a name given by hand) may belong to a live
 * reader, and waits for `claimIdleMs`. A reused pid reads as alive: the safe side.
 */
export function isGoneConsumer(name: string, host: string = hostname()): boolean {
  const dash = name.lastIndexOf('-');
  if (dash <= 0 || name.slice(0, dash) !== host) return false;
  const digits = name.slice(dash + 1);
  if (!/^[1-9][0-9]{0,9}$/.test(digits)) return false;
  const pid = Number(digits);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A consumer of a group as XINFO CONSUMERS describes it. */
export interface ConsumerInfo {
  readonly name: string;
  readonly pending: number;
  /** Milliseconds since its last attempted read or claim. */
  readonly idle: number;
}

/** Parses an XINFO CONSUMERS reply (a flat name/value list per consumer). */
export function parseConsumers(reply: unknown): ConsumerInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((row: unknown[]) => {
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < row.length; i += 2) fields.set(String(row[i]), row[i + 1]);
    return {
      name: String(fields.get('name')),
      pending: Number(fields.get('pending') ?? 0),
      idle: Number(fields.get('idle') ?? 0),
    };
  });
}

/**
 * Moves up to ARGV[4] pending entries of consumer ARGV[2] to ARGV[3], as one
 * step: two readers recovering the same dead consumer at once never take the
 * same entry from each other. JUSTID leaves the delivery count as it was (the
 * read that hands them out counts). Returns how many moved.
 */
export const takeOverScript = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[4]), ARGV[2])
if #pending == 0 then return 0 end
local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0}
for _, entry in ipairs(pending) do args[#args + 1] = entry[1] end
args[#args + 1] = 'JUSTID'
redis.call(unpack(args))
return #pending
`;
