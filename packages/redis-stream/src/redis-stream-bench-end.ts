import type { BenchEnd, OpenBenchEnd } from '@ferry/core';
import { Redis } from 'ioredis';
import { decodeFields, encodeFields } from './redis-stream-codec.js';
import { addEntriesScript, createRedisStreamSink, scriptChunk } from './redis-stream-sink.js';
import { createRedisStreamSource } from './redis-stream-source.js';

const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
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

/** Appends entries (source id, fields) to a stream the way the sink does: its script, scriptChunk entries a call, pipelined. */
export async function addEntries(
  redis: Redis,
  stream: string,
  entries: readonly (readonly [id: string, fields: readonly (string | Buffer)[]])[],
): Promise<void> {
  const pipeline = redis.pipeline();
  for (let start = 0; start < entries.length; start += scriptChunk) {
    const args: (string | number | Buffer)[] = [addEntriesScript, 1, stream, ''];
    for (const [id, fields] of entries.slice(start, start + scriptChunk))
      args.push(fields.length + 2, ...fields, '_source_id', id);
    pipeline.call('EVAL', ...args);
  }
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
}

/** Redis Streams (S) on REDIS_URL: range mode, acked by trimming the head, as the source does by default. */
export const openRedisStreamBenchEnd: OpenBenchEnd = async () => {
  const url = redisUrl();
  const redis = new Redis(url);
  const end: BenchEnd = {
    async seed(name, count) {
      await redis.del(name);
      await seedStream(redis, name, count);
    },
    left: (name) => redis.xlen(name),
    source: (name) => createRedisStreamSource({ url, stream: name, mode: 'range' }),
    async drain(name, batchSize, _expected, write) {
      let moved = 0;
      for (;;) {
        const entries = await redis.xrange(name, '-', '+', 'COUNT', batchSize);
        if (entries.length === 0) return moved;
        await write(entries.map(([id, fields]) => ({ id, value: decodeFields(fields) })));
        await trimBelow(redis, name, entries[entries.length - 1]![0]);
        moved += entries.length;
      }
    },
    async fresh(name) {
      await redis.del(name);
    },
    arrived: (name) => redis.xlen(name),
    sink: (name) => createRedisStreamSink({ url, stream: name }),
    // The sink writes the record id as _source_id, in place of one the value carries (C2S: a column of that name).
    writer: (name) => (records) =>
      addEntries(
        redis,
        name,
        records.map((record) => [record.id, encodeFields(record.value, '_source_id')] as const),
      ),
    async drop(name) {
      await redis.del(name);
    },
    async close() {
      await redis.quit();
    },
  };
  return end;
};
