import { randomBytes } from 'node:crypto';
import { type ExpositionFamily, parseExposition, sampleValue } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { controlKeys } from '../control/index.js';
import {
  addFlowCounters,
  batchHistograms,
  createBatchTally,
  type FlowLabels,
  readStoredMetrics,
  setBacklog,
} from '../control/metrics.js';
import { createMetricsRegistry } from './metrics-registry.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const base = `ferry-unit-registry-${process.pid}-${randomBytes(3).toString('hex')}`;
let n = 0;
const prefix = () => `${base}-${++n}`;
afterAll(async () => {
  const keys = await redis.keys(`${base}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const jobs = async () => ({ counts: { waiting: 1, delayed: 2, active: 3, completed: 4, failed: 5 }, cancelled: 6 });

/** The /metrics text of an API process reading the control store under `p` with its own client. */
async function scrape(
  p: string,
  client: Redis = redis,
): Promise<{ text: string; families: Map<string, ExpositionFamily> }> {
  const registry = createMetricsRegistry({ stored: () => readStoredMetrics(client, p), jobs });
  const text = await registry.metrics();
  expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  return { text, families: parseExposition(text) };
}

/** What one worker's job does after moving these batches: counters and histograms, as the worker sends them. */
async function moved(p: string, labels: FlowLabels, batches: { records: number; writeMs: number }[]): Promise<void> {
  const tally = createBatchTally();
  for (const b of batches) tally.observe(b);
  await Promise.all([
    addFlowCounters(redis, p, labels, {
      records: batches.reduce((s, b) => s + b.records, 0),
      batches: batches.length,
    }),
    tally.flush(redis, p, labels),
  ]);
}

describe('/metrics from the control store, through prom-client', () => {
  it('keeps every name, type, label and HELP text of before', async () => {
    const p = prefix();
    await moved(p, { flow: 'copy', edge: 'S2S' }, [{ records: 3, writeMs: 1 }]);
    await addFlowCounters(
      redis,
      p,
      { flow: 'copy', edge: 'S2S' },
      {
        bytes: 30,
        deadLettered: 1,
        skippedFields: 2,
        errors: 1,
      },
    );
    await setBacklog(redis, p, { flow: 'copy', edge: 'S2S' }, 9);
    const { families } = await scrape(p);
    const shape = [...families.values()].map((f) => [f.name, f.type, f.help]);
    expect(shape).toEqual([
      ['ferry_up', 'gauge', 'The API answers and reaches its control store.'],
      ['ferry_records_moved_total', 'counter', 'Records written to a sink and acked at their source.'],
      ['ferry_batches_total', 'counter', 'Batches moved.'],
      ['ferry_bytes_moved_total', 'counter', 'Bytes of the records moved.'],
      ['ferry_records_dead_lettered_total', 'counter', 'Records sent to a dead-letter sink.'],
      [
        'ferry_records_skipped_fields_total',
        'counter',
        'Records written without some of their keys, which the sink had no place for (unknownFields: skip).',
      ],
      ['ferry_flow_errors_total', 'counter', 'Errors met by flows: retried calls and failed job attempts.'],
      ['ferry_batch_write_duration_seconds', 'histogram', batchHistograms.writeSeconds.help],
      ['ferry_batch_size_records', 'histogram', batchHistograms.records.help],
      [
        'ferry_source_backlog',
        'gauge',
        'Records waiting at a flow source, as last seen by a worker (where the source can tell).',
      ],
      ['ferry_jobs', 'gauge', 'Flow jobs in the queue by state (cancelled: kept cancellation marks).'],
    ]);
    const copy = { flow: 'copy', edge: 'S2S' };
    expect(sampleValue(families, 'ferry_up')).toBe(1);
    expect(sampleValue(families, 'ferry_records_moved_total', copy)).toBe(3);
    expect(sampleValue(families, 'ferry_batches_total', copy)).toBe(1);
    expect(sampleValue(families, 'ferry_bytes_moved_total', copy)).toBe(30);
    expect(sampleValue(families, 'ferry_records_dead_lettered_total', copy)).toBe(1);
    expect(sampleValue(families, 'ferry_records_skipped_fields_total', copy)).toBe(2);
    expect(sampleValue(families, 'ferry_flow_errors_total', copy)).toBe(1);
    expect(sampleValue(families, 'ferry_source_backlog', copy)).toBe(9);
    expect(families.get('ferry_jobs')?.samples.map((s) => [s.labels.state, s.value])).toEqual([
      ['waiting', 3],
      ['active', 3],
      ['completed', 4],
      ['failed', 5],
      ['cancelled', 6],
    ]);
  });

  it('exposes each histogram with cumulative buckets up to +Inf, its sum and a count of the batches', async () => {
    const p = prefix();
    const labels = { flow: 'copy', edge: 'S2Q' };
    const batches = [
      { records: 1, writeMs: 0.4 },
      { records: 100, writeMs: 7 },
      { records: 100, writeMs: 7 },
      { records: 1000, writeMs: 300 },
      { records: 250_000, writeMs: 15_000 },
    ];
    await moved(p, labels, batches.slice(0, 2));
    await moved(p, labels, batches.slice(2)); // a second worker, or the next flush
    const { families } = await scrape(p);

    const size = families.get('ferry_batch_size_records')!;
    const buckets = size.samples.filter((s) => s.name === 'ferry_batch_size_records_bucket');
    expect(buckets.map((s) => s.labels.le)).toEqual([...batchHistograms.records.buckets.map(String), '+Inf']);
    const le = (bound: string) => buckets.find((s) => s.labels.le === bound)?.value;
    expect([le('1'), le('50'), le('100'), le('1000'), le('100000'), le('+Inf')]).toEqual([1, 1, 3, 4, 4, 5]);
    expect(sampleValue(families, 'ferry_batch_size_records_count', labels)).toBe(batches.length);
    expect(sampleValue(families, 'ferry_batch_size_records_sum', labels)).toBe(251_201);
    expect(sampleValue(families, 'ferry_batches_total', labels)).toBe(batches.length);

    const write = 'ferry_batch_write_duration_seconds';
    expect(sampleValue(families, `${write}_bucket`, { ...labels, le: '0.001' })).toBe(1);
    expect(sampleValue(families, `${write}_bucket`, { ...labels, le: '0.01' })).toBe(3);
    expect(sampleValue(families, `${write}_bucket`, { ...labels, le: '0.5' })).toBe(4);
    expect(sampleValue(families, `${write}_bucket`, { ...labels, le: '10' })).toBe(4);
    expect(sampleValue(families, `${write}_bucket`, { ...labels, le: '+Inf' })).toBe(5);
    expect(sampleValue(families, `${write}_count`, labels)).toBe(5);
    expect(sampleValue(families, `${write}_sum`, labels)).toBeCloseTo(15.3144, 9);
  });

  it('serves the same numbers from two API processes, each with its own client, and reads the store once a scrape', async () => {
    const p = prefix();
    await moved(p, { flow: 'a', edge: 'S2S' }, [{ records: 5, writeMs: 2 }]);
    await moved(p, { flow: 'b', edge: 'Q2S' }, [{ records: 50, writeMs: 20 }]);
    const other = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      const [one, two] = await Promise.all([scrape(p), scrape(p, other)]);
      expect(two.text).toBe(one.text);
    } finally {
      await other.quit();
    }
    let reads = 0;
    const registry = createMetricsRegistry({
      stored: () => {
        reads += 1;
        return readStoredMetrics(redis, p);
      },
      jobs,
    });
    await registry.metrics();
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('escapes label values, and a flow name comes back as it was', async () => {
    const p = prefix();
    const labels = { flow: 'a"b\\c\nd', edge: 'S2S' };
    await moved(p, labels, [{ records: 2, writeMs: 1 }]);
    const { text, families } = await scrape(p);
    expect(text).toContain('ferry_records_moved_total{flow="a\\"b\\\\c\\nd",edge="S2S"} 2');
    expect(sampleValue(families, 'ferry_batch_size_records_count', labels)).toBe(1);
  });

  it('counts a stored bucket of another layout in the next bound above it', async () => {
    const p = prefix();
    const key = controlKeys(p).histograms;
    const field = (part: string) => JSON.stringify(['records', 'old', 'S2S', part]);
    await redis.hset(key, field('3'), '2', field('20000'), '1', field('+Inf'), '1', field('sum'), '200026');
    const { families } = await scrape(p);
    const labels = { flow: 'old', edge: 'S2S' };
    expect(sampleValue(families, 'ferry_batch_size_records_bucket', { ...labels, le: '1' })).toBe(0);
    expect(sampleValue(families, 'ferry_batch_size_records_bucket', { ...labels, le: '5' })).toBe(2);
    expect(sampleValue(families, 'ferry_batch_size_records_bucket', { ...labels, le: '50000' })).toBe(3);
    expect(sampleValue(families, 'ferry_batch_size_records_count', labels)).toBe(4);
  });
});
