import { hostname } from 'node:os';
import type { ConnectorRegistry } from '@ferry/core';
import {
  describeError,
  FlowFailedError,
  isTransient,
  type PumpProgress,
  type PumpResult,
  type StopReason,
} from '@ferry/core';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { formatSkippedWarning } from '../cli/progress.js';
import type { BuiltFlow } from '../jobs/flow-builder.js';
import { buildJobFlow, type FlowJobData, flowOfJob, isSingleReader, sourceLockName } from '../jobs/job-spec.js';
import { runFlow } from '../jobs/run-flow.js';
import type { ServerConfig } from '../server-config.js';
import { type FlowReader, openFlowReader } from './flow-reader.js';
import { type ControlStore, controlKeys, queueName, redisOptionsFromUrl } from './index.js';
import { addFlowCounters, createBatchTally, type FlowLabels, setBacklog } from './metrics.js';
import { acquireSourceLock } from './source-lock.js';

export interface FlowWorkerOptions {
  /** The control store, for ferry's own keys (cancel marks, locks, metrics). */
  readonly redis: ControlStore;
  readonly url: string;
  readonly prefix: string;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  readonly concurrency?: number;
  /** How often a running job looks for its cancel mark. */
  readonly cancelPollMs?: number;
  /** How long a job waits before trying again for a single-reader source held by another job. */
  readonly lockRetryMs?: number;
  readonly log?: (line: string) => void;
  /** BullMQ's lock on a running job, renewed at half of it (default 30 s). */
  readonly lockDurationMs?: number;
  /** How often stalled jobs (their worker gone or cut off) are looked for (default 30 s). */
  readonly stalledIntervalMs?: number;
}

/** What a flow job returns: the pump's result, summed over its instances and earlier runs. */
export interface FlowJobResult extends Omit<PumpResult, 'waiting' | 'backlog'> {
  readonly edge: string;
  readonly worker: string;
  readonly instances: number;
  /** Stopped by `POST /jobs/:id/cancel` (stopReason `aborted`). */
  readonly cancelled?: boolean;
}

/**
 * Why a job's pumps were stopped: cancelled; the worker shutting down; the
 * source lock lost; or BullMQ's own lock on the job lost (the control store
 * was away longer than the lock lasts: the job is, or soon is, another run's).
 */
type StopCause = 'cancel' | 'shutdown' | 'lock' | 'jobLock';

interface Running {
  readonly controller: AbortController;
  cause?: StopCause;
}

export interface FlowWorker {
  readonly worker: Worker<FlowJobData, FlowJobResult>;
  /** Jobs running in this process. */
  running(): number;
  /**
   * Stops taking jobs, stops the running pumps cleanly (the batch in hand
   * finished or released) and puts their jobs back in the queue for the next
   * worker; resolves false when `timeoutMs` passed first.
   */
  close(timeoutMs?: number): Promise<boolean>;
}

const workerName = `${hostname()}:${process.pid}`;

function sum(
  results: readonly PumpProgress[],
  key: 'records' | 'batches' | 'bytes' | 'deadLettered' | 'skippedFields',
): number {
  return results.reduce((n, r) => n + (r[key] ?? 0), 0);
}

/** `{ skippedFields }` when some records lost keys, else nothing: the field is absent when none did. */
const skippedOf = (count: number) => (count > 0 ? { skippedFields: count } : {});

function combinedStop(results: readonly PumpResult[]): StopReason {
  const reasons = results.map((r) => r.stopReason);
  for (const reason of ['aborted', 'full', 'maxBatches'] as const) if (reasons.includes(reason)) return reason;
  return 'empty';
}

export function startFlowWorker(options: FlowWorkerOptions): FlowWorker {
  const { redis, prefix, server, registry } = options;
  const keys = controlKeys(prefix);
  const log = options.log ?? (() => {});
  const cancelPollMs = options.cancelPollMs ?? 300;
  const lockRetryMs = options.lockRetryMs ?? 500;
  const running = new Map<string, Running>();
  let closing = false;

  const putBack = async (job: Job<FlowJobData>, token: string | undefined, delayMs: number, data?: FlowJobData) => {
    if (data !== undefined) await job.updateData(data);
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  };

  const processor = async (job: Job<FlowJobData>, token?: string): Promise<FlowJobResult> => {
    const data = job.data;
    const id = job.id!;
    const done = data.done ?? { records: 0, batches: 0, bytes: 0, deadLettered: 0 };
    const base = { ...done, elapsedMs: 0, rate: 0, worker: workerName, instances: data.parallelism };
    if ((await redis.exists(keys.cancel(id))) === 1) {
      return { ...base, edge: '', stopReason: 'aborted', cancelled: true };
    }
    if (closing) return putBack(job, token, 0);

    let flows: BuiltFlow[];
    let spec: ReturnType<typeof flowOfJob>['spec'];
    let config: ReturnType<typeof flowOfJob>['config'];
    let single: boolean;
    let lockName: string;
    try {
      const resolved = flowOfJob(server, data);
      spec = resolved.spec;
      config = resolved.config;
      single = isSingleReader(resolved.config, spec, registry);
      lockName = sourceLockName(resolved.config, spec, registry);
      flows = Array.from({ length: data.parallelism }, (_, i) => buildJobFlow(server, data, registry, i));
    } catch (error) {
      // A flow that cannot be built now cannot be built on a retry either.
      throw new UnrecoverableError(describeError(error));
    }
    const labels: FlowLabels = { flow: data.name, edge: flows[0]!.edge.name };

    const lock = single ? await acquireSourceLock(redis, keys.lock(lockName), workerName) : undefined;
    if (single && lock === undefined) {
      // Another job reads this source: wait, without using up an attempt.
      return putBack(job, token, lockRetryMs + Math.random() * lockRetryMs);
    }

    // Each pump a stable reader name of its own, which a restart of it takes back, and its journal note.
    const readers: FlowReader[] = [];
    try {
      for (let i = 0; i < data.parallelism; i++) {
        readers.push(
          await openFlowReader({
            redis,
            prefix,
            config,
            flowName: data.name,
            spec,
            registry,
            build: (s) => buildJobFlow(server, { ...data, flow: s }, registry, i),
            instance: i,
            fence: lock,
          }),
        );
      }
    } catch (error) {
      await Promise.all(readers.map((r) => r.lease.release()));
      await lock?.release();
      throw error;
    }
    flows = readers.map((r) => r.flow);
    const releaseAll = async () => {
      await Promise.all(readers.map((r) => r.lease.release()));
      await lock?.release();
    };

    const controller = new AbortController();
    const entry: Running = { controller };
    running.set(id, entry);
    const stop = (cause: StopCause) => {
      entry.cause ??= cause;
      controller.abort();
    };
    lock?.lost.addEventListener('abort', () => stop('lock'));
    for (const r of readers) r.lease.lost.addEventListener('abort', () => stop('lock'));
    const poll = setInterval(() => {
      redis.exists(keys.cancel(id)).then(
        (n) => n === 1 && stop('cancel'),
        () => {},
      );
    }, cancelPollMs);
    if (closing) stop('shutdown');

    // Progress: the latest of each instance, sent to the job and the counters at most every 250 ms.
    const latest: PumpProgress[] = flows.map(() => ({
      records: 0,
      deadLettered: 0,
      batches: 0,
      bytes: 0,
      elapsedMs: 0,
      rate: 0,
    }));
    const reported = { records: 0, batches: 0, bytes: 0, deadLettered: 0, skippedFields: 0, errors: 0 };
    const batchTally = createBatchTally();
    let warnedSkipped = false;
    let errors = 0;
    const lastErrors: (string | undefined)[] = flows.map(() => undefined);
    let firstSkipped: PumpProgress['firstSkipped'];
    let timer: NodeJS.Timeout | undefined;
    let sending: Promise<void> = Promise.resolve();
    const send = () => {
      timer = undefined;
      const now = {
        records: sum(latest, 'records'),
        batches: sum(latest, 'batches'),
        bytes: sum(latest, 'bytes'),
        deadLettered: sum(latest, 'deadLettered'),
        skippedFields: sum(latest, 'skippedFields'),
        errors,
      };
      const deltas = {
        records: now.records - reported.records,
        batches: now.batches - reported.batches,
        bytes: now.bytes - reported.bytes,
        deadLettered: now.deadLettered - reported.deadLettered,
        skippedFields: now.skippedFields - reported.skippedFields,
        errors: now.errors - reported.errors,
      };
      Object.assign(reported, now);
      const elapsedMs = Math.max(...latest.map((p) => p.elapsedMs));
      const backlogs = latest.map((p) => p.backlog).filter((b): b is number => b !== undefined);
      const lastError = lastErrors.filter((e) => e !== undefined).at(-1);
      // What the job waits for, when every instance waits for it: records (follow mode) or room at the sink.
      const waiting = latest.every((p) => p.waiting === latest[0]?.waiting) ? latest[0]?.waiting : undefined;
      const progress = {
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
        edge: labels.edge,
      };
      sending = sending
        .then(() =>
          Promise.all([
            job.updateProgress(progress),
            addFlowCounters(redis, prefix, labels, deltas),
            batchTally.flush(redis, prefix, labels),
            backlogs.length > 0 ? setBacklog(redis, prefix, labels, Math.max(...backlogs)) : undefined,
          ]),
        )
        .then(
          () => undefined,
          () => undefined,
        );
    };
    const onProgress = (i: number) => (p: PumpProgress) => {
      latest[i] = p;
      if (p.firstSkipped !== undefined && !warnedSkipped) {
        warnedSkipped = true;
        firstSkipped = p.firstSkipped;
        log(`${formatSkippedWarning(p.firstSkipped)} (job ${id})`);
      }
      if (p.lastError !== undefined && p.lastError !== lastErrors[i]) {
        lastErrors[i] = p.lastError;
        errors += 1;
      }
      timer ??= setTimeout(send, 250);
    };

    log(
      `ferry: job ${id} (${data.name}, ${labels.edge}) started${data.parallelism > 1 ? ` with ${data.parallelism} instances` : ''}`,
    );
    let settled: PromiseSettledResult<PumpResult>[];
    try {
      settled = await Promise.allSettled(
        flows.map((flow, i) =>
          runFlow(flow, {
            signal: controller.signal,
            onProgress: onProgress(i),
            onBatch: batchTally.observe,
            journal: readers[i]!.journal,
          }),
        ),
      );
    } catch (error) {
      clearInterval(poll);
      running.delete(id);
      await releaseAll();
      throw error;
    }
    clearInterval(poll);
    running.delete(id);
    // The source lock is released only once the job's state is saved: a run
    // that waits for it then starts from what this one moved.
    try {
      return await finish();
    } finally {
      await releaseAll();
    }

    async function finish(): Promise<FlowJobResult> {
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure !== undefined) errors += 1;
      if (timer !== undefined) clearTimeout(timer);
      for (const [i, s] of settled.entries()) {
        if (s.status === 'fulfilled') latest[i] = s.value;
        else if (s.reason instanceof FlowFailedError) latest[i] = s.reason.progress;
      }
      send();
      await sending;

      if (failure !== undefined) {
        const error = failure.reason as unknown;
        const message = describeError(error);
        const transient = error instanceof FlowFailedError ? isTransient(error.cause) : isTransient(error);
        log(`ferry: job ${id} (${data.name}) failed${transient ? ' (transient, will retry)' : ''}: ${message}`);
        throw transient ? new Error(message, { cause: error }) : new UnrecoverableError(message);
      }
      const results = settled.map((s) => (s as PromiseFulfilledResult<PumpResult>).value);
      const moved = {
        records: done.records + sum(results, 'records'),
        batches: done.batches + sum(results, 'batches'),
        bytes: done.bytes + sum(results, 'bytes'),
        deadLettered: done.deadLettered + sum(results, 'deadLettered'),
        ...skippedOf((done.skippedFields ?? 0) + sum(results, 'skippedFields')),
      };
      const stopReason = combinedStop(results);
      const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));

      if (stopReason === 'aborted' && entry.cause === 'jobLock') {
        // BullMQ's lock is gone: the job is no longer this worker's to move. Save what moved, for the run that takes it over.
        const batchesLeft =
          spec.maxBatches === undefined ? undefined : spec.maxBatches - (moved.batches - done.batches);
        const flow = batchesLeft === undefined ? data.flow : { ...spec, maxBatches: batchesLeft };
        await job.updateData({ ...data, ...(flow === undefined ? {} : { flow }), done: moved }).catch(() => undefined);
        log(
          `ferry: job ${id} (${data.name}) stopped after ${moved.records} records: its lock was lost; another run takes it over`,
        );
        throw new Error(`[ferry] the job's lock was lost (the control store was away too long); it runs again`);
      }
      if (stopReason === 'aborted' && (entry.cause === 'shutdown' || entry.cause === 'lock')) {
        // Not finished: back to the queue with what it moved so far, for this or another worker.
        const batchesLeft =
          spec.maxBatches === undefined ? undefined : spec.maxBatches - (moved.batches - done.batches);
        if (batchesLeft === undefined || batchesLeft > 0) {
          log(`ferry: job ${id} (${data.name}) put back in the queue after ${moved.records} records (${entry.cause})`);
          const flow = batchesLeft === undefined ? data.flow : { ...spec, maxBatches: batchesLeft };
          return putBack(job, token, entry.cause === 'lock' ? lockRetryMs : 0, {
            ...data,
            ...(flow === undefined ? {} : { flow }),
            done: moved,
          });
        }
      }
      const result: FlowJobResult = {
        ...moved,
        elapsedMs,
        rate: elapsedMs > 0 ? (sum(results, 'records') * 1000) / elapsedMs : 0,
        stopReason: stopReason === 'aborted' && entry.cause !== 'cancel' ? 'maxBatches' : stopReason,
        edge: labels.edge,
        worker: workerName,
        instances: flows.length,
        ...(results[0]?.direct === undefined ? {} : { direct: results[0].direct }),
        ...(firstSkipped === undefined ? {} : { firstSkipped }),
        ...(entry.cause === 'cancel' ? { cancelled: true } : {}),
      };
      log(
        `ferry: job ${id} (${data.name}) ${entry.cause === 'cancel' ? 'cancelled' : 'completed'}: ${result.records} records, stopped: ${result.stopReason}`,
      );
      return result;
    }
  };

  const worker = new Worker<FlowJobData, FlowJobResult>(queueName, processor, {
    connection: { ...redisOptionsFromUrl(options.url), maxRetriesPerRequest: null },
    prefix,
    concurrency: options.concurrency ?? 1,
    autorun: true,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    // A job stalls when its worker dies or is cut off from the control store
    // longer than its lock lasts; its batches are journalled and its source
    // locked, so running it again is safe: allow a few before calling it failed.
    maxStalledCount: 3,
  });
  worker.on('error', (error) => log(`ferry: worker: ${describeError(error)}`));
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const jobId of ids) {
      const entry = running.get(jobId);
      if (entry === undefined) continue;
      log(`ferry: job ${jobId}: its lock could not be renewed; stopping after the batch in hand`);
      entry.cause ??= 'jobLock';
      entry.controller.abort();
    }
  });
  return {
    worker,
    running: () => running.size,
    async close(timeoutMs = 20_000) {
      closing = true;
      const closed = worker.close();
      for (const entry of running.values()) {
        entry.cause ??= 'shutdown';
        entry.controller.abort();
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([closed.then(() => true as const), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
