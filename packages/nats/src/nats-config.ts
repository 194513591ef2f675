import { type EndpointTarget, parseOptions, serverAddress, tlsSchema } from '@ferry/core';
import { z } from 'zod';

export const defaultPort = 4222;

const urlSchema = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'expected a nats:// or tls:// URL such as nats://user:pass@127.0.0.1:4222' },
);

/** JetStream's rule for stream and consumer names: they become subject tokens and file names. */
const namePattern = /^[^\s.*>/\\]+$/;

function nameSchema(what: string) {
  return z.string().min(1).max(255).regex(namePattern, `a ${what} name has no spaces, dots, *, >, / or \\`);
}

/** A subject: dot-separated tokens, none empty, no white space. */
const subjectPattern = /^[^\s.]+(\.[^\s.]+)*$/;

function isWildcard(subject: string): boolean {
  return subject.split('.').some((token) => token === '*' || token === '>');
}

const commonShape = {
  // The runner merges a connection (`kind`, `url`) into the endpoint keys; accept the kind it carries.
  kind: z.literal('nats').optional(),
  url: urlSchema,
  /** How the connection trusts the server and shows a client certificate; given, TLS is required (as tls:// does). */
  tls: tlsSchema.optional(),
  /** The client's name on the server (`connz`), and in every error message. */
  connectionName: z.string().min(1).optional(),
  connectTimeoutMs: z.int().positive().default(5000),
  /** How long a JetStream API call, a publish acknowledgement or an ack confirmation may take. */
  requestTimeoutMs: z.int().positive().default(5000),
  stream: nameSchema('stream'),
  codec: z.enum(['json', 'raw']).default('json'),
};

export const natsSourceOptionsSchema = z.strictObject({
  ...commonShape,
  /** The durable pull consumer the source reads through, created when missing. */
  consumer: nameSchema('consumer').default('ferry'),
  /** Only messages on subjects matching this are read (when the consumer is created: an existing one keeps its own). */
  filterSubject: z.string().regex(subjectPattern, 'expected a subject such as orders.* or orders.>').optional(),
  maxDeliveries: z.int().positive().default(5),
  /**
   * How long the server waits for an ack before it delivers a message again.
   * Applied when the source creates the consumer (30 s when not given), and
   * to an existing consumer when given.
   */
  ackWaitMs: z.int().min(1000).optional(),
});

export const natsSinkOptionsSchema = z.strictObject({
  ...commonShape,
  /** The subject to publish to: the stream's first subject when not given. */
  subject: z
    .string()
    .regex(subjectPattern, 'expected a subject such as orders.new')
    .refine((subject) => !isWildcard(subject), 'a message is published to one subject: no * or > here')
    .optional(),
  /** A capacity for the pump's backpressure, besides the stream's own max_msgs. */
  maxLen: z.int().positive().optional(),
});

export type NatsSourceOptions = z.input<typeof natsSourceOptionsSchema>;
export type NatsSourceConfig = Readonly<z.output<typeof natsSourceOptionsSchema>>;
export type NatsSinkOptions = z.input<typeof natsSinkOptionsSchema>;
export type NatsSinkConfig = Readonly<z.output<typeof natsSinkOptionsSchema>>;
/** What a connection needs, common to source and sink. */
export type NatsConnectionConfig = Pick<
  NatsSourceConfig,
  'url' | 'tls' | 'connectionName' | 'connectTimeoutMs' | 'requestTimeoutMs'
>;

export function parseSourceOptions(input: unknown): NatsSourceConfig {
  return parseOptions(natsSourceOptionsSchema, input, '[nats] invalid source options');
}

export function parseSinkOptions(input: unknown): NatsSinkConfig {
  return parseOptions(natsSinkOptionsSchema, input, '[nats] invalid sink options');
}

/** A connection's keys alone (an inspector's), checked like the factories check them. */
export const natsConnectionSchema = z.object({
  kind: z.literal('nats').optional(),
  url: urlSchema,
  tls: tlsSchema.optional(),
  connectionName: z.string().min(1).optional(),
  connectTimeoutMs: z.int().positive().default(5000),
  requestTimeoutMs: z.int().positive().default(5000),
});

export function parseConnectionOptions(input: unknown): NatsConnectionConfig {
  return parseOptions(natsConnectionSchema, input, '[nats] invalid connection options');
}

/** Where a connection goes, parsed from its URL: for the client and for messages. */
export interface NatsAddress {
  readonly host: string;
  readonly port: number;
  /** `tls://`: the connection must be encrypted (nats:// upgrades when the server asks for it). */
  readonly tls: boolean;
  readonly user?: string;
  readonly pass?: string;
  /** A URL with a user and no password (`nats://s3cret@host`) names a token, as the NATS tools read it. */
  readonly token?: string;
}

export function parseNatsUrl(url: string): NatsAddress {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  const tls = parsed.protocol === 'tls:';
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  if (user !== '' && pass === '') return { host, port, tls, token: user };
  if (user === '' && pass === '') return { host, port, tls };
  return { host, port, tls, user, pass };
}

/** `host:port` as the client takes it, IPv6 in brackets. */
export function hostPort({ host, port }: NatsAddress): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A subject matches a pattern of the stream's (`orders.*`, `orders.>`), token by token. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let i = 0; i < want.length; i++) {
    const token = want[i];
    if (token === '>') return have.length > i;
    if (i >= have.length) return false;
    if (token !== '*' && token !== have[i]) return false;
  }
  return want.length === have.length;
}

export { isWildcard };

/**
 * The stream and its server as the options name them. Names are per
 * account, and an account is what the credentials log in to: two URLs with
 * other users may name two streams of one name; ferry cannot tell without connecting.
 */
export function natsTarget(role: 'source' | 'sink', input: unknown): EndpointTarget {
  const { url, stream } = role === 'source' ? parseSourceOptions(input) : parseSinkOptions(input);
  const address = parseNatsUrl(url);
  return { server: serverAddress(hostPort(address), defaultPort), name: `stream "${stream}"` };
}
