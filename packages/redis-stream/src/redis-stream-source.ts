import { isUtf8 } from 'node:buffer';
import {
  type DirectMove,
  type FerryRecord,
  isTransient,
  type ReadOptions,
  RecordRejectedError,
  type RecordValue,
  type RejectedRecord,
  type Sink,
  type Source,
  type SourceBatch,
  sleep,
} from '@ferry/core';
import type { Redis } from 'ioredis';
import { RedisStreamClient } from './redis-stream-client.js';
import {
  DecodeError,
  decodeFields,
  decodeJson,
  type FieldText,
  fieldsFormat,
  rawFieldsLetter,
} from './redis-stream-codec.js';
import { parseSourceOptions, type RedisStreamSourceConfig } from './redis-stream-config.js';
import { isGoneConsumer, parseConsumers, takeOverScript } from './redis-stream-consumers.js';
import {
  directTargetOf,
  identifyServer,
  SameServerMove,
  type ServerIdentity,
  sameServer,
} from './redis-stream-direct.js';

/** What `ack` and `release` need of a batch: its entry ids. */
export interface RedisStreamHandle {
  readonly ids: readonly string[];
}

/** A stream entry as the driver returns it; fields are null for an entry deleted while pending. */
type RawEntry = [id: string, fields: FieldText[] | null];
type RawStreams = [stream: string, entries: RawEntry[]][] | null;

/** A blocking read is cut into slices this long so that an abort signal is seen promptly. */
const blockSliceMs = 1000;

/** How often an otherwise empty group read looks again at entries other consumers hold. */
const othersPollMs = 250;

/** Pending entries moved from a dead consumer per script call. */
const takeOverChunk = 1000;

const emptyHandle: RedisStreamHandle = Object.freeze({ ids: Object.freeze([]) });
const emptyBatch: SourceBatch<RedisStreamHandle> = Object.freeze({ records: Object.freeze([]), handle: emptyHandle });

/** Trims the stream below ARGV[2] only if it still starts with ARGV[1]; -1 when it does not. */
const trimHeadScript = `
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #head == 0 or head[1][1] ~= ARGV[1] then return -1 end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
`;

/** The smallest stream id greater than `id` (`ms-seq`). */
export function nextId(id: string): string {
  const dash = id.indexOf('-');
  const ms = BigInt(id.slice(0, dash));
  const seq = BigInt(id.slice(dash + 1));
  return seq === 0xffff_ffff_ffff_ffffn ? `${ms + 1n}-0` : `${ms}-${seq + 1n}`;
}

/**
 * A record read with the `fields` codec. It carries its entry's fields as
 * read (`encoded`), which a `fields` sink writes as they are, and decodes its
 * value only when something asks for it: on the S2S path nothing does.
 */
class FieldsRecord implements FerryRecord {
  readonly encoded: { readonly format: string; readonly data: readonly FieldText[] };
  readonly redelivered?: boolean;
  #value: RecordValue | undefined;

  constructor(
    readonly id: string,
    fields: readonly FieldText[],
    readonly readAt: number,
    readonly bytes: number,
    redelivered: boolean,
    readonly stream: string,
  ) {
    this.encoded = { format: fieldsFormat, data: fields };
    if (redelivered) this.redelivered = true;
  }

  /** The decoded value; an entry that has none outside a stream (a name that is not UTF-8…) is a rejected record. */
  get value(): RecordValue {
    if (this.#value === undefined) {
      try {
        this.#value = decodeFields(this.encoded.data);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        const reason = `entry of stream "${this.stream}" cannot be decoded: ${error.message}`;
        throw new RecordRejectedError(this.id, reason, `[redis-stream] ${reason} (entry ${this.id})`, { cause: error });
      }
    }
    return this.#value;
  }

  /** A plain record, for JSON.stringify and spreads: the getter above is not an own property. */
  toJSON(): FerryRecord {
    const { id, value, readAt, bytes, redelivered } = this;
    return redelivered ? { id, value, readAt, bytes, redelivered } : { id, value, readAt, bytes };
  }
}

export function createRedisStreamSource(options: unknown): Source<RedisStreamHandle> {
  return new RedisStreamSource(parseSourceOptions(options));
}

class RedisStreamSource implements Source<RedisStreamHandle> {
  readonly name = 'redis-stream';
  /** Range mode reads on after the batches handed out; group mode hands each entry to one read. */
  readonly readAhead = true;
  readonly #config: RedisStreamSourceConfig;
  readonly #client: RedisStreamClient;
  readonly #decode: (fields: readonly FieldText[]) => RecordValue;
  #redis: Redis | undefined;
  /** Group mode: batches handed out and not yet acked or released. */
  #handedOut = 0;
  /** Group mode: this consumer's pending entries go out before new ones (after a restart or a release). */
  #pendingFirst = true;
  /** Group mode: the last own-pending id handed out, so that a batch still in flight is not handed out twice. */
  #pendingCursor = '0';
  #claimCursor = '0-0';
  #lastClaimAt = 0;
  /** Range mode: ack by trimming the head of the stream while the server runs scripts. */
  #trimAcks = true;
  /** Range mode: the last entry handed out while batches are out, so that the next read starts after it. */
  #readAfter: string | undefined;
  /** Range mode: batches handed out and not yet acked or released. */
  #outstanding = 0;
  /** Range mode with `direct`: the server this connection talks to, when it can run the move script. */
  #server: ServerIdentity | undefined;
  #direct: SameServerMove | undefined;

  constructor(config: RedisStreamSourceConfig) {
    this.#config = config;
    this.#client = new RedisStreamClient(config);
    const field = config.field;
    this.#decode = config.codec === 'json' ? (fields) => decodeJson(fields, field) : decodeFields;
  }

  async open(): Promise<void> {
    const redis = await this.#client.open();
    if (this.#config.mode === 'group') {
      const { stream, group, startId } = this.#config;
      try {
        await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) {
          throw this.#client.toError(error, 'XGROUP CREATE');
        }
      }
      this.#pendingFirst = true;
      this.#pendingCursor = '0';
      this.#claimCursor = '0-0';
      this.#lastClaimAt = 0;
      this.#handedOut = 0;
      // A reader of this host that died (a crash, a SIGKILL): its entries are read first, as this one's own.
      await this.#takeOverGone(redis);
    }
    this.#server = this.#config.direct ? await identifyServer(redis, this.#client, true) : undefined;
    this.#redis = redis;
  }

  /**
   * The same-server move, when it writes exactly what reading, writing and
   * acking would: the sink is a ferry Redis stream sink on the same server,
   * database and key prefix (so one script sees both keys), both use the
   * `fields` codec (whose sink writes the entries' fields as read), and the
   * two streams differ. Anything else, or `direct: false`, takes the usual path.
   */
  directTo(sink: Sink): DirectMove | undefined {
    const server = this.#server;
    const target = directTargetOf(sink);
    if (server === undefined || target === undefined || !sameServer(server, target.server)) return undefined;
    if (this.#config.codec !== 'fields' || target.codec !== 'fields' || target.stream === this.#config.stream) {
      return undefined;
    }
    this.#direct = new SameServerMove(
      () => this.#redis ?? this.#client.redis,
      this.#client,
      this.#config.stream,
      target,
    );
    return this.#direct;
  }

  async read(max: number, options: ReadOptions): Promise<SourceBatch<RedisStreamHandle>> {
    const redis = this.#redis ?? this.#client.redis;
    if (max <= 0 || options.signal?.aborted) return emptyBatch;
    if (this.#config.mode !== 'group') return this.#readRange(redis, max, options);
    const batch = await this.#readGroup(redis, max, options);
    if (batch.handle.ids.length > 0) this.#handedOut += 1;
    return batch;
  }

  async #readRange(redis: Redis, max: number, options: ReadOptions): Promise<SourceBatch<RedisStreamHandle>> {
    const { stream } = this.#config;
    const after = this.#readAfter;
    const entries = (await this.#client.call('XRANGE', () =>
      redis.xrange(stream, after === undefined ? '-' : nextId(after), '+', 'COUNT', max),
    )) as RawEntry[];
    if (entries.length > 0 || options.waitMs <= 0) return this.#handOut(entries);
    // XREAD answers at once when entries exist after the id, else wakes up on the first XADD.
    const reply = await this.#blocking(options, 'XREAD', (block) =>
      redis.call('XREAD', 'COUNT', max, 'BLOCK', block, 'STREAMS', stream, after ?? '0-0'),
    );
    return this.#handOut(reply?.[0]?.[1] ?? []);
  }

  /** Range mode: a batch is out until acked or released; reads go on after it meanwhile. */
  async #handOut(entries: RawEntry[]): Promise<SourceBatch<RedisStreamHandle>> {
    const batch = await this.#batch(entries);
    if (batch.handle.ids.length > 0) {
      this.#readAfter = batch.handle.ids[batch.handle.ids.length - 1];
      this.#outstanding += 1;
    }
    return batch;
  }

  /** Range mode: with no batch out, reading starts at the head of the stream again. */
  #settled(): void {
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    if (this.#outstanding === 0) this.#readAfter = undefined;
  }

  async #readGroup(redis: Redis, max: number, options: ReadOptions): Promise<SourceBatch<RedisStreamHandle>> {
    const { stream, group, consumer, claimIdleMs } = this.#config;
    if (this.#pendingFirst) {
      const own = await this.#readOwnPending(redis, max);
      if (own.length > 0) return this.#batch(own, true, redis);
    }
    let claimed = false;
    if (Date.now() - this.#lastClaimAt >= claimIdleMs / 2) {
      claimed = true;
      const taken = await this.#claim(redis, max);
      if (taken.length > 0) return this.#batch(taken, true, redis);
    }
    const reply =
      options.waitMs > 0
        ? await this.#blocking(options, 'XREADGROUP', (block) =>
            redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max, 'BLOCK', block, 'STREAMS', stream, '>'),
          )
        : await this.#readGroupFrom(redis, max, '>');
    const fresh = reply?.[0]?.[1] ?? [];
    if (fresh.length > 0 || (claimed && options.waitMs > 0)) return this.#batch(fresh);
    // Nothing new: a good moment to look for entries a dead consumer left behind.
    const taken = claimed ? [] : await this.#claim(redis, max);
    if (taken.length > 0 || options.waitMs > 0) return this.#batch(taken, true, redis);
    // About to say "empty": not while other consumers hold entries that may be a dead one's. A read
    // made while this reader holds a batch does not wait: another reader waiting for that batch's ack
    // would wait for it while this one waits for theirs. The read after the ack waits.
    if (this.#handedOut > 0) return emptyBatch;
    return this.#batch(await this.#awaitOthers(redis, max, options), true, redis);
  }

  /**
   * Moves the pending entries of every consumer of the group that was a
   * process of this host and is gone to this consumer, which reads them
   * first; the dead consumer is then removed. False when there was none.
   */
  async #takeOverGone(redis: Redis, among?: ReadonlySet<string>): Promise<boolean> {
    const { stream, group, consumer } = this.#config;
    const consumers = parseConsumers(
      await this.#client.call('XINFO CONSUMERS', () => redis.call('XINFO', 'CONSUMERS', stream, group)),
    );
    let moved = false;
    for (const info of consumers) {
      if (info.name === consumer || (among !== undefined && !among.has(info.name)) || !isGoneConsumer(info.name)) {
        continue;
      }
      for (;;) {
        let n: number;
        try {
          n = (await this.#client.call('EVAL (take over a dead consumer)', () =>
            redis.eval(takeOverScript, 1, stream, group, info.name, consumer, String(takeOverChunk)),
          )) as number;
        } catch (error) {
          // Scripts refused (ACL, no Lua): the entries come back after claimIdleMs instead.
          if (isTransient(error)) throw error;
          return moved;
        }
        if (n > 0) moved = true;
        if (n < takeOverChunk) break;
      }
      await this.#client.call('XGROUP DELCONSUMER', () => redis.xgroup('DELCONSUMER', stream, group, info.name));
    }
    if (moved) {
      this.#pendingFirst = true;
      this.#pendingCursor = '0';
    }
    return moved;
  }

  /**
   * Entries other consumers of the group hold when this one finds nothing to
   * read: a live consumer acks them soon, a dead one never does. This waits
   * until each is acked (then the source is empty), or its consumer is known
   * gone, or it has been idle `claimIdleMs` (then they are claimed and
   * returned), so that a flow never stops as empty with a dead reader's
   * entries still pending. At most the first 1000 are watched.
   */
  async #awaitOthers(redis: Redis, max: number, options: ReadOptions): Promise<RawEntry[]> {
    const { stream, group, consumer, claimIdleMs } = this.#config;
    const othersPending = async (): Promise<Map<string, string>> => {
      const reply = (await this.#client.call('XPENDING', () =>
        redis.call('XPENDING', stream, group, '-', '+', 1000),
      )) as [id: string, owner: string, idle: number, deliveries: number][];
      return new Map(reply.filter(([, owner]) => owner !== consumer).map(([id, owner]) => [id, owner]));
    };
    const watched = await othersPending();
    while (watched.size > 0 && !options.signal?.aborted) {
      if (await this.#takeOverGone(redis, new Set(watched.values()))) {
        const own = await this.#readOwnPending(redis, max);
        if (own.length > 0) return own;
      }
      this.#claimCursor = '0-0';
      const taken = await this.#claim(redis, max);
      if (taken.length > 0) return taken;
      const now = await othersPending();
      for (const id of watched.keys()) if (!now.has(id)) watched.delete(id);
      if (watched.size === 0) break;
      await sleep(Math.min(othersPollMs, claimIdleMs), options.signal);
    }
    return [];
  }

  /** XREADGROUP without blocking: `>` for new entries, an id for this consumer's pending ones after it. */
  #readGroupFrom(redis: Redis, max: number, from: string): Promise<RawStreams> {
    const { stream, group, consumer } = this.#config;
    return this.#client.call('XREADGROUP', () =>
      redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max, 'STREAMS', stream, from),
    ) as Promise<RawStreams>;
  }

  async #readOwnPending(redis: Redis, max: number): Promise<RawEntry[]> {
    for (;;) {
      const reply = await this.#readGroupFrom(redis, max, this.#pendingCursor);
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) {
        this.#pendingFirst = false;
        this.#pendingCursor = '0';
        return entries;
      }
      this.#pendingCursor = entries[entries.length - 1]![0];
      const live = await this.#dropDeleted(redis, entries);
      if (live.length > 0) return live;
    }
  }

  /** Takes over entries that another consumer read and left unacknowledged for longer than claimIdleMs. */
  async #claim(redis: Redis, max: number): Promise<RawEntry[]> {
    const { stream, group, consumer, claimIdleMs } = this.#config;
    const cursor = this.#claimCursor;
    const reply = (await this.#client.call('XAUTOCLAIM', () =>
      redis.call('XAUTOCLAIM', stream, group, consumer, claimIdleMs, cursor, 'COUNT', max),
    )) as [cursor: string, entries: RawEntry[], deleted?: string[]];
    this.#claimCursor = reply[0];
    // A full scan of the pending list is done: wait an interval before the next one.
    if (reply[0] === '0-0') this.#lastClaimAt = Date.now();
    // Redis 7 drops deleted entries from the pending list itself; Redis 6.2 returns them as nil.
    return this.#dropDeleted(redis, reply[1]);
  }

  /** Pending entries whose data was deleted cannot be delivered: acknowledge them away. */
  async #dropDeleted(redis: Redis, entries: RawEntry[]): Promise<RawEntry[]> {
    const deleted: string[] = [];
    for (const entry of entries) {
      if (entry[1] === null) deleted.push(entry[0]);
    }
    if (deleted.length === 0) return entries;
    await this.#client.call('XACK', () => redis.xack(this.#config.stream, this.#config.group, ...deleted));
    return entries.filter((entry) => entry[1] !== null);
  }

  /** Runs a BLOCK command in slices until it returns entries, the wait is over, or the signal aborts. */
  async #blocking(
    options: ReadOptions,
    command: string,
    call: (blockMs: number) => Promise<unknown>,
  ): Promise<RawStreams> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return null;
      const reply = (await this.#client.call(command, () =>
        call(Math.max(1, Math.min(left, blockSliceMs))),
      )) as RawStreams;
      if (reply !== null && (reply[0]?.[1].length ?? 0) > 0) return reply;
    }
  }

  /**
   * Decodes entries into records; `redelivered` marks entries handed out
   * before (pending after a restart or a release, or claimed from a dead
   * consumer), which the pump checks against the sink. An entry the codec cannot decode is not a
   * record: it goes in `rejected`, with the reason and its fields as JSON for
   * the original bytes, and its id stays in the handle, so that acking the
   * batch (once the pump has dead-lettered it) removes it too.
   */
  async #batch(entries: RawEntry[], redelivered = false, redis?: Redis): Promise<SourceBatch<RedisStreamHandle>> {
    if (entries.length === 0) return emptyBatch;
    const deliveries = redelivered && redis !== undefined ? await this.#deliveries(redis, entries) : undefined;
    const { maxDeliveries } = this.#config;
    const decode = this.#decode;
    const fieldsCodec = this.#config.codec === 'fields';
    const readAt = Date.now();
    const records: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    const ids: string[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const [id, fields] = entries[i]!;
      let raw = fields ?? [];
      // Bytes that are not UTF-8 come back from a text read as U+FFFD: read such an entry again as bytes.
      if (raw.some((text) => typeof text === 'string' && text.includes('\uFFFD'))) raw = await this.#bytesOf(id, raw);
      ids[i] = id;
      const attempts = deliveries?.get(id);
      if (attempts !== undefined && attempts >= maxDeliveries) {
        // A poison entry: handed out again and again, never acked. It goes to the dead-letter sink.
        const reason = `delivered ${attempts} times without being acknowledged (maxDeliveries ${maxDeliveries})`;
        rejected.push({ id, reason, attempts, ...rawFieldsLetter(raw) });
        continue;
      }
      let bytes = 0;
      for (let j = 0; j < raw.length; j++) {
        const text = raw[j]!;
        // Bytes as Redis holds them (UTF-8), as the same-server move counts them too.
        bytes += typeof text === 'string' ? Buffer.byteLength(text) : text.length;
      }
      if (fieldsCodec) {
        // The fields codec decodes anything, so it can wait until someone asks for the value.
        records.push(new FieldsRecord(id, raw, readAt, bytes, redelivered, this.#config.stream));
        continue;
      }
      let value: RecordValue;
      try {
        value = decode(raw);
      } catch (error) {
        const reason = `entry of stream "${this.#config.stream}" cannot be decoded: ${error instanceof Error ? error.message : String(error)}`;
        rejected.push({ id, reason, ...rawFieldsLetter(raw) });
        continue;
      }
      records.push(redelivered ? { id, value, readAt, bytes, redelivered } : { id, value, readAt, bytes });
    }
    return rejected.length === 0 ? { records, handle: { ids } } : { records, handle: { ids }, rejected };
  }

  /** How often the group has delivered each of these pending entries (XPENDING counts every delivery). */
  async #deliveries(redis: Redis, entries: RawEntry[]): Promise<Map<string, number>> {
    const { stream, group } = this.#config;
    const first = entries[0]![0];
    const last = entries[entries.length - 1]![0];
    const reply = (await this.#client.call('XPENDING', () =>
      redis.call('XPENDING', stream, group, first, last, entries.length * 2),
    )) as [id: string, consumer: string, idle: number, deliveries: number][];
    return new Map(reply.map(([id, , , count]) => [id, count]));
  }

  /** An entry's fields as bytes, each value that is valid UTF-8 turned back into text. */
  async #bytesOf(id: string, fallback: FieldText[]): Promise<FieldText[]> {
    const redis = this.#redis ?? this.#client.redis;
    const reply = await this.#client.call('XRANGE', () => redis.xrangeBuffer(this.#config.stream, id, id));
    const fields = reply[0]?.[1];
    if (fields === undefined) return fallback;
    return fields.map((bytes) => (isUtf8(bytes) ? bytes.toString('utf8') : bytes));
  }

  async ack(batch: SourceBatch<RedisStreamHandle>): Promise<void> {
    const ids = batch.handle.ids;
    if (ids.length === 0) return;
    const redis = this.#redis ?? this.#client.redis;
    const { stream, mode, group, keep } = this.#config;
    if (mode === 'range') {
      if (!(this.#trimAcks && (await this.#trimHead(redis, ids)))) {
        await this.#client.call('XDEL', () => redis.xdel(stream, ...ids));
      }
      this.#settled();
      return;
    }
    if (keep) {
      await this.#client.call('XACK', () => redis.xack(stream, group, ...ids));
      this.#handedOut = Math.max(0, this.#handedOut - 1);
      return;
    }
    const results = await this.#client.call('MULTI XACK XDEL', () =>
      redis
        .multi()
        .xack(stream, group, ...ids)
        .xdel(stream, ...ids)
        .exec(),
    );
    if (results === null) throw this.#client.toError(new Error('transaction discarded'), 'MULTI XACK XDEL');
    for (const [error] of results) {
      if (error !== null) throw this.#client.toError(error, 'MULTI XACK XDEL');
    }
    this.#handedOut = Math.max(0, this.#handedOut - 1);
  }

  /**
   * A range-mode batch is the head of the stream (XRANGE from '-', and XADD
   * only appends greater ids), so trimming below the id after its last entry
   * deletes exactly that batch. XTRIM frees whole nodes where XDEL marks entries
   * one by one: about a hundred times less server time for a batch of 1000.
   * The script trims only when the stream still starts with the batch's first
   * entry; otherwise (an operator deleted it, the stream was recreated) the
   * caller falls back to XDEL of the exact ids.
   */
  async #trimHead(redis: Redis, ids: readonly string[]): Promise<boolean> {
    let trimmed: number;
    try {
      trimmed = (await redis.eval(
        trimHeadScript,
        1,
        this.#config.stream,
        ids[0]!,
        nextId(ids[ids.length - 1]!),
      )) as number;
    } catch (error) {
      const converted = this.#client.toError(error, 'EVAL (trim acked head)');
      if (converted.transient) throw converted;
      // Scripts refused (ACL, a server without Lua): XDEL from now on.
      this.#trimAcks = false;
      return false;
    }
    return trimmed >= 0;
  }

  async release(batch: SourceBatch<RedisStreamHandle>): Promise<void> {
    // Range mode: the entries never left the stream; the next read starts at the head
    // again once every batch out is back. Group mode: they stay pending on this consumer.
    if (batch.handle.ids.length === 0) return;
    if (this.#config.mode === 'range') {
      this.#outstanding = 0;
      this.#readAfter = undefined;
      return;
    }
    this.#handedOut = Math.max(0, this.#handedOut - 1);
    this.#pendingFirst = true;
    this.#pendingCursor = '0';
  }

  async backlog(): Promise<number | undefined> {
    const redis = this.#redis ?? this.#client.redis;
    const { stream, mode, group } = this.#config;
    if (mode === 'range') {
      return this.#client.call('XLEN', () => redis.xlen(stream));
    }
    const groups = (await this.#client.call('XINFO GROUPS', () =>
      redis.call('XINFO', 'GROUPS', stream),
    )) as unknown[][];
    for (const info of groups) {
      const fields = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < info.length; i += 2) fields.set(info[i], info[i + 1]);
      if (fields.get('name') !== group) continue;
      const lag = fields.get('lag');
      const pending = fields.get('pending');
      // Lag is unknown (nil) after some deletions, and absent before Redis 7.
      if (typeof lag !== 'number' || typeof pending !== 'number') return undefined;
      return lag + pending;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.#direct?.dispose();
    this.#direct = undefined;
    this.#redis = undefined;
    await this.#client.close();
  }
}
