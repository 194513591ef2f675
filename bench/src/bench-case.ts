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
  close(): Promise<void>;
}

/** One edge measured two ways with the same driver calls and batch size. */
export interface BenchCase {
  readonly edge: string;
  readonly defaultRecords: number;
  prepare(ctx: BenchContext): Promise<PreparedCase>;
}
