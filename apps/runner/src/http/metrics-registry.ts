import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import {
  type BatchHistogram,
  type BatchHistogramMeta,
  batchHistograms,
  type FlowCounter,
  flowCounters,
  type StoredHistogram,
  type StoredMetrics,
} from '../control/metrics.js';

export interface MetricsSources {
  /** What the workers keep in the control store: read once per scrape, however many metrics need it. */
  readonly stored: () => Promise<StoredMetrics>;
  /** The queue's job counts by BullMQ state, and the cancellation marks kept. */
  readonly jobs: () => Promise<{ readonly counts: Record<string, number>; readonly cancelled: number }>;
}

const flowLabels = ['flow', 'edge'] as const;

/** One read for every caller while it is under way: the metrics of one scrape share it, the next scrape reads again. */
function sharedWhileInFlight<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

/**
 * A histogram whose buckets are kept in the control store, where every worker
 * adds to them: exposed as `_bucket{le}` (cumulative), `_sum` and `_count`.
 * A stored bucket whose bound is not one of `buckets` (an older layout) is
 * counted in the next bound above it, which still holds every value in it.
 */
function storedHistogram(meta: BatchHistogramMeta, read: () => Promise<readonly StoredHistogram[]>): Metric {
  const { name, help, buckets } = meta;
  const collector = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const series of await read()) {
        const counts = buckets.map(() => 0);
        let above = 0;
        for (const [bound, count] of series.buckets) {
          const i = buckets.findIndex((b) => bound <= b);
          if (i === -1) above += count;
          else counts[i]! += count;
        }
        const labels = { flow: series.labels.flow, edge: series.labels.edge };
        let cumulative = 0;
        for (const [i, le] of buckets.entries()) {
          cumulative += counts[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
        }
        cumulative += above;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
        values.push({ metricName: `${name}_sum`, labels, value: series.sum });
        values.push({ metricName: `${name}_count`, labels, value: cumulative });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  // The registry formats whatever get() answers (its own cluster aggregator registers such objects); its types name only its classes.
  return collector as unknown as Metric;
}

/**
 * The API's /metrics: a prom-client registry whose metrics are read from the
 * control store at scrape time (collect callbacks), so that every API process
 * serves the same numbers whichever worker moved the records.
 */
export function createMetricsRegistry(sources: MetricsSources): Registry {
  const registry = new Registry();
  const stored = sharedWhileInFlight(sources.stored);
  const registers = [registry];

  new Gauge({ name: 'ferry_up', help: 'The API answers and reaches its control store.', registers }).set(1);

  for (const [counter, meta] of Object.entries(flowCounters) as [FlowCounter, (typeof flowCounters)[FlowCounter]][]) {
    new Counter({
      ...meta,
      labelNames: flowLabels,
      registers,
      async collect() {
        const samples = (await stored()).counters[counter];
        this.reset();
        for (const { labels, value } of samples) this.inc({ ...labels }, value);
      },
    });
  }

  for (const histogram of Object.keys(batchHistograms) as BatchHistogram[]) {
    registry.registerMetric(
      storedHistogram(batchHistograms[histogram], async () => (await stored()).histograms[histogram]),
    );
  }

  new Gauge({
    name: 'ferry_source_backlog',
    help: 'Records waiting at a flow source, as last seen by a worker (where the source can tell).',
    labelNames: flowLabels,
    registers,
    async collect() {
      const samples = (await stored()).backlogs;
      this.reset();
      for (const { labels, value } of samples) this.set({ ...labels }, value);
    },
  });

  new Gauge({
    name: 'ferry_jobs',
    help: 'Flow jobs in the queue by state (cancelled: kept cancellation marks).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const { counts, cancelled } = await sources.jobs();
      this.set({ state: 'waiting' }, (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0));
      this.set({ state: 'active' }, counts.active ?? 0);
      this.set({ state: 'completed' }, counts.completed ?? 0);
      this.set({ state: 'failed' }, counts.failed ?? 0);
      this.set({ state: 'cancelled' }, cancelled);
    },
  });

  return registry;
}
