import {
  describeError,
  FlowFailedError,
  type FlowSpec,
  isTransient,
  type PumpProgress,
  type PumpResult,
  type StopReason,
} from '@ferry/core';
import { UnrecoverableError } from 'bullmq';
import type { FlowJobData } from '../jobs/job-spec.js';
import { type Moved, skippedOf, sum } from './job-progress.js';

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
export type StopCause = 'cancel' | 'shutdown' | 'lock' | 'jobLock';

/**
 * How a job's run ended: its result; back to the queue with what it moved
 * (`data`, after `delayMs`); or an error for BullMQ (an `UnrecoverableError`
 * fails the job, any other is tried again), with the data to save first for
 * the run that takes the job over.
 */
export type JobOutcome =
  | { readonly kind: 'result'; readonly result: FlowJobResult }
  | { readonly kind: 'putBack'; readonly data: FlowJobData; readonly delayMs: number }
  | { readonly kind: 'fail'; readonly error: Error; readonly save?: FlowJobData };

export interface RunEnd {
  readonly id: string;
  readonly data: FlowJobData;
  /** The spec the job ran, for the batches a `maxBatches` has left. */
  readonly spec: FlowSpec;
  readonly done: Moved;
  readonly edge: string;
  readonly worker: string;
  readonly cause: StopCause | undefined;
  readonly firstSkipped: PumpProgress['firstSkipped'];
  readonly lockRetryMs: number;
  readonly log: (line: string) => void;
}

function combinedStop(results: readonly PumpResult[]): StopReason {
  const reasons = results.map((r) => r.stopReason);
  for (const reason of ['aborted', 'full', 'maxBatches'] as const) if (reasons.includes(reason)) return reason;
  return 'empty';
}

/** A failed pump fails the job: retried when its cause is transient (the connection kept failing), else not. */
function failed(end: RunEnd, error: unknown): JobOutcome {
  const message = describeError(error);
  const transient = error instanceof FlowFailedError ? isTransient(error.cause) : isTransient(error);
  end.log(`ferry: job ${end.id} (${end.data.name}) failed${transient ? ' (transient, will retry)' : ''}: ${message}`);
  return { kind: 'fail', error: transient ? new Error(message, { cause: error }) : new UnrecoverableError(message) };
}

/** The job's data for its next run: what it moved so far, and the batches a `maxBatches` has left. */
function resumeData(end: RunEnd, moved: Moved, batchesLeft: number | undefined): FlowJobData {
  const flow = batchesLeft === undefined ? end.data.flow : { ...end.spec, maxBatches: batchesLeft };
  return { ...end.data, ...(flow === undefined ? {} : { flow }), done: moved };
}

/** What the job's pumps settled to, and why they stopped, as the job's outcome. */
export function jobOutcome(end: RunEnd, settled: readonly PromiseSettledResult<PumpResult>[]): JobOutcome {
  const { id, data, done, cause, log } = end;
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) return failed(end, failure.reason);
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
  const batchesLeft =
    end.spec.maxBatches === undefined ? undefined : end.spec.maxBatches - (moved.batches - done.batches);

  if (stopReason === 'aborted' && cause === 'jobLock') {
    // BullMQ's lock is gone: the job is no longer this worker's to move. What moved is saved, for the run that takes it over.
    log(
      `ferry: job ${id} (${data.name}) stopped after ${moved.records} records: its lock was lost; another run takes it over`,
    );
    const error = new Error(`[ferry] the job's lock was lost (the control store was away too long); it runs again`);
    return { kind: 'fail', error, save: resumeData(end, moved, batchesLeft) };
  }
  if (
    stopReason === 'aborted' &&
    (cause === 'shutdown' || cause === 'lock') &&
    (batchesLeft === undefined || batchesLeft > 0)
  ) {
    // Not finished: back to the queue with what it moved so far, for this or another worker.
    log(`ferry: job ${id} (${data.name}) put back in the queue after ${moved.records} records (${cause})`);
    return {
      kind: 'putBack',
      data: resumeData(end, moved, batchesLeft),
      delayMs: cause === 'lock' ? end.lockRetryMs : 0,
    };
  }
  const result: FlowJobResult = {
    ...moved,
    elapsedMs,
    rate: elapsedMs > 0 ? (sum(results, 'records') * 1000) / elapsedMs : 0,
    stopReason: stopReason === 'aborted' && cause !== 'cancel' ? 'maxBatches' : stopReason,
    edge: end.edge,
    worker: end.worker,
    instances: results.length,
    ...(results[0]?.direct === undefined ? {} : { direct: results[0].direct }),
    ...(end.firstSkipped === undefined ? {} : { firstSkipped: end.firstSkipped }),
    ...(cause === 'cancel' ? { cancelled: true } : {}),
  };
  log(
    `ferry: job ${id} (${data.name}) ${cause === 'cancel' ? 'cancelled' : 'completed'}: ${result.records} records, stopped: ${result.stopReason}`,
  );
  return { kind: 'result', result };
}
