/**
 * The batch journal: where the pump notes, before each write, which records
 * may reach the sink, and clears the note once the batch is acked. A note
 * still there when a flow starts is a batch in doubt (the last run stopped
 * between a write and its ack): its records come back from the source, and
 * the pump asks the sink's `reconcile` which of them it holds before writing.
 * The runner keeps the journal in its control Redis; without one a flow runs
 * at-least-once.
 */
export interface BatchJournal {
  /** Ids of the batch an earlier run wrote and did not ack, if any. */
  inDoubt(): Promise<readonly string[]>;
  /** Before a write: these records may be at the sink from now on. Durable when it resolves. */
  begin(ids: readonly string[]): Promise<void>;
  /** After the ack: no batch in doubt. */
  end(): Promise<void>;
}

/** A journal in memory: for tests, and for flows that restart inside one process. */
export function createMemoryJournal(): BatchJournal & { readonly entry: readonly string[] | undefined } {
  let entry: readonly string[] | undefined;
  return {
    get entry() {
      return entry;
    },
    async inDoubt() {
      return entry ?? [];
    },
    async begin(ids) {
      entry = [...ids];
    },
    async end() {
      entry = undefined;
    },
  };
}
