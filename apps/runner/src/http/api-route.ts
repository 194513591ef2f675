import { formatIssues } from '@ferry/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { BadRequestError } from '../jobs/job-spec.js';

/** One answer of a route: what it means, and its body's schema and media type where it has a body. */
export interface RouteAnswer {
  readonly description: string;
  /** The JSON body (application/json unless `media` says otherwise). */
  readonly schema?: z.ZodType;
  /** A body that is not JSON, or not described: `text/plain`, `text/event-stream`. */
  readonly media?: string;
}

/**
 * What the OpenAPI document says of a route, all of it from zod schemas: the
 * same ones the route checks its input with (see `ApiRoute`).
 */
export interface RouteDoc {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Fastify's form: `/jobs/:id`. */
  readonly url: string;
  readonly summary: string;
  /** Needs no token. */
  readonly public?: boolean;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly answers: Readonly<Record<number, RouteAnswer>>;
  /** More paths to the same route, left out of the document: `/s2s` beside `/s2s/`. */
  readonly aliases?: readonly string[];
}

export interface RouteInput<P extends z.ZodObject, Q extends z.ZodObject, T> {
  readonly params: z.output<P>;
  readonly query: z.output<Q>;
  readonly body: T;
}

/**
 * A route of the API: its document, and its handler, which gets the path
 * parameters, the query and the body already checked with the route's own
 * schemas; a refused one is a 400 naming each field, the value and what is
 * allowed.
 */
export interface ApiRoute<
  P extends z.ZodObject = z.ZodObject,
  Q extends z.ZodObject = z.ZodObject,
  B extends z.ZodType = z.ZodType,
  T = z.output<B>,
> extends RouteDoc {
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** What a refused body is called in the 400: `schedule` gives `[ferry] invalid schedule: …`. */
  readonly invalid?: string;
  /**
   * Checks the body where its schema cannot alone, and makes of it what the
   * handler takes; `body` then only describes it. A flow spec is one: each
   * endpoint is checked by the connector of the connection it names, which
   * only the server's config tells.
   */
  readonly check?: (body: unknown) => T;
  handler(input: RouteInput<P, Q, T>, reply: FastifyReply, request: FastifyRequest): unknown;
}

function parsed<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success)
    throw new BadRequestError(`[ferry] invalid ${what}:\n${formatIssues(result.error.issues, input)}`);
  return result.data;
}

/** Declares a route: its types follow from its schemas. */
export function apiRoute<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, T = z.output<B>>(
  route: ApiRoute<P, Q, B, T>,
): ApiRoute<P, Q, B, T> {
  return route;
}

const refused = 'Bad request: each field, the value and what is allowed';

/**
 * Registers the routes with Fastify, each checking its input with its
 * schemas; answers their documents, with the 400 of a refused query or body
 * (`refusedSchema`: the API's Error schema), and of refused path parameters.
 */
export function addRoutes(
  app: FastifyInstance,
  // biome-ignore lint/suspicious/noExplicitAny: each route's own types were checked where it was declared
  routes: readonly ApiRoute<any, any, any, any>[],
  refusedSchema: z.ZodType,
): RouteDoc[] {
  for (const route of routes) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const params = route.params === undefined ? {} : parsed(route.params, request.params ?? {}, 'path');
      const query = route.query === undefined ? {} : parsed(route.query, request.query ?? {}, 'query');
      const body =
        route.check !== undefined
          ? route.check(request.body)
          : route.body === undefined
            ? undefined
            : parsed(route.body, request.body, route.invalid ?? 'request');
      return route.handler({ params, query, body }, reply, request);
    };
    for (const url of [route.url, ...(route.aliases ?? [])]) app.route({ method: route.method, url, handler });
  }
  return routes.map((route) =>
    route.params === undefined && route.query === undefined && route.body === undefined
      ? route
      : { ...route, answers: { 400: { description: refused, schema: refusedSchema }, ...route.answers } },
  );
}
