import type { FerryRecord, RejectedRecord, Sink, WriteOptions, WriteOutcome } from '@ferry/core';
import { AbortedError, RecordRejectedError, rejectRecord } from '@ferry/core';
import type { Redis } from 'ioredis';
import { RedisStreamClient } from './redis-stream-client.js';
import { appendFields, appendJson, appendRawFields, type FieldText, fieldsFormat } from './redis-stream-codec.js';
import { parseSinkOptions, type RedisStreamSinkConfig } from './redis-stream-config.js';
import { type DirectTarget, directTargetProtocol, identifyServer, maxXaddArgs } from './redis-stream-direct.js';

/** Without a noted position: how far back `reconcile` looks beyond twice the batch, for entries other writers added since. */
const reconcileSlack = 100;

/** Entries per XRANGE page when `reconcile` reads on from a noted position. */
const reconcilePage = 1000;

/** Records per script call: bounds how long one call holds the server (about 1 ms per 250 records). */
export const scriptChunk = 1000;

/**
 * Adds entries to KEYS[1] and returns the last one's id. ARGV[1] is the MAXLEN
 * to trim to ('' for none); then, per entry, its field count followed by its
 * fields and values. Exported so that tools (the benchmark's hand-written
 * loop) can make exactly the sink's calls.
 */
export const addEntriesScript = `
local key, trim, i, n, last = KEYS[1], ARGV[1], 2, #ARGV, ''
while i <= n do
  local c = tonumber(ARGV[i])
  if trim == '' then
    last = redis.call('XADD', key, '*', unpack(ARGV, i + 1, i + c))
  else
    last = redis.call('XADD', key, 'MAXLEN', '~', trim, '*', unpack(ARGV, i + 1, i + c))
  end
  i = i + c + 1
end
return last
`;

/** One call of a script write: the add script for records `start` to `end`, or a plain XADD of one too wide for it. */
interface ScriptCall {
  readonly command: 'EVAL' | 'XADD';
  readonly args: (FieldText | number)[];
  readonly start: number;
  readonly end: number;
}

/** Reply errors that mean "this server runs no scripts for us", not "this write is wrong". */
const scriptsRefused = /^(NOPERM|ERR unknown command|ERR This Redis command is not allowed)/;

function outcome(rejected: readonly RejectedRecord[]): WriteOutcome | undefined {
  return rejected.length === 0 ? undefined : { rejected };
}

export function createRedisStreamSink(options: unknown): Sink {
  return new RedisStreamSink(parseSinkOptions(options));
}

class RedisStreamSink implements Sink {
  readonly name = 'redis-stream';
  readonly #config: RedisStreamSinkConfig;
  readonly #client: RedisStreamClient;
  /** `[stream, MAXLEN, ~, n, *]` or `[stream, *]`: the head of every XADD. */
  readonly #head: readonly (FieldText | number)[];
  #redis: Redis | undefined;
  #useScript: boolean;
  /** A script write has landed on this server: scripts run here. */
  #scriptsRan = false;
  #directTarget: DirectTarget | undefined;
  /** The id of the last entry this sink wrote: a position no later than the stream's end, known without a round trip. */
  #lastWritten: string | undefined;

  constructor(config: RedisStreamSinkConfig) {
    this.#config = config;
    this.#client = new RedisStreamClient(config);
    this.#head =
      config.trim && config.maxLen !== undefined
        ? [config.stream, 'MAXLEN', '~', config.maxLen, '*']
        : [config.stream, '*'];
    this.#useScript = config.write === 'script';
  }

  async open(): Promise<void> {
    const redis = await this.#client.open();
    const server = await identifyServer(redis, this.#client, false);
    const { stream, codec, sourceIdField, maxLen } = this.#config;
    this.#directTarget =
      server === undefined
        ? undefined
        : Object.freeze({
            protocol: directTargetProtocol,
            server,
            stream,
            codec,
            sourceIdField,
            maxLen,
          });
    this.#lastWritten = undefined;
    this.#redis = redis;
  }

  /** What a source on the same server needs to move records here itself (see `Source.directTo`); set while open. */
  directTarget(): DirectTarget | undefined {
    return this.#directTarget;
  }

  async free(): Promise<number> {
    const { maxLen, stream } = this.#config;
    if (maxLen === undefined) return Number.POSITIVE_INFINITY;
    const redis = this.#redis ?? this.#client.redis;
    const length = await this.#client.call('XLEN', () => redis.xlen(stream));
    return Math.max(0, maxLen - length);
  }

  /**
   * Appends a record's fields and values, `_source_id` included, to `out`, and
   * returns how many strings it appended. Writing into the command itself
   * spares an array per record on the hot path.
   */
  #appendEntry(out: (FieldText | number)[], record: FerryRecord): number {
    const { codec, field, sourceIdField } = this.#config;
    const idField = sourceIdField === false ? undefined : sourceIdField;
    let count: number;
    try {
      count =
        codec === 'json'
          ? appendJson(out, record.value, field)
          : record.encoded?.format === fieldsFormat
            ? appendRawFields(out, record.encoded.data as readonly FieldText[], idField, record.id)
            : appendFields(out, record.value, idField, record.id);
    } catch (error) {
      if (error instanceof RecordRejectedError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new RecordRejectedError(
        record.id,
        reason,
        `[redis-stream] record ${record.id} cannot be encoded for stream "${this.#config.stream}": ${reason}`,
        { cause: error },
      );
    }
    if (idField !== undefined) {
      out.push(idField, record.id);
      count += 2;
    }
    if (count === 0) {
      const reason = 'the value has no fields, and a stream entry needs at least one';
      throw new RecordRejectedError(
        record.id,
        reason,
        `[redis-stream] record ${record.id} cannot be written to stream "${this.#config.stream}": ${reason}`,
      );
    }
    return count;
  }

  /**
   * Every command is built before any is sent: a record that cannot be
   * written (a value a stream cannot hold) is set aside as rejected, with the
   * reason, before anything of the batch lands; the others are written.
   */
  async write(records: readonly FerryRecord[], options?: WriteOptions): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return;
    if (options?.signal?.aborted) {
      throw new AbortedError(`[redis-stream] write to stream "${this.#config.stream}" aborted before it started`);
    }
    if (this.#useScript) {
      const rejected: RejectedRecord[] = [];
      const calls = this.#scriptCalls(records, rejected);
      // Until a script has run here, a batch with an XADD of its own goes as plain XADDs: were scripts refused, the
      // records of the XADDs would have landed before those of the refused scripts, out of order.
      const plain = !this.#scriptsRan && calls.some((call) => call.command === 'XADD');
      if (!plain) {
        await this.#writeScript(records, calls);
        return outcome(rejected);
      }
    }
    const rejected: RejectedRecord[] = [];
    await this.#writePipeline(records, rejected);
    return outcome(rejected);
  }

  /** Appends a record's entry to `out`, or notes it as rejected and leaves `out` as it was; the strings appended. */
  #appendOrReject(out: (FieldText | number)[], record: FerryRecord, rejected: RejectedRecord[]): number {
    const before = out.length;
    try {
      return this.#appendEntry(out, record);
    } catch (error) {
      if (!(error instanceof RecordRejectedError)) throw error;
      out.length = before;
      rejected.push(rejectRecord(record, error.reason));
      return 0;
    }
  }

  /**
   * One EVAL of the add script per chunk of records: `[script, 1, stream, trimTo, count, fields…, count, …]`;
   * an entry too wide for the script's `unpack` (see maxXaddArgs) ends its chunk and goes as a plain XADD,
   * and a record that cannot be written is left out (in `rejected`).
   */
  #scriptCalls(records: readonly FerryRecord[], rejected: RejectedRecord[]): ScriptCall[] {
    const { stream, trim, maxLen } = this.#config;
    const trimTo = trim && maxLen !== undefined ? String(maxLen) : '';
    const calls: ScriptCall[] = [];
    let start = 0;
    let args: (FieldText | number)[] = [addEntriesScript, 1, stream, trimTo];
    const flush = (end: number) => {
      if (end > start && args.length > 4) calls.push({ command: 'EVAL', args, start, end });
      args = [addEntriesScript, 1, stream, trimTo];
      start = end;
    };
    for (let i = 0; i < records.length; i++) {
      const at = args.push(0) - 1;
      const count = this.#appendOrReject(args, records[i]!, rejected);
      if (count === 0) {
        args.length = at;
      } else if (count > maxXaddArgs) {
        // The script unpacks an entry's `count` strings at once.
        const fields = args.splice(at + 1);
        args.length = at;
        flush(i);
        calls.push({ command: 'XADD', args: [...this.#head, ...fields], start: i, end: i + 1 });
        start = i + 1;
        continue;
      } else {
        args[at] = count;
      }
      if (i + 1 - start === scriptChunk) flush(i + 1);
    }
    flush(records.length);
    return calls;
  }

  /** All calls in one round trip; when the server refuses scripts, the records whose calls did not land go by pipeline. */
  async #writeScript(records: readonly FerryRecord[], calls: readonly ScriptCall[]): Promise<void> {
    const redis = this.#redis ?? this.#client.redis;
    const pipeline = redis.pipeline();
    // One array each, not spread arguments: ioredis flattens it, and a wide entry's would overflow the stack.
    for (const { command, args } of calls) pipeline.call(command, args);
    const results = await this.#client.call('EVAL (XADD batch)', () => pipeline.exec());
    if (results === null) throw this.#client.toError(new Error('Connection is closed.'), 'EVAL (XADD batch)');
    let refused = false;
    for (const [error, last] of results) {
      if (error === null) {
        if (typeof last === 'string' && last !== '') this.#lastWritten = last;
        continue;
      }
      if (!scriptsRefused.test(error.message)) throw this.#client.toError(error, 'EVAL (XADD batch)');
      refused = true;
    }
    if (!refused) {
      this.#scriptsRan = true;
      return;
    }
    this.#useScript = false;
    // The refused records were set aside once already: they are left out again, into a list no one reads.
    await this.#writePipeline(
      calls.flatMap((call, i) => (results[i]![0] === null ? [] : records.slice(call.start, call.end))),
      [],
    );
  }

  async #writePipeline(records: readonly FerryRecord[], rejected: RejectedRecord[]): Promise<void> {
    const redis = this.#redis ?? this.#client.redis;
    const pipeline = redis.pipeline();
    const written: FerryRecord[] = [];
    for (const record of records) {
      const args: (FieldText | number)[] = [...this.#head];
      if (this.#appendOrReject(args, record, rejected) === 0) continue;
      pipeline.call('XADD', args);
      written.push(record);
    }
    if (written.length === 0) return;
    const results = await this.#client.call('XADD', () => pipeline.exec());
    if (results === null) throw this.#client.toError(new Error('Connection is closed.'), 'XADD');
    for (let i = 0; i < results.length; i++) {
      const [error, id] = results[i]!;
      if (error !== null) throw this.#client.toError(error, `XADD of record ${written[i]!.id}`);
      if (typeof id === 'string') this.#lastWritten = id;
    }
  }

  /** The id of the stream's last entry ('0-0' when empty): every entry added later has a greater id. */
  async position(): Promise<string> {
    if (this.#lastWritten !== undefined) return this.#lastWritten;
    const redis = this.#redis ?? this.#client.redis;
    const last = await this.#client.call('XREVRANGE', () => redis.xrevrange(this.#config.stream, '+', '-', 'COUNT', 1));
    return last[0]?.[0] ?? '0-0';
  }

  /**
   * From a noted position: the entries after it, page by page, until every
   * record is found or the stream ends (only what was added since the note
   * is read). Without one: the last 2×batch+100 entries.
   */
  async reconcile(records: readonly FerryRecord[], since?: string): Promise<readonly FerryRecord[]> {
    const { sourceIdField, stream } = this.#config;
    if (records.length === 0 || sourceIdField === false) return records;
    const redis = this.#redis ?? this.#client.redis;
    const wanted = new Map(records.map((record) => [record.id, record]));
    const collect = (entries: [id: string, fields: string[]][]) => {
      for (const [, fields] of entries) {
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === sourceIdField) wanted.delete(fields[i + 1]!);
        }
      }
    };
    if (since === undefined) {
      collect(
        await this.#client.call('XREVRANGE', () =>
          redis.xrevrange(stream, '+', '-', 'COUNT', records.length * 2 + reconcileSlack),
        ),
      );
      return [...wanted.values()];
    }
    let after = since;
    while (wanted.size > 0) {
      const from = after;
      const page = await this.#client.call('XRANGE', () =>
        redis.xrange(stream, `(${from}`, '+', 'COUNT', reconcilePage),
      );
      collect(page);
      if (page.length < reconcilePage) break;
      after = page[page.length - 1]![0];
    }
    return [...wanted.values()];
  }

  async close(): Promise<void> {
    this.#directTarget = undefined;
    this.#redis = undefined;
    await this.#client.close();
  }
}
