import type { ClickHouseClient } from '@clickhouse/client';
import { type EndpointTarget, parseOptions, serverAddress, tlsSchema } from '@ferry/core';
import { z } from 'zod';
import { type ClickHouseConnection, chdbDirectory, chdbUnusable } from './clickhouse-chdb.js';
import { columnTypeSql } from './clickhouse-ddl-column.js';
import { defaultEngines, engineSql } from './clickhouse-ddl-engine.js';
import { DdlError } from './clickhouse-ddl-tokens.js';
import { identifierPattern } from './clickhouse-sql.js';

const urlSchema = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol === 'chdb:' || /^chdb:/i.test(value)) {
    const problem = chdbUnusable(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    return;
  }
  if ((url?.protocol === 'http:' || url?.protocol === 'https:') && url.hostname !== '') return;
  ctx.addIssue({
    code: 'custom',
    message:
      'expected an http:// or https:// URL such as http://127.0.0.1:8123, or chdb:///path/to/dir for an embedded ClickHouse',
  });
});

/** A ready `@clickhouse/client` client, or a function that makes one at open (ferry then closes it). */
export type ClickHouseClientOption = ClickHouseClient | (() => ClickHouseClient | Promise<ClickHouseClient>);

const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  typeof value === 'object' &&
  value !== null &&
  names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

const clientSchema = z.custom<ClickHouseClientOption>(
  (value) => typeof value === 'function' || hasMethods(value, ['query', 'insert', 'exec', 'command', 'close']),
  { message: 'expected a @clickhouse/client client (createClient), or a function that returns one' },
);

const connectionSchema = z.custom<ClickHouseConnection>(
  (value) => hasMethods(value, ['query', 'insert', 'exec', 'command', 'ping', 'close']),
  {
    message: "expected a connection for @clickhouse/client's connection option, such as chdb's createChdbConnection()",
  },
);

const identifier = (what: string) =>
  z.string().regex(identifierPattern, {
    message: `not a valid ${what} name: expected letters, digits and _ (not starting with a digit), such as events_2024`,
  });

const commonShape = {
  // The runner merges a connection (`kind`, `url`) into the endpoint keys; accept the kind it carries.
  kind: z.literal('clickhouse').optional(),
  /** Where the server is; or, given from code instead, `client` or `connection`. */
  url: urlSchema.optional(),
  client: clientSchema.optional(),
  connection: connectionSchema.optional(),
  database: identifier('database').default('default'),
  table: identifier('table'),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  connectionName: z.string().min(1).optional(),
  requestTimeoutMs: z.int().positive().default(30_000),
  /** A connection key: engines a sink's `create` may name beyond the MergeTree family (`Memory`, `Log`…). */
  engines: z.array(identifier('engine')).default([]),
  /** TLS settings for an https:// url (without them: the system's CAs). */
  tls: tlsSchema.optional(),
};

/**
 * One way to the server: a url, a client or a connection. Refuses a `tls`
 * option on an http:// url, which would send everything in clear all the same,
 * and credentials for an embedded ClickHouse, which has no users to check them.
 */
function checkTls(
  options: {
    url?: string;
    client?: unknown;
    connection?: unknown;
    tls?: unknown;
    username?: string;
    password?: string;
  },
  ctx: z.RefinementCtx,
): void {
  const ways = ['url', 'client', 'connection'].filter((key) => options[key as keyof typeof options] !== undefined);
  if (ways.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ways.length === 0 ? ['url'] : [ways[1]!],
      message:
        ways.length === 0
          ? 'expected a url (http://, https:// or chdb:///dir), a client or a connection'
          : `give one of url, client and connection, not ${ways.join(' and ')}`,
    });
  }
  if (options.tls !== undefined && !options.url?.toLowerCase().startsWith('https:')) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: "tls needs an https:// url (the server's https_port)" });
  }
  if (options.url?.toLowerCase().startsWith('chdb:')) {
    for (const key of ['username', 'password'] as const) {
      if (options[key] === undefined) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'an embedded ClickHouse (chdb:// url) has no users: leave out username and password',
      });
    }
  }
}

/** A DDL fragment parsed and written anew; what the parser refuses is an issue quoting the text at fault. */
function ddl<T>(ctx: z.RefinementCtx, path: PropertyKey[], write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (!(error instanceof DdlError)) throw error;
    ctx.addIssue({ code: 'custom', path, message: error.message });
    return z.NEVER;
  }
}

export const clickHouseSinkOptionsSchema = z
  .strictObject({
    ...commonShape,
    /** Value key → column; keys not listed go to the column of the same name. */
    columns: z.record(z.string().min(1), identifier('column')).default({}),
    /** A value key with no column in the table: drop the key (`skip`) or refuse the record (`reject`). */
    unknownFields: z.enum(['skip', 'reject']).default('skip'),
    /** The column that keeps the record id (for tracing and `reconcile`); false: not written. */
    idColumn: z.union([identifier('column'), z.literal(false)]).default('_source_id'),
    /** Creates the table when missing: column name → type, and the engine clause. */
    create: z
      .strictObject({
        columns: z
          .record(
            identifier('column'),
            z.string().transform((type, ctx) => ddl(ctx, [], () => columnTypeSql(type))),
          )
          .refine((columns) => Object.keys(columns).length > 0, { message: 'declare at least one column' }),
        engine: z.string().min(1),
      })
      .optional(),
    /** The sink's capacity in rows: free() is maxRows − count(). */
    maxRows: z.int().positive().optional(),
  })
  .superRefine(checkTls)
  .transform((options, ctx) => {
    const { create } = options;
    if (create === undefined) return options;
    const allowed = [...defaultEngines, ...options.engines];
    const engine = ddl(ctx, ['create', 'engine'], () => engineSql(create.engine, allowed));
    return { ...options, create: { ...create, engine } };
  });

export const clickHouseSourceOptionsSchema = z
  .strictObject({
    ...commonShape,
    /** The unique, increasing column read by: `WHERE cursor > last ORDER BY cursor`. */
    cursor: identifier('column'),
    mode: z.enum(['copy', 'move']).default('copy'),
    /** Names the position in `ferry_checkpoints`; default `<database>.<table>`. */
    checkpointKey: z.string().min(1).max(512).optional(),
    /** Columns read into the value; default all. */
    columns: z.array(identifier('column')).min(1).optional(),
    /** String columns that hold JSON (objects, arrays, booleans a sink stored as text): parsed into the value. */
    jsonColumns: z.array(identifier('column')).default([]),
    /** How often a waiting (follow-mode) read asks for new rows. */
    pollIntervalMs: z.int().positive().default(250),
    /** Move mode: acked rows are deleted in one ALTER TABLE … DELETE per this many rows (and on close). */
    deleteBatchRows: z.int().positive().default(10_000),
  })
  .superRefine(checkTls)
  .transform((options) => ({
    ...options,
    checkpointKey: options.checkpointKey ?? `${options.database}.${options.table}`,
  }));

export type ClickHouseSinkOptions = z.input<typeof clickHouseSinkOptionsSchema>;
export type ClickHouseSinkConfig = Readonly<z.output<typeof clickHouseSinkOptionsSchema>>;
export type ClickHouseSourceOptions = z.input<typeof clickHouseSourceOptionsSchema>;
export type ClickHouseSourceConfig = Readonly<z.output<typeof clickHouseSourceOptionsSchema>>;
/** What a connection needs, common to source and sink; no table for a client that asks the server only (an inspector's). */
export type ClickHouseConnectionConfig = Pick<
  ClickHouseSinkConfig,
  'url' | 'client' | 'connection' | 'database' | 'username' | 'password' | 'connectionName' | 'requestTimeoutMs' | 'tls'
> &
  Partial<Pick<ClickHouseSinkConfig, 'table'>>;

/** A connection's keys as an inspector takes them: url, credentials and database, beside any endpoint keys it may also hold. */
export const clickHouseConnectionOptionsSchema = z
  .looseObject({
    kind: commonShape.kind,
    url: commonShape.url,
    client: commonShape.client,
    connection: commonShape.connection,
    database: commonShape.database,
    username: commonShape.username,
    password: commonShape.password,
    tls: commonShape.tls,
  })
  .superRefine(checkTls);

export function parseConnectionOptions(input: unknown): Readonly<z.output<typeof clickHouseConnectionOptionsSchema>> {
  return parseOptions(clickHouseConnectionOptionsSchema, input, '[clickhouse] invalid connection options');
}

export { maskSecrets } from '@ferry/core';

export function parseSourceOptions(input: unknown): ClickHouseSourceConfig {
  return parseOptions(clickHouseSourceOptionsSchema, input, '[clickhouse] invalid source options');
}

export function parseSinkOptions(input: unknown): ClickHouseSinkConfig {
  return parseOptions(clickHouseSinkOptionsSchema, input, '[clickhouse] invalid sink options');
}

/**
 * The table and its server as the options name them: host and port (8123, or
 * 8443 for https) and the database; an embedded one by its directory. A client
 * or connection given from code names no server ferry can compare.
 */
export function clickHouseTarget(role: 'source' | 'sink', input: unknown): EndpointTarget | undefined {
  const { url, database, table } = role === 'source' ? parseSourceOptions(input) : parseSinkOptions(input);
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol === 'chdb:') {
    return { server: `chdb:${chdbDirectory(url)}/${database}`, name: `table "${database}.${table}"` };
  }
  const address = serverAddress(parsed.host, parsed.protocol === 'https:' ? 8443 : 8123);
  return { server: `${address}/${database}`, name: `table "${database}.${table}"` };
}
