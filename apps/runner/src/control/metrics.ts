import type { Redis } from 'ioredis';
import { controlKeys } from './index.js';

/** Counters every worker adds to, per flow and edge, kept in the control store so that any API process can tell. */
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

/** A label value in the text format: backslash, double quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: { labels: Record<string, string>; value: number }[];
}

/** Prometheus text exposition format 0.0.4: HELP and TYPE, then the samples of each family. */
export function renderMetrics(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(`${family.name}${labelText(sample.labels)} ${sample.value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every family: the flow counters from the control store, the backlog, and job counts by state. */
export async function collectMetrics(
  redis: Redis,
  prefix: string,
  jobCounts: Record<string, number>,
  cancelled: number,
): Promise<string> {
  const keys = controlKeys(prefix);
  const [counters, backlogs] = await Promise.all([redis.hgetall(keys.metrics), redis.hgetall(keys.backlog)]);
  const byCounter = new Map<FlowCounter, Family['samples']>();
  for (const [f, value] of Object.entries(counters)) {
    const parsed = JSON.parse(f) as [FlowCounter, string, string];
    const [counter, flow, edge] = parsed;
    if (!(counter in flowCounters)) continue;
    const list = byCounter.get(counter) ?? [];
    list.push({ labels: { flow, edge }, value: Number(value) });
    byCounter.set(counter, list);
  }
  const families: Family[] = [
    {
      name: 'ferry_up',
      help: 'The API answers and reaches its control store.',
      type: 'gauge',
      samples: [{ labels: {}, value: 1 }],
    },
  ];
  for (const [counter, meta] of Object.entries(flowCounters) as [FlowCounter, (typeof flowCounters)[FlowCounter]][]) {
    families.push({ ...meta, type: 'counter', samples: byCounter.get(counter) ?? [] });
  }
  families.push({
    name: 'ferry_source_backlog',
    help: 'Records waiting at a flow source, as last seen by a worker (where the source can tell).',
    type: 'gauge',
    samples: Object.entries(backlogs).map(([f, value]) => {
      const [flow, edge] = JSON.parse(f) as [string, string];
      return { labels: { flow, edge }, value: Number(value) };
    }),
  });
  const waiting = (jobCounts.waiting ?? 0) + (jobCounts.delayed ?? 0) + (jobCounts.prioritized ?? 0);
  families.push({
    name: 'ferry_jobs',
    help: 'Flow jobs in the queue by state (cancelled: kept cancellation marks).',
    type: 'gauge',
    samples: [
      { labels: { state: 'waiting' }, value: waiting },
      { labels: { state: 'active' }, value: jobCounts.active ?? 0 },
      { labels: { state: 'completed' }, value: jobCounts.completed ?? 0 },
      { labels: { state: 'failed' }, value: jobCounts.failed ?? 0 },
      { labels: { state: 'cancelled' }, value: cancelled },
    ],
  });
  return renderMetrics(families);
}
