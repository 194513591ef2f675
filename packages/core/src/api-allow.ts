import { z } from 'zod';

/** Keys that are always the named connection's: no `api.allow` opens them. */
export const connectionOnlyKeys = ['url', 'client', 'kind', 'connectionName'] as const;

/** A name pattern: `*` stands for any run of characters, `?` for one; everything else is literal. */
const namePattern = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => /^[^\s]+$/.test(p), 'expected a name pattern without spaces, such as "orders-*"');

/**
 * What API callers may do on one connection, beyond its connector's
 * data-plane keys: more keys, fewer names, no deleting at the source.
 */
export const apiAllowConnectionSchema = z.strictObject({
  /** Endpoint keys API callers may also set on this connection (`group`, `database`…). */
  keys: z
    .array(z.string().min(1))
    .default([])
    .superRefine((keys, ctx) => {
      for (const [i, key] of keys.entries()) {
        if ((connectionOnlyKeys as readonly string[]).includes(key)) {
          ctx.addIssue({ code: 'custom', path: [i], message: `"${key}" is always the connection's own` });
        }
      }
    }),
  /** Patterns of the stream, queue, collection or table names API callers may name; omitted: any. */
  names: z.array(namePattern).min(1).optional(),
  /** false: API callers may not ask for what deletes records others could still read (a move, a range read, a trim). */
  destructive: z.boolean().default(true),
});

/** `api.allow`: per connection name. */
export const apiAllowSchema = z.record(z.string().min(1), apiAllowConnectionSchema);

export type ApiAllowConnection = z.output<typeof apiAllowConnectionSchema>;
export type ApiAllow = z.output<typeof apiAllowSchema>;

/** True when `name` matches one of the glob `patterns` (`*`, `?`). */
export function matchesName(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
      .join('');
    return new RegExp(`^${body}$`, 's').test(name);
  });
}
