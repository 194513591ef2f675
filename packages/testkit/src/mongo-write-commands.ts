import { collationOf } from './mongo-collation.js';
import {
  type Command,
  collectionName,
  documentOr,
  int,
  items,
  limits,
  sizeOf,
  writeError,
} from './mongo-command-args.js';
import { sameBson, valueKey } from './mongo-compare.js';
import { badValue, CommandError, codes } from './mongo-errors.js';
import type { Scope, Variables } from './mongo-expression.js';
import { checkFields, statementFields } from './mongo-fields.js';
import { arrayFiltersOf, checkHint, variablesOf } from './mongo-options.js';
import { makeProjection } from './mongo-projection.js';
import { type Document, parseSort, type SortSpec, truthy, validateFilter } from './mongo-query.js';
import { type Collection, showValue } from './mongo-store.js';
import {
  applyUpdate,
  equalityFields,
  isOperatorUpdate,
  isPipeline,
  parseUpdate,
  type UpdateSpec,
} from './mongo-update.js';

const insert: Command = (state, cmd, db, sequences) => {
  const name = collectionName(cmd, 'insert');
  const docs = items(cmd, 'documents', sequences);
  const ordered = cmd.ordered !== false;
  const collection = state.store.collection(db, name, true)!;
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
};

/** The statements of a write command, each checked field by field before any is run (as mongod parses first). */
function statements(
  command: 'update' | 'delete',
  field: string,
  cmd: Document,
  sequences: ReadonlyMap<string, Document[]>,
): Document[] {
  const list = items(cmd, field, sequences);
  const path = `${command}.${field}`;
  for (const statement of list) {
    checkFields(path, statement, statementFields[path]!, false);
    collationOf(statement.collation);
  }
  return list;
}

const update: Command = (state, cmd, db, sequences) => {
  const name = collectionName(cmd, 'update');
  const updates = statements('update', 'updates', cmd, sequences);
  const variables = variablesOf(cmd.let);
  const ordered = cmd.ordered !== false;
  const collection = state.store.collection(db, name, true)!;
  const writeErrors: Document[] = [];
  const upserted: Document[] = [];
  let n = 0;
  let nModified = 0;
  for (let index = 0; index < updates.length; index++) {
    const { q, u, c, upsert, multi, hint, arrayFilters, collation } = updates[index]!;
    try {
      const filter = documentOr(q, 'q', {});
      const scope: Scope = { variables, collator: collationOf(collation) };
      validateFilter(filter, scope);
      checkHint(hint, collection);
      const update = parseUpdate(u);
      const spec: UpdateSpec = {
        update,
        arrayFilters: arrayFiltersOf(arrayFilters),
        scope: { ...scope, variables: constantsOf(c, update, variables) },
      };
      if (truthy(multi) && !isPipeline(update) && !isOperatorUpdate(update)) {
        throw new CommandError(
          codes.FailedToParse,
          'FailedToParse',
          'multi update is not supported for replacement-style update',
        );
      }
      const result = modify(collection, {
        filter,
        scope,
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
};

const deleteCommand: Command = (state, cmd, db, sequences) => {
  const name = collectionName(cmd, 'delete');
  const deletes = statements('delete', 'deletes', cmd, sequences);
  const variables = variablesOf(cmd.let);
  const ordered = cmd.ordered !== false;
  const collection = state.store.collection(db, name, false);
  const writeErrors: Document[] = [];
  let n = 0;
  for (let index = 0; index < deletes.length; index++) {
    const { q, limit, hint, collation } = deletes[index]!;
    try {
      const filter = documentOr(q, 'q', {});
      const scope: Scope = { variables, collator: collationOf(collation) };
      validateFilter(filter, scope);
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
      for (const doc of collection.query({ filter, scope, sort: [], skip: 0, limit: max })) {
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
};

/** findAndModify: one document updated, replaced or removed, and returned as it was or as it became. */
const findAndModify: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'findAndModify');
  const filter = documentOr(cmd.query, 'query', {});
  const scope: Scope = { variables: variablesOf(cmd.let), collator: collationOf(cmd.collation) };
  validateFilter(filter, scope);
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
    const collection = state.store.collection(db, name, false);
    checkHint(cmd.hint, collection);
    const [doc] = collection?.query({ filter, scope, sort, skip: 0, limit: 1 }) ?? [];
    if (doc !== undefined) collection!.remove(doc);
    return { lastErrorObject: { n: doc === undefined ? 0 : 1 }, value: show(doc), ok: 1 };
  }
  const collection = state.store.collection(db, name, true)!;
  checkHint(cmd.hint, collection);
  const spec: UpdateSpec = { update: parseUpdate(cmd.update), arrayFilters: arrayFiltersOf(cmd.arrayFilters), scope };
  const result = modify(collection, { filter, scope, sort, spec, upsert, multi: false });
  const lastErrorObject: Document = { n: result.n, updatedExisting: result.before !== undefined };
  if (result.upserted !== undefined) lastErrorObject.upserted = result.upserted._id;
  return { lastErrorObject, value: show(returnNew ? result.after : result.before), ok: 1 };
};

/** The variables a pipeline-style update sees: the command's `let`, and its statement's constants `c`. */
function constantsOf(c: unknown, update: unknown, variables: Variables | undefined): Variables | undefined {
  if (c === undefined) return variables;
  if (!Array.isArray(update)) {
    throw new CommandError(51198, 'Location51198', 'Constant values may only be specified for pipeline updates');
  }
  return { ...variables, ...variablesOf(c) };
}

interface ModifyOptions {
  readonly filter: Document;
  readonly scope: Scope;
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
  const { filter, scope, sort, spec, upsert, multi } = options;
  const found = collection.query({ filter, scope, sort, skip: 0, limit: multi ? 0 : 1 });
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

export const writeCommands: Readonly<Record<string, Command>> = {
  insert,
  update,
  delete: deleteCommand,
  findAndModify,
};
