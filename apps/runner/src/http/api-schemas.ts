import { type ConnectorDefinition, type ConnectorRegistry, type EndpointRole, flowSchema } from '@ferry/core';
import { z } from 'zod';
import { jobIdMessage, jobIdPattern, scheduleIdMessage, scheduleIdPattern } from '../control/job-ids.js';
import { jobStates } from '../control/jobs.js';
import { s2sDictSchema } from './s2s.js';

/**
 * The API's bodies, parameters and answers as zod schemas: the routes check
 * their input with them, and the OpenAPI document is made of them. Those that
 * name systems (kinds, letters, each connector's endpoint options) are made
 * from the registry, plug-ins included.
 */

const names = /^[A-Za-z0-9_.:-]{1,100}$/;
const namesMessage = 'expected 1 to 100 letters, digits, _ . : -';
const parallelism = z.int().min(1).max(64).describe('pumps side by side, for a source with competing readers');

export const errorSchema = z.object({ error: z.string().describe('the field, the value and what is allowed') });

export const jobStateSchema = z.enum(jobStates, { error: `expected one of ${jobStates.join(', ')}` });

const counts = {
  records: z.number(),
  batches: z.number(),
  bytes: z.number(),
  deadLettered: z.number(),
  skippedFields: z.number().optional().describe('records written without keys the sink had no place for'),
};

export const jobSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: jobStateSchema,
  origin: z.enum(['s2s', 'flows', 'schedule', 'cli']).optional(),
  progress: z
    .looseObject({
      ...counts,
      rate: z.number().describe('records per second'),
      elapsedMs: z.number(),
      backlog: z.number().optional().describe('records waiting at the source, where it can tell'),
      lastError: z.string().optional(),
      waiting: z.enum(['full', 'empty']).optional(),
      edge: z.string().optional(),
    })
    .optional()
    .describe('sent at most every 250 ms while the job runs'),
  result: z
    .looseObject({
      ...counts,
      rate: z.number(),
      elapsedMs: z.number(),
      stopReason: z.enum(['empty', 'maxBatches', 'full', 'aborted']),
      edge: z.string(),
      worker: z.string().describe('host:pid'),
      instances: z.int(),
      cancelled: z.boolean().optional(),
      direct: z.string().optional().describe("the source's direct path to the sink, when batches took it"),
    })
    .optional(),
  error: z.string().optional(),
  attempts: z.int(),
  createdAt: z.iso.datetime().optional(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  scheduler: z.string().optional().describe('the schedule that queued it'),
});

/** Checked before the queue is asked: an id is also a key beside BullMQ's own. */
export const jobIdParamsSchema = z.object({ id: z.string().regex(jobIdPattern, jobIdMessage) });
export const scheduleIdParamsSchema = z.object({ id: z.string().regex(scheduleIdPattern, scheduleIdMessage) });

const limitMessage = 'expected an integer from 1 to 1000';

export const jobsQuerySchema = z.object({
  state: jobStateSchema.optional(),
  limit: z.coerce
    .number({ error: limitMessage })
    .int({ error: limitMessage })
    .min(1, { error: limitMessage })
    .max(1000, { error: limitMessage })
    .default(100),
});

export const scheduleSchema = z
  .strictObject({
    id: z.string().regex(scheduleIdPattern, scheduleIdMessage),
    every: z
      .number()
      .positive()
      .max(366 * 24 * 3600)
      .optional()
      .describe('seconds between runs'),
    cron: z.string().min(9).max(200).optional().describe('a cron pattern: 5 fields, or 6 with seconds first'),
    flow: z.union([z.string().min(1), z.looseObject({})]).describe('a flow of the config by name, or a flow spec'),
    parallelism: parallelism.optional(),
  })
  .refine((s) => (s.every === undefined) !== (s.cron === undefined), {
    message: 'give exactly one of every (seconds) and cron (a cron pattern)',
    path: ['every'],
  });

export const scheduleListSchema = z.object({
  schedules: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      everySeconds: z.number().optional(),
      cron: z.string().optional(),
      next: z.iso.datetime().optional(),
    }),
  ),
});

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  controlStore: z.enum(['up', 'down']),
  version: z.string().optional(),
});

/** The `shape` of an object schema, through a transform (`.transform()` wraps the object in a pipe). */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  if (schema instanceof z.ZodObject) return schema.shape;
  if (schema instanceof z.ZodPipe) return shapeOf(schema.in as z.ZodType);
  return undefined;
}

/**
 * A flow endpoint on a connection of this connector's kind: the connector's
 * own option schema, of its data-plane keys only (servers, credentials and
 * DDL are the config's), beside the connection's name.
 */
function endpointSchema(connector: ConnectorDefinition, role: EndpointRole): z.ZodType {
  const connection = z
    .string()
    .min(1)
    .default('default')
    .describe(`a connection of the config, of kind ${connector.kind}`);
  const options: unknown = connector.options[role];
  const description = `${connector.title} as a ${role} (kind ${connector.kind})`;
  const declared = connector.dataPlaneKeys?.[role] ?? [];
  // A plug-in may give no zod schema: then its data-plane keys are its own to check.
  if (!(options instanceof z.ZodType)) {
    return z
      .strictObject({ connection, ...Object.fromEntries(declared.map((key) => [key, z.unknown()])) })
      .describe(description);
  }
  const shape = shapeOf(options);
  if (shape === undefined) return z.intersection(z.object({ connection }), options).describe(description);
  const keys = declared.filter((key) => key in shape);
  return z
    .strictObject({ connection, ...Object.fromEntries(keys.map((key) => [key, shape[key]!])) })
    .describe(description);
}

/** The schemas that name systems, made from the registry, and the named components of the document. */
export function registrySchemas(registry: ConnectorRegistry) {
  const connectors = registry.list();
  const kind = z.enum(registry.kinds() as [string, ...string[]]);
  const letter = z.enum(connectors.map((c) => c.letter) as [string, ...string[]]);

  const system = z.object({
    letter,
    kind,
    title: z.string(),
    holds: z.enum(['store', 'stream']).describe('store: records rest there; stream: records pass through'),
    installed: z.boolean(),
  });
  const edge = z.object({
    name: z.string().describe('source letter, 2, sink letter: S2Q'),
    from: letter,
    to: letter,
    allowed: z.boolean(),
    reason: z.string().optional().describe('why a refused edge is refused'),
    installed: z.boolean(),
  });
  const connection = z.object({ name: z.string(), kind, installed: z.boolean() });

  const endpoints = (role: EndpointRole) => connectors.map((c) => [c, endpointSchema(c, role)] as const);
  const sources = endpoints('source');
  const sinks = endpoints('sink');
  const oneOf = (list: readonly (readonly [ConnectorDefinition, z.ZodType])[]) =>
    z.union(list.map(([, schema]) => schema) as [z.ZodType, ...z.ZodType[]]);

  const flowSpec = flowSchema
    .extend({
      name: z.string().regex(names, namesMessage).default('api').describe("the job's name, for labels and messages"),
      source: oneOf(sources),
      sink: oneOf(sinks),
      deadLetter: oneOf(sinks).optional(),
      parallelism: parallelism.default(1),
    })
    .describe("a flow spec of the config file's schema: each endpoint has the keys of its connection's connector");
  const namedFlow = z
    .strictObject({ flow: z.string().min(1).describe('a flow of the config'), parallelism: parallelism.optional() })
    .describe("a flow of the config, by name (parallelism: the config's unless given)");
  const flowRequest = z.union([namedFlow, flowSpec]);

  const components: Record<string, z.ZodType> = {
    Error: errorSchema,
    Job: jobSchema,
    System: system,
    Edge: edge,
    Connection: connection,
    S2sConfig: s2sDictSchema,
    FlowSpec: flowSpec,
    NamedFlow: namedFlow,
    Schedule: scheduleSchema,
  };
  for (const [role, list] of [
    ['source', sources],
    ['sink', sinks],
  ] as const) {
    for (const [c, schema] of list) components[componentName(c.kind, role)] = schema;
  }
  return { system, edge, connection, flowRequest, components };
}

/** A kind and a role as a component name: `kafka-topic`, `source` → `KafkaTopicSource`. */
function componentName(kind: string, role: EndpointRole): string {
  return `${kind}-${role}`
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}
