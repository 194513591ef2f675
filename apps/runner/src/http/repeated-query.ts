import type { FastifyReply, FastifyRequest } from 'fastify';

/** The first name of urlencoded parameters (a query, a form) given more than once, or undefined. */
export function repeatedParameter(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return undefined;
}

/** The first query parameter of a request's URL given more than once, or undefined. */
export function repeatedQueryParameter(url: string): string | undefined {
  const start = url.indexOf('?');
  return start < 0 ? undefined : repeatedParameter(new URLSearchParams(url.slice(start + 1)));
}

/**
 * A 400 for a query that gives a parameter twice, on every route: a route
 * reads one value, and which of two a check saw and which one a handler used
 * must never differ (`/ui?token=a&token=b`).
 */
export async function refuseRepeatedQuery(request: FastifyRequest, reply: FastifyReply) {
  const key = repeatedQueryParameter(request.url);
  if (key === undefined) return;
  return reply
    .code(400)
    .send({ error: `[ferry] invalid query:\n  - ${key}: given more than once; give each query parameter once` });
}
