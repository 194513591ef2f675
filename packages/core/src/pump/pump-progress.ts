import type { SkippedFields } from '../contracts.js';
import { describeError, FerryError, type FerryErrorOptions } from '../errors.js';
import type { PumpState } from './pump-state.js';
import type { StopReason } from './stop-rules.js';

export interface PumpProgress {
  readonly records: number;
  /** Records sent to the dead-letter sink. */
  readonly deadLettered: number;
  /** Records written without some of their keys (a sink told to skip keys it has no place for); absent when none. */
  readonly skippedFields?: number;
  /** The first such record of the run, to name in a warning. */
  readonly firstSkipped?: SkippedFields['first'];
  readonly batches: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  /** Records per second since the flow started. */
  readonly rate: number;
  /** Records still waiting at the source, when the source can tell. */
  readonly backlog?: number;
  /** Set while the pump waits: for room at the sink, or for records at the source. */
  readonly waiting?: 'full' | 'empty';
  readonly lastError?: string;
  /** Set when batches move straight from source to sink on their server (see `Source.directTo`). */
  readonly direct?: string;
}

/** One batch moved, as `onBatch` is told of it. */
export interface BatchMoved {
  /** Records written to the sink (those it refused are not), as `records` of the progress grew by. */
  readonly records: number;
  /** How long the sink's write took, its retries included: a direct move's whole step. */
  readonly writeMs: number;
}

export interface PumpResult extends PumpProgress {
  readonly stopReason: StopReason;
}

/** The flow stopped on an error it could not retry; `progress` tells how far it got. */
export class FlowFailedError extends FerryError {
  override readonly name = 'FlowFailedError';
  readonly progress: PumpProgress;

  constructor(message: string, progress: PumpProgress, options: FerryErrorOptions = {}) {
    super(message, options);
    this.progress = progress;
  }
}

export function progressOf(state: PumpState, waiting?: 'full' | 'empty'): PumpProgress {
  const { records, skippedFields, backlog, lastError, direct } = state;
  const elapsedMs = state.startedAt === 0 ? 0 : performance.now() - state.startedAt;
  return {
    records,
    deadLettered: state.deadLettered,
    ...(skippedFields === 0 ? {} : { skippedFields, firstSkipped: state.firstSkipped }),
    batches: state.batches,
    bytes: state.bytes,
    elapsedMs,
    rate: elapsedMs > 0 ? (records * 1000) / elapsedMs : 0,
    ...(backlog === undefined ? {} : { backlog: Math.max(0, backlog - (records - state.recordsAtBacklog)) }),
    ...(waiting === undefined ? {} : { waiting }),
    ...(lastError === undefined ? {} : { lastError }),
    ...(direct === undefined ? {} : { direct: direct.name }),
  };
}

/** After a batch moved (and was counted): tells `onBatch` of it, then the progress listener. */
export function reportBatch(state: PumpState, batch: BatchMoved): void {
  state.settings.onBatch?.(batch);
  report(state);
}

/** Tells the flow's listener, if it has one, how far the flow got and what it waits for. */
export function report(state: PumpState, waiting?: 'full' | 'empty'): void {
  state.settings.onProgress?.(progressOf(state, waiting));
}

/** The error that ends the flow, naming what it was doing and how far it got. */
export function failure(state: PumpState, error: unknown, doing: string): FlowFailedError {
  return new FlowFailedError(
    `[ferry] ${state.settings.label} failed while ${doing} after ${state.batches} batches (${state.records} records): ${describeError(error)}`,
    progressOf(state),
    { cause: error },
  );
}

/** Asks the source how many records wait there; for display only, so a failure just hides it. */
export async function refreshBacklog(state: PumpState): Promise<void> {
  const { source } = state.settings;
  if (source.backlog === undefined) return;
  try {
    state.backlog = await source.backlog();
    state.recordsAtBacklog = state.records;
  } catch {
    state.backlog = undefined;
  }
}
