import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { BenchEnd, OpenBenchEnd, RecordValue } from '@ferry/core';
import { createClickHouseSink } from './clickhouse-sink.js';
import { checkpointTable, createCheckpointTableSql, createClickHouseSource } from './clickhouse-source.js';

const clickHouseUrl = () => process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const columns = '_source_id String, id UInt64, task String, n UInt64, text String';
/**
 * What both sides read: the data, not the _source_id an earlier move left,
 * which a sink refuses to overwrite with the new record id (C2C, C2S).
 */
const dataColumns = ['id', 'task', 'n', 'text'];
const seedChunk = 10_000;

/**
 * ClickHouse (C) on CLICKHOUSE_URL: MergeTree tables in `default`, read by keyset on `id`
 * (copy mode, the rows stay), written one JSONEachRow INSERT per batch.
 */
export const openClickHouseBenchEnd: OpenBenchEnd = async () => {
  const ch = createClient({
    url: clickHouseUrl(),
    compression: { request: false, response: false },
    log: { level: ClickHouseLogLevel.OFF },
  });
  const table = (name: string) => `default.\`${name}\``;
  const fresh = async (name: string) => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table(name)}` });
    await ch.command({ query: `CREATE TABLE ${table(name)} (${columns}) ENGINE = MergeTree ORDER BY id` });
  };
  const end: BenchEnd = {
    async seed(name, count) {
      await fresh(name);
      for (let start = 0; start < count; start += seedChunk) {
        const rows = [];
        for (let i = start; i < Math.min(count, start + seedChunk); i++) {
          rows.push({ _source_id: `s-${i}`, id: i + 1, task: `task-${i}`, n: i, text: 'hello from the bench' });
        }
        await ch.insert({ table: table(name), values: rows, format: 'JSONEachRow' });
      }
    },
    // Copy mode leaves the rows: what is left to read is what lies after the checkpoint.
    left: async () => 0,
    source: (name) =>
      createClickHouseSource({
        url: clickHouseUrl(),
        table: name,
        cursor: 'id',
        columns: dataColumns,
        checkpointKey: `bench.${name}`,
      }),
    async drain(name, batchSize, _expected, write) {
      // The careful hand loop on a server without query parameters: the last id is a number it read itself.
      // Its position is saved after each write, as the source's ack does, so that a restart goes on from there.
      const checkpoints = `default.${checkpointTable}`;
      await ch.command({ query: createCheckpointTableSql(checkpoints) });
      let moved = 0;
      let last: string | undefined;
      for (;;) {
        const where = last === undefined ? '' : ` WHERE id > ${BigInt(last)}`;
        const text = await (
          await ch.query({
            query: `SELECT ${dataColumns.join(', ')} FROM ${table(name)}${where} ORDER BY id LIMIT ${batchSize}`,
            format: 'JSONEachRow',
            // As exact as the source on any server version: 64-bit integers as strings, never JS numbers.
            clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
          })
        ).text();
        const rows = text
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as RecordValue);
        if (rows.length === 0) return moved;
        await write(rows.map((row) => ({ id: String(row.id), value: row })));
        last = String(rows[rows.length - 1]!.id);
        await ch.insert({
          table: checkpoints,
          values: [
            { key: `bench.loop.${name}`, position: last, version: String(BigInt(Date.now()) * 1000n + BigInt(moved)) },
          ],
          format: 'JSONEachRow',
        });
        moved += rows.length;
      }
    },
    fresh,
    async arrived(name) {
      const result = await ch.query({ query: `SELECT count() AS n FROM ${table(name)}`, format: 'JSONEachRow' });
      return Number((await result.json<{ n: string }>())[0]?.n);
    },
    sink: (name) => createClickHouseSink({ url: clickHouseUrl(), table: name }),
    // The sink's call: one INSERT of the batch, the record id in the _source_id column.
    writer: (name) => async (records) => {
      await ch.insert({
        table: table(name),
        values: records.map((record) => ({ ...record.value, _source_id: record.id })),
        format: 'JSONEachRow',
      });
    },
    async drop(name) {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table(name)}` });
    },
    async close() {
      await ch.close();
    },
  };
  return end;
};
