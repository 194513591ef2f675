import type { PumpProgress, PumpResult } from '@ferry/core';
import { FlowFailedError } from '@ferry/core';
import type { Job } from 'bullmq';
import { formatSkippedWarning } from '../cli/progress.js';
import type { ControlStore } from './index.js';
import { addFlowCounters, createBatchTally, type FlowLabels, setBacklog } from './metrics.js';

/** What earlier runs of a job moved, before a shutdown or a lost lock put it back. */
export interface Moved {
  readonly records: number;
  readonly batches: number;
  readonly bytes: number;
  readonly deadLettered: number;
  readonly skippedFields?: number;
}

export const nothingMoved: Moved = { records: 0, batches: 0, bytes: 0, deadLettered: 0 };

export function sum(
  results: readonly PumpProgress[],
  key: 'records' | 'batches' | 'bytes' | 'deadLettered' | 'skippedFields',
): number {
  return results.reduce((n, r) => n + (r[key] ?? 0), 0);
}

/** `{ skippedFields }` when some records lost keys, else nothing: the field is absent when none did. */
export const skippedOf = (count: number) => (count > 0 ? { skippedFields: count } : {});

export interface JobProgressOptions {
  readonly job: Job;
  readonly redis: ControlStore;
  readonly prefix: string;
  readonly labels: FlowLabels;
  readonly done: Moved;
  /** The job's pumps. */
  readonly instances: number;
  readonly log: (line: string) => void;
}

/**
 * The progress of a job's pumps: the latest of each, summed over them and
 * the job's earlier runs, sent to the job and the flow's counters at most
 * every 250 ms.
 */
export interface JobProgress {
  /** The progress listener of pump `i`. */
  listener(i: number): (p: PumpProgress) => void;
  /** Every pump's batches, for the write-latency and batch-size histograms. */
  readonly onBatch: ReturnType<typeof createBatchTally>['observe'];
  /** The pumps' last word (a result or a failure's progress) sent; resolves once it is. */
  finish(settled: readonly PromiseSettledResult<PumpResult>[]): Promise<void>;
  /** The first record written without keys the sink had no place for, if any. */
  firstSkipped(): PumpProgress['firstSkipped'];
}

interface Totals {
  readonly records: number;
  readonly batches: number;
  readonly bytes: number;
  readonly deadLettered: number;
  readonly skippedFields: number;
}

/** The job's progress: its pumps' counts summed, with the earlier runs', the slowest's time, the largest backlog. */
function summed(
  latest: readonly PumpProgress[],
  now: Totals,
  more: {
    done: Moved;
    firstSkipped: PumpProgress['firstSkipped'];
    lastErrors: readonly (string | undefined)[];
    edge: string;
  },
) {
  const { done, firstSkipped } = more;
  const elapsedMs = Math.max(...latest.map((p) => p.elapsedMs));
  const backlogs = latest.map((p) => p.backlog).filter((b): b is number => b !== undefined);
  const lastError = more.lastErrors.filter((e) => e !== undefined).at(-1);
  // What the job waits for, when every instance waits for it: records (follow mode) or room at the sink.
  const waiting = latest.every((p) => p.waiting === latest[0]?.waiting) ? latest[0]?.waiting : undefined;
  return {
    records: done.records + now.records,
    batches: done.batches + now.batches,
    bytes: done.bytes + now.bytes,
    deadLettered: done.deadLettered + now.deadLettered,
    ...skippedOf((done.skippedFields ?? 0) + now.skippedFields),
    ...(firstSkipped === undefined ? {} : { firstSkipped }),
    rate: elapsedMs > 0 ? (now.records * 1000) / elapsedMs : 0,
    elapsedMs,
    ...(backlogs.length > 0 ? { backlog: Math.max(...backlogs) } : {}),
    ...(lastError === undefined ? {} : { lastError }),
    ...(waiting === undefined ? {} : { waiting }),
    edge: more.edge,
  };
}

const zero: PumpProgress = { records: 0, deadLettered: 0, batches: 0, bytes: 0, elapsedMs: 0, rate: 0 };

export function trackJobProgress(options: JobProgressOptions): JobProgress {
  const { job, redis, prefix, labels, done, log } = options;
  const latest: PumpProgress[] = Array.from({ length: options.instances }, () => zero);
  const lastErrors: (string | undefined)[] = latest.map(() => undefined);
  const reported = { records: 0, batches: 0, bytes: 0, deadLettered: 0, skippedFields: 0, errors: 0 };
  const batchTally = createBatchTally();
  let errors = 0;
  let firstSkipped: PumpProgress['firstSkipped'];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  /** The counters' increments since the last send. */
  const deltas = () => {
    const now = {
      records: sum(latest, 'records'),
      batches: sum(latest, 'batches'),
      bytes: sum(latest, 'bytes'),
      deadLettered: sum(latest, 'deadLettered'),
      skippedFields: sum(latest, 'skippedFields'),
      errors,
    };
    const delta = Object.fromEntries(
      Object.entries(now).map(([key, n]) => [key, n - reported[key as keyof typeof now]]),
    ) as typeof now;
    Object.assign(reported, now);
    return { now, delta };
  };

  const send = () => {
    timer = undefined;
    const { now, delta } = deltas();
    const progress = summed(latest, now, { done, firstSkipped, lastErrors, edge: labels.edge });
    const backlog = progress.backlog;
    sending = sending
      .then(() =>
        Promise.all([
          job.updateProgress(progress),
          addFlowCounters(redis, prefix, labels, delta),
          batchTally.flush(redis, prefix, labels),
          backlog === undefined ? undefined : setBacklog(redis, prefix, labels, backlog),
        ]),
      )
      .then(
        () => undefined,
        () => undefined,
      );
  };

  return {
    onBatch: batchTally.observe,
    listener: (i) => (p) => {
      latest[i] = p;
      if (p.firstSkipped !== undefined && firstSkipped === undefined) {
        firstSkipped = p.firstSkipped;
        log(`${formatSkippedWarning(p.firstSkipped)} (job ${job.id})`);
      }
      if (p.lastError !== undefined && p.lastError !== lastErrors[i]) {
        lastErrors[i] = p.lastError;
        errors += 1;
      }
      timer ??= setTimeout(send, 250);
    },
    async finish(settled) {
      if (settled.some((s) => s.status === 'rejected')) errors += 1;
      if (timer !== undefined) clearTimeout(timer);
      for (const [i, s] of settled.entries()) {
        if (s.status === 'fulfilled') latest[i] = s.value;
        else if (s.reason instanceof FlowFailedError) latest[i] = s.reason.progress;
      }
      send();
      await sending;
    },
    firstSkipped: () => firstSkipped,
  };
}
