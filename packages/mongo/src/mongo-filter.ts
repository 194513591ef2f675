/** Query operators that run JavaScript on the server: refused in a filter unless the connection's `allowOperators` names them. */
export const codeOperators = ['$where', '$function', '$accumulator'] as const;

export type CodeOperator = (typeof codeOperators)[number];

/** Where a refused operator stands in a filter, as the path of keys and indexes to it. */
export interface OperatorFound {
  readonly operator: string;
  readonly path: readonly (string | number)[];
}

/**
 * Every code operator in a filter not among `allowed`, at any depth: inside
 * `$and`/`$or`/`$nor`, `$expr`, `$elemMatch`, arrays and field conditions alike.
 */
export function findCodeOperators(filter: unknown, allowed: readonly string[]): OperatorFound[] {
  const found: OperatorFound[] = [];
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if ((codeOperators as readonly string[]).includes(key) && !allowed.includes(key)) {
          found.push({ operator: key, path: [...path, key] });
        }
        visit(inner, [...path, key]);
      }
    }
  };
  visit(filter, []);
  return found;
}
