import { createPump, type Sink, type Source } from '@ferry/core';
import { collectGarbage, measuringPeak } from './peak-rss.js';

export interface BenchContext {
  readonly redisUrl: string;
  readonly records: number;
  readonly batchSize: number;
  /** Which round this is: names of streams, queues and tables differ per round. */
  readonly round: number;
}

export interface Timed {
  readonly records: number;
  readonly seconds: number;
}

export interface PreparedCase {
  /** Seeds the source, then moves everything through the pump; only the move is timed. */
  pump(): Promise<Timed>;
  /** Seeds the source, then moves everything through the hand-written driver loop. */
  loop(): Promise<Timed>;
  /**
   * When the flow runs in a process of the case's own (a `ferry serve`
   * worker), that process's peak RSS in KiB, read before `close`; otherwise
   * the edge's process is the one that moved the records.
   */
  workerPeakRssKb?(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** One edge measured two ways with the same driver calls and batch size. */
export interface BenchCase {
  readonly edge: string;
  /** The connection kinds of the systems it talks to: the bench starts a MongoDB for a case with `mongo`. */
  readonly kinds: readonly string[];
  readonly defaultRecords: number;
  /** Why the case cannot run (a system without a bench end): listed as skipped, not failed. */
  readonly skipped?: string;
  prepare(ctx: BenchContext): Promise<PreparedCase>;
}

/** Moves everything from the source to the sink through the pump; only the move is timed. */
export function timedPump(source: Source, sink: Sink, batchSize: number): Promise<Timed> {
  return measuringPeak(async () => {
    const started = performance.now();
    const result = await createPump({ source, sink, batchSize }).run();
    return { records: result.records, seconds: (performance.now() - started) / 1000 };
  });
}

/**
 * Times a hand loop as `timedPump` times the pump: from a collected heap, the
 * collection itself untimed, so that neither side pays for the seeding's garbage.
 */
export async function timedLoop(loop: () => Promise<number>): Promise<Timed> {
  collectGarbage();
  const started = performance.now();
  const records = await loop();
  return { records, seconds: (performance.now() - started) / 1000 };
}

/** A benchmark that lost or doubled records measured nothing: refuse it. */
export function checkMoved(edge: string, expected: number, moved: number, left: number, arrived: number): void {
  if (moved !== expected || left !== 0 || arrived !== expected) {
    throw new Error(
      `${edge} bench moved ${moved} of ${expected}: ${left} left at the source, ${arrived} at the target`,
    );
  }
}
