import type { BatchJournal, ConnectorRegistry, FerryConfig, FlowSpec } from '@ferry/core';
import type { Redis } from 'ioredis';
import type { BuiltFlow } from '../jobs/flow-builder.js';
import { digest, endpointIdentity, withReader } from '../jobs/flow-identity.js';
import { controlKeys } from './index.js';
import { createRedisJournal, journalPlace } from './journal.js';
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
  /** The config the flow is resolved in, and the flow's spec as configured. */
  readonly config: FerryConfig;
  readonly flowName: string;
  readonly spec: FlowSpec;
  /** The connectors, which say what each endpoint reads or writes (the journal note's place). */
  readonly registry: ConnectorRegistry;
  /** Builds the flow from its spec with the reader's name filled in. */
  readonly build: (spec: FlowSpec) => BuiltFlow;
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
  const { redis, prefix, config, flowName, spec, registry } = options;
  const source = digest(endpointIdentity(config, spec.source, 'source', registry));
  const lease = await acquireReaderLease(
    redis,
    (slot) => controlKeys(prefix).reader(source, flowName, slot),
    flowName,
    options.leaseTtlMs,
  );
  try {
    const flow = options.build(withReader(config, spec, lease.name, registry));
    const place = journalPlace(prefix, config, flowName, spec, lease.name, registry, options.instance);
    return { flow, journal: createRedisJournal(redis, place, options.fence), lease };
  } catch (error) {
    await lease.release();
    throw error;
  }
}
