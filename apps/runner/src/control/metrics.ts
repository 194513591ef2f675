import type { BatchMoved } from '@ferry/core';
import type { Redis } from 'ioredis';
import { controlKeys } from './index.js';

/**
 * The metrics every worker adds to, per flow and edge, kept in the control
 * store so that any API process serves the same numbers: counters in one hash,
 * histogram buckets in another, the sources' backlogs in a third. The API
 * reads them at scrape time (see http/metrics-registry.ts).
 */

/** Counters, per flow and edge. */
export const flowCounters = {
  records: { name: 'ferry_records_moved_total', help: 'Records written to a sink and acked at their source.' },
  batches: { name: 'ferry_batches_total', help: 'Batches moved.' },
  bytes: { name: 'ferry_bytes_moved_total', help: 'Bytes of the records moved.' },
  deadLettered: { name: 'ferry_records_dead_lettered_total', help: 'Records sent to a dead-letter sink.' },
  skippedFields: {
    name: 'ferry_records_skipped_fields_total',
    help: 'Records written without some of their keys, which the sink had no place for (unknownFields: skip).',
  },
  errors: { name: 'ferry_flow_errors_total', help: 'Errors met by flows: retried calls and failed job attempts.' },
} as const;

export type FlowCounter = keyof typeof flowCounters;

/** Histograms of each batch moved, per flow and edge: upper bounds of their buckets, and what each observes. */
export const batchHistograms = {
  writeSeconds: {
    name: 'ferry_batch_write_duration_seconds',
    help: 'Time a batch took to be written to its sink, retries included (a direct move: the whole move), in seconds.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    of: (batch: BatchMoved) => batch.writeMs / 1000,
  },
  records: {
    name: 'ferry_batch_size_records',
    help: 'Records written to a sink per batch.',
    buckets: [1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000, 100_000],
    of: (batch: BatchMoved) => batch.records,
  },
} as const;

export type BatchHistogram = keyof typeof batchHistograms;
export type BatchHistogramMeta = (typeof batchHistograms)[BatchHistogram];

export interface FlowLabels {
  readonly flow: string;
  readonly edge: string;
}

const field = (counter: FlowCounter, labels: FlowLabels) => JSON.stringify([counter, labels.flow, labels.edge]);

/** Adds to the counters of one flow; zero deltas are skipped. */
export async function addFlowCounters(
  redis: Redis,
  prefix: string,
  labels: FlowLabels,
  deltas: Partial<Record<FlowCounter, number>>,
): Promise<void> {
  const key = controlKeys(prefix).metrics;
  const pipeline = redis.pipeline();
  let any = false;
  for (const [counter, delta] of Object.entries(deltas) as [FlowCounter, number][]) {
    if (delta === 0 || !Number.isFinite(delta)) continue;
    pipeline.hincrby(key, field(counter, labels), Math.round(delta));
    any = true;
  }
  if (any) await pipeline.exec();
}

/** The source's backlog as last seen by a worker (a gauge). */
export async function setBacklog(redis: Redis, prefix: string, labels: FlowLabels, backlog: number): Promise<void> {
  await redis.hset(controlKeys(prefix).backlog, JSON.stringify([labels.flow, labels.edge]), String(backlog));
}

/** The bucket a value falls in, named by its upper bound as the `le` label spells it. */
function bucketOf(bounds: readonly number[], value: number): string {
  const bound = bounds.find((b) => value <= b);
  return bound === undefined ? '+Inf' : String(bound);
}

/** What a job's batches added to one histogram since the last flush: counts per bucket (not cumulative), and the sum. */
interface Pending {
  readonly buckets: Map<string, number>;
  sum: number;
}

/**
 * The batches a job moved since its last flush, kept in the worker and added
 * to the control store with the job's other counters (a few fields per flush,
 * however many batches): one field per bucket, a count in each (HINCRBY), and
 * the sum (HINCRBYFLOAT).
 */
export interface BatchTally {
  /** Counts one batch; for the pump's `onBatch`. */
  readonly observe: (batch: BatchMoved) => void;
  /** Adds what was counted since the last flush to the control store. */
  flush(redis: Redis, prefix: string, labels: FlowLabels): Promise<void>;
}

export function createBatchTally(): BatchTally {
  let pending = new Map<BatchHistogram, Pending>();
  return {
    observe: (batch) => {
      for (const [histogram, meta] of Object.entries(batchHistograms) as [BatchHistogram, BatchHistogramMeta][]) {
        const value = meta.of(batch);
        if (!Number.isFinite(value)) continue;
        const entry = pending.get(histogram) ?? { buckets: new Map(), sum: 0 };
        const bucket = bucketOf(meta.buckets, value);
        entry.buckets.set(bucket, (entry.buckets.get(bucket) ?? 0) + 1);
        entry.sum += value;
        pending.set(histogram, entry);
      }
    },
    async flush(redis, prefix, labels) {
      if (pending.size === 0) return;
      const taken = pending;
      pending = new Map();
      const key = controlKeys(prefix).histograms;
      const pipeline = redis.pipeline();
      for (const [histogram, { buckets, sum }] of taken) {
        for (const [le, count] of buckets) {
          pipeline.hincrby(key, JSON.stringify([histogram, labels.flow, labels.edge, le]), count);
        }
        pipeline.hincrbyfloat(key, JSON.stringify([histogram, labels.flow, labels.edge, 'sum']), sum);
      }
      await pipeline.exec();
    },
  };
}

/** One labelled value of a counter or a gauge, as the control store holds it. */
export interface StoredSample {
  readonly labels: FlowLabels;
  readonly value: number;
}

/** One labelled histogram as the control store holds it: observations per bucket (not cumulative), and their sum. */
export interface StoredHistogram {
  readonly labels: FlowLabels;
  /** Each bucket's upper bound (Infinity for the last) and the observations in it. */
  readonly buckets: readonly (readonly [number, number])[];
  readonly sum: number;
}

/** Everything the workers keep in the control store, read at once. */
export interface StoredMetrics {
  readonly counters: Readonly<Record<FlowCounter, readonly StoredSample[]>>;
  readonly histograms: Readonly<Record<BatchHistogram, readonly StoredHistogram[]>>;
  readonly backlogs: readonly StoredSample[];
}

/** Reads the counters, histograms and backlogs of every flow; fields this version does not know are left out. */
export async function readStoredMetrics(redis: Redis, prefix: string): Promise<StoredMetrics> {
  const keys = controlKeys(prefix);
  const [counterFields, histogramFields, backlogFields] = await Promise.all([
    redis.hgetall(keys.metrics),
    redis.hgetall(keys.histograms),
    redis.hgetall(keys.backlog),
  ]);

  const counters = Object.fromEntries(Object.keys(flowCounters).map((c) => [c, [] as StoredSample[]])) as Record<
    FlowCounter,
    StoredSample[]
  >;
  for (const [f, value] of Object.entries(counterFields)) {
    const [counter, flow, edge] = JSON.parse(f) as [string, string, string];
    if (counter in flowCounters)
      counters[counter as FlowCounter].push({ labels: { flow, edge }, value: Number(value) });
  }

  const series = new Map<
    string,
    { histogram: BatchHistogram; labels: FlowLabels; buckets: [number, number][]; sum: number }
  >();
  for (const [f, value] of Object.entries(histogramFields)) {
    const [histogram, flow, edge, part] = JSON.parse(f) as [string, string, string, string];
    if (!(histogram in batchHistograms)) continue;
    const id = JSON.stringify([histogram, flow, edge]);
    let entry = series.get(id);
    if (entry === undefined) {
      entry = { histogram: histogram as BatchHistogram, labels: { flow, edge }, buckets: [], sum: 0 };
      series.set(id, entry);
    }
    if (part === 'sum') entry.sum = Number(value);
    else entry.buckets.push([part === '+Inf' ? Number.POSITIVE_INFINITY : Number(part), Number(value)]);
  }
  const histograms = Object.fromEntries(
    Object.keys(batchHistograms).map((h) => [h, [] as StoredHistogram[]]),
  ) as Record<BatchHistogram, StoredHistogram[]>;
  for (const { histogram, ...rest } of series.values()) histograms[histogram].push(rest);

  const backlogs = Object.entries(backlogFields).map(([f, value]) => {
    const [flow, edge] = JSON.parse(f) as [string, string];
    return { labels: { flow, edge }, value: Number(value) };
  });
  return { counters, histograms, backlogs };
}
