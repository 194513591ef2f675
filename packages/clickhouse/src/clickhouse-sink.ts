import { randomUUID } from 'node:crypto';
import type { FerryRecord, RejectedRecord, Sink, WriteOutcome } from '@ferry/core';
import { ConfigError, FatalError, rejectRecord } from '@ferry/core';
import { ClickHouseHttp, rowErrorCodes, serverCode, serverMessage } from './clickhouse-client.js';
import { type ClickHouseSinkConfig, parseSinkOptions } from './clickhouse-config.js';
import { quoteIdentifier } from './clickhouse-sql.js';

/** A row as it goes into the JSONEachRow body. */
type Row = Record<string, unknown>;

/** How a value goes into a column of a given type. */
type Convert = (value: unknown) => unknown;

const asIs: Convert = (value) => value;
/** A String column takes text: objects, arrays, numbers and booleans go in as their JSON. */
const asText: Convert = (value) => (typeof value === 'string' || value === null ? value : JSON.stringify(value));

export function converterFor(type: string): Convert {
  return /^(Nullable\(|LowCardinality\()*(String|FixedString\(\d+\))\)*$/.test(type) ? asText : asIs;
}

/**
 * Builds a row from a record: value keys mapped to columns (`columns`, else the
 * same name), values converted for their column's type, the record id in
 * `idColumn`. A key with no column is dropped or refuses the record, as `unknownFields` says.
 */
export function createRowMapper(
  config: Pick<ClickHouseSinkConfig, 'columns' | 'unknownFields' | 'idColumn'>,
  tableColumns: ReadonlyMap<string, string>,
  tableName: string,
): (record: FerryRecord) => Row | string {
  const targets = new Map<string, { column: string; convert: Convert } | null>();
  const target = (key: string) => {
    let found = targets.get(key);
    if (found === undefined) {
      const column = config.columns[key] ?? key;
      const type = tableColumns.get(column);
      found = type === undefined || column === config.idColumn ? null : { column, convert: converterFor(type) };
      targets.set(key, found);
    }
    return found;
  };
  const reject = config.unknownFields === 'reject';
  const idColumn = config.idColumn;
  return (record) => {
    const row: Row = {};
    const value = record.value;
    for (const key in value) {
      const to = target(key);
      if (to === null) {
        if (reject) return `field "${key}" has no column in ${tableName} (unknownFields: reject)`;
        continue;
      }
      row[to.column] = to.convert(value[key]);
    }
    if (idColumn !== false) row[idColumn] = record.id;
    return row;
  };
}

export function createClickHouseSink(options: unknown): Sink {
  return new ClickHouseSink(parseSinkOptions(options));
}

class ClickHouseSink implements Sink {
  readonly name = 'clickhouse';
  readonly #config: ClickHouseSinkConfig;
  readonly #http: ClickHouseHttp;
  #map: ((record: FerryRecord) => Row | string) | undefined;

  constructor(config: ClickHouseSinkConfig) {
    this.#config = config;
    this.#http = new ClickHouseHttp(config);
  }

  async open(): Promise<void> {
    const http = this.#http;
    await http.check();
    const { create } = this.#config;
    if (create !== undefined) {
      const columns = Object.entries(create.columns).map(([name, type]) => `${quoteIdentifier(name)} ${type}`);
      await http.command(
        'creating the table',
        `CREATE TABLE IF NOT EXISTS ${http.table} (${columns.join(', ')}) ENGINE = ${create.engine}`,
      );
    }
    const described = await http.query<{ name: string; type: string }>(
      'describing the table',
      `DESCRIBE TABLE ${http.table}`,
    );
    const columns = new Map(described.map((c) => [c.name, c.type]));
    const { idColumn } = this.#config;
    if (idColumn !== false && !columns.has(idColumn)) {
      throw new ConfigError(
        `[clickhouse] table ${http.tableName} has no column "${idColumn}" to keep the record id in: add it (String), set idColumn to another column, or idColumn: false`,
      );
    }
    this.#map = createRowMapper(this.#config, columns, http.tableName);
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
    const map = this.#mapper();
    const rows: Row[] = [];
    const kept: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    for (const record of records) {
      const row = map(record);
      if (typeof row === 'string') rejected.push(rejectRecord(record, row));
      else {
        rows.push(row);
        kept.push(record);
      }
    }
    await this.#insert(kept, rows, rejected);
    return rejected.length === 0 ? undefined : { rejected };
  }

  /**
   * One INSERT for the rows. When the server refuses it for some rows (a value
   * of the wrong type…), the rows are split: at the row the server names when
   * it names one, else in halves, until each refused row stands alone and is
   * rejected with the server's message; every other row is inserted. An INSERT
   * of one block is atomic, so a refused one wrote nothing.
   */
  async #insert(records: readonly FerryRecord[], rows: readonly Row[], rejected: RejectedRecord[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.#http.insertRaw(this.#http.table, rows);
      return;
    } catch (error) {
      const code = serverCode(error);
      const atRow = /\(at row (\d+)\)/.exec(serverMessage(error));
      if (!(code !== undefined && rowErrorCodes.has(code)) && atRow === null) {
        throw this.#http.toError(error, 'inserting a batch');
      }
      if (rows.length === 1) {
        rejected.push(rejectRecord(records[0]!, serverMessage(error)));
        return;
      }
      const bad = atRow === null ? -1 : Number(atRow[1]) - 1;
      if (bad >= 0 && bad < rows.length) {
        // Rows before the named one parsed; the named one is tried alone.
        await this.#insert(records.slice(0, bad), rows.slice(0, bad), rejected);
        await this.#insert(records.slice(bad, bad + 1), rows.slice(bad, bad + 1), rejected);
        await this.#insert(records.slice(bad + 1), rows.slice(bad + 1), rejected);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.#insert(records.slice(0, half), rows.slice(0, half), rejected);
      await this.#insert(records.slice(half), rows.slice(half), rejected);
    }
  }

  async reconcile(records: readonly FerryRecord[]): Promise<readonly FerryRecord[]> {
    const { idColumn } = this.#config;
    if (records.length === 0) return [];
    if (idColumn === false) return records;
    // 18.16 has no query parameters: the ids travel as JSONEachRow data into a
    // temporary table of a one-off session, never in the SQL text.
    const session = new ClickHouseHttp(this.#config, `ferry-${randomUUID()}`);
    try {
      await session.command('reconciling', 'CREATE TEMPORARY TABLE ferry_ids (id String)');
      await session.insert(
        'reconciling',
        'ferry_ids',
        records.map((r) => ({ id: r.id })),
      );
      const found = await session.query<{ id: string }>(
        'reconciling',
        `SELECT DISTINCT toString(${quoteIdentifier(idColumn)}) AS id FROM ${session.table} WHERE toString(${quoteIdentifier(idColumn)}) IN ferry_ids`,
      );
      const there = new Set(found.map((row) => row.id));
      return records.filter((record) => !there.has(record.id));
    } finally {
      await session.close();
    }
  }

  #mapper(): (record: FerryRecord) => Row | string {
    if (this.#map === undefined) throw new FatalError('[clickhouse] the sink is not open: call open() first');
    return this.#map;
  }

  async close(): Promise<void> {
    this.#map = undefined;
    await this.#http.close();
  }
}
