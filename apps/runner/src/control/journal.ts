import { createHash } from 'node:crypto';
import type { ConnectorRegistry } from '@ferry/core';
import {
  AbortedError,
  type BatchJournal,
  ConnectionError,
  describeError,
  type FerryConfig,
  type FlowSpec,
  type JournalEntry,
  mapErrors,
  parseJournalEntry,
  type ReaderNote,
} from '@ferry/core';
import type { Redis } from 'ioredis';
import type { FlowPlan } from '../jobs/flow-builder.js';
import { digest, flowIdentity, planIdentity } from '../jobs/flow-identity.js';
import { controlKeys } from './index.js';
import type { SourceLock } from './source-lock.js';

/**
 * Where a reader's note is kept: one hash per source and sink (by what they
 * are, not how they are configured or what their connection is called), one
 * field per reader. Option changes keep the place; a changed source or sink
 * is another hash; two readers are two fields.
 */
export interface JournalPlace {
  readonly key: string;
  /** The reader's stable name: its field. */
  readonly reader: string;
  /** Stored with each note, so that `ferry doctor` can say what a note left behind is about. */
  readonly about: { readonly flow: string; readonly source: string; readonly sink: string };
  /** Where an older ferry kept this flow's note (a hash of the whole specs), read once for an upgrade. */
  readonly legacyKey?: string;
}

/** The journal hash of a source and sink under a control prefix. */
export function journalHashKey(prefix: string, identity: { source: string; sink: string }): string {
  return `${controlKeys(prefix).journal}:${digest(`${identity.source}\n${identity.sink}`)}`;
}

/** The key ferry 0.x used: a digest of both specs as written, and the instance number. */
export function legacyJournalKey(prefix: string, spec: FlowSpec, instance = 0): string {
  const identity = JSON.stringify({ source: spec.source, sink: spec.sink });
  const hash = createHash('sha1').update(identity).digest('hex').slice(0, 20);
  return `${controlKeys(prefix).journal}:${hash}:${instance}`;
}

/** The place of a flow's note for one reader; `spec` as configured (before a reader name was filled in). */
export function journalPlace(
  prefix: string,
  config: FerryConfig,
  flowName: string,
  spec: FlowSpec,
  reader: string,
  registry: ConnectorRegistry,
  instance = 0,
): JournalPlace {
  return placeOf(prefix, flowName, spec, flowIdentity(config, spec, registry), reader, instance);
}

/** `journalPlace` of a planned flow. */
export function journalPlaceOf(prefix: string, plan: FlowPlan, reader: string, instance = 0): JournalPlace {
  return placeOf(prefix, plan.name, plan.spec, planIdentity(plan), reader, instance);
}

function placeOf(
  prefix: string,
  flowName: string,
  spec: FlowSpec,
  identity: { source: string; sink: string },
  reader: string,
  instance: number,
): JournalPlace {
  return {
    key: journalHashKey(prefix, identity),
    reader,
    about: { flow: flowName, ...identity },
    legacyKey: legacyJournalKey(prefix, spec, instance),
  };
}

/** Notes a batch only while the source lock is held by this holder, and renews the lock with it. */
const fencedBeginScript = `if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** Removes a reader's note only while it still says what was read. */
const settleScript = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/**
 * The batch journal in the control Redis: this reader's field of its source
 * and sink's hash, holding the batch in doubt with the sink's position before
 * its write. With `fence` (the source lock of a single-reader source), a batch
 * is noted, and so written, only while the lock is this job's: after the
 * control store was away longer than the lock's time to live, another job may
 * read the source, and this one stops before it writes (the pump sees an
 * AbortedError and releases the batch).
 */
export function createRedisJournal(redis: Redis, place: JournalPlace, fence?: SourceLock): BatchJournal {
  const { key, reader, about } = place;
  // The control store is a connection like any other: the pump retries with backoff.
  const call = <T>(doing: string, run: () => Promise<T>): Promise<T> =>
    mapErrors(
      run,
      (error) =>
        new ConnectionError(`[ferry] ${doing} in the control store: ${describeError(error)}`, { cause: error }),
    );
  /** The legacy key held this flow's note: cleared with the first batch acked. */
  let legacyHeld = false;
  const noteText = (entry: JournalEntry) => JSON.stringify({ ...entry, reader, ...about, at: Date.now() });
  return {
    async inDoubt() {
      const text = await call('reading the batch journal', () => redis.hget(key, reader));
      if (text !== null) return parseJournalEntry(text);
      if (place.legacyKey === undefined) return undefined;
      const legacy = await call('reading the batch journal', () => redis.get(place.legacyKey!));
      legacyHeld = legacy !== null;
      return legacy === null ? undefined : parseJournalEntry(legacy);
    },
    async begin(entry) {
      const text = noteText(entry);
      if (fence === undefined) {
        await call('noting a batch in the journal', () => redis.hset(key, reader, text));
        return;
      }
      if (fence.lost.aborted) throw new AbortedError(`[ferry] ${describeError(fence.lost.reason)}`);
      const held = await call('noting a batch in the journal', () =>
        redis.eval(fencedBeginScript, 2, key, fence.key, reader, text, fence.token, String(fence.ttlMs)),
      );
      if (held !== 1) {
        fence.markLost('held by another job or expired when a batch was to be written');
        throw new AbortedError(`[ferry] ${describeError(fence.lost.reason)}`);
      }
      fence.confirmed();
    },
    async end() {
      await call('clearing the batch journal', () => redis.hdel(key, reader));
      if (legacyHeld && place.legacyKey !== undefined) {
        await call('clearing the batch journal', () => redis.del(place.legacyKey!));
        legacyHeld = false;
      }
    },
    async notesOf(ids) {
      const all = await call('reading the batch journal', () => redis.hgetall(key));
      const wanted = new Set(ids);
      const found: ReaderNote[] = [];
      for (const [other, text] of Object.entries(all)) {
        if (other === reader) continue;
        const entry = parseJournalEntry(text);
        if (entry?.ids.some((id) => wanted.has(id))) found.push({ ...entry, reader: other, text });
      }
      return found;
    },
    async settle(note) {
      await call('settling a journal note', () => redis.eval(settleScript, 1, key, note.reader, note.text));
    },
  };
}
