import type { PumpProgress, StopReason } from '@ferry/core';
import { createProgressReporter, describeStop, formatCount } from '../cli/progress.js';
import type { JobView } from '../control/jobs.js';

export interface WatchIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface WatchOptions {
  /** How often the job is read (default 500 ms). */
  readonly pollMs?: number;
  /** Print the final job as JSON instead of the final line. */
  readonly json?: boolean;
  /** Aborting stops watching; the job goes on. */
  readonly signal?: AbortSignal;
}

/** What `ferry jobs --watch` exits with: as `ferry run` of the same flow would. */
export const watchExitCodes = { completed: 0, failed: 1, cancelled: 130, stoppedWatching: 130 } as const;

const finalStates = new Set(['completed', 'failed', 'cancelled']);

function numberOf(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** A job's progress in the pump's shape, for the progress line `ferry run` draws. */
export function progressOfJob(job: JobView): PumpProgress {
  const p = (job.result ?? job.progress ?? {}) as Record<string, unknown>;
  const waiting = p.waiting === 'empty' || p.waiting === 'full' ? p.waiting : undefined;
  return {
    records: numberOf(p.records),
    deadLettered: numberOf(p.deadLettered),
    batches: numberOf(p.batches),
    bytes: numberOf(p.bytes),
    elapsedMs: numberOf(p.elapsedMs),
    rate: numberOf(p.rate),
    ...(typeof p.backlog === 'number' ? { backlog: p.backlog } : {}),
    ...(waiting === undefined ? {} : { waiting }),
    ...(typeof p.lastError === 'string' ? { lastError: p.lastError } : {}),
    ...(typeof p.skippedFields === 'number' ? { skippedFields: p.skippedFields } : {}),
    ...(isSkipped(p.firstSkipped) ? { firstSkipped: p.firstSkipped } : {}),
  };
}

function isSkipped(value: unknown): value is NonNullable<PumpProgress['firstSkipped']> {
  const first = value as { id?: unknown; keys?: unknown } | undefined;
  return typeof first?.id === 'string' && Array.isArray(first.keys) && first.keys.every((k) => typeof k === 'string');
}

/** The final line: `job <id> (copy, S2S) completed: moved 5000 records in 1.20 s (4,167 records/s); stopped: source empty`. */
export function formatJobEnd(job: JobView): string {
  const result = (job.result ?? {}) as Record<string, unknown>;
  const edge = typeof result.edge === 'string' && result.edge !== '' ? `, ${result.edge}` : '';
  const head = `job ${job.id} (${job.name}${edge}) ${job.state}`;
  if (job.state === 'failed') return `${head}: ${job.error ?? 'no reason given'}`;
  const p = progressOfJob(job);
  if (job.result === undefined) return `${head} before it started`;
  const stop = typeof result.stopReason === 'string' ? describeStop(result.stopReason as StopReason) : undefined;
  return (
    `${head}: moved ${p.records} records in ${(p.elapsedMs / 1000).toFixed(2)} s (${formatCount(p.rate)} records/s)` +
    (p.deadLettered > 0 ? `; dead-lettered ${p.deadLettered}` : '') +
    (p.skippedFields !== undefined ? `; ${p.skippedFields} lost keys the sink has no place for` : '') +
    (stop === undefined ? '' : `; stopped: ${stop}`)
  );
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Follows one job until it ends: on a terminal a progress line redrawn in
 * place (bar, rate, ETA when the source tells its backlog), in logs and pipes
 * its state changes and a plain line now and then. The last line (stdout)
 * says how it ended. Resolves to the exit code.
 */
export async function watchJob(
  read: (id: string) => Promise<JobView | undefined>,
  id: string,
  io: WatchIo,
  options: WatchOptions = {},
): Promise<number> {
  const pollMs = options.pollMs ?? 500;
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const reporter = createProgressReporter({ stream: io.stderr as NodeJS.WriteStream, tty });
  let state: string | undefined;
  let job: JobView | undefined;
  try {
    for (;;) {
      job = await read(id);
      if (job === undefined) {
        io.stderr.write(`error: no job ${JSON.stringify(id)}\n`);
        return watchExitCodes.failed;
      }
      if (finalStates.has(job.state)) break;
      if (job.state !== state) {
        reporter.finish();
        const edge = (job.progress as { edge?: unknown } | undefined)?.edge;
        io.stderr.write(
          `ferry: job ${id} (${job.name}${typeof edge === 'string' ? `, ${edge}` : ''}) ${job.state}${job.state === 'waiting' ? ': queued, or waiting for its source' : ''}\n`,
        );
        state = job.state;
      }
      if (job.state === 'active') reporter.update(progressOfJob(job));
      if (options.signal?.aborted === true) {
        reporter.finish();
        io.stderr.write(`ferry: stopped watching; job ${id} goes on (ferry cancel ${id} stops it)\n`);
        return watchExitCodes.stoppedWatching;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    reporter.finish();
  }
  io.stdout.write(options.json === true ? `${JSON.stringify(job)}\n` : `${formatJobEnd(job)}\n`);
  return watchExitCodes[job.state as 'completed' | 'failed' | 'cancelled'];
}
