import { type EndpointTarget, parseOptions, serverAddress, tlsSchema } from '@ferry/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defaultConsumerName } from './redis-stream-consumers.js';

/** A ready ioredis client, or a function that returns one (called on `open`). */
export type RedisClientInput = Redis | (() => Redis | Promise<Redis>);

/** Why ferry cannot use a client, or undefined: ioredis 6's `resp3` mapping gives replies (maps as objects) that it does not read. */
export function clientProblem(client: Redis): string | undefined {
  if (client.options?.replyMapping !== 'resp3') return undefined;
  return 'a client with replyMapping "resp3" answers in shapes ferry does not read: give one with the default "legacy" mapping';
}

const clientSchema = z
  .custom<RedisClientInput>(
    (value) =>
      typeof value === 'function' ||
      (typeof value === 'object' && value !== null && typeof (value as { xadd?: unknown }).xadd === 'function'),
    { message: 'expected an ioredis client or a function that returns one' },
  )
  .superRefine((value, ctx) => {
    const problem = typeof value === 'function' ? undefined : clientProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const urlSchema = z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL');

const commonShape = {
  // The runner merges a connection (`kind`, `url`) into the endpoint keys; accept the kind it carries.
  kind: z.literal('redis-stream').optional(),
  url: urlSchema.optional(),
  client: clientSchema.optional(),
  /** How a rediss:// connection trusts the server and shows a client certificate (system CAs when not given). */
  tls: tlsSchema.optional(),
  connectionName: z.string().min(1).optional(),
  stream: z.string().min(1),
  codec: z.enum(['fields', 'json']).default('fields'),
  field: z.string().min(1).default('data'),
};

type ConnectionKeys = { url?: string | undefined; client?: unknown; tls?: unknown };

/** The URL's scheme says whether TLS is on, `tls` only how: a `tls` that would go unused is refused. */
function checkTls(options: ConnectionKeys, ctx: z.RefinementCtx): void {
  if (options.tls === undefined) return;
  if (options.client !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message: 'applies to url, not to a ready client (give it its own tls)',
    });
  } else if (options.url !== undefined && !options.url.startsWith('rediss://')) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message: 'applies to a rediss:// url: use rediss:// to connect over TLS',
    });
  }
}

function checkConnection(options: ConnectionKeys, ctx: z.RefinementCtx): void {
  checkTls(options, ctx);
  if (options.url !== undefined && options.client !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['client'], message: 'give either url or client, not both' });
  } else if (options.url === undefined && options.client === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: 'give url (redis://host:port) or client (an ioredis client)',
    });
  }
}

const groupOnly = ['group', 'consumer', 'startId', 'keep', 'claimIdleMs', 'maxDeliveries'] as const;

export const redisStreamSourceOptionsSchema = z
  .strictObject({
    ...commonShape,
    mode: z.enum(['range', 'group']).default('range'),
    group: z.string().min(1).optional(),
    consumer: z.string().min(1).optional(),
    startId: z
      .string()
      .regex(/^(\$|\d+(-\d+)?)$/, 'expected a stream id such as "0", "0-0", "1700000000000-0" or "$"')
      .optional(),
    keep: z.boolean().optional(),
    claimIdleMs: z.int().positive().optional(),
    /** Group mode: an entry delivered this many times (the group's own count) is dead-lettered, not handed over again. */
    maxDeliveries: z.int().positive().optional(),
    /**
     * Range mode: batches to a fields-codec Redis stream sink on the same
     * server and database move inside Redis, one script call each (read, add,
     * delete atomically). `false` keeps the usual read, write, ack.
     */
    direct: z.boolean().optional(),
  })
  .superRefine((options, ctx) => {
    checkConnection(options, ctx);
    if (options.mode !== 'range') {
      if (options.direct !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['direct'], message: 'applies to mode "range" only (mode is "group")' });
      }
      return;
    }
    // Defaults are filled after this check, so a group option here was set by the user and would be ignored.
    for (const key of groupOnly) {
      if (options[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'applies to mode "group" only (mode is "range")' });
      }
    }
  })
  .transform((options) => ({
    ...options,
    group: options.group ?? 'ferry',
    consumer: options.consumer ?? defaultConsumerName(),
    startId: options.startId ?? '0',
    keep: options.keep ?? false,
    claimIdleMs: options.claimIdleMs ?? 60_000,
    maxDeliveries: options.maxDeliveries ?? 5,
    direct: options.mode === 'range' && (options.direct ?? true),
  }));

export const redisStreamSinkOptionsSchema = z
  .strictObject({
    ...commonShape,
    maxLen: z.int().positive().optional(),
    trim: z.boolean().default(false),
    sourceIdField: z.union([z.string().min(1), z.literal(false)]).default('_source_id'),
    /**
     * `script`: each batch (in chunks of scriptChunk records) is added by one
     * server-side script, atomically and with a fraction of the client work of
     * one command per entry; `pipeline`: one pipelined XADD per record, for
     * servers that run no scripts. `script` falls back to `pipeline` by itself
     * when the server refuses scripts.
     */
    write: z.enum(['script', 'pipeline']).default('script'),
  })
  .superRefine((options, ctx) => {
    checkConnection(options, ctx);
    if (options.trim && options.maxLen === undefined) {
      ctx.addIssue({ code: 'custom', path: ['trim'], message: 'trim needs maxLen, the length to trim to' });
    }
  });

export type RedisStreamSourceOptions = z.input<typeof redisStreamSourceOptionsSchema>;
export type RedisStreamSourceConfig = Readonly<z.output<typeof redisStreamSourceOptionsSchema>>;
export type RedisStreamSinkOptions = z.input<typeof redisStreamSinkOptionsSchema>;
export type RedisStreamSinkConfig = Readonly<z.output<typeof redisStreamSinkOptionsSchema>>;
/** What the connection needs, common to source and sink; no stream for a client that asks the server only (an inspector's). */
export type RedisStreamConnectionConfig = Pick<RedisStreamSourceConfig, 'url' | 'client' | 'connectionName' | 'tls'> &
  Partial<Pick<RedisStreamSourceConfig, 'stream'>>;

/** A connection's keys as an inspector takes them: its url, beside any endpoint keys a connection may also hold. */
export const redisStreamConnectionOptionsSchema = z
  .looseObject({
    kind: z.literal('redis-stream').optional(),
    url: urlSchema,
    tls: tlsSchema.optional(),
  })
  .superRefine(checkTls);

export function parseConnectionOptions(input: unknown): Readonly<z.output<typeof redisStreamConnectionOptionsSchema>> {
  return parseOptions(redisStreamConnectionOptionsSchema, input, '[redis-stream] invalid connection options');
}

export { maskSecrets } from '@ferry/core';

export function parseSourceOptions(input: unknown): RedisStreamSourceConfig {
  return parseOptions(redisStreamSourceOptionsSchema, input, '[redis-stream] invalid source options');
}

export function parseSinkOptions(input: unknown): RedisStreamSinkConfig {
  return parseOptions(redisStreamSinkOptionsSchema, input, '[redis-stream] invalid sink options');
}

/**
 * The stream and its server as the options name them: host and port (6379 by
 * default), and the database of the URL's path or `db` parameter (0 by
 * default). A ready `client` tells nothing here.
 */
export function redisStreamTarget(role: 'source' | 'sink', input: unknown): EndpointTarget | undefined {
  const { url, stream } = role === 'source' ? parseSourceOptions(input) : parseSinkOptions(input);
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  const db = parsed.searchParams.get('db') ?? (parsed.pathname.replace(/^\//, '') || '0');
  return { server: `${serverAddress(parsed.host, 6379)}/${Number(db)}`, name: `stream "${stream}"` };
}
