import { calculateObjectSize, Long } from 'bson';
import { valueKey } from './mongo-compare.js';
import { CommandError, codes } from './mongo-errors.js';
import {
  type Document,
  getPath,
  isDocument,
  makeProjection,
  matches,
  parseSort,
  sortDocuments,
  validateFilter,
} from './mongo-query.js';
import { type Collection, checkNames, Store, showValue } from './mongo-store.js';

/** What a modern standalone mongod (7.0, wire version 21) announces of its limits. */
export const limits = {
  maxBsonObjectSize: 16 * 1024 * 1024,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
  maxWireVersion: 21,
  version: '7.0.0',
} as const;

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

/** The document sizes a request came with, where the wire parser knew them (document sequences). */
export const knownSizes = new WeakMap<object, number>();

function sizeOf(doc: Document): number {
  return knownSizes.get(doc) ?? calculateObjectSize(doc);
}

function int(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'object' ? Number((value as { valueOf(): unknown }).valueOf()) : Number(value);
  if (!Number.isFinite(n) || typeof (typeof value === 'object' ? 0 : value) === 'string') {
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `Field '${field}' must be a number`);
  }
  return Math.trunc(n);
}

function documentOr(value: unknown, field: string, fallback: Document): Document {
  if (value === undefined || value === null) return fallback;
  if (!isDocument(value)) {
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `Expected field ${field} to be of type object`);
  }
  return value;
}

function collectionName(cmd: Document, name: string): string {
  const value = cmd[name];
  if (typeof value !== 'string') {
    throw new CommandError(
      codes.InvalidNamespace,
      'InvalidNamespace',
      `collection name has invalid type ${Array.isArray(value) ? 'array' : typeof value}`,
    );
  }
  return value;
}

/**
 * The commands of the MongoDB test server: each takes the command document,
 * its database and the document sequences of its OP_MSG, and returns the
 * reply (or throws a CommandError that becomes `{ ok: 0, … }`).
 */
export class CommandHandler {
  readonly store = new Store();
  readonly #cursors = new Map<string, Cursor>();
  #nextCursor = BigInt(Date.now()) * 1000n;

  run(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>, connectionId: number): Document {
    const name = Object.keys(cmd)[0] ?? '';
    checkNames(db);
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.#hello(name, connectionId);
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return {
          version: limits.version,
          gitVersion: 'ferry-mongo-test-server',
          versionArray: limits.version.split('.').map(Number).concat(0),
          bits: 64,
          maxBsonObjectSize: limits.maxBsonObjectSize,
          storageEngines: ['memory'],
          ok: 1,
        };
      case 'saslStart':
      case 'saslContinue':
      case 'authenticate':
        // The test server has no users: every credential is wrong, as on a mongod without that user.
        throw new CommandError(codes.AuthenticationFailed, 'AuthenticationFailed', 'Authentication failed.');
      case 'insert':
        return this.#insert(cmd, db, sequences);
      case 'find':
        return this.#find(cmd, db);
      case 'getMore':
        return this.#getMore(cmd, db);
      case 'killCursors':
        return this.#killCursors(cmd);
      case 'update':
        return this.#update(cmd, db, sequences);
      case 'delete':
        return this.#delete(cmd, db, sequences);
      case 'aggregate':
        return this.#aggregate(cmd, db);
      case 'count':
        return this.#count(cmd, db);
      case 'create':
        return this.#create(cmd, db);
      case 'drop':
        return this.#drop(cmd, db);
      case 'dropDatabase':
        this.store.dropDatabase(db);
        return { ok: 1 };
      case 'listCollections':
        return this.#listCollections(cmd, db);
      case 'listIndexes':
        return this.#listIndexes(cmd, db);
      case 'createIndexes':
        return this.#createIndexes(cmd, db, sequences);
      default:
        throw new CommandError(codes.CommandNotFound, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  #hello(name: string, connectionId: number): Document {
    return {
      helloOk: true,
      [name === 'hello' ? 'isWritablePrimary' : 'ismaster']: true,
      maxBsonObjectSize: limits.maxBsonObjectSize,
      maxMessageSizeBytes: limits.maxMessageSizeBytes,
      maxWriteBatchSize: limits.maxWriteBatchSize,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: limits.maxWireVersion,
      readOnly: false,
      ok: 1,
    };
  }

  /** The documents of a write command: from its document sequence (OP_MSG kind 1) or its body. */
  #items(cmd: Document, field: string, sequences: ReadonlyMap<string, Document[]>): Document[] {
    const items = sequences.get(field) ?? cmd[field];
    if (!Array.isArray(items) || !items.every(isDocument)) {
      throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `BSON field '${field}' is missing or not an array`);
    }
    if (items.length > limits.maxWriteBatchSize) {
      throw new CommandError(
        codes.InvalidLength,
        'InvalidLength',
        `Write batch sizes must be between 1 and ${limits.maxWriteBatchSize}. Got ${items.length} operations.`,
      );
    }
    return items as Document[];
  }

  #insert(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>): Document {
    const name = collectionName(cmd, 'insert');
    const docs = this.#items(cmd, 'documents', sequences);
    const ordered = cmd.ordered !== false;
    const collection = this.store.collection(db, name, true)!;
    const writeErrors: Document[] = [];
    let n = 0;
    for (let index = 0; index < docs.length; index++) {
      const doc = docs[index]!;
      try {
        const size = sizeOf(doc);
        if (size > limits.maxBsonObjectSize) {
          throw new CommandError(
            codes.Location10334,
            'BSONObjectTooLarge',
            `object to insert too large. size in bytes: ${size}, max size: ${limits.maxBsonObjectSize}`,
          );
        }
        collection.insert(doc);
        n++;
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error, doc._id));
        if (ordered) break;
      }
    }
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  #cursorReply(ns: string, docs: readonly Document[], batchSize: number | undefined, first: boolean): Document {
    const cursor: Cursor = { id: Long.ZERO, ns, docs, position: 0 };
    const batch = this.#take(cursor, batchSize ?? (first ? defaultFirstBatch : undefined));
    let id = Long.ZERO;
    if (cursor.position < docs.length) {
      this.#nextCursor++;
      id = Long.fromBigInt(this.#nextCursor);
      this.#cursors.set(id.toString(), { ...cursor, id });
    }
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  }

  /** The next batch of a cursor: up to `batchSize` documents (all when undefined or 0), within 16 MiB. */
  #take(cursor: Cursor, batchSize: number | undefined): Document[] {
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

  #find(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'find');
    const filter = documentOr(cmd.filter, 'filter', {});
    validateFilter(filter);
    const sort = parseSort(cmd.sort);
    const projection = makeProjection(cmd.projection);
    const skip = int(cmd.skip, 'skip', 0);
    let limit = int(cmd.limit, 'limit', 0);
    const batchSize = cmd.batchSize === undefined ? undefined : int(cmd.batchSize, 'batchSize', 0);
    if (skip < 0)
      throw new CommandError(51024, 'Location51024', "BSON field 'skip' value must be >= 0, actual value '-1'");
    if (limit < 0)
      throw new CommandError(51024, 'Location51024', `BSON field 'limit' value must be >= 0, actual value '${limit}'`);
    if (batchSize !== undefined && batchSize < 0) {
      throw new CommandError(
        51024,
        'Location51024',
        `BSON field 'batchSize' value must be >= 0, actual value '${batchSize}'`,
      );
    }
    if (cmd.singleBatch === true && limit === 0 && batchSize !== undefined) limit = batchSize;
    const collection = this.store.collection(db, name, false);
    let docs = collection === undefined ? [] : collection.query({ filter, sort, skip, limit });
    if (projection !== undefined) docs = docs.map(projection);
    const reply = this.#cursorReply(`${db}.${name}`, docs, batchSize, true);
    if (cmd.singleBatch === true) this.#close((reply.cursor as Document).id as Long, reply);
    return reply;
  }

  #close(id: Long, reply: Document): void {
    this.#cursors.delete(id.toString());
    (reply.cursor as Document).id = Long.ZERO;
  }

  #getMore(cmd: Document, db: string): Document {
    const raw = cmd.getMore;
    const id = raw instanceof Long ? raw : typeof raw === 'number' ? Long.fromNumber(raw) : undefined;
    if (id === undefined)
      throw new CommandError(codes.TypeMismatch, 'TypeMismatch', "Field 'getMore' must be of type long");
    const name = collectionName(cmd, 'collection');
    const cursor = this.#cursors.get(id.toString());
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
    const batch = this.#take(cursor, batchSize);
    let replyId = cursor.id;
    if (cursor.position >= cursor.docs.length) {
      this.#cursors.delete(id.toString());
      replyId = Long.ZERO;
    }
    return { cursor: { nextBatch: batch, id: replyId, ns: cursor.ns }, ok: 1 };
  }

  #killCursors(cmd: Document): Document {
    const ids = Array.isArray(cmd.cursors) ? cmd.cursors : [];
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const raw of ids) {
      const id = raw instanceof Long ? raw : Long.fromNumber(Number(raw));
      (this.#cursors.delete(id.toString()) ? killed : notFound).push(id);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  #update(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>): Document {
    const name = collectionName(cmd, 'update');
    const updates = this.#items(cmd, 'updates', sequences);
    const ordered = cmd.ordered !== false;
    const collection = this.store.collection(db, name, true)!;
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (let index = 0; index < updates.length; index++) {
      const { q, u, upsert, multi } = updates[index]!;
      try {
        const filter = documentOr(q, 'q', {});
        validateFilter(filter);
        const update = documentOr(u, 'u', {});
        const keys = Object.keys(update);
        const operators = keys.length > 0 && keys.every((k) => k.startsWith('$'));
        if (!operators && keys.some((k) => k.startsWith('$'))) {
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            'Unknown modifier in update: mixing operators and fields',
          );
        }
        if (!operators && multi === true) {
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            'multi update is not supported for replacement-style update',
          );
        }
        const found = collection.query({ filter, sort: [], skip: 0, limit: multi === true ? 0 : 1 });
        if (found.length === 0 && upsert === true) {
          const base = equalityFields(filter);
          const doc = operators ? applyOperators(base, update, true) : replacement(base._id, update);
          if (doc._id === undefined && base._id !== undefined) doc._id = base._id;
          collection.insert(doc);
          const inserted = collection.get(doc._id) ?? doc;
          upserted.push({ index, _id: inserted._id });
          n++;
          continue;
        }
        for (const old of found) {
          const next = operators ? applyOperators(old, update, false) : replacement(old._id, update);
          if (valueKey(next._id) !== valueKey(old._id)) {
            throw new CommandError(
              codes.ImmutableField,
              'ImmutableField',
              `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${showValue(next._id)}`,
            );
          }
          n++;
          if (valueKey(next) !== valueKey(old)) {
            collection.replace(old, next);
            nModified++;
          }
        }
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error, undefined));
        if (ordered) break;
      }
    }
    const reply: Document = { n, nModified };
    if (upserted.length > 0) reply.upserted = upserted;
    if (writeErrors.length > 0) reply.writeErrors = writeErrors;
    reply.ok = 1;
    return reply;
  }

  #delete(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>): Document {
    const name = collectionName(cmd, 'delete');
    const deletes = this.#items(cmd, 'deletes', sequences);
    const ordered = cmd.ordered !== false;
    const collection = this.store.collection(db, name, false);
    const writeErrors: Document[] = [];
    let n = 0;
    for (let index = 0; index < deletes.length; index++) {
      const { q, limit } = deletes[index]!;
      try {
        const filter = documentOr(q, 'q', {});
        validateFilter(filter);
        const max = int(limit, 'limit', 0);
        if (max !== 0 && max !== 1) {
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            `The limit field in delete objects must be 0 or 1. Got ${max}`,
          );
        }
        if (collection === undefined) continue;
        for (const doc of collection.query({ filter, sort: [], skip: 0, limit: max })) {
          collection.remove(doc);
          n++;
        }
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error, undefined));
        if (ordered) break;
      }
    }
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  #aggregate(cmd: Document, db: string): Document {
    const name = cmd.aggregate;
    if (typeof name !== 'string') {
      throw new CommandError(
        codes.CommandNotFound,
        'CommandNotFound',
        'aggregate on a database is not supported by the test server',
      );
    }
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline) || !pipeline.every(isDocument)) {
      throw new CommandError(codes.TypeMismatch, 'TypeMismatch', "'pipeline' option must be specified as an array");
    }
    const cursorOptions = documentOr(cmd.cursor, 'cursor', {});
    const collection = this.store.collection(db, name, false);
    const docs = runPipeline(collection, pipeline as Document[]);
    const batchSize = cursorOptions.batchSize === undefined ? undefined : int(cursorOptions.batchSize, 'batchSize', 0);
    return this.#cursorReply(`${db}.${name}`, docs, batchSize, true);
  }

  #count(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'count');
    const query = documentOr(cmd.query, 'query', {});
    validateFilter(query);
    const collection = this.store.collection(db, name, false);
    const n = collection?.count(query, int(cmd.skip, 'skip', 0), Math.abs(int(cmd.limit, 'limit', 0))) ?? 0;
    return { n, ok: 1 };
  }

  #create(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'create');
    if (this.store.collection(db, name, false) !== undefined) {
      throw new CommandError(codes.NamespaceExists, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
    }
    this.store.collection(db, name, true);
    return { ok: 1 };
  }

  #drop(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'drop');
    const dropped = this.store.drop(db, name);
    // Since 7.0 dropping a collection that does not exist succeeds.
    if (dropped === undefined) return { ok: 1 };
    return { nIndexesWas: dropped.indexes.length, ns: dropped.ns, ok: 1 };
  }

  #listCollections(cmd: Document, db: string): Document {
    const filter = documentOr(cmd.filter, 'filter', {});
    validateFilter(filter);
    const nameOnly = cmd.nameOnly === true;
    const infos = this.store.collections(db).map((c) =>
      nameOnly
        ? { name: c.name, type: 'collection' }
        : {
            name: c.name,
            type: 'collection',
            options: {},
            info: { readOnly: false, uuid: c.uuid },
            idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
          },
    );
    const cursorOptions = documentOr(cmd.cursor, 'cursor', {});
    const batchSize = cursorOptions.batchSize === undefined ? undefined : int(cursorOptions.batchSize, 'batchSize', 0);
    return this.#cursorReply(
      `${db}.$cmd.listCollections`,
      infos.filter((i) => matches(i, filter)),
      batchSize,
      true,
    );
  }

  #listIndexes(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'listIndexes');
    const collection = this.store.collection(db, name, false);
    if (collection === undefined) {
      throw new CommandError(codes.NamespaceNotFound, 'NamespaceNotFound', `ns does not exist: ${db}.${name}`);
    }
    const cursorOptions = documentOr(cmd.cursor, 'cursor', {});
    const batchSize = cursorOptions.batchSize === undefined ? undefined : int(cursorOptions.batchSize, 'batchSize', 0);
    return this.#cursorReply(
      `${db}.${name}`,
      collection.indexes.map((i) => ({ ...i })),
      batchSize,
      true,
    );
  }

  #createIndexes(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>): Document {
    const name = collectionName(cmd, 'createIndexes');
    const indexes = this.#items(cmd, 'indexes', sequences);
    const created = this.store.collection(db, name, false) === undefined;
    const collection = this.store.collection(db, name, true)!;
    const before = collection.indexes.length;
    for (const spec of indexes) {
      if (!isDocument(spec.key) || typeof spec.name !== 'string' || Object.keys(spec.key).length === 0) {
        throw new CommandError(
          codes.FailedToParse,
          'FailedToParse',
          'Error in specification: an index needs a key and a name',
        );
      }
      const same = collection.indexes.find((i) => i.name === spec.name);
      if (same !== undefined) {
        if (valueKey(same.key) !== valueKey(spec.key)) {
          throw new CommandError(
            86,
            'IndexKeySpecsConflict',
            `An existing index has the same name as the requested index. Requested index: ${showValue(spec)}, existing index: ${showValue(same)}`,
          );
        }
        continue;
      }
      collection.indexes.push({ v: 2, ...spec, key: spec.key, name: spec.name });
    }
    return {
      numIndexesBefore: before,
      numIndexesAfter: collection.indexes.length,
      createdCollectionAutomatically: created,
      ok: 1,
    };
  }
}

function writeError(index: number, error: CommandError, id: unknown): Document {
  const out: Document = { index, code: error.code, errmsg: error.message };
  if (error.code === codes.DuplicateKey) {
    out.keyPattern = { _id: 1 };
    out.keyValue = { _id: id };
  }
  return out;
}

/** The fields an upsert takes from its query: top-level equalities (`{ a: 1 }`, `{ a: { $eq: 1 } }`). */
function equalityFields(filter: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue;
    if (isDocument(value) && Object.keys(value)[0]?.startsWith('$')) {
      if ('$eq' in value) out[key] = value.$eq;
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** A replacement document keeps the `_id` of the one it replaces, first. */
function replacement(id: unknown, update: Document): Document {
  const { _id, ...rest } = update;
  const keep = _id === undefined ? id : _id;
  return keep === undefined ? { ...rest } : { _id: keep, ...rest };
}

function applyOperators(doc: Document, update: Document, inserting: boolean): Document {
  const out: Document = structuredCloneDoc(doc);
  for (const [op, fields] of Object.entries(update)) {
    if (!isDocument(fields)) {
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        `Modifiers operate on fields but we found type ${typeof fields} instead`,
      );
    }
    for (const [path, value] of Object.entries(fields)) {
      const parts = path.split('.');
      let target = out;
      for (let i = 0; i < parts.length - 1; i++) {
        if (!isDocument(target[parts[i]!])) target[parts[i]!] = {};
        target = target[parts[i]!] as Document;
      }
      const last = parts[parts.length - 1]!;
      switch (op) {
        case '$set':
          target[last] = value;
          break;
        case '$setOnInsert':
          if (inserting) target[last] = value;
          break;
        case '$unset':
          delete target[last];
          break;
        case '$inc': {
          const current = getPath(out, path);
          target[last] = (typeof current === 'number' ? current : 0) + Number(value);
          break;
        }
        default:
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
          );
      }
    }
  }
  return out;
}

function structuredCloneDoc(doc: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(doc)) out[key] = isDocument(value) ? structuredCloneDoc(value) : value;
  return out;
}

/** The aggregation stages countDocuments uses ($match, $skip, $limit, $group with $sum) plus $sort and $count. */
function runPipeline(collection: Collection | undefined, pipeline: Document[]): Document[] {
  // countDocuments: [$match, $skip?, $limit?, $group { _id: 1, n: { $sum: 1 } }] counts without copying.
  const first = pipeline[0];
  let stages = pipeline;
  let docs: Document[];
  if (first !== undefined && isDocument(first.$match)) {
    const filter = first.$match;
    validateFilter(filter);
    let skip = 0;
    let limit = 0;
    let i = 1;
    if (pipeline[i] !== undefined && '$skip' in pipeline[i]!) skip = int(pipeline[i++]!.$skip, '$skip', 0);
    if (pipeline[i] !== undefined && '$limit' in pipeline[i]!) limit = int(pipeline[i++]!.$limit, '$limit', 0);
    const group = pipeline[i]?.$group;
    if (isDocument(group) && i === pipeline.length - 1 && isCountGroup(group)) {
      const n = collection?.count(filter, skip, limit) ?? 0;
      const field = Object.keys(group).find((k) => k !== '_id')!;
      return n === 0 ? [] : [{ _id: group._id, [field]: n }];
    }
    docs = collection?.query({ filter, sort: [], skip: 0, limit: 0 }) ?? [];
    stages = pipeline.slice(1);
  } else {
    docs = collection?.query({ filter: {}, sort: [], skip: 0, limit: 0 }) ?? [];
  }
  for (const stage of stages) {
    const [op] = Object.keys(stage);
    const arg = stage[op!];
    switch (op) {
      case '$match':
        validateFilter(documentOr(arg, '$match', {}));
        docs = docs.filter((d) => matches(d, arg as Document));
        break;
      case '$skip':
        docs = docs.slice(int(arg, '$skip', 0));
        break;
      case '$limit':
        docs = docs.slice(0, int(arg, '$limit', 0));
        break;
      case '$sort':
        docs = sortDocuments([...docs], parseSort(arg));
        break;
      case '$count':
        docs = docs.length === 0 ? [] : [{ [String(arg)]: docs.length }];
        break;
      case '$group':
        docs = group(docs, documentOr(arg, '$group', {}));
        break;
      default:
        throw new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${op}'`);
    }
  }
  return docs;
}

function isCountGroup(group: Document): boolean {
  const fields = Object.entries(group).filter(([k]) => k !== '_id');
  if (fields.length !== 1 || typeof group._id === 'string') return false;
  const [, acc] = fields[0]!;
  return isDocument(acc) && Object.keys(acc).length === 1 && Number(acc.$sum) === 1;
}

/** $group by a constant or a `$field`, with `$sum` of a constant or a `$field` per group. */
function group(docs: Document[], spec: Document): Document[] {
  const keyOf = (doc: Document): unknown =>
    typeof spec._id === 'string' && spec._id.startsWith('$') ? getPath(doc, spec._id.slice(1)) : spec._id;
  const groups = new Map<string, Document>();
  for (const doc of docs) {
    const key = keyOf(doc);
    const id = valueKey(key);
    let out = groups.get(id);
    if (out === undefined) {
      out = { _id: key ?? null };
      for (const field of Object.keys(spec)) if (field !== '_id') out[field] = 0;
      groups.set(id, out);
    }
    for (const [field, acc] of Object.entries(spec)) {
      if (field === '_id') continue;
      if (!isDocument(acc) || !('$sum' in acc)) {
        throw new CommandError(
          15952,
          'Location15952',
          `unknown group operator '${isDocument(acc) ? Object.keys(acc)[0] : acc}'`,
        );
      }
      const term = acc.$sum;
      const add = typeof term === 'string' && term.startsWith('$') ? getPath(doc, term.slice(1)) : term;
      if (typeof add === 'number') out[field] = (out[field] as number) + add;
    }
  }
  return [...groups.values()];
}
