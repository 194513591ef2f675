import { hostname } from 'node:os';
import { type ConnectorRegistry, describeError } from '@ferry/core';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { type JobPlan, planJob } from '../jobs/job-plan.js';
import type { FlowJobData } from '../jobs/job-spec.js';
import { runFlow } from '../jobs/run-flow.js';
import type { ServerConfig } from '../server-config.js';
import { type FlowReader, openFlowReader } from './flow-reader.js';
import { type ControlStore, controlKeys } from './index.js';
import { type FlowJobResult, type JobOutcome, jobOutcome, type StopCause } from './job-outcome.js';
import { nothingMoved, trackJobProgress } from './job-progress.js';
import { acquireSourceLock, type SourceLock } from './source-lock.js';

/** This process, as jobs and locks name their holder. */
export const workerName = `${hostname()}:${process.pid}`;

/** A job running in this process: how to stop its pumps, and why they were. */
export interface Running {
  readonly controller: AbortController;
  cause?: StopCause;
}

export interface JobRunContext {
  /** The control store, for ferry's own keys (cancel marks, locks, metrics). */
  readonly redis: ControlStore;
  readonly prefix: string;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  readonly log: (line: string) => void;
  /** How often a running job looks for its cancel mark. */
  readonly cancelPollMs: number;
  /** How long a job waits before trying again for a single-reader source held by another job. */
  readonly lockRetryMs: number;
  /** The jobs running in this process, by id. */
  readonly running: Map<string, Running>;
  /** True once the worker closes: a job it takes then goes back to the queue. */
  closing(): boolean;
}

/** Back to the queue after `delayMs` (with `data`, when given), by the DelayedError BullMQ expects. */
async function putBack(
  job: Job<FlowJobData>,
  token: string | undefined,
  delayMs: number,
  data?: FlowJobData,
): Promise<never> {
  if (data !== undefined) await job.updateData(data);
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

/** Each pump a stable reader name of its own, which a restart of it takes back, and its journal note. */
async function openReaders(ctx: JobRunContext, plan: JobPlan, instances: number, lock: SourceLock | undefined) {
  const readers: FlowReader[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const { redis, prefix } = ctx;
      readers.push(
        await openFlowReader({ redis, prefix, plan: plan.flow, build: plan.instance, instance: i, fence: lock }),
      );
    }
  } catch (error) {
    await Promise.all(readers.map((r) => r.lease.release()));
    await lock?.release();
    throw error;
  }
  return readers;
}

/** Stops the pumps when the job is cancelled (its mark polled), the worker closes, or a lock is lost. */
function watchStops(ctx: JobRunContext, id: string, locks: readonly { lost: AbortSignal }[]) {
  const controller = new AbortController();
  const entry: Running = { controller };
  ctx.running.set(id, entry);
  const stop = (cause: StopCause) => {
    entry.cause ??= cause;
    controller.abort();
  };
  for (const lock of locks) lock.lost.addEventListener('abort', () => stop('lock'));
  const poll = setInterval(() => {
    ctx.redis.exists(controlKeys(ctx.prefix).cancel(id)).then(
      (n) => n === 1 && stop('cancel'),
      () => {},
    );
  }, ctx.cancelPollMs);
  if (ctx.closing()) stop('shutdown');
  const unwatch = () => {
    clearInterval(poll);
    ctx.running.delete(id);
  };
  return { signal: controller.signal, cause: () => entry.cause, unwatch };
}

/** The outcome as BullMQ takes it: the result returned, the job put back, or an error thrown. */
async function settle(job: Job<FlowJobData>, token: string | undefined, outcome: JobOutcome): Promise<FlowJobResult> {
  if (outcome.kind === 'result') return outcome.result;
  if (outcome.kind === 'putBack') return putBack(job, token, outcome.delayMs, outcome.data);
  if (outcome.save !== undefined) await job.updateData(outcome.save).catch(() => undefined);
  throw outcome.error;
}

/**
 * BullMQ's processor of flow jobs: plans the job's flow once, takes the
 * source lock of a single-reader source, runs a pump per reader and saves
 * what they moved; a job that cannot run now goes back to the queue.
 */
export function createJobProcessor(ctx: JobRunContext) {
  const { redis, prefix, log } = ctx;
  const keys = controlKeys(prefix);
  return async (job: Job<FlowJobData>, token?: string): Promise<FlowJobResult> => {
    const data = job.data;
    const id = job.id!;
    const done = data.done ?? nothingMoved;
    if ((await redis.exists(keys.cancel(id))) === 1) {
      const base = { ...done, elapsedMs: 0, rate: 0, worker: workerName, instances: data.parallelism };
      return { ...base, edge: '', stopReason: 'aborted', cancelled: true };
    }
    if (ctx.closing()) return putBack(job, token, 0);

    let plan: JobPlan;
    try {
      plan = planJob(ctx.server, data, ctx.registry);
    } catch (error) {
      // A flow that cannot be built now cannot be built on a retry either.
      throw new UnrecoverableError(describeError(error));
    }
    const labels = { flow: data.name, edge: plan.flow.edge.name };
    const lock = plan.singleReader ? await acquireSourceLock(redis, keys.lock(plan.lockName), workerName) : undefined;
    // Another job reads this source: wait, without using up an attempt.
    if (plan.singleReader && lock === undefined) return putBack(job, token, ctx.lockRetryMs * (1 + Math.random()));
    const readers = await openReaders(ctx, plan, data.parallelism, lock);
    const releaseAll = async () => {
      await Promise.all(readers.map((r) => r.lease.release()));
      await lock?.release();
    };

    const watch = watchStops(ctx, id, [...(lock === undefined ? [] : [lock]), ...readers.map((r) => r.lease)]);
    const progress = trackJobProgress({ job, redis, prefix, labels, done, instances: readers.length, log });
    log(
      `ferry: job ${id} (${data.name}, ${labels.edge}) started${data.parallelism > 1 ? ` with ${data.parallelism} instances` : ''}`,
    );
    // The source lock is released only once the job's state is saved: a run
    // that waits for it then starts from what this one moved.
    try {
      const settled = await Promise.allSettled(
        readers.map((r, i) =>
          runFlow(r.flow, {
            signal: watch.signal,
            onProgress: progress.listener(i),
            onBatch: progress.onBatch,
            journal: r.journal,
          }),
        ),
      ).finally(watch.unwatch);
      await progress.finish(settled);
      const end = { id, data, spec: plan.flow.spec, done, edge: labels.edge, worker: workerName, cause: watch.cause() };
      const more = { firstSkipped: progress.firstSkipped(), lockRetryMs: ctx.lockRetryMs, log };
      return await settle(job, token, jobOutcome({ ...end, ...more }, settled));
    } finally {
      await releaseAll();
    }
  };
}
