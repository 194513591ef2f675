import { calculateObjectSize, Long } from 'bson';
import { type Command, collectionName, int, limits } from './mongo-command-args.js';
import { CommandError, codes } from './mongo-errors.js';
import { numberType, toJsNumber } from './mongo-numbers.js';
import type { Document } from './mongo-query.js';

/** A cursor's first batch holds this many documents when the command names no batchSize (as mongod). */
const defaultFirstBatch = 101;
/** A reply carries at most this many bytes of documents (getMore fills up to it). */
const maxBatchBytes = limits.maxBsonObjectSize;

interface Cursor {
  readonly id: Long;
  readonly ns: string;
  readonly docs: readonly Document[];
  position: number;
}

/** The next batch of a cursor: up to `batchSize` documents (all when undefined or 0), within 16 MiB. */
function take(cursor: Cursor, batchSize: number | undefined): Document[] {
  const max = batchSize === undefined || batchSize === 0 ? Number.POSITIVE_INFINITY : batchSize;
  const out: Document[] = [];
  let bytes = 0;
  while (cursor.position < cursor.docs.length && out.length < max) {
    const doc = cursor.docs[cursor.position]!;
    bytes += calculateObjectSize(doc);
    if (bytes > maxBatchBytes && out.length > 0) break;
    out.push(doc);
    cursor.position++;
  }
  return out;
}

/** The open cursors of one server: a result that does not fit its first batch stays here for getMore. */
export class Cursors {
  readonly #open = new Map<string, Cursor>();
  #next = BigInt(Date.now()) * 1000n;

  /** The `{ cursor: { firstBatch, id, ns }, ok: 1 }` reply of a command that returns documents. */
  reply(ns: string, docs: readonly Document[], batchSize: number | undefined): Document {
    const cursor: Cursor = { id: Long.ZERO, ns, docs, position: 0 };
    const batch = take(cursor, batchSize ?? defaultFirstBatch);
    let id = Long.ZERO;
    if (cursor.position < docs.length) {
      this.#next++;
      id = Long.fromBigInt(this.#next);
      this.#open.set(id.toString(), { ...cursor, id });
    }
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  }

  close(id: Long, reply: Document): void {
    this.#open.delete(id.toString());
    (reply.cursor as Document).id = Long.ZERO;
  }

  get(id: Long): Cursor | undefined {
    return this.#open.get(id.toString());
  }

  delete(id: Long): boolean {
    return this.#open.delete(id.toString());
  }
}

const getMore: Command = (state, cmd, db) => {
  const raw = cmd.getMore;
  const id = raw instanceof Long ? raw : numberType(raw) === undefined ? undefined : Long.fromNumber(toJsNumber(raw));
  if (id === undefined)
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', "Field 'getMore' must be of type long");
  const name = collectionName(cmd, 'collection');
  const cursors = state.cursors;
  const cursor = cursors.get(id);
  if (cursor === undefined) {
    throw new CommandError(codes.CursorNotFound, 'CursorNotFound', `cursor id ${id.toString()} not found`);
  }
  if (cursor.ns !== `${db}.${name}` && !cursor.ns.startsWith(`${db}.$cmd`)) {
    throw new CommandError(
      codes.Unauthorized,
      'Unauthorized',
      `Requested getMore on namespace '${db}.${name}', but cursor belongs to a different namespace ${cursor.ns}`,
    );
  }
  const batchSize = cmd.batchSize === undefined ? undefined : int(cmd.batchSize, 'batchSize', 0);
  const batch = take(cursor, batchSize);
  let replyId = cursor.id;
  if (cursor.position >= cursor.docs.length) {
    cursors.delete(id);
    replyId = Long.ZERO;
  }
  return { cursor: { nextBatch: batch, id: replyId, ns: cursor.ns }, ok: 1 };
};

const killCursors: Command = (state, cmd) => {
  const ids = Array.isArray(cmd.cursors) ? cmd.cursors : [];
  const killed: Long[] = [];
  const notFound: Long[] = [];
  for (const raw of ids) {
    const id = raw instanceof Long ? raw : Long.fromNumber(toJsNumber(raw));
    (state.cursors.delete(id) ? killed : notFound).push(id);
  }
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
};

export const cursorCommands: Readonly<Record<string, Command>> = { getMore, killCursors };
