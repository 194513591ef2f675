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

/** Hides the password of any URL in a text: `redis://user:***@host`. */
export function maskSecrets(text: string): string {
  return text.replace(/(\/\/[^:/@\s"]*:)[^@\s"]*@/g, '$1***@');
}

/** Keys whose values are never shown in a message, whatever they hold (`key`: a TLS private key). */
const secretKey = /password|passphrase|secret|token|^key$/i;

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
      const secret = secretKey.test(String(issue.path.at(-1) ?? ''));
      const got =
        issue.code === 'unrecognized_keys' ? '' : ` (got ${secret ? '***' : show(valueAt(input, issue.path))})`;
      return `  - ${where}: ${issue.message}${got}`;
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
