import { z } from 'zod';
import { apiAllowSchema } from './api-allow.js';
import { ConfigError } from './errors.js';
import { parseOptions } from './options.js';
import { defaultRetryPolicy } from './retry.js';
import { tlsSchema } from './tls.js';

/**
 * The one vocabulary shared by the config file, the CLI and the HTTP API.
 * Core checks the shape of a flow; each connector checks its own endpoint keys
 * (`stream`, `mode`, `queue`…) with its own schema when the runner builds it.
 */
export const connectionSchema = z.looseObject({
  kind: z.string().min(1),
  url: z.string().min(1),
});

/** A connection whose kind is one of the registered connectors'. */
function connectionOf(kinds: readonly string[] | undefined) {
  if (kinds === undefined || kinds.length === 0) return connectionSchema;
  return connectionSchema.extend({ kind: z.enum(kinds as [string, ...string[]]) });
}

/** A flow's source, sink or dead-letter target: a named connection plus connector keys. */
export const endpointSchema = z.looseObject({
  connection: z.string().min(1).default('default'),
});

export const retrySchema = z.strictObject({
  retries: z.int().min(0).max(1000).default(defaultRetryPolicy.retries),
  initialDelayMs: z.int().positive().default(defaultRetryPolicy.initialDelayMs),
  maxDelayMs: z.int().positive().default(defaultRetryPolicy.maxDelayMs),
  factor: z.number().min(1).default(defaultRetryPolicy.factor),
});

export const flowSchema = z.strictObject({
  source: endpointSchema,
  sink: endpointSchema,
  /** Records per batch; a batch is also capped by the sink's free room. */
  batchSize: z.int().positive().max(1_000_000).default(1000),
  /** Stop after this many batches (the original `max_exec_cnt`); omit for no limit. */
  maxBatches: z.int().positive().optional(),
  /** false: follow mode, wait for new records. */
  stopWhenEmpty: z.boolean().default(true),
  /** What to do when the sink is full: poll until it has room, or stop. */
  whenFull: z.enum(['wait', 'stop']).default('wait'),
  /** How often a full sink is polled, and how long a follow-mode read waits. */
  pollIntervalMs: z.int().positive().max(3_600_000).default(1000),
  deadLetter: endpointSchema.optional(),
  /**
   * Writes of one batch without an ack (the worker killed, the write failing)
   * before its records are read one at a time, and of one record before it is
   * dead-lettered. Counted in the batch journal, so it needs a control store.
   */
  maxAttempts: z.int().min(1).max(1000).default(5),
  retry: retrySchema.default(() => ({ ...defaultRetryPolicy })),
  /** Pumps run side by side in one job, for sources that allow competing readers (a group, a queue). */
  parallelism: z.int().min(1).max(64).default(1),
});

/** The config file's schema, with connection kinds restricted to `kinds` when given. */
export function configSchemaFor(kinds?: readonly string[]) {
  return z
    .strictObject({
      /** Connector packages or files to load before the config is checked: each default-exports a definition. */
      plugins: z.array(z.string().min(1)).optional(),
      connections: z.record(z.string(), connectionOf(kinds)).default({}),
      flows: z.record(z.string(), flowSchema).default({}),
      /** The runner's control store: the Redis that holds jobs, locks and metrics. */
      control: z
        .strictObject({
          url: z
            .string()
            .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
            .optional(),
          prefix: z.string().min(1).optional(),
          /** How a rediss:// control store is trusted, and the client certificate shown to it. */
          tls: tlsSchema.optional(),
        })
        .optional(),
      /**
       * The HTTP API: every route but /health needs `Authorization: Bearer <token>`;
       * `allow`: per connection, what API callers may set beyond its connector's data-plane keys.
       */
      api: z
        .strictObject({
          /** Without one, the API makes one at its first start and keeps it in the control store. */
          token: z.string().min(1).optional(),
          /** The original worker's callers send no token: `POST /s2s/` alone is open, on a loopback address only. */
          s2sWithoutToken: z.boolean().default(false),
          /** The shortest `every` a schedule may have, in seconds. */
          minScheduleSeconds: z.number().positive().default(1),
          allow: apiAllowSchema.optional(),
        })
        .optional(),
    })
    .superRefine((config, ctx) => {
      for (const [flowName, flow] of Object.entries(config.flows)) {
        for (const role of ['source', 'sink', 'deadLetter'] as const) {
          const endpoint = flow[role];
          if (endpoint !== undefined && !(endpoint.connection in config.connections)) {
            const known = Object.keys(config.connections);
            ctx.addIssue({
              code: 'custom',
              path: ['flows', flowName, role, 'connection'],
              message: `no connection named "${endpoint.connection}"; the config names ${
                known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : 'none'
              }`,
            });
          }
        }
      }
      for (const name of Object.keys(config.api?.allow ?? {})) {
        if (!(name in config.connections)) {
          ctx.addIssue({
            code: 'custom',
            path: ['api', 'allow', name],
            message: `no connection named "${name}"; api.allow is keyed by the config's connection names`,
          });
        }
      }
    });
}

export const configSchema = configSchemaFor();

export type ConnectionSpec = z.output<typeof connectionSchema>;
export type EndpointSpec = z.output<typeof endpointSchema>;
export type FlowSpec = z.output<typeof flowSchema>;
export type FlowSpecInput = z.input<typeof flowSchema>;
export type FerryConfig = z.output<typeof configSchema>;
export type FerryConfigInput = z.input<typeof configSchema>;

/**
 * Validates a whole config (connections + flows); throws a ConfigError naming
 * every problem. With `kinds`, a connection of another kind is one.
 */
export function parseConfig(input: unknown, source = 'config', kinds?: readonly string[]): FerryConfig {
  return parseOptions(configSchemaFor(kinds), input, `[ferry] invalid ${source}`);
}

export function parseFlow(input: unknown, name = 'flow'): FlowSpec {
  return parseOptions(flowSchema, input, `[ferry] invalid flow "${name}"`);
}

export function getFlow(config: FerryConfig, name: string): FlowSpec {
  const flow = config.flows[name];
  if (flow === undefined) {
    const known = Object.keys(config.flows);
    throw new ConfigError(
      `[ferry] no flow named "${name}"; the config names ${known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : 'none'}`,
    );
  }
  return flow;
}
