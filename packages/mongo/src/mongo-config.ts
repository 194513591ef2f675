import { type EndpointTarget, parseOptions, serverAddress, tlsSchema } from '@ferry/core';
import { BSON } from 'mongodb';
import { z } from 'zod';
import { codeOperators, findCodeOperators } from './mongo-filter.js';

const { EJSON } = BSON;

/** Where a connection string points: its hosts, user and path database. */
export interface MongoAddress {
  readonly hosts: readonly string[];
  readonly username: string | undefined;
  readonly database: string | undefined;
}

/**
 * Parses `mongodb://user:pass@h1:27017,h2/db?opts` (and `mongodb+srv://`) far
 * enough for messages and defaults; the driver parses it for real. `new URL`
 * cannot: a connection string may list several hosts.
 */
export function parseMongoUrl(url: string): MongoAddress | undefined {
  const match = /^(mongodb(?:\+srv)?):\/\/(?:([^@/]*)@)?([^/?]+)(?:\/([^?]*))?(?:\?.*)?$/.exec(url);
  if (match === null) return undefined;
  const [, scheme, credentials, hostList, path] = match;
  const srv = scheme === 'mongodb+srv';
  const hosts = hostList!.split(',').map((host) => (srv || /:\d+$/.test(host) ? host : `${host}:27017`));
  if (hosts.some((host) => host === '' || host.startsWith(':'))) return undefined;
  const user = credentials === undefined ? undefined : credentials.split(':')[0];
  return {
    hosts,
    username: user === undefined || user === '' ? undefined : decodeURIComponent(user),
    database: path === undefined || path === '' ? undefined : decodeURIComponent(path),
  };
}

export { maskSecrets } from '@ferry/core';

const urlSchema = z.string().refine((value) => parseMongoUrl(value) !== undefined, {
  message: 'expected a mongodb:// or mongodb+srv:// connection string such as mongodb://127.0.0.1:27017/app',
});

/** Database names as MongoDB accepts them. */
const databaseSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[^/\\. "$*<>:|?]+$/, { message: 'a MongoDB database name cannot contain /\\. "$*<>:|?' });

const collectionSchema = z
  .string()
  .min(1)
  .refine((value) => !value.includes('$') && !value.startsWith('system.') && !value.includes('\0'), {
    message: 'a MongoDB collection name cannot contain $ or start with "system."',
  });

const writeConcernSchema = z.strictObject({
  w: z.union([z.int().nonnegative(), z.string().min(1)]).default('majority'),
  j: z.boolean().optional(),
  wtimeoutMS: z.int().nonnegative().optional(),
});

const commonShape = {
  // The runner merges a connection (`kind`, `url`, `database`) into the endpoint keys.
  kind: z.literal('mongo').optional(),
  url: urlSchema,
  /** The database; defaults to the connection string's path (`mongodb://host/app`). */
  database: databaseSchema.optional(),
  collection: collectionSchema,
  connectionName: z.string().min(1).optional(),
  /** How long the driver looks for a server before an operation fails: keeps an unreachable server prompt. */
  serverSelectionTimeoutMs: z.int().positive().default(3000),
  connectTimeoutMs: z.int().positive().default(5000),
  /** A connection key: the operators that run JavaScript on the server which a filter may use all the same. */
  allowOperators: z.array(z.enum(codeOperators)).default([]),
  /** TLS with these settings (the url's `tls=true` alone trusts the system's CAs). */
  tls: tlsSchema.optional(),
};

/** A url that turns TLS off beside a `tls` option: which one is meant cannot be guessed. */
function tlsOffInUrl(url: string): boolean {
  return /[?&](tls|ssl)=false(&|$)/i.test(url);
}

/** Refuses a `tls` option beside a url saying `tls=false`. */
function checkTls(options: { url: string; tls?: unknown }, ctx: z.RefinementCtx): void {
  if (options.tls !== undefined && tlsOffInUrl(options.url)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'the url says tls=false: remove it, or the tls option' });
  }
}

/** Top-level operators a source filter may use; everything else at the top level is a field. */
const filterOperators = new Set(['$and', '$or', '$nor', '$expr', '$text', '$where', '$jsonSchema', '$comment']);

const filterSchema = z.record(z.string(), z.unknown()).superRefine((filter, ctx) => {
  for (const key of Object.keys(filter)) {
    if (key.startsWith('$') && !filterOperators.has(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `unknown top-level query operator ${key}` });
    }
  }
  try {
    EJSON.deserialize(filter, { relaxed: false });
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid Extended JSON filter: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
});

export const mongoSourceOptionsSchema = z
  .strictObject({
    ...commonShape,
    /** copy: read after a checkpoint, leave the documents; move: delete what was acked. */
    mode: z.enum(['copy', 'move']).default('copy'),
    /** The field the source reads in order; it must only grow (an ObjectId `_id`, an insert time…). */
    cursor: z
      .string()
      .min(1)
      .refine((field) => !field.startsWith('$') && !field.includes('\0'), {
        message: 'a field name cannot start with $ (an operator) or hold a NUL',
      })
      .default('_id'),
    /** A query filter (Extended JSON) the documents must also match. */
    filter: filterSchema.optional(),
    /** Where the copy checkpoint is kept, in the same database: `{ _id: checkpointKey, position, updatedAt }`. */
    checkpointCollection: collectionSchema.default('ferry_checkpoints'),
    /** The checkpoint's `_id`; `<database>.<collection>` unless given. */
    checkpointKey: z.string().min(1).optional(),
    /** How often a waiting read (follow mode) looks for new documents. */
    pollMs: z.int().positive().default(200),
    writeConcern: writeConcernSchema.default({ w: 'majority' }),
  })
  .superRefine(checkTls)
  .transform((options, ctx) => {
    const database = options.database ?? parseMongoUrl(options.url)?.database;
    if (database === undefined) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'give database, or name it in the url path' });
      return z.NEVER;
    }
    const refused = findCodeOperators(options.filter, options.allowOperators);
    for (const { operator, path } of refused) {
      ctx.addIssue({
        code: 'custom',
        path: ['filter', ...path],
        message: `${operator} runs JavaScript on the server: refused unless the connection's allowOperators names it`,
      });
    }
    if (refused.length > 0) return z.NEVER;
    return { ...options, database, checkpointKey: options.checkpointKey ?? `${database}.${options.collection}` };
  });

export const mongoSinkOptionsSchema = z
  .strictObject({
    ...commonShape,
    /** insert: insertMany, a duplicate `_id` means already written; upsert: replace by `_id`. */
    mode: z.enum(['insert', 'upsert']).default('insert'),
    /** The collection's capacity for the backpressure check (free() = maxDocuments - count); none by default. */
    maxDocuments: z.int().positive().optional(),
    writeConcern: writeConcernSchema.default({ w: 'majority' }),
  })
  .superRefine(checkTls)
  .transform((options, ctx) => {
    const database = options.database ?? parseMongoUrl(options.url)?.database;
    if (database === undefined) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'give database, or name it in the url path' });
      return z.NEVER;
    }
    return { ...options, database };
  });

export type MongoSourceOptions = z.input<typeof mongoSourceOptionsSchema>;
export type MongoSourceConfig = Readonly<z.output<typeof mongoSourceOptionsSchema>>;
export type MongoSinkOptions = z.input<typeof mongoSinkOptionsSchema>;
export type MongoSinkConfig = Readonly<z.output<typeof mongoSinkOptionsSchema>>;
/** What a connection needs, common to source and sink; no collection for a client that asks the server only (an inspector's). */
export type MongoConnectionConfig = Pick<
  MongoSourceConfig,
  'url' | 'database' | 'connectionName' | 'serverSelectionTimeoutMs' | 'connectTimeoutMs' | 'writeConcern' | 'tls'
> &
  Partial<Pick<MongoSourceConfig, 'collection'>>;

/** A connection's keys as an inspector takes them: its url and database, beside any endpoint keys it may also hold. */
export const mongoConnectionOptionsSchema = z
  .looseObject({
    kind: commonShape.kind,
    url: commonShape.url,
    database: commonShape.database,
    tls: commonShape.tls,
  })
  .superRefine(checkTls);

export function parseConnectionOptions(input: unknown): Readonly<z.output<typeof mongoConnectionOptionsSchema>> {
  return parseOptions(mongoConnectionOptionsSchema, input, '[mongo] invalid connection options');
}

export function parseSourceOptions(input: unknown): MongoSourceConfig {
  return parseOptions(mongoSourceOptionsSchema, input, '[mongo] invalid source options');
}

export function parseSinkOptions(input: unknown): MongoSinkConfig {
  return parseOptions(mongoSinkOptionsSchema, input, '[mongo] invalid sink options');
}

/**
 * The collection and its server as the options name them: the connection
 * string's hosts (27017 by default; a `mongodb+srv` name as given) and the database.
 */
export function mongoTarget(role: 'source' | 'sink', input: unknown): EndpointTarget | undefined {
  const { url, database, collection } = role === 'source' ? parseSourceOptions(input) : parseSinkOptions(input);
  const address = parseMongoUrl(url);
  if (address === undefined) return undefined;
  const srv = url.startsWith('mongodb+srv:') ? 'srv:' : '';
  return {
    server: `${srv}${serverAddress(address.hosts, 27017)}/${database}`,
    name: `collection "${database}.${collection}"`,
  };
}
