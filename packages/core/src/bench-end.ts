import type { Sink, Source } from './contracts.js';
import type { FerryRecord } from './record.js';

/** One round of one edge in the bench: how many records, in what batches, and which round it is (names differ per round). */
export interface BenchEndContext {
  readonly records: number;
  readonly batchSize: number;
  readonly round: number;
}

/** What a hand-written loop carries from its source to its sink: the source's id and the value. */
export type HandRecord = Pick<FerryRecord, 'id' | 'value'>;

/** Writes one batch with the sink system's driver calls; the batch is durable when it resolves. */
export type HandWrite = (records: HandRecord[]) => Promise<void>;

/**
 * One system in a benchmark run, in both roles: the pump's connector and the
 * hand-written loop's driver calls on the same kind of stream, queue,
 * collection or table, plus the seeding and counting around each run. An
 * edge is any two ends, so each system's calls are written once.
 */
export interface BenchEnd {
  /** Fills a fresh source with `count` small records like the original worker's: a task name, a number, a short text. */
  seed(name: string, count: number): Promise<void>;
  /** What is still to read at the source after a run: 0 for copy-mode sources, which leave the rows. */
  left(name: string): Promise<number>;
  source(name: string): Source;
  /**
   * The hand loop's reading side, as a careful user writes it: reads a batch,
   * hands it to `write`, acks it once written, until the source is empty (or,
   * for a queue that cannot tell, `expected` records were handled). Resolves
   * with the records moved.
   */
  drain(name: string, batchSize: number, expected: number, write: HandWrite): Promise<number>;
  /** Makes the target empty and ready to take records. */
  fresh(name: string): Promise<void>;
  arrived(name: string): Promise<number>;
  sink(name: string): Sink;
  writer(name: string): HandWrite;
  drop(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens one system's end for one round of one edge; `scope` tells rounds and edges apart. */
export type OpenBenchEnd = (ctx: BenchEndContext, scope: string) => Promise<BenchEnd>;
