import { type EndpointTarget, parseOptions, serverAddress, tlsSchema } from '@ferry/core';
import { z } from 'zod';

const urlSchema = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'amqp:' || url.protocol === 'amqps:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'expected an amqp:// or amqps:// URL such as amqp://user:pass@127.0.0.1:5672/vhost' },
);

const queueTypes = ['classic', 'quorum', 'stream'] as const;
export type QueueType = (typeof queueTypes)[number];

/**
 * The queue type `queueType` or `arguments`' `x-queue-type` says (they must
 * agree when both are given); classic when neither does. AMQP cannot ask a
 * queue for its type, so this is what ferry goes by.
 */
function checkQueueType(
  options: { queueType?: QueueType | undefined; arguments: Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  const declared = options.arguments['x-queue-type'];
  if (declared === undefined) return;
  if (!(queueTypes as readonly unknown[]).includes(declared)) {
    ctx.addIssue({
      code: 'custom',
      path: ['arguments', 'x-queue-type'],
      message: `expected one of ${queueTypes.join(', ')} (got ${JSON.stringify(declared)})`,
    });
  } else if (options.queueType !== undefined && options.queueType !== declared) {
    ctx.addIssue({
      code: 'custom',
      path: ['queueType'],
      message: `"${options.queueType}" disagrees with arguments' x-queue-type "${String(declared)}": give one`,
    });
  }
}

/** The URL's scheme says whether TLS is on, `tls` only how: a `tls` that would go unused is refused. */
function checkTls(options: { url: string; tls?: unknown }, ctx: z.RefinementCtx): void {
  if (options.tls !== undefined && new URL(options.url).protocol !== 'amqps:') {
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message: 'applies to an amqps:// url: use amqps:// to connect over TLS',
    });
  }
}

function queueTypeOf(options: { queueType?: QueueType | undefined; arguments: Record<string, unknown> }): QueueType {
  return options.queueType ?? (options.arguments['x-queue-type'] as QueueType | undefined) ?? 'classic';
}

/** The arguments a declare sends: the given ones, with the queue type's unless classic, the broker's default. */
export function declareArguments(config: {
  queueType: QueueType;
  arguments: Record<string, unknown>;
}): Record<string, unknown> {
  return config.queueType === 'classic' ? config.arguments : { ...config.arguments, 'x-queue-type': config.queueType };
}

const commonShape = {
  // The runner merges a connection (`kind`, `url`) into the endpoint keys; accept the kind it carries.
  kind: z.literal('rabbitmq').optional(),
  url: urlSchema,
  /** How an amqps:// connection trusts the broker and shows a client certificate (system CAs when not given). */
  tls: tlsSchema.optional(),
  connectionName: z.string().min(1).optional(),
  codec: z.enum(['json', 'raw']).default('json'),
  /** false: the queue/exchange must exist (passive check); true: declare it with the options below. */
  declare: z.boolean().default(false),
  durable: z.boolean().default(true),
  /**
   * The queue's type: how `declare` creates it, and whether the source trusts
   * `x-delivery-count` (quorum only; on a classic queue a publisher can set
   * it). Default: `arguments`' `x-queue-type`, else classic.
   */
  queueType: z.enum(queueTypes).optional(),
  arguments: z.record(z.string(), z.unknown()).default({}),
  heartbeatSeconds: z.int().nonnegative().default(30),
  connectTimeoutMs: z.int().positive().default(5000),
};

export const rabbitMqSourceOptionsSchema = z
  .strictObject({
    ...commonShape,
    queue: z.string().min(1),
    /** 0: twice the largest read size asked for so far. */
    prefetch: z.int().nonnegative().max(65_535).default(0),
    lingerMs: z.int().nonnegative().default(50),
    maxDeliveries: z.int().positive().default(5),
  })
  .superRefine((options, ctx) => {
    checkTls(options, ctx);
    checkQueueType(options, ctx);
    if (queueTypeOf(options) === 'stream') {
      ctx.addIssue({
        code: 'custom',
        path: ['queueType'],
        message:
          'a stream queue cannot be read as a queue: it keeps messages once acked and refuses the nack that gives a batch back; read a classic or quorum queue',
      });
    }
  })
  .transform((options) => ({ ...options, queueType: queueTypeOf(options) }));

export const rabbitMqSinkOptionsSchema = z
  .strictObject({
    ...commonShape,
    queue: z.string().min(1).optional(),
    exchange: z.string().min(1).optional(),
    routingKey: z.string().optional(),
    routingKeyField: z.string().min(1).optional(),
    exchangeType: z.enum(['direct', 'topic', 'fanout', 'headers']).default('direct'),
    maxLen: z.int().positive().optional(),
    /**
     * The header that carries the record id besides `messageId`; false sends
     * it in `messageId` only, 40 bytes less per message, which for small
     * messages can double a broker's publish rate or more (see the README).
     */
    sourceIdHeader: z
      .union(
        [
          z.string().min(1, 'an empty header name: give a name, or false to send the record id in messageId only'),
          z.literal(false),
        ],
        {
          error: 'expected a header name, or false to send the record id in messageId only',
        },
      )
      .default('x-ferry-source-id'),
    /**
     * Stamp each message with the publish time (the AMQP timestamp property,
     * in seconds). Off by default: it is 9 bytes more per message and about 5%
     * of a 3.10 broker's publish rate for small messages, for a time the
     * broker does not use.
     */
    timestamp: z.boolean().default(false),
  })
  .superRefine((options, ctx) => {
    checkTls(options, ctx);
    checkQueueType(options, ctx);
    if (options.queue !== undefined && options.exchange !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['exchange'], message: 'give either queue or exchange, not both' });
    } else if (options.queue === undefined && options.exchange === undefined) {
      ctx.addIssue({ code: 'custom', path: ['queue'], message: 'give queue (publish to a queue) or exchange' });
    }
    if (options.routingKey !== undefined && options.routingKeyField !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['routingKeyField'],
        message: 'give either routingKey or routingKeyField, not both',
      });
    }
    if (options.queue !== undefined) {
      // A queue is published to through the default exchange, under its own name.
      for (const key of ['routingKey', 'routingKeyField'] as const) {
        if (options[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'applies to exchange only (a queue is given)' });
        }
      }
    }
    if (options.exchange !== undefined && options.maxLen !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxLen'],
        message: 'applies to queue only: an exchange has no length to check',
      });
    }
  })
  .transform((options) => ({
    ...options,
    queueType: queueTypeOf(options),
    routingKey: options.routingKey ?? (options.queue !== undefined ? options.queue : ''),
  }));

export type RabbitMqSourceOptions = z.input<typeof rabbitMqSourceOptionsSchema>;
export type RabbitMqSourceConfig = Readonly<z.output<typeof rabbitMqSourceOptionsSchema>>;
export type RabbitMqSinkOptions = z.input<typeof rabbitMqSinkOptionsSchema>;
export type RabbitMqSinkConfig = Readonly<z.output<typeof rabbitMqSinkOptionsSchema>>;
/** What a connection needs, common to source and sink. */
export type RabbitMqConnectionConfig = Pick<
  RabbitMqSourceConfig,
  'url' | 'tls' | 'connectionName' | 'heartbeatSeconds' | 'connectTimeoutMs'
>;

/** A connection's keys as an inspector takes them: its url and heartbeat, beside any endpoint keys it may also hold. */
export const rabbitMqConnectionOptionsSchema = z
  .looseObject({
    kind: commonShape.kind,
    url: commonShape.url,
    tls: commonShape.tls,
    heartbeatSeconds: commonShape.heartbeatSeconds,
  })
  .superRefine(checkTls);

export function parseConnectionOptions(input: unknown): Readonly<z.output<typeof rabbitMqConnectionOptionsSchema>> {
  return parseOptions(rabbitMqConnectionOptionsSchema, input, '[rabbitmq] invalid connection options');
}

export { maskSecrets } from '@ferry/core';

export function parseSourceOptions(input: unknown): RabbitMqSourceConfig {
  return parseOptions(rabbitMqSourceOptionsSchema, input, '[rabbitmq] invalid source options');
}

export function parseSinkOptions(input: unknown): RabbitMqSinkConfig {
  return parseOptions(rabbitMqSinkOptionsSchema, input, '[rabbitmq] invalid sink options');
}

/** Where a connection goes, parsed from its URL: for the driver and for messages. */
export interface AmqpAddress {
  readonly protocol: 'amqp' | 'amqps';
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly vhost: string;
}

export function parseAmqpUrl(url: string): AmqpAddress {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'amqps:' ? 'amqps' : 'amqp';
  const path = parsed.pathname.replace(/^\//, '');
  return {
    protocol,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? (protocol === 'amqps' ? 5671 : 5672) : Number(parsed.port),
    // As amqplib does: no user and no password in the URL means guest/guest.
    username: parsed.username === '' && parsed.password === '' ? 'guest' : decodeURIComponent(parsed.username),
    password: parsed.username === '' && parsed.password === '' ? 'guest' : decodeURIComponent(parsed.password),
    vhost: path === '' ? '/' : decodeURIComponent(path),
  };
}

/**
 * The queue and its broker as the options name them: host and port, and the
 * vhost. A sink that publishes to an exchange names no queue: where its
 * messages go depends on bindings only the broker knows.
 */
export function rabbitMqTarget(role: 'source' | 'sink', input: unknown): EndpointTarget | undefined {
  const { url, queue } = role === 'source' ? parseSourceOptions(input) : parseSinkOptions(input);
  if (queue === undefined) return undefined;
  const { host, port, vhost } = parseAmqpUrl(url);
  const address = serverAddress(`${host.includes(':') ? `[${host}]` : host}:${port}`, port);
  return { server: `${address}/${vhost}`, name: `queue "${queue}"` };
}
