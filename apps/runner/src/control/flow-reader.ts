import type { BatchJournal } from '@ferry/core';
import type { Redis } from 'ioredis';
import { type BuiltFlow, buildPlanned, type FlowPlan } from '../jobs/flow-builder.js';
import { digest, identityOf } from '../jobs/flow-identity.js';
import { controlKeys } from './index.js';
import { createRedisJournal, journalPlaceOf } from './journal.js';
import { acquireReaderLease, type ReaderLease } from './reader-lease.js';
import type { SourceLock } from './source-lock.js';

/** One reader of a flow, ready to run: its stable name leased, its flow built with it, its journal. */
export interface FlowReader {
  readonly flow: BuiltFlow;
  readonly journal: BatchJournal;
  readonly lease: ReaderLease;
}

export interface FlowReaderOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** The flow, resolved and checked once: what the reader's name is leased for and its journal note is about. */
  readonly plan: FlowPlan;
  /** Builds the reader's flow from the plan under its leased name (default: `buildPlanned`). */
  readonly build?: (reader: string) => BuiltFlow;
  /** Which of a job's pumps: only for finding a note an older ferry left. */
  readonly instance?: number;
  /** The source lock of a single-reader source, which the journal checks before each batch. */
  readonly fence?: SourceLock;
  readonly leaseTtlMs?: number;
}

/**
 * Leases a stable name for one reader of the flow's source, builds the flow
 * with it (in the option its connector names for it, if any) and opens the
 * reader's journal note, so that a restart of this reader finds the batch its
 * predecessor left in doubt, whatever option or connection name changed.
 */
export async function openFlowReader(options: FlowReaderOptions): Promise<FlowReader> {
  const { redis, prefix, plan } = options;
  const source = digest(identityOf(plan.source, 'source'));
  const lease = await acquireReaderLease(
    redis,
    (slot) => controlKeys(prefix).reader(source, plan.name, slot),
    plan.name,
    options.leaseTtlMs,
  );
  try {
    const flow = options.build === undefined ? buildPlanned(plan, lease.name) : options.build(lease.name);
    const place = journalPlaceOf(prefix, plan, lease.name, options.instance);
    return { flow, journal: createRedisJournal(redis, place, options.fence), lease };
  } catch (error) {
    await lease.release();
    throw error;
  }
}
