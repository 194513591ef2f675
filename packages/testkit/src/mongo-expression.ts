import { type Collator, compareValues } from './mongo-compare.js';
import { badValue, CommandError, notImplemented } from './mongo-errors.js';
import { numberType, toJsNumber } from './mongo-numbers.js';

/** The variables of a command's `let`, by name. */
export type Variables = Readonly<Record<string, unknown>>;

/** What an expression or filter sees besides the document: the command's variables and collation. */
export interface Scope {
  readonly variables?: Variables;
  /** Orders strings; undefined for the simple collation. */
  readonly collator?: Collator;
}

type Doc = Record<string, unknown>;

function isPlainObject(value: unknown): value is Doc {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    (value as { _bsontype?: string })._bsontype === undefined
  );
}

/**
 * A field path of an aggregation expression: through embedded documents,
 * and through arrays element by element (`$a.b` of `a: [{b: 1}, {b: 2}]` is
 * `[1, 2]`); missing (undefined) when it reaches nothing.
 */
function fieldPath(value: unknown, parts: readonly string[], from = 0): unknown {
  if (from === parts.length) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const element of value) {
      if (!Array.isArray(element) && !isPlainObject(element)) continue;
      const inner = fieldPath(element, parts, from);
      if (inner !== undefined) out.push(inner);
    }
    return out;
  }
  if (!isPlainObject(value)) return undefined;
  return fieldPath(value[parts[from]!], parts, from + 1);
}

/** System variables mongod has that this server does not give a value. */
const unimplementedVariables = new Set([
  'NOW',
  'CLUSTER_TIME',
  'USER_ROLES',
  'SEARCH_META',
  'DESCEND',
  'PRUNE',
  'KEEP',
]);

function variable(name: string, doc: Doc, variables: Variables | undefined): unknown {
  const [head = '', ...rest] = name.split('.');
  let value: unknown;
  if (head === 'ROOT' || head === 'CURRENT') value = doc;
  else if (head === 'REMOVE') return undefined;
  else if (variables !== undefined && Object.hasOwn(variables, head)) value = variables[head];
  else if (unimplementedVariables.has(head)) throw notImplemented(`the system variable $$${head}`);
  else throw new CommandError(17276, 'Location17276', `Use of undefined variable: ${head}`);
  return fieldPath(value, rest);
}

/** Truth as aggregation sees it: false, null, missing and zero are false. */
export function truthyExpression(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (numberType(value) !== undefined) return toJsNumber(value) !== 0;
  return true;
}

function args(value: unknown, op: string, count?: number): unknown[] {
  const list = Array.isArray(value) ? value : [value];
  if (count !== undefined && list.length !== count) {
    throw new CommandError(
      16020,
      'Location16020',
      `Expression ${op} takes exactly ${count} arguments. ${list.length} were passed in.`,
    );
  }
  return list;
}

const comparisons: Record<string, (order: number) => boolean> = {
  $eq: (o) => o === 0,
  $ne: (o) => o !== 0,
  $gt: (o) => o > 0,
  $gte: (o) => o >= 0,
  $lt: (o) => o < 0,
  $lte: (o) => o <= 0,
};

/** Missing compares as null in an expression's comparison. */
function comparable(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** The named arguments of `$getField`/`$setField`/`$unsetField`, each checked as mongod parses them. */
function namedArgs(op: string, arg: unknown, required: readonly string[], code: number): Doc {
  if (!isPlainObject(arg))
    throw new CommandError(code, `Location${code}`, `${op} only supports an object as its argument`);
  for (const key of Object.keys(arg)) {
    if (!required.includes(key)) {
      throw new CommandError(code + 1, `Location${code + 1}`, `${op} found an unknown argument: ${key}`);
    }
  }
  for (const key of required) {
    if (!(key in arg)) {
      throw new CommandError(code + 2, `Location${code + 2}`, `${op} requires '${key}' to be specified`);
    }
  }
  return arg;
}

/** The field name argument: a string constant (`'a.b'`, or `{ $literal: '$a' }` for one that starts with `$`). */
function constantField(op: string, field: unknown, code: number): string {
  if (typeof field === 'string') {
    if (field.startsWith('$')) {
      throw new CommandError(
        code,
        `Location${code}`,
        `${op} requires 'field' to evaluate to a constant, but got a field path or variable: '${field}' (use $literal)`,
      );
    }
    return field;
  }
  if (isPlainObject(field) && Object.keys(field).length === 1 && '$literal' in field) {
    if (typeof field.$literal === 'string') return field.$literal;
  }
  throw new CommandError(code, `Location${code}`, `${op} requires 'field' to evaluate to a constant string`);
}

/** An object copied with one field set (in place when it exists, else last) or, for a missing value, removed. */
function withField(input: Doc, field: string, value: unknown): Doc {
  const out: Doc = {};
  for (const [key, inner] of Object.entries(input)) {
    if (key !== field) out[key] = inner;
    else if (value !== undefined) out[key] = value;
  }
  if (value !== undefined && !Object.hasOwn(input, field)) out[field] = value;
  return out;
}

/** `$getField`, `$setField` and `$unsetField`: fields whose names have dots or a leading `$`. */
function fieldOperator(op: string, arg: unknown, doc: Doc, scope: Scope): unknown {
  if (op === '$getField') {
    // The short form names the field alone (`'a.b'`, `{ $literal: '$a' }`) and reads it from $$CURRENT.
    const short = typeof arg === 'string' || (isPlainObject(arg) && Object.keys(arg)[0]?.startsWith('$') === true);
    const spec = short ? { field: arg, input: '$$CURRENT' } : arg;
    const { field, input } = namedArgs(op, spec, ['field', 'input'], 3041701);
    const name = constantField(op, field, 5654602);
    const object = evaluate(input, doc, scope);
    if (object === undefined || object === null) return null;
    if (!isPlainObject(object))
      throw new CommandError(3041705, 'Location3041705', `${op} requires 'input' to evaluate to type Object`);
    return object[name];
  }
  const names = op === '$setField' ? ['field', 'input', 'value'] : ['field', 'input'];
  const { field, input, value } = namedArgs(op, arg, names, 4161100);
  const name = constantField(op, field, 4161106);
  const object = evaluate(input, doc, scope);
  if (object === undefined || object === null) return null;
  if (!isPlainObject(object))
    throw new CommandError(4161105, 'Location4161105', `${op} requires 'input' to evaluate to type Object`);
  return withField(object, name, op === '$setField' ? evaluate(value, doc, scope) : undefined);
}

/** An object literal of an expression: each field evaluated, missing ones left out; names are plain field names. */
function objectExpression(expression: Doc, doc: Doc, scope: Scope): Doc {
  const out: Doc = {};
  for (const key of Object.keys(expression)) {
    if (key.startsWith('$')) {
      throw new CommandError(
        16410,
        'Location16410',
        `FieldPath field names may not start with '$'. Consider using $getField or $setField.`,
      );
    }
    if (key.includes('.')) {
      throw new CommandError(
        16412,
        'Location16412',
        `FieldPath field names may not contain '.'. Consider using $getField or $setField.`,
      );
    }
    const value = evaluate(expression[key], doc, scope);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Evaluates the part of MongoDB's aggregation expression language that this
 * server runs: field paths, `$$ROOT`/`$$CURRENT`/`$$REMOVE` and `let`
 * variables, object and array literals, `$literal`, comparisons (strings by
 * the scope's collation), `$and`/`$or`/`$not`, `$in`, and
 * `$getField`/`$setField`/`$unsetField`. Any other operator is refused by name.
 * Missing is undefined.
 */
export function evaluate(expression: unknown, doc: Doc, scope: Scope = {}): unknown {
  if (typeof expression === 'string' && expression.startsWith('$')) {
    return expression.startsWith('$$')
      ? variable(expression.slice(2), doc, scope.variables)
      : fieldPath(doc, expression.slice(1).split('.'));
  }
  if (Array.isArray(expression)) return expression.map((e) => evaluate(e, doc, scope) ?? null);
  if (!isPlainObject(expression)) return expression;
  const keys = Object.keys(expression);
  const op = keys[0];
  if (op === undefined || !op.startsWith('$')) return objectExpression(expression, doc, scope);
  if (keys.length > 1)
    throw badValue(
      `an expression specification must contain exactly one field, the name of the expression (found ${keys.length})`,
    );
  const arg = expression[op];
  if (op === '$literal') return arg;
  const compare = comparisons[op];
  if (compare !== undefined || op === '$cmp') {
    const [a, b] = args(arg, op, 2).map((e) => comparable(evaluate(e, doc, scope)));
    const order = Math.sign(compareValues(a, b, scope.collator));
    return compare === undefined ? order : compare(order);
  }
  switch (op) {
    case '$and':
      return args(arg, op).every((e) => truthyExpression(evaluate(e, doc, scope)));
    case '$or':
      return args(arg, op).some((e) => truthyExpression(evaluate(e, doc, scope)));
    case '$not':
      return !truthyExpression(evaluate(args(arg, op, 1)[0], doc, scope));
    case '$in': {
      const [needle, haystack] = args(arg, op, 2).map((e) => evaluate(e, doc, scope));
      if (!Array.isArray(haystack))
        throw new CommandError(40081, 'Location40081', '$in requires an array as a second argument');
      return haystack.some((v) => compareValues(comparable(needle), comparable(v), scope.collator) === 0);
    }
    case '$getField':
    case '$setField':
    case '$unsetField':
      return fieldOperator(op, arg, doc, scope);
    default:
      throw notImplemented(`the expression operator ${op}`);
  }
}
