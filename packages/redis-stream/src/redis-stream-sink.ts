import type { FerryRecord, Sink, WriteOptions } from '@ferry/core';
import { AbortedError, RecordRejectedError } from '@ferry/core';
import type { Redis } from 'ioredis';
import { RedisStreamClient } from './redis-stream-client.js';
import {
  appendFields,
  appendJson,
  appendRawFields,
  encodeFieldValue,
  type FieldText,
  fieldsFormat,
} from './redis-stream-codec.js';
import { parseSinkOptions, type RedisStreamSinkConfig } from './redis-stream-config.js';
import { type DirectTarget, directTargetKey, identifyServer, maxXaddArgs } from './redis-stream-direct.js';

/** How far back `reconcile` looks beyond twice the batch, for entries other writers added since. */
const reconcileSlack = 100;

/** Records per script call: bounds how long one call holds the server (about 1 ms per 250 records). */
export const scriptChunk = 1000;

/**
 * Adds entries to KEYS[1]. ARGV[1] is the MAXLEN to trim to ('' for none); then,
 * per entry, its field count followed by its fields and values. Exported so that
 * tools (the benchmark's hand-written loop) can make exactly the sink's calls.
 */
export const addEntriesScript = `
local key, trim, i, n = KEYS[1], ARGV[1], 2, #ARGV
while i <= n do
  local c = tonumber(ARGV[i])
  if trim == '' then
    redis.call('XADD', key, '*', unpack(ARGV, i + 1, i + c))
  else
    redis.call('XADD', key, 'MAXLEN', '~', trim, '*', unpack(ARGV, i + 1, i + c))
  end
  i = i + c + 1
end
return (n - 1)
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
            server,
            stream,
            codec,
            sourceIdField,
            maxLen,
          });
    this.#redis = redis;
  }

  /** What a source on the same server needs to move records here itself (see `Source.directTo`); set while open. */
  get [directTargetKey](): DirectTarget | undefined {
    return this.#directTarget;
  }

  async free(): Promise<number> {
    const { maxLen, stream } = this.#config;
    if (maxLen === undefined) return Number.POSITIVE_INFINITY;
    const redis = this.#redis ?? this.#client.redis;
    const length = await this.#client.call('XLEN', () => redis.xlen(stream));
    return Math.max(0, maxLen - length);
  }

  /** The text the `_source_id` field holds for a record id, as the codec would write it. */
  #sourceIdText(id: string): string {
    return this.#config.codec === 'fields' ? (encodeFieldValue(id) as string) : id;
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
            ? appendRawFields(out, record.encoded.data as readonly FieldText[], idField)
            : appendFields(out, record.value, idField);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RecordRejectedError(
        record.id,
        reason,
        `[redis-stream] record ${record.id} cannot be encoded for stream "${this.#config.stream}": ${reason}`,
        { cause: error },
      );
    }
    if (idField !== undefined) {
      out.push(idField, this.#sourceIdText(record.id));
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

  async write(records: readonly FerryRecord[], options?: WriteOptions): Promise<void> {
    if (records.length === 0) return;
    if (options?.signal?.aborted) {
      throw new AbortedError(`[redis-stream] write to stream "${this.#config.stream}" aborted before it started`);
    }
    // Every command is built before any is sent: a record that cannot be
    // written fails the batch before any of it lands.
    if (this.#useScript) {
      const calls = this.#scriptCalls(records);
      // Until a script has run here, a batch with an XADD of its own goes as plain XADDs: were scripts refused, the
      // records of the XADDs would have landed before those of the refused scripts, out of order.
      const plain = !this.#scriptsRan && calls.some((call) => call.command === 'XADD');
      if (!plain) return this.#writeScript(records, calls);
    }
    await this.#writePipeline(records);
  }

  /**
   * One EVAL of the add script per chunk of records: `[script, 1, stream, trimTo, count, fields…, count, …]`;
   * an entry too wide for the script's `unpack` (see maxXaddArgs) ends its chunk and goes as a plain XADD.
   */
  #scriptCalls(records: readonly FerryRecord[]): ScriptCall[] {
    const { stream, trim, maxLen } = this.#config;
    const trimTo = trim && maxLen !== undefined ? String(maxLen) : '';
    const calls: ScriptCall[] = [];
    let start = 0;
    let args: (FieldText | number)[] = [addEntriesScript, 1, stream, trimTo];
    const flush = (end: number) => {
      if (end > start) calls.push({ command: 'EVAL', args, start, end });
      args = [addEntriesScript, 1, stream, trimTo];
      start = end;
    };
    for (let i = 0; i < records.length; i++) {
      const at = args.push(0) - 1;
      const count = this.#appendEntry(args, records[i]!);
      // The script unpacks an entry's `count` strings at once.
      if (count > maxXaddArgs) {
        const fields = args.splice(at + 1);
        args.length = at;
        flush(i);
        calls.push({ command: 'XADD', args: [...this.#head, ...fields], start: i, end: i + 1 });
        start = i + 1;
      } else {
        args[at] = count;
        if (i + 1 - start === scriptChunk) flush(i + 1);
      }
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
    for (const [error] of results) {
      if (error === null) continue;
      if (!scriptsRefused.test(error.message)) throw this.#client.toError(error, 'EVAL (XADD batch)');
      refused = true;
    }
    if (!refused) {
      this.#scriptsRan = true;
      return;
    }
    this.#useScript = false;
    await this.#writePipeline(
      calls.flatMap((call, i) => (results[i]![0] === null ? [] : records.slice(call.start, call.end))),
    );
  }

  async #writePipeline(records: readonly FerryRecord[]): Promise<void> {
    const redis = this.#redis ?? this.#client.redis;
    const pipeline = redis.pipeline();
    for (const record of records) {
      const args: (FieldText | number)[] = [...this.#head];
      this.#appendEntry(args, record);
      pipeline.call('XADD', args);
    }
    const results = await this.#client.call('XADD', () => pipeline.exec());
    if (results === null) throw this.#client.toError(new Error('Connection is closed.'), 'XADD');
    for (let i = 0; i < results.length; i++) {
      const error = results[i]![0];
      if (error !== null) throw this.#client.toError(error, `XADD of record ${records[i]!.id}`);
    }
  }

  async reconcile(records: readonly FerryRecord[]): Promise<readonly FerryRecord[]> {
    const { sourceIdField, stream } = this.#config;
    if (records.length === 0 || sourceIdField === false) return records;
    const redis = this.#redis ?? this.#client.redis;
    const entries = await this.#client.call('XREVRANGE', () =>
      redis.xrevrange(stream, '+', '-', 'COUNT', records.length * 2 + reconcileSlack),
    );
    const written = new Set<string>();
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === sourceIdField) written.add(fields[i + 1]!);
      }
    }
    return records.filter((record) => !written.has(this.#sourceIdText(record.id)));
  }

  async close(): Promise<void> {
    this.#directTarget = undefined;
    this.#redis = undefined;
    await this.#client.close();
  }
}
