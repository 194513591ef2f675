import { createPump } from '@ferry/core';
import { addEntriesScript, createRedisStreamSink, createRedisStreamSource, scriptChunk } from '@ferry/redis-stream';
import { Redis } from 'ioredis';
import type { BenchCase, BenchContext } from './bench-case.js';

const seedChunk = 10_000;

/** Generated inside Redis, so that seeding adds nothing to the bench process's memory. */
const seedScript = `
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  redis.call('XADD', KEYS[1], '*', 'task', 'task-' .. i, 'n', tostring(i), 'text', 'hello from the bench')
end
return 1
`;

/** Small messages, like the original worker's dicts: an id, a number and a short text. */
export async function seedStream(redis: Redis, stream: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += seedChunk) {
    await redis.eval(seedScript, 1, stream, start, Math.min(count, start + seedChunk) - 1);
  }
}

/** Deletes the head of a stream up to and including `lastId`: the range-mode ack. */
export async function trimBelow(redis: Redis, stream: string, lastId: string): Promise<void> {
  const [ms, seq] = lastId.split('-');
  await redis.xtrim(stream, 'MINID', `${ms}-${BigInt(seq!) + 1n}`);
}

/**
 * The hand-written loop the pump is measured against: the same Redis calls
 * per batch (XLEN on the target, XRANGE, the sink's XADD script, XTRIM of
 * the acked head), with no
 * decoding, no retries and no progress, as a careful user would write it.
 */
async function handLoop(redis: Redis, from: string, to: string, batchSize: number, maxLen: number): Promise<number> {
  let moved = 0;
  for (;;) {
    const length = await redis.xlen(to);
    const room = Math.min(batchSize, maxLen - length);
    if (room <= 0) break;
    const entries = await redis.xrange(from, '-', '+', 'COUNT', room);
    if (entries.length === 0) break;
    const pipeline = redis.pipeline();
    for (let start = 0; start < entries.length; start += scriptChunk) {
      const args: (string | number | Buffer)[] = [addEntriesScript, 1, to, ''];
      for (const [id, fields] of entries.slice(start, start + scriptChunk))
        args.push(fields.length + 2, ...fields, '_source_id', id);
      pipeline.call('EVAL', ...args);
    }
    const replies = await pipeline.exec();
    for (const [error] of replies ?? []) if (error) throw error;
    await trimBelow(redis, from, entries[entries.length - 1]![0]);
    moved += entries.length;
  }
  return moved;
}

export const s2s: BenchCase = {
  edge: 'S2S',
  defaultRecords: 200_000,
  async prepare(ctx: BenchContext) {
    const redis = new Redis(ctx.redisUrl);
    const name = (role: string) => `ferry.bench.${process.pid}.${ctx.round}.${role}`;
    const maxLen = ctx.records * 2;
    return {
      async pump() {
        const [from, to] = [name('pump-in'), name('pump-out')];
        await seedStream(redis, from, ctx.records);
        const started = performance.now();
        const result = await createPump({
          source: createRedisStreamSource({ url: ctx.redisUrl, stream: from, mode: 'range' }),
          sink: createRedisStreamSink({ url: ctx.redisUrl, stream: to, maxLen }),
          batchSize: ctx.batchSize,
        }).run();
        const seconds = (performance.now() - started) / 1000;
        await check(redis, from, to, ctx.records, result.records);
        await redis.del(from, to);
        return { records: result.records, seconds };
      },
      async loop() {
        const [from, to] = [name('loop-in'), name('loop-out')];
        await seedStream(redis, from, ctx.records);
        const started = performance.now();
        const moved = await handLoop(redis, from, to, ctx.batchSize, maxLen);
        const seconds = (performance.now() - started) / 1000;
        await check(redis, from, to, ctx.records, moved);
        await redis.del(from, to);
        return { records: moved, seconds };
      },
      async close() {
        await redis.quit();
      },
    };
  },
};

/** A benchmark that lost or doubled records measured nothing: refuse it. */
async function check(redis: Redis, from: string, to: string, expected: number, moved: number): Promise<void> {
  const [left, arrived] = await Promise.all([redis.xlen(from), redis.xlen(to)]);
  if (moved !== expected || left !== 0 || arrived !== expected) {
    throw new Error(`S2S bench moved ${moved} of ${expected}: ${left} left in ${from}, ${arrived} in ${to}`);
  }
}
