import { randomUUID } from 'node:crypto';
import { Binary, ObjectId } from 'bson';
import { type Collator, compareValues, ranks, typeRank, valueKey } from './mongo-compare.js';
import { badValue, CommandError, codes } from './mongo-errors.js';
import type { Scope } from './mongo-expression.js';
import { type Document, getPath, isDocument, matches, type SortSpec, sortDocuments } from './mongo-query.js';
import { type IndexSpec, UniqueIndex } from './mongo-unique-index.js';

export type { IndexSpec } from './mongo-unique-index.js';

interface Entry {
  readonly key: string;
  doc: Document;
  alive: boolean;
}

export interface QueryOptions {
  readonly filter: Document;
  /** The command's variables, and its collation: then strings compare by it, and the `_id` index (binary) is not used. */
  readonly scope?: Scope;
  readonly sort: SortSpec;
  readonly skip: number;
  /** 0: no limit. */
  readonly limit: number;
}

/** An `_id` as mongod accepts one: not an array, not a regex, no `$`-prefixed field inside. */
function checkId(id: unknown): void {
  if (Array.isArray(id)) throw badValue(`can't use an array for _id`);
  if (typeRank(id) === ranks.regex) throw badValue(`can't use a regex for _id`);
  if (isDocument(id)) {
    const dollar = Object.keys(id).find((k) => k.startsWith('$'));
    if (dollar !== undefined) {
      throw new CommandError(
        codes.DollarPrefixedFieldName,
        'DollarPrefixedFieldName',
        `_id fields may not contain '$'-prefixed fields: ${dollar} is not valid for storage.`,
      );
    }
  }
}

/** True when the filter pins `_id` to values or a range that the `_id` index can answer. */
function idConditions(filter: Document): Document | undefined {
  const id = filter._id;
  if (id === undefined) return undefined;
  if (isDocument(id)) {
    const keys = Object.keys(id);
    if (keys.length > 0 && keys[0]!.startsWith('$')) {
      return keys.every((k) => ['$eq', '$in', '$gt', '$gte', '$lt', '$lte'].includes(k)) ? id : undefined;
    }
  }
  if (Array.isArray(id) || typeRank(id) === ranks.regex) return undefined;
  return { $eq: id };
}

/**
 * One collection in memory: documents keyed by `_id` (insertion order is the
 * natural order), plus the `_id` index as an array sorted by `_id`, kept up as
 * documents come in increasing order and rebuilt when they do not.
 */
export class Collection {
  readonly uuid = new Binary(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'), Binary.SUBTYPE_UUID);
  readonly indexes: IndexSpec[] = [{ v: 2, key: { _id: 1 }, name: '_id_' }];
  readonly #byKey = new Map<string, Entry>();
  readonly #unique: UniqueIndex[] = [];
  #sorted: Entry[] | undefined = [];
  #dead = 0;

  constructor(
    public db: string,
    public name: string,
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Inserts one document, giving it an ObjectId `_id` first when it has none; throws 11000 on a duplicate. */
  insert(input: Document): Document {
    const doc = input._id === undefined ? { _id: new ObjectId(), ...input } : input;
    checkId(doc._id);
    const key = valueKey(doc._id);
    if (this.#byKey.has(key)) throw this.duplicate(doc._id);
    const uniqueKeys = this.#uniqueKeys(doc, undefined);
    const entry: Entry = { key, doc, alive: true };
    this.#byKey.set(key, entry);
    for (const [index, indexKey] of uniqueKeys) index.set(indexKey, key);
    const sorted = this.#sorted;
    if (sorted !== undefined) {
      const last = sorted[sorted.length - 1];
      if (last === undefined || compareValues(last.doc._id, doc._id) < 0) sorted.push(entry);
      else this.#sorted = undefined;
    }
    return doc;
  }

  /** Adds an index; a unique one is checked against the documents already there, by its collation. */
  addIndex(spec: IndexSpec, collator?: Collator): void {
    if (spec.unique === true) {
      const index = new UniqueIndex(spec, collator);
      for (const entry of this.#byKey.values()) {
        const key = index.keyOf(entry.doc);
        if (index.holder(key) !== undefined) throw this.#duplicateOn(index, entry.doc);
        index.set(key, entry.key);
      }
      this.#unique.push(index);
    }
    this.indexes.push(spec);
  }

  /** The keys a document takes in each unique secondary index; throws 11000 when another document holds one. */
  #uniqueKeys(doc: Document, self: string | undefined): [UniqueIndex, unknown[]][] {
    const out: [UniqueIndex, unknown[]][] = [];
    for (const index of this.#unique) {
      const key = index.keyOf(doc);
      const holder = index.holder(key);
      if (holder !== undefined && holder !== self) throw this.#duplicateOn(index, doc);
      out.push([index, key]);
    }
    return out;
  }

  #duplicateOn(index: UniqueIndex, doc: Document): CommandError {
    const keyValue: Document = {};
    for (const field of index.fields) keyValue[field] = getPath(doc, field) ?? null;
    return new CommandError(
      codes.DuplicateKey,
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: ${index.spec.name} dup key: ${showValue(keyValue)}`,
      { keyPattern: index.spec.key, keyValue },
    );
  }

  duplicate(id: unknown): CommandError {
    return new CommandError(
      codes.DuplicateKey,
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${showValue(id)} }`,
      { keyPattern: { _id: 1 }, keyValue: { _id: id } },
    );
  }

  get(id: unknown): Document | undefined {
    return this.#byKey.get(valueKey(id))?.doc;
  }

  /** Replaces a document by one with the same `_id`; throws 11000 when the new one collides in a unique index. */
  replace(oldDoc: Document, newDoc: Document): void {
    const entry = this.#byKey.get(valueKey(oldDoc._id));
    if (entry === undefined) return;
    const uniqueKeys = this.#uniqueKeys(newDoc, entry.key);
    this.#forgetUnique(entry);
    for (const [index, indexKey] of uniqueKeys) index.set(indexKey, entry.key);
    entry.doc = newDoc;
  }

  remove(doc: Document): void {
    const key = valueKey(doc._id);
    const entry = this.#byKey.get(key);
    if (entry === undefined) return;
    this.#forgetUnique(entry);
    entry.alive = false;
    this.#byKey.delete(key);
    this.#dead++;
  }

  #forgetUnique(entry: Entry): void {
    for (const index of this.#unique) index.delete(index.keyOf(entry.doc), entry.key);
  }

  /** The `_id` index: live entries in `_id` order. */
  #index(): Entry[] {
    if (this.#sorted === undefined) {
      this.#sorted = [...this.#byKey.values()].sort((a, b) => compareValues(a.doc._id, b.doc._id));
      this.#dead = 0;
    } else if (this.#dead > 1000 && this.#dead > this.#sorted.length / 2) {
      this.#sorted = this.#sorted.filter((e) => e.alive);
      this.#dead = 0;
    }
    return this.#sorted;
  }

  /** First position in the index whose `_id` compares >= (or > when `after`) the value. */
  #lowerBound(index: Entry[], value: unknown, after: boolean): number {
    let lo = 0;
    let hi = index.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = compareValues(index[mid]!.doc._id, value);
      if (order < 0 || (after && order === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The documents a query may match, in the order it reads them: through the
   * `_id` index for `_id` equality, `$in` or ranges, or for a sort on `_id`;
   * the natural order otherwise. Every candidate is still matched by the caller.
   */
  *#candidates(filter: Document, byId: boolean): Generator<Document> {
    const conditions = idConditions(filter);
    if (conditions !== undefined && ('$eq' in conditions || '$in' in conditions) && !byId) {
      const wanted = '$eq' in conditions ? [conditions.$eq] : Array.isArray(conditions.$in) ? conditions.$in : [];
      const seen = new Set<string>();
      for (const value of wanted) {
        const entry = this.#byKey.get(valueKey(value));
        if (entry !== undefined && !seen.has(entry.key)) {
          seen.add(entry.key);
          yield entry.doc;
        }
      }
      return;
    }
    if (conditions === undefined && !byId) {
      for (const entry of this.#byKey.values()) yield entry.doc;
      return;
    }
    const index = this.#index();
    let from = 0;
    let to = index.length;
    const lower = conditions?.$gt ?? conditions?.$gte;
    const upper = conditions?.$lt ?? conditions?.$lte;
    if (lower !== undefined) from = this.#lowerBound(index, lower, '$gt' in (conditions ?? {}));
    if (upper !== undefined) to = this.#lowerBound(index, upper, !('$lt' in (conditions ?? {})));
    for (let i = from; i < to; i++) {
      const entry = index[i]!;
      if (entry.alive) yield entry.doc;
    }
  }

  /** The matching documents, sorted, skipped and limited. */
  query({ filter, scope = {}, sort, skip, limit }: QueryOptions): Document[] {
    const collator = scope.collator;
    const byId = sort.length === 1 && sort[0]![0] === '_id' && collator === undefined;
    const presorted = sort.length === 0 || byId;
    const found: Document[] = [];
    // Read in the order asked for, a query stops once it has what it returns.
    const early = sort.length === 0 || (byId && sort[0]![1] === 1);
    const wanted = early && limit > 0 ? skip + limit : Number.POSITIVE_INFINITY;
    for (const doc of this.#candidates(collator === undefined ? filter : {}, byId)) {
      if (!matches(doc, filter, scope)) continue;
      found.push(doc);
      if (found.length >= wanted) break;
    }
    if (byId && sort[0]![1] === -1) found.reverse();
    const ordered = presorted ? found : sortDocuments(found, sort, collator);
    return ordered.slice(skip, limit > 0 ? skip + limit : undefined);
  }

  count(filter: Document, skip = 0, limit = 0, scope: Scope = {}): number {
    let n = 0;
    const candidates = scope.collator === undefined ? filter : {};
    if (Object.keys(filter).length === 0) n = this.size;
    else for (const doc of this.#candidates(candidates, false)) if (matches(doc, filter, scope)) n++;
    n = Math.max(0, n - skip);
    return limit > 0 ? Math.min(n, limit) : n;
  }
}

/** A value as mongod shows it in an error message: `"a"`, `ObjectId('…')`, `12`. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (isDocument(value)) {
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${showValue(v)}`)
      .join(', ')} }`;
  }
  if (Array.isArray(value)) return `[ ${value.map(showValue).join(', ')} ]`;
  return String(value);
}

/** Database and collection names as mongod accepts them (the namespace rules of the manual). */
export function checkNames(db: string, collection?: string): void {
  if (db === '' || /[/\\. "$\0]/.test(db) || db.length >= 64) {
    throw new CommandError(codes.InvalidNamespace, 'InvalidNamespace', `Invalid database name: '${db}'`);
  }
  if (collection !== undefined && (collection === '' || collection.includes('$') || collection.includes('\0'))) {
    throw new CommandError(codes.InvalidNamespace, 'InvalidNamespace', `Invalid collection name: ${collection}`);
  }
}

/** Every database of one server, in memory. */
export class Store {
  readonly #dbs = new Map<string, Map<string, Collection>>();

  collection(db: string, name: string, create: boolean): Collection | undefined {
    checkNames(db, name);
    let collections = this.#dbs.get(db);
    if (collections === undefined) {
      if (!create) return undefined;
      collections = new Map();
      this.#dbs.set(db, collections);
    }
    let collection = collections.get(name);
    if (collection === undefined && create) {
      collection = new Collection(db, name);
      collections.set(name, collection);
    }
    return collection;
  }

  collections(db: string): Collection[] {
    return [...(this.#dbs.get(db)?.values() ?? [])];
  }

  drop(db: string, name: string): Collection | undefined {
    const collections = this.#dbs.get(db);
    const collection = collections?.get(name);
    collections?.delete(name);
    if (collections?.size === 0) this.#dbs.delete(db);
    return collection;
  }

  /** Moves a collection to another name, in its database or another (renameCollection). */
  rename(fromDb: string, from: string, toDb: string, to: string): void {
    const collection = this.drop(fromDb, from);
    if (collection === undefined) return;
    checkNames(toDb, to);
    let collections = this.#dbs.get(toDb);
    if (collections === undefined) {
      collections = new Map();
      this.#dbs.set(toDb, collections);
    }
    collection.db = toDb;
    collection.name = to;
    collections.set(to, collection);
  }

  dropDatabase(db: string): void {
    this.#dbs.delete(db);
  }

  databases(): string[] {
    return [...this.#dbs.keys()];
  }
}
