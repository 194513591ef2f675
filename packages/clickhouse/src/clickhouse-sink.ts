import { createHash } from 'node:crypto';
import type { ClickHouseSettings } from '@clickhouse/client';
import type { FerryRecord, RejectedRecord, Sink, SkippedFields, WriteOutcome } from '@ferry/core';
import { ConfigError, FatalError, FerryError, rejectRecord } from '@ferry/core';
import { BinaryWriter } from './clickhouse-binary.js';
import { ClickHouseHttp, rowErrorCodes, serverCode, serverMessage } from './clickhouse-client.js';
import { type ClickHouseSinkConfig, parseSinkOptions } from './clickhouse-config.js';
import { type Encode, encoderFor, shown } from './clickhouse-encode.js';
import { formatPosition, type PartitionRow, parsePosition, partFilter, positionFrom } from './clickhouse-position.js';
import { quoteIdentifier } from './clickhouse-sql.js';
import { type ColumnType, parseColumnType } from './clickhouse-types.js';

/** A table column the sink can write: its quoted name and its converter, built once at open. */
interface Column {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly encode: Encode;
}

/** One record's row in the batch body: bytes `start..end`, columns in `signature` order. */
interface Row {
  readonly record: FerryRecord;
  readonly start: number;
  readonly end: number;
  /** The columns' indexes, in the order the row holds them: rows with one signature share an INSERT. */
  readonly signature: string;
  readonly columns: readonly Column[];
  /** Keys dropped by `unknownFields: skip`. */
  readonly skipped?: readonly string[];
}

/** What the mapper makes of a batch: the rows (in `out`) and the records it refused, with why. */
interface Mapped {
  readonly rows: Row[];
  readonly rejected: RejectedRecord[];
}

/**
 * How long the sink answers `position()` with the one it last read: any
 * earlier position is valid, so one look at `system.parts` a second, not one
 * per batch; a reconcile then reads at most a second's parts more.
 */
const positionMaxAgeMs = 1000;

/** DESCRIBE's default_type: columns that take no value in an INSERT. */
const computed = new Set(['MATERIALIZED', 'ALIAS']);

/**
 * Builds a batch's RowBinary from its records: value keys mapped to columns
 * (`columns`, else the same name), each value checked and encoded by its
 * column's converter, the record id in `idColumn`. A record is refused, with
 * the reason, when a value does not fit its column exactly, when it maps to no
 * column at all, when it holds the id column with another value than its id,
 * or (`unknownFields: reject`) when a key has no column.
 */
export function createRowMapper(
  config: Pick<ClickHouseSinkConfig, 'columns' | 'unknownFields' | 'idColumn'>,
  described: readonly { name: string; type: string; default_type?: string }[],
  tableName: string,
): (records: readonly FerryRecord[], out: BinaryWriter) => Mapped {
  const table = new Map<string, Column | string>();
  described.forEach((c, index) => {
    if (computed.has(c.default_type ?? '')) {
      table.set(c.name, `column "${c.name}" is ${c.default_type}: it takes no value`);
      return;
    }
    table.set(c.name, { index, name: c.name, type: c.type, encode: encoderFor(parseOrUnknown(c.type)) });
  });
  const idColumn = config.idColumn === false ? undefined : (table.get(config.idColumn) as Column | undefined);
  /** Key → its column, or why it has none (null: no column of that name). */
  const targets = new Map<string, Column | string | null>();
  const target = (key: string): Column | string | null => {
    let found = targets.get(key);
    if (found === undefined) {
      // Own keys only: `constructor` or `__proto__` would find Object.prototype's members otherwise.
      found = table.get(Object.hasOwn(config.columns, key) ? config.columns[key]! : key) ?? null;
      targets.set(key, found);
    }
    return found;
  };
  /** Signature → the columns it lists: made once per shape of record, not per row. */
  const shapes = new Map<string, Column[]>();
  const byIndex = new Map([...table.values()].flatMap((c) => (typeof c === 'string' ? [] : [[c.index, c] as const])));
  const columnsOf = (signature: string): Column[] => {
    let columns = shapes.get(signature);
    if (columns === undefined) {
      columns = signature
        .split(',')
        .filter((part) => part !== '')
        .map((part) => (part === 'id' ? idColumn! : byIndex.get(Number(part))!));
      shapes.set(signature, columns);
    }
    return columns;
  };
  const reject = config.unknownFields === 'reject';
  const seen: number[] = [];
  let rowNumber = 0;
  let skipped: string[] | undefined;
  let signature = '';

  /** Writes one record's row after `out.pos`; the reason when it is refused (the caller rewinds). */
  const mapRecord = (record: FerryRecord, out: BinaryWriter): string | undefined => {
    rowNumber += 1;
    skipped = undefined;
    signature = '';
    const value = record.value;
    for (const key in value) {
      const to = target(key);
      if (to === null || typeof to === 'string') {
        if (to !== null) return to;
        if (reject) return `field "${key}" has no column in ${tableName} (unknownFields: reject)`;
        if (skipped === undefined) skipped = [key];
        else skipped.push(key);
        continue;
      }
      const held = value[key]!;
      if (to === idColumn) {
        if (held === record.id) continue;
        return `key "${key}" holds ${shown(held)}, which would overwrite the record id ${JSON.stringify(record.id)} in column "${to.name}" of ${tableName}; set idColumn to another column`;
      }
      if (seen[to.index] === rowNumber) return `two keys of the record go to column "${to.name}" of ${tableName}`;
      seen[to.index] = rowNumber;
      const why = to.encode(held, out);
      if (why !== undefined) return `key "${key}" → column "${to.name}" ${to.type} of ${tableName}: ${why}`;
      signature += `${to.index},`;
    }
    if (signature === '') {
      const keys = Object.keys(value);
      if (keys.length === 0) return `the record has no keys, so it maps to no column of ${tableName}`;
      const named = keys.slice(0, 5).map((k) => JSON.stringify(k));
      return `no key of the record (${named.join(', ')}${keys.length > 5 ? ', …' : ''}) has a column in ${tableName}: it would be a row of defaults`;
    }
    if (idColumn !== undefined) {
      const why = idColumn.encode(record.id, out);
      if (why !== undefined)
        return `the record id → column "${idColumn.name}" ${idColumn.type} of ${tableName}: ${why}`;
      signature += 'id';
    }
    return undefined;
  };

  return (records, out) => {
    const rows: Row[] = [];
    const rejected: RejectedRecord[] = [];
    out.pos = 0;
    for (const record of records) {
      const start = out.pos;
      const refused = mapRecord(record, out);
      if (refused !== undefined) {
        out.pos = start;
        rejected.push(rejectRecord(record, refused));
        continue;
      }
      const columns = columnsOf(signature);
      rows.push(
        skipped === undefined
          ? { record, start, end: out.pos, signature, columns }
          : { record, start, end: out.pos, signature, columns, skipped },
      );
    }
    return { rows, rejected };
  };
}

/** A type the parser cannot read maps to nothing: its converter refuses every value, naming the type. */
function parseOrUnknown(text: string): ColumnType {
  try {
    return parseColumnType(text);
  } catch {
    return { name: text, args: [], text };
  }
}

export function createClickHouseSink(options: unknown): Sink {
  return new ClickHouseSink(parseSinkOptions(options));
}

class ClickHouseSink implements Sink {
  readonly name = 'clickhouse';
  readonly #config: ClickHouseSinkConfig;
  readonly #http: ClickHouseHttp;
  #map: ((records: readonly FerryRecord[], out: BinaryWriter) => Mapped) | undefined;
  /** One body buffer for every batch: grown once to the batch size, then reused. */
  readonly #out = new BinaryWriter();
  #position: { readonly text: string; readonly at: number } | undefined;
  /** The server takes `insert_deduplication_token` and the table deduplicates. */
  #deduplicates = false;

  constructor(config: ClickHouseSinkConfig) {
    this.#config = config;
    this.#http = new ClickHouseHttp(config);
  }

  async open(): Promise<void> {
    const http = this.#http;
    const features = await http.check();
    const { create } = this.#config;
    if (create !== undefined) {
      const columns = Object.entries(create.columns).map(([name, type]) => `${quoteIdentifier(name)} ${type}`);
      await http.command(
        'creating the table',
        `CREATE TABLE IF NOT EXISTS ${http.table} (${columns.join(', ')}) ENGINE = ${create.engine}`,
      );
    }
    const described = await http.describe();
    const { idColumn } = this.#config;
    const id = described.find((c) => c.name === idColumn);
    if (idColumn !== false && (id === undefined || computed.has(id.default_type))) {
      throw new ConfigError(
        `[clickhouse] table ${http.tableName} has no column "${idColumn}" to keep the record id in: add it (String), set idColumn to another column, or idColumn: false`,
      );
    }
    this.#map = createRowMapper(this.#config, described, http.tableName);
    this.#deduplicates = features.deduplicationToken && (await this.#tableDeduplicates());
  }

  /** Whether the table already drops an INSERT it has seen: never altered by ferry to make it so. */
  async #tableDeduplicates(): Promise<boolean> {
    const { database, table } = this.#config;
    // Both names are checked identifiers: no quote can be in them.
    const [row] = await this.#http.query<{ engine: string; engine_full: string }>(
      'describing the table engine',
      `SELECT engine, engine_full FROM system.tables WHERE database = '${database}' AND name = '${table}'`,
    );
    if (row === undefined) return false;
    if (/^Replicated\w*MergeTree$/.test(row.engine)) return true;
    const window = /\bnon_replicated_deduplication_window\s*=\s*(\d+)/.exec(row.engine_full);
    return window !== null && Number(window[1]) > 0;
  }

  async free(): Promise<number> {
    const { maxRows } = this.#config;
    if (maxRows === undefined) return Number.POSITIVE_INFINITY;
    const [row] = await this.#http.query<{ n: string | number }>(
      'counting rows',
      `SELECT count() AS n FROM ${this.#http.table}`,
    );
    return Math.max(0, maxRows - Number(row?.n ?? 0));
  }

  async write(records: readonly FerryRecord[]): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return;
    const out = this.#out;
    const { rows, rejected } = this.#mapper()(records, out);
    // Rows with the same columns in the same order share one INSERT: usually the whole batch.
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const group = groups.get(row.signature);
      if (group === undefined) groups.set(row.signature, [row]);
      else group.push(row);
    }
    for (const group of groups.values()) await this.#insert(out.buf, group, rejected);
    let skipped: SkippedFields | undefined;
    if (rows.some((row) => row.skipped !== undefined)) {
      const refused = new Set(rejected.map((r) => r.id));
      for (const row of rows) {
        if (row.skipped === undefined || refused.has(row.record.id)) continue;
        skipped =
          skipped === undefined
            ? { records: 1, first: { id: row.record.id, keys: row.skipped } }
            : { records: skipped.records + 1, first: skipped.first };
      }
    }
    if (rejected.length === 0 && skipped === undefined) return;
    return skipped === undefined ? { rejected } : { rejected, skipped };
  }

  /**
   * One INSERT … FORMAT RowBinary for rows that hold the same columns. When
   * the server refuses it for some rows, the rows are split: at the row the
   * server names when it names one, else in halves, until each refused row
   * stands alone and is rejected with the server's message; every other row
   * is inserted. An INSERT of one block is atomic, so a refused one wrote nothing.
   */
  async #insert(body: Buffer, rows: readonly Row[], rejected: RejectedRecord[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      const bytes = rowBytes(body, rows);
      await this.#http.insertRowBinary(this.#http.table, rows[0]!.columns, bytes, this.#deduplication(rows, bytes));
      return;
    } catch (error) {
      const code = serverCode(error);
      // A parse error names its row `(at row N)`; a broken CHECK constraint, `is violated at row N.`
      const atRow = /\(at row (\d+)\)|is violated at row (\d+)\./.exec(serverMessage(error));
      if (!(code !== undefined && rowErrorCodes.has(code)) && atRow === null) {
        throw this.#http.toError(error, 'inserting a batch');
      }
      if (rows.length === 1) {
        rejected.push(rejectRecord(rows[0]!.record, serverMessage(error)));
        return;
      }
      const bad = atRow === null ? -1 : Number(atRow[1] ?? atRow[2]) - 1;
      if (bad >= 0 && bad < rows.length) {
        // Rows before the named one parsed; the named one is tried alone.
        await this.#insert(body, rows.slice(0, bad), rejected);
        await this.#insert(body, rows.slice(bad, bad + 1), rejected);
        await this.#insert(body, rows.slice(bad + 1), rejected);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.#insert(body, rows.slice(0, half), rejected);
      await this.#insert(body, rows.slice(half), rejected);
    }
  }

  /**
   * A retried INSERT of the same rows is dropped by a table that deduplicates
   * (a Replicated engine, or `non_replicated_deduplication_window`): its token is
   * the table's, the rows' ids and their bytes, so only the very same rows match.
   */
  #deduplication(rows: readonly Row[], bytes: Buffer): ClickHouseSettings {
    if (!this.#deduplicates) return {};
    const hash = createHash('sha256').update(this.#http.table);
    for (const row of rows) hash.update(`\n${row.record.id.length}:${row.record.id}`);
    return { insert_deduplication_token: `ferry:${hash.update(bytes).digest('hex')}` };
  }

  /**
   * The highest block number of the table's parts (per partition on a
   * replicated table), from `system.parts`: every row inserted later is in a
   * part above it. `parts:none` when the table has no part (empty, missing,
   * or not a MergeTree): a reconcile from there reads the whole table.
   */
  async position(): Promise<string> {
    const now = Date.now();
    if (this.#position !== undefined && now - this.#position.at < positionMaxAgeMs) return this.#position.text;
    const { database, table } = this.#config;
    // Both names are checked identifiers: no quote can be in them.
    const rows = await this.#http.query<PartitionRow>(
      'reading the table position',
      `SELECT partition_id, toString(max(max_block_number)) AS block, any(name) AS part, any(engine) AS engine FROM system.parts WHERE database = '${database}' AND table = '${table}' AND active GROUP BY partition_id`,
    );
    const text = formatPosition(positionFrom(rows));
    this.#position = { text, at: now };
    return text;
  }

  /**
   * Which records of a batch in doubt are not in the table: their ids are
   * looked up in the id column, from `since` in the parts written after it
   * (the server skips the others), else in the whole table.
   */
  async reconcile(records: readonly FerryRecord[], since?: string): Promise<readonly FerryRecord[]> {
    const { idColumn } = this.#config;
    if (records.length === 0) return [];
    if (idColumn === false) return records;
    const noted = since === undefined ? undefined : parsePosition(since);
    const parts = noted === undefined ? undefined : partFilter(noted);
    const ids = records.map((r) => r.id);
    const byParameter = this.#http.features.queryParameters;
    // The ids never go in the SQL text: a query parameter, or (18.16, which has
    // none) JSONEachRow data into a temporary table of a one-off session.
    const session = byParameter ? this.#http : this.#http.inSession();
    try {
      if (!byParameter) {
        await session.command('reconciling', 'CREATE TEMPORARY TABLE ferry_ids (id String)');
        await session.insert(
          'reconciling',
          'ferry_ids',
          ids.map((id) => ({ id })),
        );
      }
      const id = `toString(${quoteIdentifier(idColumn)})`;
      const lookUp = (where: string) =>
        session.query<{ id: string }>(
          'reconciling',
          `SELECT DISTINCT ${id} AS id FROM ${session.table} WHERE ${where}${id} IN ${byParameter ? '{ids:Array(String)}' : 'ferry_ids'}`,
          // Rare, and worth a trace: system.query_log's read_rows says what it cost.
          { log_queries: 1 },
          byParameter ? { ids } : undefined,
        );
      const found =
        parts === undefined
          ? await lookUp('')
          : await lookUp(`${parts} AND `).catch((error: unknown) => {
              // No _part (the table made again with another engine since the note): the whole table.
              if (serverCode(error instanceof FerryError ? error.cause : error) === 47) return lookUp('');
              throw error;
            });
      const there = new Set(found.map((row) => row.id));
      return records.filter((record) => !there.has(record.id));
    } finally {
      if (!byParameter) await session.close();
    }
  }

  #mapper(): (records: readonly FerryRecord[], out: BinaryWriter) => Mapped {
    if (this.#map === undefined) throw new FatalError('[clickhouse] the sink is not open: call open() first');
    return this.#map;
  }

  async close(): Promise<void> {
    this.#map = undefined;
    await this.#http.close();
  }
}

/** The body of consecutive rows is a view of the batch's buffer; scattered rows are copied together. */
function rowBytes(body: Buffer, rows: readonly Row[]): Buffer {
  let contiguous = true;
  for (let i = 1; i < rows.length && contiguous; i++) contiguous = rows[i]!.start === rows[i - 1]!.end;
  if (contiguous) return body.subarray(rows[0]!.start, rows[rows.length - 1]!.end);
  return Buffer.concat(rows.map((row) => body.subarray(row.start, row.end)));
}
