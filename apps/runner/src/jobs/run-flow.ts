import { type BatchJournal, type BatchMoved, createPump, type PumpProgress, type PumpResult } from '@ferry/core';
import type { BuiltFlow } from './flow-builder.js';

export interface RunFlowOptions {
  /** Aborting stops the flow cleanly: the batch in hand is finished or released. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PumpProgress) => void;
  /** Told of each batch moved: its records and how long its write took. */
  readonly onBatch?: (batch: BatchMoved) => void;
  /** Where the batch between write and ack is noted; without one the flow runs at-least-once. */
  readonly journal?: BatchJournal;
}

/** Runs a built flow to its end with the settings of its spec; rejects with FlowFailedError when it fails. */
export function runFlow(flow: BuiltFlow, options: RunFlowOptions = {}): Promise<PumpResult> {
  const { spec } = flow;
  return createPump({
    source: flow.source,
    sink: flow.sink,
    deadLetter: flow.deadLetter,
    journal: options.journal,
    maxAttempts: spec.maxAttempts,
    batchSize: spec.batchSize,
    maxBatches: spec.maxBatches,
    stopWhenEmpty: spec.stopWhenEmpty,
    whenFull: spec.whenFull,
    pollIntervalMs: spec.pollIntervalMs,
    retry: spec.retry,
    signal: options.signal,
    onProgress: options.onProgress,
    onBatch: options.onBatch,
    flowName: flow.name,
  }).run();
}
