import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { controlKeys } from './index.js';
import { addFlowCounters, createBatchTally, readStoredMetrics, setBacklog } from './metrics.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const base = `ferry-unit-metrics-${process.pid}-${randomBytes(3).toString('hex')}`;
let n = 0;
const prefix = () => `${base}-${++n}`;
afterAll(async () => {
  const keys = await redis.keys(`${base}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const labels = { flow: 'copy', edge: 'S2Q' };

describe('metrics in the control store', () => {
  it('adds each batch to the bucket it falls in, one field per bucket, and the sum', async () => {
    const p = prefix();
    const tally = createBatchTally();
    tally.observe({ records: 100, writeMs: 3 });
    tally.observe({ records: 100, writeMs: 4 });
    tally.observe({ records: 250_000, writeMs: 12_000 });
    await tally.flush(redis, p, labels);
    const fields = await redis.hgetall(controlKeys(p).histograms);
    const field = (histogram: string, part: string) => fields[JSON.stringify([histogram, 'copy', 'S2Q', part])];
    expect(field('records', '100')).toBe('2');
    expect(field('records', '+Inf')).toBe('1');
    expect(Number(field('records', 'sum'))).toBe(250_200);
    expect(field('writeSeconds', '0.005')).toBe('2');
    expect(field('writeSeconds', '+Inf')).toBe('1');
    expect(Number(field('writeSeconds', 'sum'))).toBeCloseTo(12.007, 9);
    expect(Object.keys(fields)).toHaveLength(6);

    // A flush adds only what came since the last one; an empty one writes nothing.
    tally.observe({ records: 1, writeMs: 0.2 });
    await tally.flush(redis, p, labels);
    await tally.flush(redis, p, labels);
    const after = await redis.hgetall(controlKeys(p).histograms);
    expect(after[JSON.stringify(['records', 'copy', 'S2Q', '1'])]).toBe('1');
    expect(after[JSON.stringify(['records', 'copy', 'S2Q', '100'])]).toBe('2');
  });

  it('reads counters, histograms and backlogs back by flow and edge, leaving out fields it does not know', async () => {
    const p = prefix();
    await addFlowCounters(redis, p, labels, { records: 10, batches: 2, bytes: 0 });
    await addFlowCounters(redis, p, { flow: 'other', edge: 'S2S' }, { records: 5 });
    await setBacklog(redis, p, labels, 42);
    const tally = createBatchTally();
    tally.observe({ records: 7, writeMs: 30 });
    await tally.flush(redis, p, labels);
    const keys = controlKeys(p);
    await redis.hset(keys.metrics, JSON.stringify(['futureCounter', 'copy', 'S2Q']), '1');
    await redis.hset(keys.histograms, JSON.stringify(['futureHistogram', 'copy', 'S2Q', '1']), '1');

    const stored = await readStoredMetrics(redis, p);
    expect(stored.counters.records).toEqual(
      expect.arrayContaining([
        { labels, value: 10 },
        { labels: { flow: 'other', edge: 'S2S' }, value: 5 },
      ]),
    );
    expect(stored.counters.batches).toEqual([{ labels, value: 2 }]);
    expect(stored.counters.bytes).toEqual([]);
    expect(stored.backlogs).toEqual([{ labels, value: 42 }]);
    expect(stored.histograms.records).toEqual([{ labels, buckets: [[10, 1]], sum: 7 }]);
    expect(stored.histograms.writeSeconds).toEqual([{ labels, buckets: [[0.05, 1]], sum: 0.03 }]);
    expect(Object.keys(stored.counters)).not.toContain('futureCounter');
    expect(Object.keys(stored.histograms)).not.toContain('futureHistogram');
  });
});
