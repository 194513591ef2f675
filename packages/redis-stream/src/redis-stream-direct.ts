import { createHash, randomBytes } from 'node:crypto';
import { type DirectMove, type DirectMoveResult, type Sink, TransientError } from '@ferry/core';
import type { Redis } from 'ioredis';
import type { RedisStreamClient } from './redis-stream-client.js';
import { isClusterClient } from './redis-stream-internals.js';

/**
 * Who a connection talks to: the server's `run_id` (random per server
 * process, so two servers never share one, whatever their addresses look
 * like from here), the database the connection has selected, and the key
 * prefix the driver adds. Two connections with equal identities see the same keys.
 */
export interface ServerIdentity {
  readonly runId: string;
  readonly db: number;
  readonly keyPrefix: string;
}

/** Tells this package's direct target from another's, and from an older copy's that writes differently. */
export const directTargetProtocol = '@ferry/redis-stream/direct-target/v2';

/**
 * What a ferry Redis stream sink tells a source on the same server, through
 * its `directTarget()` (core's Sink contract), so that the source can write
 * exactly what the sink would. The protocol names the package and a
 * version: a source of another copy of this package still finds a target of
 * the same version, and one of an older version takes the usual path.
 */
export interface DirectTarget {
  readonly protocol: typeof directTargetProtocol;
  readonly server: ServerIdentity;
  readonly stream: string;
  readonly codec: 'fields' | 'json';
  /** The field that keeps the source id, or false for none. */
  readonly sourceIdField: string | false;
  /**
   * The sink's `maxLen`: the script moves no more than the target has room
   * for. Undefined: no bound. (The sink's `trim` needs no telling: a move
   * that keeps the target within maxLen leaves `MAXLEN ~ maxLen` nothing to cut.)
   */
  readonly maxLen: number | undefined;
}

/** The sink's direct-target description, when `sink` is a ferry Redis stream sink, open, on a known server. */
export function directTargetOf(sink: Sink): DirectTarget | undefined {
  const target = sink.directTarget?.();
  if (typeof target !== 'object' || target === null) return undefined;
  const t = target as Partial<DirectTarget>;
  const server = t.server as Partial<ServerIdentity> | undefined;
  const ok =
    t.protocol === directTargetProtocol &&
    typeof server?.runId === 'string' &&
    typeof server.db === 'number' &&
    typeof server.keyPrefix === 'string' &&
    typeof t.stream === 'string' &&
    (t.codec === 'fields' || t.codec === 'json') &&
    (typeof t.sourceIdField === 'string' || t.sourceIdField === false) &&
    (t.maxLen === undefined || (Number.isInteger(t.maxLen) && t.maxLen > 0));
  return ok ? (target as DirectTarget) : undefined;
}

export function sameServer(a: ServerIdentity, b: ServerIdentity): boolean {
  return a.runId === b.runId && a.db === b.db && a.keyPrefix === b.keyPrefix;
}

/**
 * Strings one XADD may take in a script: Lua's `unpack` stops near 8000, and
 * no other way passes more arguments to `redis.call`. A wider entry at the
 * head is moved by `moveWide` instead; one behind the head ends the batch before it.
 */
export const maxXaddArgs = 7900;

/**
 * Moves up to ARGV[1] entries from the head of KEYS[1] to KEYS[2], as the
 * range-mode source and the fields sink would: each entry's fields as read,
 * then the source-id field (ARGV[4], when ARGV[3] is '1') with the entry id;
 * then the moved head deleted with XTRIM MINID (exact), or the whole stream
 * when it was all moved. Returns {moved, bytes, code}. An entry that holds a
 * source id of its own ends the move before it, or, at the head, returns
 * code 4: the sink would refuse it, which only the usual path can say.
 *
 * ARGV[6], when not '', is the target's maxLen: the move takes no more than
 * the room left below it, and returns {0, 0, 1} when there is none. Checked
 * in the script, the bound holds against other writers too, which a length
 * read before the move would not see coming.
 *
 * An entry too wide for one XADD here (see maxXaddArgs) ends the batch
 * before it; when it is the first, the reply is {0, 0, 2, its id}, and the
 * client moves it with moveWideScript.
 *
 * Redis does not undo the writes of a script that fails midway, so every
 * check that can fail comes before the first write: the target's type, the
 * entries' sizes, the receipt (the one write an OOM or an ACL can refuse).
 * After it, XADD with `*` and XTRIM of a stream just read cannot fail.
 *
 * The receipt (KEYS[3], `seq:moved:bytes`, ARGV[2] = seq, kept ARGV[5] ms) makes a move
 * idempotent: a retry of a move whose reply was lost (the connection cut
 * after the script ran; the driver resends, or the pump retries, with the
 * same seq) gets that move's result instead of moving the next entries
 * uncounted.
 */
export const directMoveScript = `
local function sizeOf(fields)
  local total = 0
  for j = 1, #fields do total = total + #fields[j] end
  return total
end
local from, to, receipt = KEYS[1], KEYS[2], KEYS[3]
local max, seq = tonumber(ARGV[1]), ARGV[2]
local withId, idField, capacity = ARGV[3] == '1', ARGV[4], tonumber(ARGV[6] or '')
local done = redis.call('GET', receipt)
if done then
  local s, n, b = string.match(done, '^(%d+):(%d+):(%d+)$')
  if s == seq then return {tonumber(n), tonumber(b), 0} end
end
local kind = redis.call('TYPE', to).ok
if kind ~= 'stream' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE target stream "' .. to .. '" holds a ' .. kind .. ', not a stream')
end
if capacity then
  local room = capacity - redis.call('XLEN', to)
  if room <= 0 then return {0, 0, 1} end
  if room < max then max = room end
end
local entries = redis.call('XRANGE', from, '-', '+', 'COUNT', max + 1)
local n = math.min(#entries, max)
local args = {to, '*'}
local head = #args
local bytes = 0
for i = 1, n do
  local fields = entries[i][2]
  if head + #fields + 2 > ${maxXaddArgs} then
    if i == 1 then return {0, 0, 2, entries[1][1]} end
    n = i - 1
    break
  end
  local own = false
  for j = 1, #fields, 2 do
    bytes = bytes + #fields[j] + #fields[j + 1]
    if withId and fields[j] == idField and fields[j + 1] ~= entries[i][1] then own = true end
  end
  if own then
    if i == 1 then return {0, 0, 4, entries[1][1]} end
    bytes = bytes - sizeOf(fields)
    n = i - 1
    break
  end
end
if n == 0 then return {0, 0, 0} end
redis.call('SET', receipt, seq .. ':' .. n .. ':' .. bytes, 'PX', ARGV[5])
for i = 1, n do
  local entry = entries[i]
  local fields = entry[2]
  local k = head
  for j = 1, #fields, 2 do
    local f = fields[j]
    if not (withId and f == idField) then
      args[k + 1] = f
      args[k + 2] = fields[j + 1]
      k = k + 2
    end
  end
  if withId then
    args[k + 1] = idField
    args[k + 2] = entry[1]
    k = k + 2
  end
  redis.call('XADD', unpack(args, 1, k))
end
if #entries > n then
  redis.call('XTRIM', from, 'MINID', entries[n + 1][1])
else
  redis.call('XTRIM', from, 'MAXLEN', 0)
end
return {n, bytes, 0}
`;

const directMoveSha = createHash('sha1').update(directMoveScript).digest('hex');

/**
 * The second half of moving one entry too wide for directMoveScript, run in
 * a MULTI right after the client's own `XADD to * fields…` of it, so that
 * both happen at one point in time or not at all. It deletes entry ARGV[1]
 * from the source and notes the receipt (ARGV[2] = seq, ARGV[3] = bytes,
 * kept ARGV[4] ms), or takes the new target entry back when the target went
 * over its maxLen (ARGV[5], '' for none: {0, 0, 1}) or the source entry is
 * gone (moved by another, or by this very transaction resent after a lost
 * reply: {0, 0, 3}). Returns {1, bytes, 0} when it moved.
 *
 * Only a target that is not a stream makes such an XADD fail once queued (an
 * OOM or an ACL refusal aborts the whole transaction): then nothing is done.
 */
export const moveWideScript = `
local from, to, receipt = KEYS[1], KEYS[2], KEYS[3]
local id, capacity = ARGV[1], tonumber(ARGV[5] or '')
if redis.call('TYPE', to).ok ~= 'stream' then return {0, 0, 4} end
local function undo(code)
  local added = redis.call('XREVRANGE', to, '+', '-', 'COUNT', 1)
  redis.call('XDEL', to, added[1][1])
  return {0, 0, code}
end
if capacity and redis.call('XLEN', to) > capacity then return undo(1) end
if redis.call('XDEL', from, id) == 0 then return undo(3) end
redis.call('SET', receipt, ARGV[2] .. ':1:' .. ARGV[3], 'PX', ARGV[4])
return {1, tonumber(ARGV[3]), 0}
`;

/**
 * The reply's third number: what a move did besides moving. `wide`: the head
 * entry is too wide for the script, and the reply's fourth item is its id;
 * `gone`: that entry left the source between its read and its move.
 */
/** What a move script says: moved, the target full, the head entry too wide for it, gone, or holding its own source id. */
const moveCode = { moved: 0, full: 1, wide: 2, gone: 3, ownId: 4 } as const;
type MoveReply = [records: number, bytes: number, code: number, wideId?: string];

/** How long a receipt outlives its move: a retry later than this moves fresh entries, and only the count misses the lost reply. */
const receiptTtlMs = 600_000;

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}

/**
 * Asks the server who it is (`INFO server`, `CLIENT INFO`), and with
 * `loadScript` whether it runs the move script. Undefined when the
 * connection cannot take part in a direct move: a cluster, a server before
 * 6.2 (no XTRIM MINID, no CLIENT INFO), scripts or INFO refused. A lost
 * connection throws, as any other call would.
 */
export async function identifyServer(
  redis: Redis,
  client: RedisStreamClient,
  loadScript: boolean,
): Promise<ServerIdentity | undefined> {
  if (isClusterClient(redis)) return undefined;
  const pipeline = redis.pipeline().call('INFO', 'server').call('CLIENT', 'INFO');
  if (loadScript) pipeline.call('SCRIPT', 'LOAD', directMoveScript);
  const replies = await client.call('INFO server', () => pipeline.exec());
  if (replies === null) throw client.toError(new Error('Connection is closed.'), 'INFO server');
  for (const [error] of replies) {
    if (error === null) continue;
    const converted = client.toError(error, 'INFO server');
    if (converted.transient) throw converted;
    return undefined;
  }
  const info = String(replies[0]![1]);
  const clientInfo = String(replies[1]![1]);
  const runId = infoField(info, 'run_id');
  const version = (infoField(info, 'redis_version') ?? '0').split('.').map(Number);
  const db = /\bdb=(\d+)/.exec(clientInfo)?.[1];
  const standalone = infoField(info, 'redis_mode') === 'standalone';
  const recent = (version[0] ?? 0) > 6 || ((version[0] ?? 0) === 6 && (version[1] ?? 0) >= 2);
  if (runId === undefined || db === undefined || !standalone || !recent) return undefined;
  if (loadScript && replies[2]![1] !== directMoveSha) return undefined;
  return Object.freeze({ runId, db: Number(db), keyPrefix: redis.options.keyPrefix ?? '' });
}

/**
 * A range-mode source's batches moved to a sink on the same server by one
 * script call each (see `directMoveScript`): read, add and delete in one
 * atomic step, so each entry is at the source or at the target, never both.
 */
export class SameServerMove implements DirectMove {
  readonly name = 'same-server script';
  /** Numbers the moves: a retried move keeps its number, so its receipt answers for it. */
  #seq = 1;
  #used = false;
  readonly #redis: () => Redis;
  readonly #client: RedisStreamClient;
  readonly #keys: readonly [from: string, to: string, receipt: string];
  readonly #args: readonly string[];

  /** `redis` gives the source's connection of the moment: a reopened source has a new one. */
  constructor(redis: () => Redis, client: RedisStreamClient, from: string, target: DirectTarget) {
    this.#redis = redis;
    this.#client = client;
    this.#keys = [from, target.stream, `${from}.ferry-move.${randomBytes(6).toString('hex')}`];
    const idField = target.sourceIdField;
    this.#args = [
      idField === false ? '0' : '1',
      idField === false ? '' : idField,
      String(receiptTtlMs),
      target.maxLen === undefined ? '' : String(target.maxLen),
    ];
  }

  async move(max: number): Promise<DirectMoveResult> {
    if (max <= 0) return { records: 0, bytes: 0 };
    const redis = this.#redis();
    const [from, to, receipt] = this.#keys;
    const args = [from, to, receipt, max, String(this.#seq), ...this.#args];
    this.#used = true;
    let reply: MoveReply;
    // A wide entry gone before its move was moved by another (or by this move's lost attempt, which the receipt tells): look again.
    for (let tries = 0; ; tries++) {
      reply = (await this.#client.call(`EVALSHA (move to stream "${to}")`, async () => {
        try {
          return await redis.evalsha(directMoveSha, 3, ...args);
        } catch (error) {
          // The script cache was flushed or the server restarted: EVAL loads it again.
          if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
          return redis.eval(directMoveScript, 3, ...args);
        }
      })) as MoveReply;
      if (reply[2] !== moveCode.wide) break;
      reply = await this.#moveWide(redis, reply[3]!);
      if (reply[2] !== moveCode.gone || tries >= 3) break;
    }
    if (reply[2] === moveCode.gone) {
      throw new TransientError(`[redis-stream] a wide entry of stream "${from}" kept leaving it as it was moved`);
    }
    this.#seq += 1;
    if (reply[2] === moveCode.ownId) return { records: 0, bytes: 0, usual: true };
    return reply[2] === moveCode.full ? { records: 0, bytes: 0, full: true } : { records: reply[0], bytes: reply[1] };
  }

  /**
   * Moves the head entry `id`, too wide for one XADD in a script: the client
   * reads it and adds it in a MULTI whose moveWideScript deletes it from the
   * source, so that it is at one end or the other, as with the script.
   */
  async #moveWide(redis: Redis, id: string): Promise<MoveReply> {
    const [from, to, receipt] = this.#keys;
    const [withId, idField, ttl, capacity] = this.#args as [string, string, string, string];
    const entries = await this.#client.call('XRANGE (wide entry)', () => redis.xrangeBuffer(from, id, id));
    const fields = entries[0]?.[1];
    if (fields === undefined) return [0, 0, moveCode.gone];
    const add: (string | Buffer)[] = [to, '*'];
    let bytes = 0;
    const idName = Buffer.from(idField);
    for (let j = 0; j + 1 < fields.length; j += 2) {
      const [field, value] = [fields[j]!, fields[j + 1]!];
      bytes += field.length + value.length;
      if (withId === '1' && field.equals(idName)) {
        // A source id of its own: the usual path refuses it with the reason.
        if (!value.equals(Buffer.from(id))) return [0, 0, moveCode.ownId];
        continue;
      }
      add.push(field, value);
    }
    if (withId === '1') add.push(idField, id);
    // One array, not spread arguments: ioredis flattens it, where 200,000 arguments would overflow the stack.
    const replies = await this.#client.call(`MULTI (move a wide entry to stream "${to}")`, () =>
      redis
        .multi()
        .call('XADD', add)
        .eval(moveWideScript, 3, from, to, receipt, id, String(this.#seq), String(bytes), ttl, capacity)
        .exec(),
    );
    if (replies === null) throw this.#client.toError(new Error('Connection is closed.'), 'EXEC');
    for (const [error] of replies) if (error !== null) throw this.#client.toError(error, `XADD to stream "${to}"`);
    return replies[1]![1] as MoveReply;
  }

  /** Deletes the receipt, which nothing asks for once the source closes (it would expire anyway). */
  async dispose(): Promise<void> {
    if (!this.#used) return;
    const redis = this.#redis();
    if (redis.status !== 'ready') return;
    try {
      await redis.del(this.#keys[2]);
    } catch {
      // It expires on its own.
    }
  }
}
