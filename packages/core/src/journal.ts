/**
 * The batch journal: where the pump notes, before each write, which records
 * may reach the sink, and clears the note once the batch is acked. A note
 * still there when a flow starts is a batch in doubt (the last run stopped
 * between a write and its ack): its records come back from the source, and
 * the pump asks the sink's `reconcile` which of them it holds before writing.
 * The runner keeps the journal in its control Redis; without one a flow runs
 * at-least-once.
 *
 * The note also counts attempts: a batch that is in doubt again and again
 * holds a record that kills the worker or fails its write every time. After
 * `maxAttempts` the pump reads those records one at a time (`span` says how
 * many are left), and a single record that fails `maxAttempts` times is
 * dead-lettered, so that one bad record cannot block a flow whose source keeps
 * no delivery count of its own.
 */
export interface JournalEntry {
  /** The records of the batch, as the source names them. */
  readonly ids: readonly string[];
  /**
   * How many times this batch has been written without an ack, this time
   * included; a write that failed only because a server was away is taken off.
   */
  readonly attempts: number;
  /** While records are read one at a time: how many are left, this one included. */
  readonly span?: number;
}

export interface BatchJournal {
  /** The batch an earlier run wrote and did not ack, if any. */
  inDoubt(): Promise<JournalEntry | undefined>;
  /** Before a write: these records may be at the sink from now on. Durable when it resolves. */
  begin(entry: JournalEntry): Promise<void>;
  /** After the ack: no batch in doubt. */
  end(): Promise<void>;
}

/**
 * Reads a stored entry, also in the first form the journal kept (a bare list
 * of ids), so that a batch noted before an upgrade is still found.
 */
export function parseJournalEntry(text: string): JournalEntry | undefined {
  const stored: unknown = JSON.parse(text);
  if (Array.isArray(stored)) return stored.length === 0 ? undefined : { ids: stored.map(String), attempts: 1 };
  const { ids, attempts, span } = (stored ?? {}) as Partial<JournalEntry>;
  if (!Array.isArray(ids) || ids.length === 0) return undefined;
  return {
    ids: ids.map(String),
    attempts: Number.isInteger(attempts) && attempts! >= 0 ? attempts! : 1,
    ...(Number.isInteger(span) && span! > 0 ? { span: span! } : {}),
  };
}

/** A journal in memory: for tests, and for flows that restart inside one process. */
export function createMemoryJournal(): BatchJournal & { readonly entry: JournalEntry | undefined } {
  let entry: JournalEntry | undefined;
  return {
    get entry() {
      return entry;
    },
    async inDoubt() {
      return entry;
    },
    async begin(next) {
      entry = { ...next, ids: [...next.ids] };
    },
    async end() {
      entry = undefined;
    },
  };
}
