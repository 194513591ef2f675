import { directStep } from './direct-move.js';
import { recallInDoubt } from './journal-steps.js';
import { type PumpOptions, settingsOf } from './pump-options.js';
import { type PumpResult, progressOf, refreshBacklog, report } from './pump-progress.js';
import { createPumpState, type PumpState } from './pump-state.js';
import { dropAhead } from './read-ahead.js';
import { retrying } from './retrying.js';
import { Stop, type StopReason, stopOrFail } from './stop-rules.js';
import { usualStep } from './usual-step.js';

export interface Pump {
  /** Opens the source and sink, moves batches until a stop condition, closes both. */
  run(): Promise<PumpResult>;
}

/**
 * The pump drives one source and one sink with the original worker's loop:
 * check the sink's room, read at most that much, write, and only then ack.
 * Everything the connectors should not each re-implement lives here: backpressure,
 * retries of transient errors, clean stops and progress.
 */
export function createPump(options: PumpOptions): Pump {
  const state = createPumpState(settingsOf(options));
  return { run: () => run(state) };
}

async function run(state: PumpState): Promise<PumpResult> {
  const { source, sink } = state.settings;
  state.startedAt = performance.now();
  let stopReason: StopReason;
  try {
    await open(state);
    await recallInDoubt(state);
    await refreshBacklog(state);
    state.direct = source.directTo?.(sink);
    report(state);
    let lastBacklogAt = Date.now();
    for (;;) {
      await nextBatch(state);
      // The backlog is for display: ask for it now and then, not every batch.
      if (Date.now() - lastBacklogAt >= 1000) {
        lastBacklogAt = Date.now();
        await refreshBacklog(state);
      }
    }
  } catch (thrown) {
    await dropAhead(state);
    if (!(thrown instanceof Stop)) {
      await closeAll(state);
      throw thrown;
    }
    stopReason = thrown.reason;
  }
  await closeAll(state);
  if (stopReason === 'empty') state.backlog = 0;
  const result: PumpResult = { ...progressOf(state), stopReason };
  state.settings.onProgress?.(result);
  return result;
}

/** One batch: the direct way when the source has one to the sink, else the usual way. */
async function nextBatch(state: PumpState): Promise<void> {
  const { direct, inDoubt } = state;
  if (direct === undefined) await usualStep(state);
  else if (inDoubt.size === 0) await directStep(state, direct);
  else {
    // A batch an earlier run left in doubt goes the usual way first, so
    // that the sink is asked about it; a direct move would not ask.
    const before = inDoubt.size;
    await usualStep(state);
    // The source reads oldest first: a batch with none of them means they are not coming back.
    if (inDoubt.size === before) inDoubt.clear();
  }
}

async function open(state: PumpState): Promise<void> {
  const { source, sink, deadLetter } = state.settings;
  try {
    await retrying(state, 'opening the source', () => source.open(), true);
    await retrying(state, 'opening the sink', () => sink.open(), true);
    if (deadLetter !== undefined) await retrying(state, 'opening the dead-letter sink', () => deadLetter.open(), true);
  } catch (error) {
    throw stopOrFail(state, error, 'connecting');
  }
}

async function closeAll(state: PumpState): Promise<void> {
  const { source, sink, deadLetter } = state.settings;
  await Promise.allSettled([source.close(), sink.close(), deadLetter?.close()]);
}
