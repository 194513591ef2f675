import type { Sink, Source } from '../contracts.js';
import { FerryError } from '../errors.js';
import type { BatchJournal } from '../journal.js';
import { defaultRetryPolicy, type RetryPolicy } from '../retry.js';
import type { BatchMoved, PumpProgress } from './pump-progress.js';

export interface PumpOptions {
  readonly source: Source;
  readonly sink: Sink;
  /**
   * Where the records a source rejects (not decodable, delivered too often) go,
   * with the reason and their original bytes. Without one, a rejected record
   * stops the flow and nothing of its batch is acked.
   */
  readonly deadLetter?: Sink;
  /**
   * Notes each batch between its write and its ack, so that a batch a crash
   * left in doubt is not written twice where the sink can tell. Without one,
   * such a batch may be written twice (at-least-once).
   */
  readonly journal?: BatchJournal;
  /**
   * How many times a batch may be written without an ack (the worker killed,
   * the write failing for good) before its records are read one at a time,
   * and how many times one record may, before it is dead-lettered. Needs the
   * journal, which counts; sources that count deliveries themselves (a Redis
   * group, a RabbitMQ queue) stop a poison record earlier. Default 5.
   */
  readonly maxAttempts?: number;
  /** Records per batch; each batch is also capped by the sink's free room. */
  readonly batchSize: number;
  /** Stop after this many batches (the original `max_exec_cnt`); undefined: no limit. */
  readonly maxBatches?: number;
  /** false is follow mode: an empty source is waited on, not a reason to stop. */
  readonly stopWhenEmpty?: boolean;
  /** A full sink is polled until it has room (`wait`), or ends the flow (`stop`). */
  readonly whenFull?: 'wait' | 'stop';
  /** How often a full sink is polled, and how long a follow-mode read waits. */
  readonly pollIntervalMs?: number;
  readonly retry?: RetryPolicy;
  /** Stops the flow cleanly: the batch in hand is written and acked, or released. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PumpProgress) => void;
  /** Told of each batch moved, before the progress that counts it: for histograms of batch sizes and write times. */
  readonly onBatch?: (batch: BatchMoved) => void;
  /** Names the flow in errors. */
  readonly flowName?: string;
}

/** The options checked, with their defaults, frozen: what every step reads. */
export interface PumpSettings {
  readonly source: Source;
  readonly sink: Sink;
  readonly deadLetter?: Sink;
  readonly journal?: BatchJournal;
  readonly maxAttempts: number;
  readonly batchSize: number;
  readonly maxBatches?: number;
  readonly stopWhenEmpty: boolean;
  readonly whenFull: 'wait' | 'stop';
  readonly pollIntervalMs: number;
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PumpProgress) => void;
  readonly onBatch?: (batch: BatchMoved) => void;
  readonly flowName?: string;
  /** The flow as errors name it: `flow "name"`, or `flow`. */
  readonly label: string;
}

/** Checked at construction, so that a bad batch size fails before anything is opened. */
export function settingsOf(options: PumpOptions): PumpSettings {
  const { source, sink, deadLetter, journal, batchSize, maxBatches, signal, onProgress, onBatch, flowName } = options;
  const label = flowName === undefined ? 'flow' : `flow "${flowName}"`;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new FerryError(`[ferry] ${label}: batchSize must be a positive integer, got ${batchSize}`);
  }
  return Object.freeze({
    source,
    sink,
    deadLetter,
    journal,
    maxAttempts: options.maxAttempts ?? 5,
    batchSize,
    maxBatches,
    stopWhenEmpty: options.stopWhenEmpty ?? true,
    whenFull: options.whenFull ?? 'wait',
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    policy: options.retry ?? defaultRetryPolicy,
    signal,
    onProgress,
    onBatch,
    flowName,
    label,
  });
}
