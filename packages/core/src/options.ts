import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { isSecretKey, maskSecrets } from './secrets.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Values of secret-named keys inside an object shown, masked. */
function hideSecretKeys(key: string, value: unknown): unknown {
  return key !== '' && isSecretKey(key) && (typeof value === 'string' || typeof value === 'number') ? '***' : value;
}

/** Masked before it is shortened, so that a cut secret is still found whole. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = maskSecrets(JSON.stringify(value, hideSecretKeys));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** What was got: nothing of a text where a section was expected (`api: <token>` is a token put in the wrong place). */
function got(issue: z.core.$ZodIssue, value: unknown): string {
  if (isSecretKey(String(issue.path.at(-1) ?? ''))) return '***';
  const section = issue.code === 'invalid_type' && ['object', 'record', 'array', 'map'].includes(issue.expected);
  if (section && typeof value === 'string') return 'a text';
  return show(value);
}

/**
 * One line per problem, each naming the field, the value found and what is
 * allowed: `flows.demo.batchSize: Too small: expected number to be >0 (got 0)`.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  return issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      const value = issue.code === 'unrecognized_keys' ? '' : ` (got ${got(issue, valueAt(input, issue.path))})`;
      return `  - ${where}: ${issue.message}${value}`;
    })
    .join('\n');
}

/**
 * Parses options eagerly with a zod schema and freezes the result, so that a
 * bad option fails at construction, naming the connector, not at the first call.
 * The message quotes the values it got, with URL passwords and secret keys masked.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, label: string): Readonly<z.output<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(maskSecrets(`${label}:\n${formatIssues(result.error.issues, input)}`), {
      cause: result.error,
    });
  }
  return Object.freeze(result.data);
}
