import type { Redis } from 'ioredis';
import { digest } from '../jobs/flow-identity.js';
import { controlKeys } from './index.js';

/** A batch in doubt as the journal keeps it, for `ferry doctor`. */
export interface NoteListing {
  readonly key: string;
  readonly reader: string;
  readonly flow?: string;
  readonly source?: string;
  readonly sink?: string;
  readonly records: number;
  readonly attempts?: number;
  /** When it was noted (epoch ms), where the note says. */
  readonly at?: number;
  /** A live reader holds its name (a flow runs): the note is its batch in hand, not left behind. */
  readonly live: boolean;
  /** Kept by an older ferry under a key of its own. */
  readonly legacy: boolean;
}

/**
 * Every note of the journal under a prefix, each said to be live (its reader
 * holds its lease) or orphaned (no reader runs under its name). A note is
 * only ever removed by a reader: once its batch is acked by the reader that
 * took its records over, or cleared by a restart of the flow under that name.
 */
export async function listJournalNotes(redis: Redis, prefix: string): Promise<NoteListing[]> {
  const keys = controlKeys(prefix);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.journal}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  const listings: NoteListing[] = [];
  for (const key of found.sort()) {
    if ((await redis.type(key)) !== 'hash') {
      const text = await redis.get(key);
      if (text !== null) listings.push({ key, reader: '(older ferry)', ...summary(text), live: false, legacy: true });
      continue;
    }
    const fields = Object.entries(await redis.hgetall(key)).sort(([a], [b]) => a.localeCompare(b));
    for (const [reader, text] of fields) {
      const note = summary(text);
      const slot = /^ferry:(.+):(\d+)$/.exec(reader);
      const live =
        slot !== null && note.source !== undefined
          ? (await redis.exists(keys.reader(digest(note.source), slot[1]!, Number(slot[2])))) === 1
          : false;
      listings.push({ key, reader, ...note, live, legacy: false });
    }
  }
  return listings;
}

function summary(text: string): Omit<NoteListing, 'key' | 'reader' | 'live' | 'legacy'> {
  let stored: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    stored = Array.isArray(parsed) ? { ids: parsed } : ((parsed ?? {}) as Record<string, unknown>);
  } catch {
    return { records: 0 };
  }
  const text_ = (key: string) => (typeof stored[key] === 'string' ? { [key]: stored[key] as string } : {});
  return {
    records: Array.isArray(stored.ids) ? stored.ids.length : 0,
    ...(typeof stored.attempts === 'number' ? { attempts: stored.attempts } : {}),
    ...(typeof stored.at === 'number' ? { at: stored.at } : {}),
    ...text_('flow'),
    ...text_('source'),
    ...text_('sink'),
  };
}

/** The doctor's lines about the journal. */
export function formatNotes(notes: readonly NoteListing[]): string {
  if (notes.length === 0) return 'journal: no batch in doubt';
  const orphaned = notes.filter((n) => !n.live).length;
  const lines = [`journal: ${notes.length} batch${notes.length === 1 ? '' : 'es'} in doubt, ${orphaned} orphaned`];
  for (const n of notes) {
    const state = n.live ? 'a reader runs under this name' : 'orphaned: no reader runs under this name';
    const when = n.at === undefined ? '' : ` noted ${new Date(n.at).toISOString()},`;
    lines.push(
      `  ${n.flow === undefined ? '' : `flow "${n.flow}" `}reader ${n.reader}: ${n.records} records,${when} ${state}`,
    );
    if (n.source !== undefined) lines.push(`    source ${n.source}`);
    if (n.sink !== undefined) lines.push(`    sink   ${n.sink}`);
  }
  if (orphaned > 0) {
    lines.push(
      '  an orphaned note is cleared when its flow runs again (it takes back the first free reader name and',
      '  checks the batch against the sink), or once another reader of its source has acked all its records',
    );
  }
  return lines.join('\n');
}
