import { BSONRegExp } from 'bson';
import { compareValues, typeRank } from './mongo-compare.js';
import { badValue, CommandError } from './mongo-errors.js';

export type Document = Record<string, unknown>;

/** A plain embedded document (not an array, not a BSON value object). */
export function isDocument(value: unknown): value is Document {
  return typeRank(value) === 4 && value !== null && typeof value === 'object';
}

/** True when an object's first key is an operator (`{ $gt: 1 }`), as MongoDB decides it. */
function isOperatorObject(value: unknown): value is Document {
  if (!isDocument(value)) return false;
  for (const key in value) return key.startsWith('$');
  return false;
}

/**
 * The values a dotted path reaches in a document, the way a query sees them:
 * an array at the end adds each of its elements, an array on the way is
 * searched element by element; undefined when the path reaches nothing.
 */
export function pathValues(doc: unknown, parts: readonly string[], from = 0, out: unknown[] = []): unknown[] {
  if (from === parts.length) {
    out.push(doc);
    if (Array.isArray(doc)) out.push(...doc);
    return out;
  }
  const part = parts[from]!;
  if (Array.isArray(doc)) {
    if (/^\d+$/.test(part)) pathValues(doc[Number(part)], parts, from + 1, out);
    for (const element of doc) {
      if (isDocument(element)) pathValues(element, parts, from, out);
    }
    if (out.length === 0) out.push(undefined);
    return out;
  }
  if (isDocument(doc)) return pathValues(doc[part], parts, from + 1, out);
  out.push(undefined);
  return out;
}

/** The one value at a path, through embedded documents only (projection, sort, upsert). */
export function getPath(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (!isDocument(current)) return undefined;
    current = current[part];
  }
  return current;
}

function regexOf(value: unknown): RegExp | undefined {
  if (value instanceof RegExp) return value;
  if (value instanceof BSONRegExp) return new RegExp(value.pattern, value.options.replace(/[^imsu]/g, ''));
  return undefined;
}

function equals(candidate: unknown, value: unknown): boolean {
  const regex = regexOf(value);
  if (regex !== undefined && typeof candidate === 'string') return regex.test(candidate);
  return typeRank(candidate) === typeRank(value) && compareValues(candidate, value) === 0;
}

/** Comparisons only match values of the same BSON type bracket (numbers with numbers…). */
function compares(candidates: readonly unknown[], value: unknown, test: (order: number) => boolean): boolean {
  const rank = typeRank(value);
  return candidates.some((c) => typeRank(c) === rank && test(compareValues(c, value)));
}

function inList(candidates: readonly unknown[], list: unknown, op: string): boolean {
  if (!Array.isArray(list)) throw badValue(`${op} needs an array`);
  return candidates.some((c) => list.some((v) => equals(c, v)));
}

function matchOperator(candidates: readonly unknown[], op: string, value: unknown): boolean {
  switch (op) {
    case '$eq':
      return candidates.some((c) => equals(c, value));
    case '$ne':
      return !candidates.some((c) => equals(c, value));
    case '$gt':
      return compares(candidates, value, (o) => o > 0);
    case '$gte':
      return compares(candidates, value, (o) => o >= 0);
    case '$lt':
      return compares(candidates, value, (o) => o < 0);
    case '$lte':
      return compares(candidates, value, (o) => o <= 0);
    case '$in':
      return inList(candidates, value, '$in');
    case '$nin':
      return !inList(candidates, value, '$nin');
    case '$exists':
      return candidates.some((c) => c !== undefined) === Boolean(value);
    case '$not':
      if (!isOperatorObject(value)) throw badValue('$not needs a regex or a document');
      return !matchConditions(candidates, value);
    default:
      throw badValue(`unknown operator: ${op}`);
  }
}

function matchConditions(candidates: readonly unknown[], conditions: Document): boolean {
  for (const op in conditions) {
    if (!matchOperator(candidates, op, conditions[op])) return false;
  }
  return true;
}

function clauses(value: unknown, op: string): Document[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isDocument)) {
    throw badValue(`${op} argument must be a non-empty array`);
  }
  return value as Document[];
}

/** True when the document matches a query filter (the operators of the find command this server knows). */
export function matches(doc: Document, filter: Document): boolean {
  for (const key in filter) {
    const condition = filter[key];
    if (key.startsWith('$')) {
      if (key === '$and') {
        if (!clauses(condition, key).every((c) => matches(doc, c))) return false;
      } else if (key === '$or') {
        if (!clauses(condition, key).some((c) => matches(doc, c))) return false;
      } else if (key === '$nor') {
        if (clauses(condition, key).some((c) => matches(doc, c))) return false;
      } else {
        throw badValue(`unknown top level operator: ${key}`);
      }
      continue;
    }
    const candidates = pathValues(doc, key.split('.'));
    if (isOperatorObject(condition)) {
      if (!matchConditions(candidates, condition)) return false;
    } else if (!candidates.some((c) => equals(c, condition))) {
      return false;
    }
  }
  return true;
}

/** Checks a filter's operators once, so that an unknown one fails even on an empty collection. */
export function validateFilter(filter: Document): void {
  matches({}, filter);
}

export type SortSpec = readonly (readonly [path: string, direction: 1 | -1])[];

export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined || sort === null) return [];
  if (!isDocument(sort)) throw new CommandError(14, 'TypeMismatch', 'Expected field sort to be of type object');
  return Object.entries(sort).map(([path, direction]) => {
    const n = Number(typeof direction === 'object' && direction !== null ? direction.valueOf() : direction);
    if (n !== 1 && n !== -1) throw badValue('$sort key ordering must be 1 (for ascending) or -1 (for descending)');
    return [path, n] as const;
  });
}

/** The value a document sorts by: for an array, its smallest element ascending, its largest descending. */
function sortKey(doc: Document, path: string, direction: 1 | -1): unknown {
  const value = getPath(doc, path);
  if (!Array.isArray(value)) return value;
  if (value.length === 0) return undefined;
  return value.reduce((best, v) => (compareValues(v, best) * direction < 0 ? v : best));
}

export function sortDocuments(docs: Document[], sort: SortSpec): Document[] {
  if (sort.length === 0) return docs;
  return docs.sort((a, b) => {
    for (const [path, direction] of sort) {
      const order = compareValues(sortKey(a, path, direction), sortKey(b, path, direction));
      if (order !== 0) return order * direction;
    }
    return 0;
  });
}

function setPath(target: Document, parts: readonly string[], value: unknown): void {
  let current = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = current[parts[i]!];
    if (!isDocument(next)) current[parts[i]!] = {};
    current = current[parts[i]!] as Document;
  }
  current[parts[parts.length - 1]!] = value;
}

/** A projection parsed once per query: inclusion or exclusion of paths, `_id` in unless excluded. */
export function makeProjection(spec: unknown): ((doc: Document) => Document) | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (!isDocument(spec)) throw new CommandError(14, 'TypeMismatch', 'Expected field projection to be of type object');
  const entries = Object.entries(spec);
  if (entries.length === 0) return undefined;
  let includeId = true;
  const include: string[] = [];
  const exclude: string[] = [];
  for (const [path, raw] of entries) {
    const on = typeof raw === 'object' && raw !== null ? Boolean(raw.valueOf()) : Boolean(raw);
    if (path === '_id') {
      includeId = on;
      continue;
    }
    (on ? include : exclude).push(path);
  }
  if (include.length > 0 && exclude.length > 0) {
    throw new CommandError(
      31254,
      'Location31254',
      `Cannot do exclusion on field ${exclude[0]} in inclusion projection`,
    );
  }
  if (include.length > 0) {
    return (doc) => {
      const out: Document = {};
      if (includeId && doc._id !== undefined) out._id = doc._id;
      for (const path of include) {
        const value = getPath(doc, path);
        if (value !== undefined) setPath(out, path.split('.'), value);
      }
      return out;
    };
  }
  if (!includeId) exclude.push('_id');
  return (doc) => {
    const out: Document = { ...doc };
    for (const path of exclude) {
      const parts = path.split('.');
      let current = out;
      for (let i = 0; i < parts.length - 1 && isDocument(current); i++) {
        const next = current[parts[i]!];
        if (!isDocument(next)) {
          current = undefined as unknown as Document;
          break;
        }
        current[parts[i]!] = { ...next };
        current = current[parts[i]!] as Document;
      }
      if (current !== undefined) delete current[parts[parts.length - 1]!];
    }
    return out;
  };
}
