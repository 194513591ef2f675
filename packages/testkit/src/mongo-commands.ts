import { calculateObjectSize, Long } from 'bson';
import { runPipeline } from './mongo-aggregate.js';
import { sameBson, valueKey } from './mongo-compare.js';
import { badValue, CommandError, codes, notImplemented } from './mongo-errors.js';
import type { Variables } from './mongo-expression.js';
import { checkFields, commandFields, statementFields } from './mongo-fields.js';
import { numberType, toJsNumber } from './mongo-numbers.js';
import { arrayFiltersOf, checkCollation, checkHint, variablesOf } from './mongo-options.js';
import { makeProjection } from './mongo-projection.js';
import {
  type Document,
  isDocument,
  matches,
  parseSort,
  pathValues,
  type SortSpec,
  truthy,
  validateFilter,
} from './mongo-query.js';
import { type Collection, checkNames, type IndexSpec, Store, showValue } from './mongo-store.js';
import { applyUpdate, equalityFields, isOperatorUpdate, type UpdateSpec } from './mongo-update.js';

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
  const n = numberType(value) === undefined ? Number.NaN : toJsNumber(value);
  if (!Number.isFinite(n))
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `Field '${field}' must be a number`);
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
    const rules = commandFields[name];
    if (rules !== undefined) checkFields(name, cmd, rules, true);
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
      case 'findAndModify':
        return this.#findAndModify(cmd, db);
      case 'distinct':
        return this.#distinct(cmd, db);
      case 'listDatabases':
        return this.#listDatabases(cmd, db);
      case 'dbStats':
        return this.#dbStats(cmd, db);
      case 'collStats':
        return this.#collStats(cmd, db);
      case 'renameCollection':
        return this.#renameCollection(cmd, db);
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
          // mongod 7.0 answers BadValue here (fixDocumentForInsert), not the 10334 of older servers.
          throw badValue(`object to insert too large. size in bytes: ${size}, max size: ${limits.maxBsonObjectSize}`);
        }
        collection.insert(doc);
        n++;
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error));
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
    const variables = variablesOf(cmd.let);
    checkCollation(cmd.collation);
    validateFilter(filter, variables);
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
    checkHint(cmd.hint, collection);
    let docs = collection === undefined ? [] : collection.query({ filter, variables, sort, skip, limit });
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
    const id = raw instanceof Long ? raw : numberType(raw) === undefined ? undefined : Long.fromNumber(toJsNumber(raw));
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
      const id = raw instanceof Long ? raw : Long.fromNumber(toJsNumber(raw));
      (this.#cursors.delete(id.toString()) ? killed : notFound).push(id);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  /** The statements of a write command, each checked field by field before any is run (as mongod parses first). */
  #statements(
    command: 'update' | 'delete',
    field: string,
    cmd: Document,
    sequences: ReadonlyMap<string, Document[]>,
  ): Document[] {
    const statements = this.#items(cmd, field, sequences);
    const path = `${command}.${field}`;
    for (const statement of statements) {
      checkFields(path, statement, statementFields[path]!, false);
      checkCollation(statement.collation);
    }
    return statements;
  }

  #update(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>): Document {
    const name = collectionName(cmd, 'update');
    const updates = this.#statements('update', 'updates', cmd, sequences);
    const variables = variablesOf(cmd.let);
    const ordered = cmd.ordered !== false;
    const collection = this.store.collection(db, name, true)!;
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (let index = 0; index < updates.length; index++) {
      const { q, u, upsert, multi, hint, arrayFilters } = updates[index]!;
      try {
        const filter = documentOr(q, 'q', {});
        validateFilter(filter, variables);
        checkHint(hint, collection);
        const spec: UpdateSpec = { update: updateDocument(u), arrayFilters: arrayFiltersOf(arrayFilters) };
        if (truthy(multi) && !isOperatorUpdate(spec.update)) {
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            'multi update is not supported for replacement-style update',
          );
        }
        const result = modify(collection, {
          filter,
          variables,
          sort: [],
          spec,
          upsert: truthy(upsert),
          multi: truthy(multi),
        });
        n += result.n;
        nModified += result.nModified;
        if (result.upserted !== undefined) upserted.push({ index, _id: result.upserted._id });
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error));
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
    const deletes = this.#statements('delete', 'deletes', cmd, sequences);
    const variables = variablesOf(cmd.let);
    const ordered = cmd.ordered !== false;
    const collection = this.store.collection(db, name, false);
    const writeErrors: Document[] = [];
    let n = 0;
    for (let index = 0; index < deletes.length; index++) {
      const { q, limit, hint } = deletes[index]!;
      try {
        const filter = documentOr(q, 'q', {});
        validateFilter(filter, variables);
        checkHint(hint, collection);
        const max = int(limit, 'limit', 0);
        if (max !== 0 && max !== 1) {
          throw new CommandError(
            codes.FailedToParse,
            'FailedToParse',
            `The limit field in delete objects must be 0 or 1. Got ${max}`,
          );
        }
        if (collection === undefined) continue;
        for (const doc of collection.query({ filter, variables, sort: [], skip: 0, limit: max })) {
          collection.remove(doc);
          n++;
        }
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push(writeError(index, error));
        if (ordered) break;
      }
    }
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  /** findAndModify: one document updated, replaced or removed, and returned as it was or as it became. */
  #findAndModify(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'findAndModify');
    const filter = documentOr(cmd.query, 'query', {});
    const variables = variablesOf(cmd.let);
    validateFilter(filter, variables);
    checkCollation(cmd.collation);
    const sort = parseSort(cmd.sort);
    const projection = makeProjection(cmd.fields);
    const remove = truthy(cmd.remove);
    const returnNew = truthy(cmd.new);
    const upsert = truthy(cmd.upsert);
    const failed = (message: string) => new CommandError(codes.FailedToParse, 'FailedToParse', message);
    if (remove && cmd.update !== undefined) throw failed('Cannot specify both an update and remove=true');
    if (remove && upsert) throw failed('Cannot specify both upsert=true and remove=true');
    if (remove && returnNew) {
      throw failed("Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
    }
    if (!remove && cmd.update === undefined) throw failed('Either an update or remove=true must be specified');
    if (remove && cmd.arrayFilters !== undefined) throw failed('Cannot specify arrayFilters and remove=true');
    const show = (doc: Document | undefined) =>
      doc === undefined ? null : projection === undefined ? doc : projection(doc);
    if (remove) {
      const collection = this.store.collection(db, name, false);
      checkHint(cmd.hint, collection);
      const [doc] = collection?.query({ filter, variables, sort, skip: 0, limit: 1 }) ?? [];
      if (doc !== undefined) collection!.remove(doc);
      return { lastErrorObject: { n: doc === undefined ? 0 : 1 }, value: show(doc), ok: 1 };
    }
    const collection = this.store.collection(db, name, true)!;
    checkHint(cmd.hint, collection);
    const spec: UpdateSpec = { update: updateDocument(cmd.update), arrayFilters: arrayFiltersOf(cmd.arrayFilters) };
    const result = modify(collection, { filter, variables, sort, spec, upsert, multi: false });
    const lastErrorObject: Document = { n: result.n, updatedExisting: result.before !== undefined };
    if (result.upserted !== undefined) lastErrorObject.upserted = result.upserted._id;
    return { lastErrorObject, value: show(returnNew ? result.after : result.before), ok: 1 };
  }

  #distinct(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'distinct');
    if (typeof cmd.key !== 'string') {
      throw new CommandError(
        codes.TypeMismatch,
        'TypeMismatch',
        "BSON field 'distinct.key' is the wrong type, expected type 'string'",
      );
    }
    const filter = documentOr(cmd.query, 'query', {});
    validateFilter(filter);
    checkCollation(cmd.collation);
    const collection = this.store.collection(db, name, false);
    checkHint(cmd.hint, collection);
    const seen = new Map<string, unknown>();
    const parts = cmd.key.split('.');
    for (const doc of collection?.query({ filter, sort: [], skip: 0, limit: 0 }) ?? []) {
      for (const value of pathValues(doc, parts)) {
        // An array's elements are distinct values of their own; the array itself is not one.
        if (value === undefined || Array.isArray(value)) continue;
        const key = valueKey(value);
        if (!seen.has(key)) seen.set(key, value);
      }
    }
    return { values: [...seen.values()], ok: 1 };
  }

  #aggregate(cmd: Document, db: string): Document {
    const name = cmd.aggregate;
    if (typeof name !== 'string') throw notImplemented('aggregate on a whole database (aggregate: 1)');
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline) || !pipeline.every(isDocument)) {
      throw new CommandError(codes.TypeMismatch, 'TypeMismatch', "'pipeline' option must be specified as an array");
    }
    checkCollation(cmd.collation);
    const variables = variablesOf(cmd.let);
    const cursorOptions = documentOr(cmd.cursor, 'cursor', {});
    const collection = this.store.collection(db, name, false);
    checkHint(cmd.hint, collection);
    const docs = runPipeline(collection, pipeline as Document[], variables);
    const batchSize = cursorOptions.batchSize === undefined ? undefined : int(cursorOptions.batchSize, 'batchSize', 0);
    return this.#cursorReply(`${db}.${name}`, docs, batchSize, true);
  }

  #count(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'count');
    const query = documentOr(cmd.query, 'query', {});
    validateFilter(query);
    checkCollation(cmd.collation);
    const collection = this.store.collection(db, name, false);
    checkHint(cmd.hint, collection);
    const n = collection?.count(query, int(cmd.skip, 'skip', 0), Math.abs(int(cmd.limit, 'limit', 0))) ?? 0;
    return { n, ok: 1 };
  }

  #listDatabases(cmd: Document, db: string): Document {
    if (db !== 'admin')
      throw new CommandError(
        codes.Unauthorized,
        'Unauthorized',
        'listDatabases may only be run against the admin database.',
      );
    const filter = documentOr(cmd.filter, 'filter', {});
    const infos = this.store.databases().map((name) => {
      const sizeOnDisk = this.store.collections(name).reduce((sum, c) => sum + dataSize(c), 0);
      return { name, sizeOnDisk, empty: sizeOnDisk === 0 };
    });
    const databases = infos.filter((info) => matches(info, filter));
    if (truthy(cmd.nameOnly)) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
    return { databases, totalSize: databases.reduce((sum, d) => sum + d.sizeOnDisk, 0), totalSizeMb: 0, ok: 1 };
  }

  #dbStats(cmd: Document, db: string): Document {
    const scale = int(cmd.scale, 'scale', 1);
    if (scale < 1) throw badValue('Scale factor must be greater than zero');
    const collections = this.store.collections(db);
    const objects = collections.reduce((sum, c) => sum + c.size, 0);
    const size = collections.reduce((sum, c) => sum + dataSize(c), 0);
    return {
      db,
      collections: collections.length,
      views: 0,
      objects,
      avgObjSize: objects === 0 ? 0 : size / objects,
      dataSize: size / scale,
      storageSize: size / scale,
      indexes: collections.reduce((sum, c) => sum + c.indexes.length, 0),
      indexSize: 0,
      totalSize: size / scale,
      scaleFactor: scale,
      ok: 1,
    };
  }

  #collStats(cmd: Document, db: string): Document {
    const name = collectionName(cmd, 'collStats');
    const scale = int(cmd.scale, 'scale', 1);
    if (scale < 1) throw badValue('Scale factor must be greater than zero');
    const collection = this.store.collection(db, name, false);
    if (collection === undefined) {
      throw new CommandError(codes.NamespaceNotFound, 'NamespaceNotFound', `Collection [${db}.${name}] not found.`);
    }
    const size = dataSize(collection);
    return {
      ns: collection.ns,
      size: size / scale,
      count: collection.size,
      avgObjSize: collection.size === 0 ? 0 : size / collection.size,
      storageSize: size / scale,
      nindexes: collection.indexes.length,
      totalIndexSize: 0,
      indexSizes: Object.fromEntries(collection.indexes.map((i) => [i.name, 0])),
      scaleFactor: scale,
      ok: 1,
    };
  }

  #renameCollection(cmd: Document, db: string): Document {
    if (db !== 'admin') {
      throw new CommandError(
        codes.Unauthorized,
        'Unauthorized',
        'renameCollection may only be run against the admin database.',
      );
    }
    const [fromDb, from] = splitNamespace(cmd.renameCollection, 'renameCollection');
    const [toDb, to] = splitNamespace(cmd.to, 'to');
    if (this.store.collection(fromDb, from, false) === undefined) {
      throw new CommandError(
        codes.NamespaceNotFound,
        'NamespaceNotFound',
        `Source collection ${fromDb}.${from} does not exist`,
      );
    }
    if (this.store.collection(toDb, to, false) !== undefined) {
      if (!truthy(cmd.dropTarget))
        throw new CommandError(codes.NamespaceExists, 'NamespaceExists', 'target namespace exists');
      this.store.drop(toDb, to);
    }
    this.store.rename(fromDb, from, toDb, to);
    return { ok: 1 };
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
    for (const spec of indexes)
      checkFields('createIndexes.indexes', spec, statementFields['createIndexes.indexes']!, false);
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
      const index: IndexSpec = { v: 2, ...spec, key: spec.key, name: spec.name };
      collection.addIndex(spec.unique === undefined ? index : { ...index, unique: truthy(spec.unique) });
    }
    return {
      numIndexesBefore: before,
      numIndexesAfter: collection.indexes.length,
      createdCollectionAutomatically: created,
      ok: 1,
    };
  }
}

function writeError(index: number, error: CommandError): Document {
  return { index, code: error.code, errmsg: error.message, ...error.extra };
}

/** An update's `u`: a document of operators or a replacement (pipelines are refused when applied). */
function updateDocument(u: unknown): Document {
  if (Array.isArray(u)) throw notImplemented('pipeline-style updates (an array as the update)');
  if (!isDocument(u)) {
    throw new CommandError(
      codes.FailedToParse,
      'FailedToParse',
      'Update argument must be either an object or an array',
    );
  }
  return u;
}

interface ModifyOptions {
  readonly filter: Document;
  readonly variables: Variables | undefined;
  readonly sort: SortSpec;
  readonly spec: UpdateSpec;
  readonly upsert: boolean;
  readonly multi: boolean;
}

interface ModifyResult {
  readonly n: number;
  readonly nModified: number;
  readonly upserted?: Document;
  /** The first matched document, as it was and as it became (findAndModify returns one of them). */
  readonly before?: Document;
  readonly after?: Document;
}

/** Updates the first (or every) matching document, or upserts one; a no-op change does not count as modified. */
function modify(collection: Collection, options: ModifyOptions): ModifyResult {
  const { filter, variables, sort, spec, upsert, multi } = options;
  const found = collection.query({ filter, variables, sort, skip: 0, limit: multi ? 0 : 1 });
  if (found.length === 0) {
    if (!upsert) return { n: 0, nModified: 0 };
    const base = equalityFields(filter);
    const doc = applyUpdate(base, spec, true);
    if (doc._id === undefined && base._id !== undefined) doc._id = base._id;
    const inserted = collection.insert(doc);
    return { n: 1, nModified: 0, upserted: inserted, after: inserted };
  }
  let nModified = 0;
  let first: { before: Document; after: Document } | undefined;
  for (const old of found) {
    const next = applyUpdate(old, spec, false);
    if (valueKey(next._id) !== valueKey(old._id)) {
      throw new CommandError(
        codes.ImmutableField,
        'ImmutableField',
        `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${showValue(next._id)}`,
      );
    }
    // mongod compares the BSON bytes: Int32 5 → Long 5 is a change, 5 → 5 is not.
    if (!sameBson(next, old)) {
      collection.replace(old, next);
      nModified++;
    }
    first ??= { before: old, after: sameBson(next, old) ? old : next };
  }
  return { n: found.length, nModified, before: first?.before, after: first?.after };
}

/** A `db.collection` namespace of an admin command. */
function splitNamespace(value: unknown, field: string): [db: string, collection: string] {
  const dot = typeof value === 'string' ? value.indexOf('.') : -1;
  if (typeof value !== 'string' || dot <= 0 || dot === value.length - 1) {
    throw new CommandError(
      codes.InvalidNamespace,
      'InvalidNamespace',
      `Invalid namespace specified '${String(value)}' for ${field}`,
    );
  }
  return [value.slice(0, dot), value.slice(dot + 1)];
}

/** The BSON bytes of a collection's documents: its data size, as the stats commands report it. */
function dataSize(collection: Collection): number {
  let size = 0;
  for (const doc of collection.query({ filter: {}, sort: [], skip: 0, limit: 0 })) size += calculateObjectSize(doc);
  return size;
}
