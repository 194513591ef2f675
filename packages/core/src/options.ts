import type { z } from 'zod';
import { ConfigError } from './errors.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One line per problem, each naming the field, the value found and what is
 * allowed: `flows.demo.batchSize: Too small: expected number to be >0 (got 0)`.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  return issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${show(valueAt(input, issue.path))})`;
      return `  - ${where}: ${issue.message}${got}`;
    })
    .join('\n');
}

/**
 * Parses options eagerly with a zod schema and freezes the result, so that a
 * bad option fails at construction, naming the connector, not at the first call.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, label: string): Readonly<z.output<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`${label}:\n${formatIssues(result.error.issues, input)}`, { cause: result.error });
  }
  return Object.freeze(result.data);
}
