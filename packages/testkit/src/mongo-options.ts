import { valueKey } from './mongo-compare.js';
import { badValue, CommandError, codes } from './mongo-errors.js';
import { evaluate, type Variables } from './mongo-expression.js';
import { type Document, isDocument } from './mongo-query.js';
import type { Collection } from './mongo-store.js';

/**
 * A hint must name an index the collection has, by name or key pattern, as
 * mongod requires; the server then answers as it would without it (a hint
 * chooses a plan, not a result).
 */
export function checkHint(hint: unknown, collection: Collection | undefined): void {
  if (hint === undefined || collection === undefined) return;
  if (isDocument(hint)) {
    if (Object.keys(hint).length === 0) return;
    if ('$natural' in hint) return;
    const wanted = valueKey(hint);
    if (collection.indexes.some((index) => valueKey(index.key) === wanted)) return;
  } else if (typeof hint === 'string') {
    if (collection.indexes.some((index) => index.name === hint)) return;
  } else {
    throw badValue('hint must be a string or an object');
  }
  throw badValue('hint provided does not correspond to an existing index');
}

/** The variables of a command's `let`, each a constant expression evaluated once. */
export function variablesOf(spec: unknown): Variables | undefined {
  if (spec === undefined) return undefined;
  if (!isDocument(spec)) {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      "BSON field 'let' is the wrong type, expected type 'object'",
    );
  }
  const out: Record<string, unknown> = {};
  for (const [name, expression] of Object.entries(spec)) {
    if (!/^[a-z][A-Za-z0-9_]*$/.test(name))
      throw badValue(`'${name}' starts with an invalid character for a user variable name`);
    out[name] = evaluate(expression, {}, { variables: out });
  }
  return out;
}

/** The arrayFilters of an update: documents, or refused. */
export function arrayFiltersOf(spec: unknown): Document[] | undefined {
  if (spec === undefined) return undefined;
  if (!Array.isArray(spec) || !spec.every(isDocument)) {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      "BSON field 'arrayFilters' is the wrong type, expected type 'array' of objects",
    );
  }
  return spec as Document[];
}
