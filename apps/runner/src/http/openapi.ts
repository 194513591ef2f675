import { z } from 'zod';
import type { RouteDoc } from './api-route.js';

type JsonSchema = Record<string, unknown>;

export interface OpenApiInput {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  readonly routes: readonly RouteDoc[];
  /** Schemas given a name: wherever a route's schema holds one of them, the document refers to it. */
  readonly components: Readonly<Record<string, z.ZodType>>;
}

/** The names of the document's components, beside the descriptions `.describe()` and `.meta()` keep globally. */
class ComponentNames extends z.core.$ZodRegistry<{ id?: string }> {
  override get(schema: z.core.$ZodType): { id?: string } | undefined {
    const own = super.get(schema);
    const global = z.globalRegistry.get(schema);
    return own === undefined && global === undefined ? undefined : { ...global, ...own };
  }
}

/**
 * Turns zod schemas into the document's JSON Schema (OpenAPI 3.1 takes JSON
 * Schema 2020-12 as it is), each named component once under
 * `components.schemas` and referred to from wherever it is used.
 */
function schemaWriter(components: Readonly<Record<string, z.ZodType>>) {
  const names = new ComponentNames();
  for (const [name, schema] of Object.entries(components)) names.add(schema, { id: name });
  const written: Record<string, JsonSchema> = {};
  const toComponents = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(toComponents);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : toComponents(v),
      ]),
    );
  };
  const write = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    // Input: what a caller may send (defaults optional); output: what an answer holds.
    const {
      $schema: _,
      $defs = {},
      ...json
    } = z.toJSONSchema(schema, {
      metadata: names,
      io,
      unrepresentable: 'any',
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [name, def] of Object.entries($defs)) {
      if (!(name in components)) throw new Error(`[ferry] openapi: ${name} is not a component`);
      const converted = toComponents(def) as JsonSchema;
      if (name in written && JSON.stringify(written[name]) !== JSON.stringify(converted)) {
        throw new Error(`[ferry] openapi: component ${name} differs as a request and as an answer`);
      }
      written[name] = converted;
    }
    return toComponents(json) as JsonSchema;
  };
  return { write, written };
}

const json = (schema: JsonSchema) => ({ content: { 'application/json': { schema } } });

/** `/jobs/:id` → `/jobs/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Each property of a parameters object as an OpenAPI parameter. */
function parameters(json: JsonSchema, where: 'path' | 'query') {
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
  }));
}

/**
 * The OpenAPI 3.1 document of the routes, made from their zod schemas: their
 * parameters, bodies and answers, and 401 on every route that needs the token.
 * The schemas named in `components` must include `Error`.
 */
export function openApiDocument(input: OpenApiInput): object {
  const { write, written } = schemaWriter(input.components);
  const error = { $ref: '#/components/schemas/Error' };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of input.routes) {
    const answers: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(route.answers)) {
      const media = answer.media ?? 'application/json';
      answers[status] = {
        description: answer.description,
        ...(answer.schema !== undefined
          ? { content: { [media]: { schema: write(answer.schema, 'output') } } }
          : answer.media !== undefined
            ? { content: { [media]: {} } }
            : {}),
      };
    }
    if (route.public !== true) answers['401'] ??= { description: 'Missing or wrong bearer token', ...json(error) };
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.public === true ? { security: [] } : {}),
      ...(route.params === undefined && route.query === undefined
        ? {}
        : {
            parameters: [
              ...(route.params === undefined ? [] : parameters(write(route.params, 'input'), 'path')),
              ...(route.query === undefined ? [] : parameters(write(route.query, 'input'), 'query')),
            ],
          }),
      ...(route.body === undefined ? {} : { requestBody: { required: true, ...json(write(route.body, 'input')) } }),
      responses: answers,
    };
  }
  // Every component, also those no route refers to yet.
  for (const [name, schema] of Object.entries(input.components)) if (!(name in written)) write(schema, 'output');
  return {
    openapi: '3.1.0',
    info: { title: input.title, version: input.version, description: input.description },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(Object.keys(input.components).map((name) => [name, written[name]])),
    },
    security: [{ bearer: [] }],
    paths,
  };
}
