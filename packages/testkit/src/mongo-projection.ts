import { CommandError, notImplemented } from './mongo-errors.js';
import { numberType } from './mongo-numbers.js';
import { type Document, getPath, isDocument, truthy } from './mongo-query.js';

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
    if (typeof raw !== 'boolean' && numberType(raw) === undefined) {
      throw notImplemented(`projection expressions or operators (field '${path}')`);
    }
    if (path.includes('$')) throw notImplemented(`the positional projection operator (field '${path}')`);
    const on = truthy(raw);
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
