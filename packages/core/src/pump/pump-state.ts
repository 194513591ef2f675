import type { DirectMove, SkippedFields, SourceBatch } from '../contracts.js';
import type { JournalEntry, ReaderNote } from '../journal.js';
import type { PumpSettings } from './pump-options.js';

/** A note of a reader that died, whose records this run took over, and its records not yet acked here. */
export interface TakenOver {
  readonly note: ReaderNote;
  readonly left: Set<string>;
}

/**
 * What a pump holds between its steps: its settings, its counts, and what one
 * step leaves for a later one. Each step is a function of this one object.
 */
export interface PumpState {
  readonly settings: PumpSettings;
  records: number;
  deadLettered: number;
  skippedFields: number;
  firstSkipped: SkippedFields['first'] | undefined;
  batches: number;
  bytes: number;
  startedAt: number;
  backlog: number | undefined;
  /** `records` when the backlog was last asked for: what moved since is taken off it. */
  recordsAtBacklog: number;
  lastError: string | undefined;
  /**
   * Ids of records that may be at the sink already (written but not acked
   * because the source lost its hold on their batch, or noted by an earlier
   * run), each with the sink's position noted before that write: they come
   * back, and must not be written twice where the sink can tell.
   */
  readonly inDoubt: Map<string, string | undefined>;
  /** Notes of readers that died, whose records this run took over: removed once all of them are acked here. */
  readonly takenOver: Map<string, TakenOver>;
  /** The journal's note of the batch an earlier run left in doubt, until the next batch is acked. */
  prior: JournalEntry | undefined;
  /** Records still to read one at a time, to find the one a batch keeps failing on. */
  careful: number;
  /**
   * The next batch, read while the sink writes the one in hand (sources that
   * read ahead only). Settles with undefined when that read failed: the next
   * read is then made the usual way, and meets the error there.
   */
  ahead: Promise<SourceBatch | undefined> | undefined;
  /** The source's direct path to the sink, when it has one. */
  direct: DirectMove | undefined;
}

export function createPumpState(settings: PumpSettings): PumpState {
  return {
    settings,
    records: 0,
    deadLettered: 0,
    skippedFields: 0,
    firstSkipped: undefined,
    batches: 0,
    bytes: 0,
    startedAt: 0,
    backlog: undefined,
    recordsAtBacklog: 0,
    lastError: undefined,
    inDoubt: new Map(),
    takenOver: new Map(),
    prior: undefined,
    careful: 0,
    ahead: undefined,
    direct: undefined,
  };
}
