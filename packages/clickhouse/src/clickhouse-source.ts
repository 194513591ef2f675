import type { FerryRecord, ReadOptions, RecordValue, RejectedRecord, Source, SourceBatch } from '@ferry/core';
import { FatalError, FerryError, fromJson, rejectRecord, setEntry, sleep } from '@ferry/core';
import { BinaryReader } from './clickhouse-binary.js';
import { ClickHouseHttp, type DescribedColumn, serverCode, serverMessage } from './clickhouse-client.js';
import { type ClickHouseSourceConfig, parseSourceOptions } from './clickhouse-config.js';
import { columnTypeOrUndefined } from './clickhouse-ddl-column.js';
import { columnDecoder, type Decode, type Problem, UnsupportedTypeError } from './clickhouse-decode.js';
import { hexString, quoteIdentifier, quoteName } from './clickhouse-sql.js';
import { innerType, parseColumnType } from './clickhouse-types.js';

/** What `ack` and `release` need of a batch: the cursor values it covers, in order. */
export interface ClickHouseHandle {
  readonly ids: readonly string[];
}

/** The table, in the source table's database, that keeps every source's checkpoint. */
export const checkpointTable = 'ferry_checkpoints';

/** Creates the checkpoint table (`database.ferry_checkpoints`, quoted) unless it is there: every position, by key, newest version wins. */
export const createCheckpointTableSql = (qualifiedName: string): string =>
  `CREATE TABLE IF NOT EXISTS ${qualifiedName} (key String, position String, version UInt64, updated DateTime DEFAULT now()) ENGINE = ReplacingMergeTree(version) ORDER BY key`;
/** The session's temporary table that holds the checkpoint (slot 1), which the backlog count compares against. */
const positionTable = 'ferry_position';

/** One column as the source reads it: its decoder, built once at open. */
interface ReadColumn {
  readonly name: string;
  /** The column's type as DESCRIBE wrote it, for reasons. */
  readonly type: string;
  readonly decode: Decode;
  /** `__proto__` must be set as data. */
  readonly special: boolean;
  readonly json: boolean;
}

/** How a row's record id is made from its cursor value. */
type IdOf = (value: unknown) => string | undefined;

/** Move mode refused to delete: rows never read share the acked cursor values. */
class TiedCursorError extends FatalError {}

const emptyHandle: ClickHouseHandle = Object.freeze({ ids: Object.freeze([]) });
const emptyBatch: SourceBatch<ClickHouseHandle> = Object.freeze({ records: Object.freeze([]), handle: emptyHandle });

export function createClickHouseSource(options: unknown): Source<ClickHouseHandle> {
  return new ClickHouseSource(parseSourceOptions(options));
}

/**
 * Keyset reads by a unique, increasing cursor column. 18.16 has no query
 * parameters, so no value is ever spliced into SQL as text: the read position
 * goes as a hex literal cast to the cursor's type (`CAST(unhex('3432') AS
 * UInt64)`: hex digits cannot end the literal), which keeps a read to one
 * request, and the checkpoint travels as JSONEachRow data into a temporary
 * table of this source's HTTP session, which the backlog count compares against.
 */
class ClickHouseSource implements Source<ClickHouseHandle> {
  readonly name = 'clickhouse';
  /** A read goes on after the last key read; the checkpoint moves only on ack. */
  readonly readAhead = true;
  readonly #config: ClickHouseSourceConfig;
  readonly #cursor: string;
  readonly #checkpoints: string;
  /** The SELECT list, the columns it decodes, and how the id comes: all from DESCRIBE at open. */
  #select = '';
  #read: readonly ReadColumn[] = [];
  /** The cursor's id from its decoded value, or undefined when the SELECT adds the server's toString() of it. */
  #idOf: IdOf | undefined;
  #http: ClickHouseHttp | undefined;
  /** The client `#http` runs in (itself, or the one whose session it is): what close closes. */
  #owner: ClickHouseHttp | undefined;
  /** Last acked cursor value: what the checkpoint table holds for this key. */
  #checkpoint: string | undefined;
  /** Last cursor value handed out. */
  #position: string | undefined;
  /** The cursor column's type, as the server describes it: what a read casts the position to. */
  #cursorType = 'String';
  /** What the session's position table holds, per slot; null: unknown (a new session). */
  #sent: [position: string | undefined | null, checkpoint: string | undefined | null] = [null, null];
  #call = 0;
  #version = 0n;
  /** After a release: records up to this cursor value were handed out before. */
  #redeliverUpTo: string | undefined;
  /** Move mode: acked cursor values not deleted yet. */
  #toDelete: string[] = [];
  /** One call at a time: an HTTP session refuses concurrent queries. */
  #lock: Promise<unknown> = Promise.resolve();

  constructor(config: ClickHouseSourceConfig) {
    this.#config = config;
    this.#cursor = quoteIdentifier(config.cursor, 'cursor column');
    for (const column of config.columns ?? []) quoteIdentifier(column, 'column');
    this.#checkpoints = `${quoteIdentifier(config.database, 'database')}.${quoteIdentifier(checkpointTable)}`;
  }

  get #client(): ClickHouseHttp {
    if (this.#http === undefined) throw new FatalError('[clickhouse] the source is not open: call open() first');
    return this.#http;
  }

  #locked<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(run, run);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async open(): Promise<void> {
    const client = new ClickHouseHttp(this.#config);
    // Without query parameters (18.16), the backlog's position goes through a session's temporary table.
    let http = client;
    try {
      const { queryParameters } = await client.check();
      if (!queryParameters) http = client.inSession();
      await http.command('creating the checkpoint table', createCheckpointTableSql(this.#checkpoints));
      if (!queryParameters) await this.#createPositionTable(http);
      const described = await http.describe();
      this.#cursorType = this.#typeOfCursor(http, described);
      this.#planReads(http, described);
      // The key is data too: every key's position is read, and this one picked out here.
      const rows = await http.query<{ key: string; at: string; version_at: string }>(
        'reading the checkpoint',
        `SELECT key, argMax(position, version) AS at, toString(max(version)) AS version_at FROM ${this.#checkpoints} GROUP BY key`,
      );
      const mine = rows.find((row) => row.key === this.#config.checkpointKey);
      this.#checkpoint = mine?.at;
      this.#version = mine === undefined ? 0n : BigInt(mine.version_at);
    } catch (error) {
      await client.close();
      throw error;
    }
    this.#owner = client;
    this.#http = http;
    this.#position = this.#checkpoint;
    this.#redeliverUpTo = undefined;
    this.#toDelete = [];
  }

  /** Also checks that the table and its cursor column exist: the position column takes the cursor's type. */
  async #createPositionTable(http: ClickHouseHttp): Promise<void> {
    this.#sent = [null, null];
    try {
      await http.command(
        'opening the source',
        `CREATE TEMPORARY TABLE ${positionTable} ENGINE = Memory AS SELECT toUInt8(0) AS slot, toUInt64(0) AS call, ${this.#cursor} AS value FROM ${http.table} LIMIT 0`,
      );
    } catch (error) {
      const cause = error instanceof FerryError ? error.cause : error;
      if (serverCode(cause) === 47) throw this.#noCursor(http, serverMessage(cause), cause);
      throw error;
    }
  }

  #noCursor(http: ClickHouseHttp, why: string, cause?: unknown): FatalError {
    return new FatalError(
      `[clickhouse] table ${http.tableName} has no cursor column "${this.#config.cursor}": ${why}`,
      {
        cause,
      },
    );
  }

  /** The cursor's column type from DESCRIBE TABLE, checked like a declared type before it goes into SQL. */
  #typeOfCursor(http: ClickHouseHttp, columns: readonly DescribedColumn[]): string {
    const type = columns.find((column) => column.name === this.#config.cursor)?.type;
    if (type === undefined) throw this.#noCursor(http, 'no such column in DESCRIBE TABLE');
    const sql = columnTypeOrUndefined(type);
    if (sql === undefined) {
      throw new FatalError(
        `[clickhouse] table ${http.tableName}: cannot read by cursor "${this.#config.cursor}" of type ${JSON.stringify(type)}`,
      );
    }
    return sql;
  }

  /**
   * Runs a query that compares with the session's position table, after
   * putting the value of `slot` there. A session that expired (idle too long,
   * server restarted) lost the table: it is made again and the query run once more.
   */
  async #withSlot<T>(doing: string, slot: 0 | 1, value: string | undefined, run: (http: ClickHouseHttp) => Promise<T>) {
    const http = this.#client;
    return this.#locked(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          if (value !== undefined && this.#sent[slot] !== value) {
            this.#call += 1;
            await http.insertRaw(positionTable, [{ slot, call: this.#call, value }]);
            this.#sent[slot] = value;
          }
          return await run(http);
        } catch (error) {
          const lost = serverCode(error) === 60 && serverMessage(error).includes(positionTable);
          if (!lost || attempt > 0) throw http.toError(error, doing);
          await this.#createPositionTable(http);
          this.#cursorType = this.#typeOfCursor(http, await http.describe());
        }
      }
    });
  }

  /**
   * `WHERE cursor > position`, the position never in the SQL text: a query
   * parameter where the server has them, else a hex literal (which hex digits cannot end).
   */
  #after(position: string | undefined): { sql: string; params?: Record<string, unknown> } {
    if (position === undefined) return { sql: '' };
    const type = this.#cursorType;
    if (this.#client.features.queryParameters) {
      return { sql: ` WHERE ${this.#cursor} > CAST({position:String} AS ${type})`, params: { position } };
    }
    return { sql: ` WHERE ${this.#cursor} > CAST(${hexString(position)} AS ${type})` };
  }

  /** 18.16's backlog: `WHERE cursor >` the position the session's table holds in `slot`. */
  #afterSlot(slot: 0 | 1, value: string | undefined): string {
    return value === undefined
      ? ''
      : ` WHERE ${this.#cursor} > (SELECT argMaxIf(value, call, slot = ${slot}) FROM ${positionTable})`;
  }

  async read(max: number, options: ReadOptions): Promise<SourceBatch<ClickHouseHandle>> {
    if (max <= 0 || options.signal?.aborted) return emptyBatch;
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const batch = await this.#readOnce(Math.floor(max));
      if (batch.records.length > 0 || (batch.rejected?.length ?? 0) > 0) return batch;
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return emptyBatch;
      try {
        await sleep(Math.min(left, this.#config.pollIntervalMs), options.signal);
      } catch {
        return emptyBatch;
      }
    }
  }

  /**
   * The columns to read and their decoders, from DESCRIBE: every stored column
   * (or those `columns` names) and the cursor. A column ferry cannot read
   * exactly stops the open here, naming it, rather than any row later.
   */
  #planReads(http: ClickHouseHttp, described: readonly DescribedColumn[]): void {
    const { cursor, columns, jsonColumns } = this.#config;
    const wanted = columns === undefined ? undefined : new Set([cursor, ...columns]);
    const read: ReadColumn[] = [];
    for (const column of described) {
      const chosen =
        wanted === undefined ? !['MATERIALIZED', 'ALIAS'].includes(column.default_type) : wanted.has(column.name);
      if (!chosen && column.name !== cursor) continue;
      let decode: Decode;
      try {
        decode = columnDecoder(parseColumnType(column.type));
      } catch (error) {
        if (!(error instanceof UnsupportedTypeError)) throw error;
        throw new FatalError(
          `[clickhouse] table ${http.tableName}: column "${column.name}" has type ${column.type}, which ferry cannot read exactly (${error.message}); leave it out with the columns option`,
        );
      }
      read.push({
        name: column.name,
        type: column.type,
        decode,
        special: column.name === '__proto__',
        json: jsonColumns.includes(column.name),
      });
    }
    for (const name of wanted ?? []) {
      if (!read.some((column) => column.name === name)) {
        throw new FatalError(`[clickhouse] table ${http.tableName} has no column "${name}" (named in columns)`);
      }
    }
    const cursorType = innerType(parseColumnType(this.#cursorType)).name;
    // Integers and text are their own id; any other cursor's id is the server's text of it, which CAST reads back.
    this.#idOf = /^U?Int\d+$/.test(cursorType)
      ? (value) => (typeof value === 'bigint' ? value.toString() : undefined)
      : cursorType === 'String' || cursorType === 'FixedString' || cursorType.startsWith('Enum')
        ? (value) => (typeof value === 'string' ? value : undefined)
        : undefined;
    this.#read = read;
    const list = read.map((column) => quoteName(column.name));
    if (this.#idOf === undefined) list.push(`toString(${this.#cursor})`);
    this.#select = list.join(', ');
  }

  async #readOnce(max: number): Promise<SourceBatch<ClickHouseHandle>> {
    const http = this.#client;
    const { sql, params } = this.#after(this.#position);
    const body = await this.#locked(() =>
      http.call('reading a batch', () =>
        http.readRowBinary(
          `SELECT ${this.#select} FROM ${http.table}${sql} ORDER BY ${this.#cursor} LIMIT ${max}`,
          params,
        ),
      ),
    );
    return this.#batch(body);
  }

  #batch(body: Buffer): SourceBatch<ClickHouseHandle> {
    if (body.length === 0) return emptyBatch;
    const { cursor } = this.#config;
    const input = new BinaryReader(body);
    const columns = this.#read;
    const idOf = this.#idOf;
    const readAt = Date.now();
    const records: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    const ids: string[] = [];
    const problem: Problem = { reason: undefined };
    while (!input.done) {
      const start = input.pos;
      const value: RecordValue = {};
      problem.reason = undefined;
      for (const column of columns) {
        const clean = problem.reason === undefined;
        const held = column.decode(input, problem);
        // A decoder's reason speaks of the value: the reason names the column it is in.
        if (clean && problem.reason !== undefined)
          problem.reason = `column "${column.name}" ${column.type}: ${problem.reason}`;
        if (column.special) setEntry(value, column.name, held);
        else value[column.name] = held;
      }
      const id = idOf === undefined ? input.slice(input.varint()).toString('utf8') : idOf(value[cursor]);
      if (id === undefined) {
        throw new FatalError(
          `[clickhouse] table ${this.#client.tableName}: a cursor value of "${cursor}" is not UTF-8 text, so it cannot be a record id`,
        );
      }
      ids.push(id);
      const bytes = input.pos - start;
      const redelivered = this.#redeliverUpTo !== undefined;
      if (id === this.#redeliverUpTo) this.#redeliverUpTo = undefined;
      for (const column of columns) {
        if (!column.json || problem.reason !== undefined) continue;
        const held = value[column.name];
        if (typeof held !== 'string') {
          if (held instanceof Uint8Array) problem.reason = `column "${column.name}" is not UTF-8 text, so not JSON`;
          continue;
        }
        try {
          value[column.name] = fromJson(held);
        } catch (error) {
          problem.reason = `column "${column.name}" is not JSON: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      const record: FerryRecord = redelivered
        ? { id, value, readAt, bytes, redelivered }
        : { id, value, readAt, bytes };
      if (problem.reason !== undefined) {
        rejected.push(rejectRecord(record, `row ${id} of ${this.#client.tableName}: ${problem.reason}`));
        continue;
      }
      records.push(record);
    }
    if (ids.length === 0) return emptyBatch;
    this.#position = ids[ids.length - 1];
    const handle = { ids };
    return rejected.length === 0 ? { records, handle } : { records, handle, rejected };
  }

  async ack(batch: SourceBatch<ClickHouseHandle>): Promise<void> {
    const ids = batch.handle.ids;
    if (ids.length === 0) return;
    const position = ids[ids.length - 1]!;
    const http = this.#client;
    const now = BigInt(Date.now()) * 1000n;
    this.#version = now > this.#version ? now : this.#version + 1n;
    const row = { key: this.#config.checkpointKey, position, version: this.#version.toString() };
    await this.#locked(() => http.insert('saving the checkpoint', this.#checkpoints, [row]));
    this.#checkpoint = position;
    if (this.#config.mode === 'move') {
      this.#toDelete.push(...ids);
      if (this.#toDelete.length >= this.#config.deleteBatchRows) await this.#deleteAcked();
    }
  }

  /**
   * Move mode: one mutation for the acked rows. ALTER TABLE … DELETE rewrites
   * every part that holds one of them, in the background: batching the
   * deletes keeps that cost per many batches, not per batch. A mutation runs
   * outside the session and (on 18.16) takes no query parameters: the values go
   * in as hex literals, which cannot carry SQL. Rows that share an acked cursor
   * value but were never read (a tie across a batch boundary) would go with
   * them: the rows the delete would match are counted first, and more than
   * were acked deletes nothing.
   */
  async #deleteAcked(): Promise<void> {
    const http = this.#client;
    while (this.#toDelete.length > 0) {
      const chunk = this.#chunkToDelete();
      const { where, settings, params } = this.#ackedWhere(chunk);
      const [counted] = await this.#locked(() =>
        http.query<{ n: string }>(
          'counting the rows to delete',
          `SELECT count() AS n FROM ${http.table} WHERE ${where}`,
          settings,
          params,
        ),
      );
      const matched = Number(counted?.n ?? 0);
      if (matched > chunk.length) {
        throw new TiedCursorError(
          `[clickhouse] table ${http.tableName}: cursor column "${this.#config.cursor}" is not unique: ${matched} rows share the cursor values of the ${chunk.length} rows moved, so deleting by cursor would destroy rows never read; nothing was deleted (the moved records are in the sink, their rows stay in the table); make the cursor unique or use copy mode`,
        );
      }
      await this.#locked(() =>
        http.command('deleting moved rows', `ALTER TABLE ${http.table} DELETE WHERE ${where}`, settings, params),
      );
      this.#toDelete.splice(0, chunk.length);
    }
  }

  /** Up to deleteBatchRows acked values, never splitting equal ones (rows of one batch that share a cursor value). */
  #chunkToDelete(): string[] {
    const queued = this.#toDelete;
    let end = Math.min(queued.length, this.#config.deleteBatchRows);
    while (end < queued.length && queued[end] === queued[end - 1]) end++;
    return queued.slice(0, end);
  }

  /** `toString(cursor) IN (the values)`: a query parameter where the server has them, else hex literals. */
  #ackedWhere(chunk: readonly string[]): {
    where: string;
    settings: Record<string, string>;
    params?: Record<string, unknown>;
  } {
    const where = `toString(${this.#cursor}) IN`;
    if (this.#client.features.queryParameters) {
      return { where: `${where} {ids:Array(String)}`, settings: {}, params: { ids: chunk } };
    }
    const list = chunk.map(hexString).join(', ');
    return { where: `${where} (${list})`, settings: { max_query_size: String(list.length + 65_536) } };
  }

  async release(batch: SourceBatch<ClickHouseHandle>): Promise<void> {
    if (batch.handle.ids.length === 0) return;
    // The checkpoint did not move: reading goes back to it, and what was handed out comes again.
    if (this.#position !== this.#checkpoint) this.#redeliverUpTo ??= this.#position;
    this.#position = this.#checkpoint;
  }

  async backlog(): Promise<number | undefined> {
    const checkpoint = this.#checkpoint;
    const http = this.#client;
    if (http.features.queryParameters) {
      const { sql, params } = this.#after(checkpoint);
      const rows = await this.#locked(() =>
        http.query<{ n: string }>('counting the backlog', `SELECT count() AS n FROM ${http.table}${sql}`, {}, params),
      );
      return Number(rows[0]?.n ?? 0);
    }
    const rows = await this.#withSlot('counting the backlog', 1, checkpoint, (session) =>
      session.queryRaw<{ n: string }>(`SELECT count() AS n FROM ${session.table}${this.#afterSlot(1, checkpoint)}`),
    );
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    const owner = this.#owner;
    if (owner === undefined) return;
    try {
      if (this.#toDelete.length > 0) await this.#deleteAcked();
    } catch (error) {
      // A cursor that is not unique must be heard of; any other failure leaves those rows behind the checkpoint, never read again (see the README).
      if (error instanceof TiedCursorError) throw error;
    } finally {
      this.#http = undefined;
      this.#owner = undefined;
      await owner.close();
    }
  }
}
