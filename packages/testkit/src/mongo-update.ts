import { Int32, Timestamp } from 'bson';
import { compareValues, typeRank } from './mongo-compare.js';
import { badValue, CommandError, codes, notImplemented } from './mongo-errors.js';
import type { Scope } from './mongo-expression.js';
import { addNumbers, multiplyNumbers, numberType, toJsNumber } from './mongo-numbers.js';
import { type Document, isDocument, matches, truthy } from './mongo-query.js';
import { type ShapeStage, shapeStage } from './mongo-stages.js';
import { showValue } from './mongo-store.js';

/**
 * One update as a write command or findAndModify gives it: operators, a
 * replacement or a pipeline (parsed), with its arrayFilters and the scope
 * (variables, collation) its expressions and comparisons use.
 */
export interface UpdateSpec {
  readonly update: Document | readonly ShapeStage[];
  readonly arrayFilters: readonly Document[] | undefined;
  readonly scope: Scope;
}

/** The stages a pipeline-style update may hold (mongod's own list); others are InvalidOptions (72). */
const updateStages = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

/** An update's `u`: a document (operators or a replacement) or a pipeline of the stages an update may have. */
export function parseUpdate(u: unknown): Document | ShapeStage[] {
  if (Array.isArray(u)) {
    return u.map((stage) => {
      const keys = isDocument(stage) ? Object.keys(stage) : [];
      if (keys.length !== 1) {
        throw new CommandError(
          40323,
          'Location40323',
          'A pipeline stage specification object must contain exactly one field.',
        );
      }
      const name = keys[0]!;
      const shape = updateStages.has(name) ? shapeStage(name, (stage as Document)[name]) : undefined;
      if (shape !== undefined) return shape;
      if (!name.startsWith('$') || name === '$') {
        throw new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${name}'`);
      }
      throw new CommandError(72, 'InvalidOptions', `${name} is not allowed to be used within an update`);
    });
  }
  if (!isDocument(u)) {
    throw new CommandError(
      codes.FailedToParse,
      'FailedToParse',
      'Update argument must be either an object or an array',
    );
  }
  return u;
}

export function isPipeline(update: Document | readonly ShapeStage[]): update is readonly ShapeStage[] {
  return Array.isArray(update);
}

/** True for `{ $set: … }`-style updates; refuses a mix of operators and fields. */
export function isOperatorUpdate(update: Document | readonly ShapeStage[]): boolean {
  if (isPipeline(update)) return false;
  const keys = Object.keys(update);
  const operators = keys.length > 0 && keys.every((k) => k.startsWith('$'));
  if (!operators && keys.some((k) => k.startsWith('$'))) {
    throw new CommandError(
      codes.FailedToParse,
      'FailedToParse',
      'Unknown modifier in update: mixing operators and fields',
    );
  }
  return operators;
}

/** A deep copy of the containers of a document; BSON values are immutable and shared. */
function cloneValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneValue);
  if (isDocument(value)) {
    const out: Document = {};
    for (const [key, inner] of Object.entries(value)) out[key] = cloneValue(inner);
    return out;
  }
  return value;
}

/** A replacement document keeps the `_id` of the one it replaces, first. */
export function replacement(id: unknown, update: Document): Document {
  const { _id, ...rest } = update;
  const keep = _id === undefined ? id : _id;
  return keep === undefined ? { ...rest } : { _id: keep, ...rest };
}

/** The fields an upsert takes from its query: top-level equalities (`{ a: 1 }`, `{ a: { $eq: 1 } }`). */
export function equalityFields(filter: Document): Document {
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

type Container = Document | unknown[];
/** One place an update writes to: a key of a document or an index of an array. */
type Slot = readonly [container: Container, key: string];

function pathNotViable(part: string, container: unknown): CommandError {
  return new CommandError(28, 'PathNotViable', `Cannot create field '${part}' in element {${showValue(container)}}`);
}

/** The array elements an `$[<identifier>]` names: those its arrayFilter matches. */
function filterElements(
  array: unknown[],
  identifier: string,
  filters: readonly Document[] | undefined,
  scope: Scope,
): number[] {
  if (identifier === '') return array.map((_, i) => i);
  const filter = filters?.find((f) => Object.keys(f).some((k) => k.split('.')[0] === identifier));
  if (filter === undefined) {
    throw badValue(`No array filter found for identifier '${identifier}' in path`);
  }
  const out: number[] = [];
  array.forEach((element, i) => {
    if (matches({ [identifier]: element }, filter, scope)) out.push(i);
  });
  return out;
}

/**
 * The slots a dotted path reaches, through documents, array indexes and the
 * `$[]`/`$[<identifier>]` operators; with `create`, missing documents on the
 * way are made (as mongod does for `$set`), without it a missing path reaches nothing.
 */
function slots(doc: Document, path: string, spec: UpdateSpec, create: boolean): Slot[] {
  const parts = path.split('.');
  let level: Container[] = [doc];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '$') throw notImplemented(`the positional $ update operator (path '${path}')`);
    const last = i === parts.length - 1;
    const next: Container[] = [];
    const here: Slot[] = [];
    for (const container of level) {
      const keys = positions(container, part, spec, path);
      for (const key of keys) {
        if (last) {
          here.push([container, key]);
          continue;
        }
        const child = (container as Record<string, unknown>)[key];
        if (Array.isArray(child) || isDocument(child)) next.push(child);
        else if (child === undefined || child === null) {
          if (!create) continue;
          if (child === null) throw pathNotViable(parts[i + 1]!, { [key]: null });
          const made: Document = {};
          setAt(container, key, made);
          next.push(made);
        } else if (create) throw pathNotViable(parts[i + 1]!, { [key]: child });
      }
    }
    if (last) return here;
    level = next;
  }
  return [];
}

function positions(container: Container, part: string, spec: UpdateSpec, path: string): string[] {
  const all = /^\$\[(\w*)\]$/.exec(part);
  if (!Array.isArray(container)) {
    if (all !== null) throw badValue(`Cannot apply array updates to non-array element (path '${path}')`);
    return [part];
  }
  if (all !== null) return filterElements(container, all[1]!, spec.arrayFilters, spec.scope).map(String);
  if (!/^\d+$/.test(part)) throw pathNotViable(part, container);
  return [part];
}

function setAt(container: Container, key: string, value: unknown): void {
  if (Array.isArray(container)) {
    const index = Number(key);
    // mongod pads an array with nulls up to an index past its end.
    while (container.length < index) container.push(null);
    container[index] = value;
  } else {
    container[key] = value;
  }
}

function getAt(container: Container, key: string): unknown {
  return (container as Record<string, unknown>)[key];
}

function unsetAt(container: Container, key: string): void {
  // In an array $unset leaves a null, so that later indexes do not move.
  if (Array.isArray(container)) {
    if (Number(key) < container.length) container[Number(key)] = null;
  } else {
    delete container[key];
  }
}

function numeric(value: unknown, op: string, id: unknown, path: string, what: 'argument' | 'field'): void {
  if (numberType(value) !== undefined) return;
  throw new CommandError(
    codes.TypeMismatch,
    'TypeMismatch',
    what === 'argument'
      ? `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${showValue(value)}}`
      : `Cannot apply ${op} to a value of non-numeric type. {_id: ${showValue(id)}} has the field '${path}' of non-numeric type ${typeof value}`,
  );
}

/** Arguments of `$push`/`$addToSet`: one value, or `$each` (with `$position`/`$slice`/`$sort` refused). */
function eachOf(value: unknown, op: string): unknown[] {
  if (!isDocument(value) || !('$each' in value)) return [value];
  for (const key of Object.keys(value)) {
    if (key !== '$each') throw notImplemented(`${op} with ${key}`);
  }
  if (!Array.isArray(value.$each)) throw badValue(`The argument to $each in ${op} must be an array`);
  return value.$each;
}

const knownButMissing = new Set(['$rename', '$pull', '$pullAll', '$bit']);

/** Applies one operator to one path of a (copied) document. */
function applyOne(out: Document, op: string, path: string, value: unknown, spec: UpdateSpec, inserting: boolean): void {
  const collator = spec.scope.collator;
  switch (op) {
    case '$set':
      for (const [c, k] of slots(out, path, spec, true)) setAt(c, k, cloneValue(value));
      return;
    case '$setOnInsert':
      if (inserting) for (const [c, k] of slots(out, path, spec, true)) setAt(c, k, cloneValue(value));
      return;
    case '$unset':
      for (const [c, k] of slots(out, path, spec, false)) unsetAt(c, k);
      return;
    case '$inc':
    case '$mul':
      numeric(value, op, out._id, path, 'argument');
      for (const [c, k] of slots(out, path, spec, true)) {
        const current = getAt(c, k);
        if (current === undefined) {
          setAt(c, k, op === '$inc' ? value : multiplyNumbers(value, new Int32(0)));
          continue;
        }
        numeric(current, op, out._id, path, 'field');
        setAt(c, k, op === '$inc' ? addNumbers(current, value, 'error', '$inc') : multiplyNumbers(current, value));
      }
      return;
    case '$min':
    case '$max':
      for (const [c, k] of slots(out, path, spec, true)) {
        const current = getAt(c, k);
        const order = compareValues(value, current, collator);
        if (current === undefined || (op === '$min' ? order < 0 : order > 0)) setAt(c, k, cloneValue(value));
      }
      return;
    case '$currentDate': {
      const type = isDocument(value) ? value.$type : undefined;
      if (!(value === true || type === 'date' || type === 'timestamp')) {
        throw badValue(`${path} must be a boolean or {$type: 'date' | 'timestamp'}`);
      }
      const now = new Date();
      const stamp = type === 'timestamp' ? new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }) : now;
      for (const [c, k] of slots(out, path, spec, true)) setAt(c, k, stamp);
      return;
    }
    case '$push':
    case '$addToSet':
      for (const [c, k] of slots(out, path, spec, true)) {
        const current = getAt(c, k) ?? [];
        if (!Array.isArray(current)) {
          throw badValue(
            `The field '${path}' must be an array but is of type ${typeof current} in document {_id: ${showValue(out._id)}}`,
          );
        }
        const next = [...current];
        for (const item of eachOf(value, op)) {
          const present = (v: unknown) => typeRank(v) === typeRank(item) && compareValues(v, item, collator) === 0;
          if (op === '$addToSet' && next.some(present)) continue;
          next.push(cloneValue(item));
        }
        setAt(c, k, next);
      }
      return;
    case '$pop':
      for (const [c, k] of slots(out, path, spec, false)) {
        const current = getAt(c, k);
        if (current === undefined) continue;
        if (!Array.isArray(current)) throw badValue(`Path '${path}' contains an element of non-array type`);
        setAt(c, k, truthy(value) && toJsNumber(value) < 0 ? current.slice(1) : current.slice(0, -1));
      }
      return;
    default:
      if (knownButMissing.has(op)) throw notImplemented(`the update operator ${op}`);
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
  }
}

/**
 * The document after an update: a copy with the operators applied, or the
 * replacement, or what the pipeline made of it; the last two keep `_id` (first).
 */
export function applyUpdate(doc: Document, spec: UpdateSpec, inserting: boolean): Document {
  const update = spec.update;
  if (isPipeline(update)) {
    if (spec.arrayFilters !== undefined && spec.arrayFilters.length > 0) {
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        'arrayFilters may not be specified for pipeline-style updates',
      );
    }
    let out = doc;
    for (const stage of update) out = stage(out, spec.scope);
    return replacement(doc._id, out);
  }
  if (!isOperatorUpdate(update)) {
    if (spec.arrayFilters !== undefined && spec.arrayFilters.length > 0) {
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        'arrayFilters may not be specified for replacement-style updates',
      );
    }
    return replacement(doc._id, update);
  }
  const out = cloneValue(doc) as Document;
  for (const [op, fields] of Object.entries(update)) {
    if (!isDocument(fields)) {
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        `Modifiers operate on fields but we found type ${typeof fields} instead`,
      );
    }
    for (const [path, value] of Object.entries(fields)) applyOne(out, op, path, value, spec, inserting);
  }
  return out;
}
