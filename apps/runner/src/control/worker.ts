import type { ConnectorRegistry, TlsSettings } from '@ferry/core';
import { describeError, maskError } from '@ferry/core';
import { type Job, Worker } from 'bullmq';
import type { FlowJobData } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';
import { type ControlStore, controlRedisOptions, queueName } from './index.js';
import type { FlowJobResult } from './job-outcome.js';
import { createJobProcessor, type Running } from './job-run.js';

export type { FlowJobResult } from './job-outcome.js';

export interface FlowWorkerOptions {
  /** The control store, for ferry's own keys (cancel marks, locks, metrics). */
  readonly redis: ControlStore;
  readonly url: string;
  /** A rediss:// store's CA and client certificate. */
  readonly tls?: TlsSettings;
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

/** Resolves true when `closed` does within `timeoutMs`, else false. */
async function within(closed: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([closed.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A BullMQ worker of the flow queue: each job run by `createJobProcessor`, stopped cleanly on close. */
export function startFlowWorker(options: FlowWorkerOptions): FlowWorker {
  const log = options.log ?? (() => {});
  const running = new Map<string, Running>();
  let closing = false;
  const processor = createJobProcessor({
    redis: options.redis,
    prefix: options.prefix,
    server: options.server,
    registry: options.registry,
    log,
    cancelPollMs: options.cancelPollMs ?? 300,
    lockRetryMs: options.lockRetryMs ?? 500,
    running,
    closing: () => closing,
  });

  // BullMQ keeps a failed job's message and stack in the control store, where the API and the dashboard read them.
  const masked = (job: Job<FlowJobData>, token?: string) =>
    processor(job, token).catch((error: unknown) => Promise.reject(maskError(error)));
  const worker = new Worker<FlowJobData, FlowJobResult>(queueName, masked, {
    connection: { ...controlRedisOptions(options.url, options.tls), maxRetriesPerRequest: null },
    prefix: options.prefix,
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
      return within(closed, timeoutMs);
    },
  };
}
