import { compareValues } from './mongo-compare.js';
import { badValue, CommandError, notImplemented } from './mongo-errors.js';
import { numberType, toJsNumber } from './mongo-numbers.js';

/** The variables of a command's `let`, by name. */
export type Variables = Readonly<Record<string, unknown>>;

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

/** A field path of an aggregation expression: through embedded documents. */
function fieldPath(root: unknown, path: string): unknown {
  let current = root;
  for (const part of path.split('.')) {
    if (Array.isArray(current)) throw notImplemented(`expression field paths through arrays ('${path}')`);
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

function variable(name: string, doc: Doc, variables: Variables | undefined): unknown {
  const [head = '', ...rest] = name.split('.');
  let value: unknown;
  if (head === 'ROOT' || head === 'CURRENT') value = doc;
  else if (variables !== undefined && Object.hasOwn(variables, head)) value = variables[head];
  else throw new CommandError(17276, 'Location17276', `Use of undefined variable: ${head}`);
  return rest.length === 0 ? value : fieldPath(value, rest.join('.'));
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

/**
 * Evaluates the part of MongoDB's aggregation expression language that
 * `$expr` filters need: field paths, `$$ROOT`/`$$CURRENT` and `let`
 * variables, literals, comparisons, `$and`/`$or`/`$not` and `$in`. Any other
 * operator is refused by name.
 */
export function evaluate(expression: unknown, doc: Doc, variables: Variables | undefined): unknown {
  if (typeof expression === 'string' && expression.startsWith('$')) {
    return expression.startsWith('$$')
      ? variable(expression.slice(2), doc, variables)
      : fieldPath(doc, expression.slice(1));
  }
  if (Array.isArray(expression)) return expression.map((e) => evaluate(e, doc, variables));
  if (!isPlainObject(expression)) return expression;
  const keys = Object.keys(expression);
  const op = keys[0];
  if (op === undefined || !op.startsWith('$')) {
    const out: Doc = {};
    for (const key of keys) out[key] = evaluate(expression[key], doc, variables);
    return out;
  }
  if (keys.length > 1)
    throw badValue(
      `an expression specification must contain exactly one field, the name of the expression (found ${keys.length})`,
    );
  const arg = expression[op];
  if (op === '$literal') return arg;
  const compare = comparisons[op];
  if (compare !== undefined || op === '$cmp') {
    const [a, b] = args(arg, op, 2).map((e) => comparable(evaluate(e, doc, variables)));
    const order = Math.sign(compareValues(a, b));
    return compare === undefined ? order : compare(order);
  }
  switch (op) {
    case '$and':
      return args(arg, op).every((e) => truthyExpression(evaluate(e, doc, variables)));
    case '$or':
      return args(arg, op).some((e) => truthyExpression(evaluate(e, doc, variables)));
    case '$not':
      return !truthyExpression(evaluate(args(arg, op, 1)[0], doc, variables));
    case '$in': {
      const [needle, haystack] = args(arg, op, 2).map((e) => evaluate(e, doc, variables));
      if (!Array.isArray(haystack))
        throw new CommandError(40081, 'Location40081', '$in requires an array as a second argument');
      return haystack.some((v) => compareValues(comparable(needle), comparable(v)) === 0);
    }
    default:
      throw notImplemented(`the expression operator ${op}`);
  }
}
