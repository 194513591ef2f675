import { CommandError, notImplemented } from './mongo-errors.js';
import { evaluate, type Scope } from './mongo-expression.js';
import { numberType } from './mongo-numbers.js';
import { type Document, isDocument, truthy } from './mongo-query.js';

/**
 * The stages that reshape one document at a time, as aggregate runs them and
 * as pipeline-style updates (an array as `u`) are made of: `$addFields`/`$set`,
 * `$project`/`$unset` and `$replaceRoot`/`$replaceWith`. Expressions see the
 * stage's input document as `$$ROOT`.
 */
export type ShapeStage = (doc: Document, scope: Scope) => Document;

function stageError(code: number, stage: string, message: string): CommandError {
  return new CommandError(code, `Location${code}`, `Invalid ${stage} :: caused by :: ${message}`);
}

/** A field name of a stage's specification: not empty, no leading `$`. */
function checkName(stage: string, path: string): void {
  if (path === '' || path.split('.').some((part) => part === '')) {
    throw stageError(40352, stage, 'FieldPath cannot be constructed with empty string');
  }
  if (path.startsWith('$')) {
    throw stageError(
      16410,
      stage,
      "FieldPath field names may not start with '$'. Consider using $getField or $setField.",
    );
  }
}

/** An object whose first key is not an operator: a nested specification, not an expression. */
function isNested(value: unknown): value is Document {
  if (!isDocument(value)) return false;
  const first = Object.keys(value)[0];
  return first === undefined || !first.startsWith('$');
}

function throughArray(stage: string, path: string): CommandError {
  return notImplemented(`${stage} of a computed field through an array (path '${path}')`);
}

/** Sets the fields of a nested `$addFields` specification into a copy of `target`, evaluating against `root`. */
function addInto(
  target: Document,
  spec: Document,
  root: Document,
  scope: Scope,
  stage: string,
  prefix: string,
): Document {
  const out: Document = { ...target };
  for (const [path, value] of Object.entries(spec)) {
    checkName(stage, path);
    const [head, ...rest] = path.split('.') as [string, ...string[]];
    const full = prefix === '' ? head : `${prefix}.${head}`;
    if (rest.length > 0) {
      const current = out[head];
      if (Array.isArray(current)) throw throughArray(stage, prefix === '' ? path : `${prefix}.${path}`);
      out[head] = addInto(isDocument(current) ? current : {}, { [rest.join('.')]: value }, root, scope, stage, full);
      continue;
    }
    if (isNested(value)) {
      if (Object.keys(value).length === 0) {
        throw stageError(
          40180,
          stage,
          `An empty sub-projection is not a valid value. Found empty object at path ${full}`,
        );
      }
      const current = out[head];
      if (Array.isArray(current)) throw throughArray(stage, full);
      out[head] = addInto(isDocument(current) ? current : {}, value, root, scope, stage, full);
      continue;
    }
    const computed = evaluate(value, root, scope);
    // $$REMOVE (or a missing value) removes the field.
    if (computed === undefined) delete out[head];
    else out[head] = computed;
  }
  return out;
}

function addFields(stage: string, spec: unknown): ShapeStage {
  if (!isDocument(spec)) throw stageError(40272, stage, `${stage} specification stage must be an object`);
  if (Object.keys(spec).length === 0) {
    throw stageError(40177, stage, 'specification must have at least one field');
  }
  return (doc, scope) => addInto(doc, spec, doc, scope, stage, '');
}

/** A parsed `$project`: per field, included, excluded, computed (an expression) or a nested projection. */
type Projection = Map<string, boolean | { readonly expression: unknown } | Projection>;

function parseProjection(stage: string, spec: Document, into: Projection, prefix: string, modes: Set<string>): void {
  for (const [path, value] of Object.entries(spec)) {
    checkName(stage, path);
    const parts = path.split('.');
    let node = into;
    for (const part of parts.slice(0, -1)) {
      let child = node.get(part);
      if (!(child instanceof Map)) {
        child = new Map();
        node.set(part, child);
      }
      node = child;
    }
    const last = parts[parts.length - 1]!;
    const full = `${prefix}${path}`;
    if (isNested(value)) {
      if (Object.keys(value).length === 0) {
        throw stageError(
          40180,
          stage,
          `An empty sub-projection is not a valid value. Found empty object at path ${full}`,
        );
      }
      const child = node.get(last) instanceof Map ? (node.get(last) as Projection) : new Map();
      node.set(last, child);
      parseProjection(stage, value, child, `${full}.`, modes);
    } else if (typeof value === 'boolean' || numberType(value) !== undefined) {
      const on = truthy(value);
      node.set(last, on);
      if (full !== '_id') modes.add(on ? 'include' : 'exclude');
    } else {
      node.set(last, { expression: value });
      modes.add('compute');
    }
    if (modes.has('exclude') && (modes.has('include') || modes.has('compute'))) {
      const excluding = node.get(last) === false;
      if (modes.has('compute') && !excluding) {
        throw stageError(31252, stage, 'Cannot use expression other than $meta in exclusion projection');
      }
      throw excluding
        ? stageError(31254, stage, `Cannot do exclusion on field ${full} in inclusion projection`)
        : stageError(31253, stage, `Cannot do inclusion on field ${full} in exclusion projection`);
    }
  }
}

/** The included fields of a value, in the document's order; arrays element by element, other values dropped. */
function include(value: unknown, projection: Projection): unknown {
  if (Array.isArray(value)) {
    return value.filter((v) => Array.isArray(v) || isDocument(v)).map((v) => include(v, projection));
  }
  if (!isDocument(value)) return undefined;
  const out: Document = {};
  for (const [key, inner] of Object.entries(value)) {
    const node = projection.get(key);
    if (node === true) out[key] = inner;
    else if (node instanceof Map && (Array.isArray(inner) || isDocument(inner))) out[key] = include(inner, node);
  }
  return out;
}

function hasComputed(projection: Projection): boolean {
  for (const node of projection.values()) {
    if (node instanceof Map ? hasComputed(node) : typeof node === 'object') return true;
  }
  return false;
}

/** Adds the computed fields of an inclusion projection, in the specification's order. */
function compute(
  out: Document,
  projection: Projection,
  root: Document,
  scope: Scope,
  stage: string,
  prefix: string,
): Document {
  for (const [key, node] of projection) {
    if (node instanceof Map) {
      if (!hasComputed(node)) continue;
      const current = out[key];
      if (Array.isArray(current)) throw throughArray(stage, `${prefix}${key}`);
      out[key] = compute(isDocument(current) ? current : {}, node, root, scope, stage, `${prefix}${key}.`);
    } else if (typeof node === 'object') {
      const value = evaluate(node.expression, root, scope);
      if (value === undefined) delete out[key];
      else out[key] = value;
    }
  }
  return out;
}

/** A copy without the excluded fields; arrays element by element, other values kept. */
function exclude(value: unknown, projection: Projection): unknown {
  if (Array.isArray(value)) return value.map((v) => (Array.isArray(v) || isDocument(v) ? exclude(v, projection) : v));
  if (!isDocument(value)) return value;
  const out: Document = {};
  for (const [key, inner] of Object.entries(value)) {
    const node = projection.get(key);
    if (node === false) continue;
    out[key] = node instanceof Map ? exclude(inner, node) : inner;
  }
  return out;
}

function project(stage: string, spec: Document): ShapeStage {
  const projection: Projection = new Map();
  const modes = new Set<string>();
  parseProjection(stage, spec, projection, '', modes);
  if (projection.size === 0) throw stageError(51272, stage, 'projection specification must have at least one field');
  const inclusion =
    modes.has('include') || modes.has('compute') || (modes.size === 0 && projection.get('_id') === true);
  if (!inclusion) return (doc) => exclude(doc, projection) as Document;
  if (!projection.has('_id')) projection.set('_id', true);
  // _id comes first in an inclusion projection's output, as on mongod.
  const id = projection.get('_id');
  projection.delete('_id');
  const ordered: Projection = new Map([['_id', id!], ...projection]);
  return (doc, scope) => {
    const included = include(doc, ordered) as Document;
    const out: Document =
      ordered.get('_id') === true && doc._id !== undefined ? { _id: doc._id, ...included } : included;
    return compute(out, ordered, doc, scope, stage, '');
  };
}

function unset(spec: unknown): ShapeStage {
  const fields = typeof spec === 'string' ? [spec] : spec;
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new CommandError(
      31119,
      'Location31119',
      '$unset specification must be a string or an array with at least one field',
    );
  }
  if (!fields.every((f) => typeof f === 'string')) {
    throw new CommandError(
      31120,
      'Location31120',
      '$unset specification must be a string or an array containing only string values',
    );
  }
  return project('$unset', Object.fromEntries(fields.map((f) => [f, 0])));
}

function replaceRoot(expression: unknown): ShapeStage {
  return (doc, scope) => {
    const root = evaluate(expression, doc, scope);
    if (!isDocument(root)) {
      throw new CommandError(
        40228,
        'Location40228',
        `'newRoot' expression must evaluate to an object, but resulting value was: ${root === undefined ? 'MISSING' : JSON.stringify(root)}. Type of resulting value: '${root === undefined ? 'missing' : Array.isArray(root) ? 'array' : typeof root}'.`,
      );
    }
    return root;
  };
}

/** The stage a specification names, when it is one of the shaping stages; undefined otherwise. */
export function shapeStage(name: string, spec: unknown): ShapeStage | undefined {
  switch (name) {
    case '$addFields':
    case '$set':
      return addFields(name, spec);
    case '$project':
      if (!isDocument(spec)) throw new CommandError(15969, 'Location15969', '$project specification must be an object');
      return project(name, spec);
    case '$unset':
      return unset(spec);
    case '$replaceRoot': {
      if (!isDocument(spec)) {
        throw new CommandError(40229, 'Location40229', `expected an object as specification for $replaceRoot stage`);
      }
      for (const key of Object.keys(spec)) {
        if (key !== 'newRoot') {
          throw new CommandError(40415, 'Location40415', `BSON field '$replaceRoot.${key}' is an unknown field.`);
        }
      }
      if (!('newRoot' in spec)) {
        throw new CommandError(
          40414,
          'Location40414',
          "BSON field '$replaceRoot.newRoot' is missing but a required field",
        );
      }
      return replaceRoot(spec.newRoot);
    }
    case '$replaceWith':
      return replaceRoot(spec);
    default:
      return undefined;
  }
}
