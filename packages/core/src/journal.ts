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
  /** The sink's `position()` before the batch was written: where its reconcile looks from. */
  readonly position?: string;
}

/** A note another reader of the same source and sink left: a batch taken over from a reader that died. */
export interface ReaderNote extends JournalEntry {
  /** The reader that noted it (its stable identity). */
  readonly reader: string;
  /** The note as stored, so that it is removed only while it still says this. */
  readonly text: string;
}

export interface BatchJournal {
  /** The batch an earlier run wrote and did not ack, if any. */
  inDoubt(): Promise<JournalEntry | undefined>;
  /** Before a write: these records may be at the sink from now on. Durable when it resolves. */
  begin(entry: JournalEntry): Promise<void>;
  /** After the ack: no batch in doubt. */
  end(): Promise<void>;
  /**
   * Notes of other readers of this source and sink that hold one of these
   * records: they were read by a reader that died, and given to this one.
   */
  notesOf?(ids: readonly string[]): Promise<readonly ReaderNote[]>;
  /**
   * Removes another reader's note once every record of it is acked here,
   * and only while it still says what `notesOf` found (that reader may live).
   */
  settle?(note: ReaderNote): Promise<void>;
}

/**
 * Reads a stored entry, also in the first form the journal kept (a bare list
 * of ids), so that a batch noted before an upgrade is still found.
 */
export function parseJournalEntry(text: string): JournalEntry | undefined {
  const stored: unknown = JSON.parse(text);
  if (Array.isArray(stored)) return stored.length === 0 ? undefined : { ids: stored.map(String), attempts: 1 };
  const { ids, attempts, span, position } = (stored ?? {}) as Partial<JournalEntry>;
  if (!Array.isArray(ids) || ids.length === 0) return undefined;
  return {
    ids: ids.map(String),
    attempts: Number.isInteger(attempts) && attempts! >= 0 ? attempts! : 1,
    ...(Number.isInteger(span) && span! > 0 ? { span: span! } : {}),
    ...(typeof position === 'string' ? { position } : {}),
  };
}

/**
 * A journal in memory: for tests, and for flows that restart inside one
 * process. Readers that share `notes` see each other's notes, as the readers
 * of one source and sink do in the control store.
 */
export function createMemoryJournal(
  notes: Map<string, string> = new Map(),
  reader = 'reader-0',
): BatchJournal & { readonly entry: JournalEntry | undefined } {
  const read = (text: string | undefined) => (text === undefined ? undefined : parseJournalEntry(text));
  return {
    get entry() {
      return read(notes.get(reader));
    },
    async inDoubt() {
      return read(notes.get(reader));
    },
    async begin(next) {
      notes.set(reader, JSON.stringify(next));
    },
    async end() {
      notes.delete(reader);
    },
    async notesOf(ids) {
      const wanted = new Set(ids);
      const found: ReaderNote[] = [];
      for (const [other, text] of notes) {
        const entry = other === reader ? undefined : read(text);
        if (entry?.ids.some((id) => wanted.has(id))) found.push({ ...entry, reader: other, text });
      }
      return found;
    },
    async settle(note) {
      if (notes.get(note.reader) === note.text) notes.delete(note.reader);
    },
  };
}
