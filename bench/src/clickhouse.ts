import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createClickHouseSink, createClickHouseSource } from '@ferry/clickhouse';
import {
  addEntriesScript,
  createRedisStreamSink,
  createRedisStreamSource,
  decodeFields,
  encodeFields,
  scriptChunk,
} from '@ferry/redis-stream';
import { Redis } from 'ioredis';
import {
  type BenchCase,
  type BenchContext,
  checkMoved,
  type PreparedCase,
  type Timed,
  timedPump,
} from './bench-case.js';
import { seedStream, trimBelow } from './s2s.js';

const clickHouseUrl = () => process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const columns = '_source_id String, id UInt64, task String, n UInt64, text String';

interface Env {
  readonly ctx: BenchContext;
  readonly redis: Redis;
  readonly ch: ClickHouseClient;
  name(role: string): string;
}

async function environment(ctx: BenchContext, edge: string): Promise<Env> {
  return {
    ctx,
    redis: new Redis(ctx.redisUrl),
    ch: createClient({
      url: clickHouseUrl(),
      compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF },
    }),
    name: (role) => `ferry_bench_${edge}_${process.pid}_${ctx.round}_${role}`,
  };
}

async function freshTable(env: Env, table: string): Promise<void> {
  await env.ch.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
  await env.ch.command({ query: `CREATE TABLE default.\`${table}\` (${columns}) ENGINE = MergeTree ORDER BY id` });
}

async function count(env: Env, table: string): Promise<number> {
  const rows = await (
    await env.ch.query({ query: `SELECT count() AS n FROM default.\`${table}\``, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  return Number(rows[0]?.n);
}

function prepared(env: Env, pump: () => Promise<Timed>, loop: () => Promise<Timed>): PreparedCase {
  return {
    pump,
    loop,
    async close() {
      await env.ch.close();
      await env.redis.quit();
    },
  };
}

/** S2C: Redis stream (range mode) into a MergeTree table, one JSONEachRow INSERT per batch. */
export const s2c: BenchCase = {
  edge: 'S2C',
  defaultRecords: 200_000,
  async prepare(ctx) {
    const env = await environment(ctx, 's2c');
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = env.name(`${side}_in`);
      const to = env.name(`${side}_out`);
      await env.redis.del(from);
      await freshTable(env, to);
      await seedStream(env.redis, from, ctx.records);
      const timed = await move(from, to);
      checkMoved('S2C', ctx.records, timed.records, await env.redis.xlen(from), await count(env, to));
      await env.ch.command({ query: `DROP TABLE default.\`${to}\`` });
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createRedisStreamSource({ url: ctx.redisUrl, stream: from, mode: 'range' }),
            createClickHouseSink({ url: clickHouseUrl(), table: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          const started = performance.now();
          let moved = 0;
          for (;;) {
            const entries = await env.redis.xrange(from, '-', '+', 'COUNT', ctx.batchSize);
            if (entries.length === 0) break;
            const rows = entries.map(([id, fields]) => ({ ...decodeFields(fields), _source_id: id }));
            await env.ch.insert({ table: `default.\`${to}\``, values: rows, format: 'JSONEachRow' });
            await trimBelow(env.redis, from, entries[entries.length - 1]![0]);
            moved += entries.length;
          }
          return { records: moved, seconds: (performance.now() - started) / 1000 };
        }),
    );
  },
};

/** C2S: keyset reads of a MergeTree table (copy mode, checkpoint per batch) into a Redis stream. */
export const c2s: BenchCase = {
  edge: 'C2S',
  defaultRecords: 200_000,
  async prepare(ctx) {
    const env = await environment(ctx, 'c2s');
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = env.name(`${side}_in`);
      const to = env.name(`${side}_out`);
      await freshTable(env, from);
      await env.redis.del(to);
      for (let start = 0; start < ctx.records; start += 50_000) {
        const rows = [];
        for (let i = start; i < Math.min(ctx.records, start + 50_000); i++) {
          rows.push({ _source_id: `s-${i}`, id: i + 1, task: `task-${i}`, n: i, text: 'hello from the bench' });
        }
        await env.ch.insert({ table: `default.\`${from}\``, values: rows, format: 'JSONEachRow' });
      }
      const timed = await move(from, to);
      checkMoved('C2S', ctx.records, timed.records, 0, await env.redis.xlen(to));
      await env.ch.command({ query: `DROP TABLE default.\`${from}\`` });
      await env.redis.del(to);
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createClickHouseSource({ url: clickHouseUrl(), table: from, cursor: 'id', checkpointKey: `bench.${from}` }),
            createRedisStreamSink({ url: ctx.redisUrl, stream: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          // The careful hand loop on a server without query parameters: the last id is a number it read itself.
          const started = performance.now();
          let moved = 0;
          let last: string | undefined;
          for (;;) {
            const where = last === undefined ? '' : ` WHERE id > ${BigInt(last)}`;
            const text = await (
              await env.ch.query({
                query: `SELECT * FROM default.\`${from}\`${where} ORDER BY id LIMIT ${ctx.batchSize}`,
                format: 'JSONEachRow',
              })
            ).text();
            const rows = text
              .split('\n')
              .filter((line) => line.length > 0)
              .map((line) => JSON.parse(line));
            if (rows.length === 0) break;
            const pipeline = env.redis.pipeline();
            for (let start = 0; start < rows.length; start += scriptChunk) {
              const args: (string | number | Buffer)[] = [addEntriesScript, 1, to, ''];
              for (const row of rows.slice(start, start + scriptChunk)) {
                const fields = encodeFields(row);
                args.push(fields.length + 2, ...fields, '_source_id', String(row.id));
              }
              pipeline.call('EVAL', ...args);
            }
            for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
            last = String(rows[rows.length - 1].id);
            moved += rows.length;
          }
          return { records: moved, seconds: (performance.now() - started) / 1000 };
        }),
    );
  },
};
