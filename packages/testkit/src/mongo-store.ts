import { randomUUID } from 'node:crypto';
import { Binary, ObjectId } from 'bson';
import { compareValues, typeRank, valueKey } from './mongo-compare.js';
import { CommandError, codes } from './mongo-errors.js';
import { type Document, isDocument, matches, type SortSpec, sortDocuments } from './mongo-query.js';

interface Entry {
  readonly key: string;
  doc: Document;
  alive: boolean;
}

export interface IndexSpec {
  readonly v: number;
  readonly key: Document;
  readonly name: string;
  readonly [option: string]: unknown;
}

export interface QueryOptions {
  readonly filter: Document;
  readonly sort: SortSpec;
  readonly skip: number;
  /** 0: no limit. */
  readonly limit: number;
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
  if (Array.isArray(id) || id instanceof RegExp || typeRank(id) === 11) return undefined;
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
  #sorted: Entry[] | undefined = [];
  #dead = 0;

  constructor(
    readonly db: string,
    readonly name: string,
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Inserts one document, giving it an ObjectId `_id` first when it has none; throws 11000 on a duplicate. */
  insert(input: Document): void {
    const doc = input._id === undefined ? { _id: new ObjectId(), ...input } : input;
    if (Array.isArray(doc._id) || doc._id instanceof RegExp || typeRank(doc._id) === 11) {
      throw new CommandError(2, 'BadValue', `can't use a${Array.isArray(doc._id) ? 'n array' : ' regex'} for _id`);
    }
    const key = valueKey(doc._id);
    if (this.#byKey.has(key)) throw this.duplicate(doc._id);
    const entry: Entry = { key, doc, alive: true };
    this.#byKey.set(key, entry);
    const sorted = this.#sorted;
    if (sorted !== undefined) {
      const last = sorted[sorted.length - 1];
      if (last === undefined || compareValues(last.doc._id, doc._id) < 0) sorted.push(entry);
      else this.#sorted = undefined;
    }
  }

  duplicate(id: unknown): CommandError {
    return new CommandError(
      codes.DuplicateKey,
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${showValue(id)} }`,
    );
  }

  get(id: unknown): Document | undefined {
    return this.#byKey.get(valueKey(id))?.doc;
  }

  replace(oldDoc: Document, newDoc: Document): void {
    const entry = this.#byKey.get(valueKey(oldDoc._id));
    if (entry !== undefined) entry.doc = newDoc;
  }

  remove(doc: Document): void {
    const key = valueKey(doc._id);
    const entry = this.#byKey.get(key);
    if (entry === undefined) return;
    entry.alive = false;
    this.#byKey.delete(key);
    this.#dead++;
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
  query({ filter, sort, skip, limit }: QueryOptions): Document[] {
    const byId = sort.length === 1 && sort[0]![0] === '_id';
    const presorted = sort.length === 0 || byId;
    const found: Document[] = [];
    // Read in the order asked for, a query stops once it has what it returns.
    const early = sort.length === 0 || (byId && sort[0]![1] === 1);
    const wanted = early && limit > 0 ? skip + limit : Number.POSITIVE_INFINITY;
    for (const doc of this.#candidates(filter, byId)) {
      if (!matches(doc, filter)) continue;
      found.push(doc);
      if (found.length >= wanted) break;
    }
    if (byId && sort[0]![1] === -1) found.reverse();
    const ordered = presorted ? found : sortDocuments(found, sort);
    return ordered.slice(skip, limit > 0 ? skip + limit : undefined);
  }

  count(filter: Document, skip = 0, limit = 0): number {
    let n = 0;
    if (Object.keys(filter).length === 0) n = this.size;
    else for (const doc of this.#candidates(filter, false)) if (matches(doc, filter)) n++;
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

  dropDatabase(db: string): void {
    this.#dbs.delete(db);
  }

  databases(): string[] {
    return [...this.#dbs.keys()];
  }
}
