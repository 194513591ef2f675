import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import { Readable } from 'node:stream';
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from '@clickhouse/client';
import {
  ConnectionError,
  FatalError,
  FerryError,
  isNetworkError,
  mapErrors,
  resolveTls,
  TransientError,
  tlsProblem,
} from '@ferry/core';
import { chdbDirectory, type OpenChdbOptions, openChdb } from './clickhouse-chdb.js';
import { type ClickHouseConnectionConfig, maskSecrets } from './clickhouse-config.js';
import { baseJsonOutput, readServerFeatures, type ServerFeatures } from './clickhouse-server.js';
import { qualifiedName, quoteName, stringLiteral } from './clickhouse-sql.js';
import { compactType } from './clickhouse-types.js';

/** A row of DESCRIBE TABLE, as far as ferry reads it. */
export interface DescribedColumn {
  readonly name: string;
  readonly type: string;
  readonly default_type: string;
}

/** Server error codes that retrying may fix: timeouts, limits, a busy server, a locked session. */
const transientCodes = new Set([159, 164, 202, 203, 209, 210, 236, 241, 242, 252, 285, 319, 373, 394, 425, 439, 999]);

/**
 * Server error codes that mean "this row is wrong", not "this batch cannot go
 * in"; among them a table's own refusals: a CHECK constraint (469) and a
 * column computed with throwIf (395).
 */
export const rowErrorCodes = new Set([
  6, 16, 25, 26, 27, 32, 33, 38, 41, 43, 53, 69, 70, 72, 117, 131, 190, 321, 349, 354, 395, 469,
]);

/** The server's error code: the client's `code` on current servers, else `Code: 60` from the text (18.16). */
export function serverCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const match = /^Code: (\d+)/.exec(error.message);
  return match === null ? undefined : Number(match[1]);
}

/** The server's own words, without 18.16's `e.displayText() = … e.what()` wrapping. */
export function serverMessage(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return maskSecrets(
    text
      .replace(/e\.displayText\(\) = /, '')
      .replace(/,?\s*e\.what\(\) = [\w:]+\s*$/, '')
      .trim(),
  );
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // An INSERT answers with nothing worth reading; the request ends when it is read.
  }
}

/**
 * ` SETTINGS a = 1, b = 'x'`: settings of this query alone. chDB's connection
 * turns `clickhouse_settings` into `SET`s that outlive the query on that
 * connection, and a deduplication token left behind would drop the next
 * INSERT of whoever shares it.
 */
function settingsClause(settings: ClickHouseSettings): string {
  const pairs = Object.entries(settings).flatMap(([name, value]) => {
    if (value === undefined) return [];
    if (!/^[A-Za-z_]\w*$/.test(name) || typeof value === 'object') {
      throw new FatalError(`[clickhouse] setting ${JSON.stringify(name)} cannot go in a query's SETTINGS clause`);
    }
    return [`${name} = ${typeof value === 'string' ? stringLiteral(value) : String(Number(value))}`];
  });
  return pairs.length === 0 ? '' : ` SETTINGS ${pairs.join(', ')}`;
}

/** `127.0.0.1:8123` from an http(s) URL. */
function hostPort(url: URL): string {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return `${url.hostname}:${port}`;
}

/** An https agent with the `tls` option whole: the client's own `tls` lacks servername and the like, and logs in by certificate. */
function tlsAgent(config: ClickHouseConnectionConfig, where: string): Agent | undefined {
  if (config.tls === undefined) return undefined;
  const { ca, cert, key, passphrase, servername, rejectUnauthorized } = resolveTls(config.tls, where);
  // The client's own defaults: 10 sockets, kept alive (it closes idle ones before the server does).
  return new Agent({ keepAlive: true, maxSockets: 10, ca, cert, key, passphrase, servername, rejectUnauthorized });
}

/** The client, and whether ferry made it (and so closes it). */
interface Made {
  readonly client: ClickHouseClient;
  readonly owned: boolean;
  /** False where the connection reads an INSERT's body as text (chDB's): RowBinary then goes as hex in the SQL. */
  readonly binaryBodies: boolean;
}

/**
 * Whether a client's connection is one of the client's own HTTP(S) ones, which
 * send an INSERT's body as bytes. Any other (chDB's, or one wrapping it) may
 * pass the body through a UTF-8 string, which would re-cut RowBinary into other
 * rows: those get RowBinary as hex in the SQL, which every connection carries.
 */
const isHttp = (connection: unknown): boolean =>
  ['NodeHttpConnection', 'NodeHttpsConnection', 'NodeCustomAgentConnection'].includes(
    (connection as object | undefined)?.constructor?.name ?? '',
  );

/**
 * One client of a source or sink: built from the url (credentials in it or
 * given apart), an embedded ClickHouse (`chdb:///dir`), or a client or
 * connection given from code; and the place where driver errors become
 * ferry's error family, naming the server, the connection and the table.
 */
export class ClickHouseHttp {
  readonly #config: ClickHouseConnectionConfig;
  readonly #url: URL | undefined;
  readonly #username: string;
  #sessionId: string | undefined;
  #made: Made | undefined;
  #features: ServerFeatures | undefined;
  readonly #table: string | undefined;
  readonly #chdb: OpenChdbOptions;

  /**
   * `chdb`: how an embedded ClickHouse opens: a flow waits up to 5 s for another
   * process to let its directory go; an inspector does not, nor makes a missing directory.
   */
  constructor(config: ClickHouseConnectionConfig, options: { chdb?: OpenChdbOptions } = {}) {
    this.#config = config;
    this.#chdb = options.chdb ?? { waitMs: 5000 };
    const url = config.url === undefined ? undefined : new URL(config.url);
    this.#url = url;
    this.#username =
      config.username ?? (url === undefined || url.username === '' ? 'default' : decodeURIComponent(url.username));
    this.#table = config.table === undefined ? undefined : qualifiedName(config.database, config.table);
  }

  /** The driver's client, once `connect()` made it; an http(s) url's is made at its first use. */
  get client(): ClickHouseClient {
    if (this.#made === undefined) {
      if (this.#url?.protocol !== 'http:' && this.#url?.protocol !== 'https:') {
        throw new FatalError(`[clickhouse] the client of ${this.where} is not connected: open it first`);
      }
      this.#made = { client: this.#createClient(this.#url), owned: true, binaryBodies: true };
    }
    return this.#made.client;
  }

  /** What the server can do, as `check()` read it. */
  get features(): ServerFeatures {
    if (this.#features === undefined) throw new FatalError(`[clickhouse] the client of ${this.where} is not open`);
    return this.#features;
  }

  /** Makes the client: the `tls` files are read and an embedded ClickHouse opened now, not when a flow is checked. */
  async #connect(): Promise<void> {
    if (this.#made !== undefined) return;
    const { client, connection } = this.#config;
    const url = this.#url;
    if (client !== undefined) {
      const ready = typeof client === 'function' ? await client() : client;
      const inner = (ready as unknown as { connection?: unknown }).connection;
      this.#made = { client: ready, owned: typeof client === 'function', binaryBodies: isHttp(inner) };
    } else if (connection !== undefined) {
      // The connection is the caller's to close: the client made around it is left open.
      this.#made = { client: this.#clientOf(connection), owned: false, binaryBodies: false };
    } else if (url?.protocol === 'chdb:') {
      const opened = await openChdb(chdbDirectory(url.href), this.#chdb);
      this.#made = { client: this.#clientOf(opened), owned: true, binaryBodies: false };
    }
    // Otherwise an http(s) url: the `client` getter makes its client.
  }

  #clientOf(connection: NonNullable<ClickHouseClientConfigOptions['connection']>): ClickHouseClient {
    const { database, requestTimeoutMs } = this.#config;
    return createClient({
      connection,
      database,
      request_timeout: requestTimeoutMs,
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  #createClient(url: URL): ClickHouseClient {
    const config = this.#config;
    const bare = new URL(url.href);
    bare.username = '';
    bare.password = '';
    bare.pathname = '/';
    bare.search = '';
    const agent = tlsAgent(config, `clickhouse ${this.where}`);
    return createClient({
      url: bare.origin,
      username: this.#username,
      password: config.password ?? decodeURIComponent(url.password),
      database: config.database,
      request_timeout: config.requestTimeoutMs,
      // Compression costs CPU at both ends for what is usually a local link.
      compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF },
      ...(config.connectionName === undefined ? {} : { application: `ferry:${config.connectionName}` }),
      ...(agent === undefined ? {} : { http_agent: agent }),
    });
  }

  /**
   * This client in an HTTP session of its own, for temporary tables on a
   * server without query parameters; closing it leaves the client open.
   */
  inSession(): ClickHouseHttp {
    const session = new ClickHouseHttp(this.#config, { chdb: this.#chdb });
    session.#sessionId = `ferry-${randomUUID()}`;
    session.#made = this.#made === undefined ? undefined : { ...this.#made, owned: false };
    session.#features = this.#features;
    return session;
  }

  /** The session a call runs in, where the server needs one. */
  get #session(): { session_id?: string } {
    return this.#sessionId === undefined ? {} : { session_id: this.#sessionId };
  }

  /** `127.0.0.1:8123 (connection "ch")`: where, without any password. */
  get where(): string {
    const name = this.#config.connectionName;
    const url = this.#url;
    const at =
      url === undefined
        ? `the ${this.#config.client === undefined ? 'connection' : 'client'} given`
        : url.protocol === 'chdb:'
          ? `the embedded ClickHouse in ${chdbDirectory(url.href)}`
          : hostPort(url);
    return `${at}${name === undefined ? '' : ` (connection "${name}")`}`;
  }

  /** `` `db`.`table` ``: the table of a source's or a sink's client. */
  get table(): string {
    if (this.#table === undefined) throw new FatalError(`[clickhouse] the client of ${this.where} names no table`);
    return this.#table;
  }

  /** `default.events`, for messages; the database alone for a client without a table. */
  get tableName(): string {
    const { database, table } = this.#config;
    return table === undefined ? `database ${database}` : `${database}.${table}`;
  }

  async query<T>(
    doing: string,
    query: string,
    settings: ClickHouseSettings = {},
    params?: Record<string, unknown>,
  ): Promise<T[]> {
    return this.call(doing, () => this.queryRaw<T>(query, settings, params));
  }

  /** DESCRIBE TABLE of this client's table, each type on one line as every version can parse it. */
  async describe(): Promise<DescribedColumn[]> {
    const rows = await this.query<DescribedColumn>('describing the table', `DESCRIBE TABLE ${this.table}`);
    return rows.map((row) => ({ ...row, type: compactType(row.type) }));
  }

  /** A JSON query whose raw driver error is thrown (for a caller that tells errors apart), in this client's session. */
  async queryRaw<T>(query: string, settings: ClickHouseSettings = {}, params?: Record<string, unknown>): Promise<T[]> {
    const result = await this.client.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: { ...(this.#features?.jsonOutput ?? baseJsonOutput), ...settings },
      ...this.#session,
      ...(params === undefined ? {} : { query_params: params }),
    });
    return (await result.json()) as T[];
  }

  /**
   * Inserts RowBinary rows holding `columns`, in that order. The body is sent
   * as it is: no server-side text parsing, so what ferry checked is what is stored.
   */
  async insertRowBinary(
    table: string,
    columns: readonly { name: string; type: string }[],
    body: Buffer,
    settings: ClickHouseSettings = {},
  ): Promise<void> {
    const list = columns.map((column) => quoteName(column.name)).join(', ');
    if (this.#made?.binaryBodies === false) {
      // The body would pass through a UTF-8 string: it goes as hex digits, which the server unhexes.
      const structure = columns.map((column) => `${quoteName(column.name)} ${column.type}`).join(', ');
      const hex = body.toString('hex');
      await this.client.command({
        query: `INSERT INTO ${table} (${list})${settingsClause(settings)} SELECT * FROM format(RowBinary, ${stringLiteral(structure)}, unhex('${hex}'))`,
        // The parser's limit must be known before the query is parsed; it outlives the query, which is harmless.
        clickhouse_settings: { max_query_size: String(hex.length + structure.length + 65_536) },
      });
      return;
    }
    const result = await this.client.exec({
      query: `INSERT INTO ${table} (${list}) FORMAT RowBinary`,
      values: Readable.from([body], { objectMode: false }),
      clickhouse_settings: settings,
      ...this.#session,
    });
    await drain(result.stream);
  }

  /** A query's RowBinary answer, whole, as bytes: strings that are not UTF-8 stay bytes. */
  async readRowBinary(query: string, params?: Record<string, unknown>): Promise<Buffer> {
    const result = await this.client.exec({
      query: `${query} FORMAT RowBinary`,
      ...this.#session,
      ...(params === undefined ? {} : { query_params: params }),
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  async command(
    doing: string,
    query: string,
    settings: ClickHouseSettings = {},
    params?: Record<string, unknown>,
  ): Promise<void> {
    await this.call(doing, () =>
      this.client.command({
        query,
        clickhouse_settings: settings,
        ...this.#session,
        ...(params === undefined ? {} : { query_params: params }),
      }),
    );
  }

  /** Inserts rows as JSONEachRow; the raw driver error is thrown, for the sink to tell row errors apart. */
  async insertRaw(table: string, values: readonly unknown[]): Promise<void> {
    await this.client.insert({ table, values: values as unknown[], format: 'JSONEachRow', ...this.#session });
  }

  async insert(doing: string, table: string, values: readonly unknown[]): Promise<void> {
    await this.call(doing, () => this.insertRaw(table, values));
  }

  /** Runs one driver call, turning its failure into ferry's error family (see `toError`). */
  call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => this.toError(error, doing));
  }

  /**
   * The ferry error for a failed call: the server refusing the credentials, or
   * a table or database that does not exist, is fatal; an unreachable server
   * is a ConnectionError; timeouts and busy-server codes are transient.
   */
  toError(error: unknown, doing: string): FerryError {
    if (error instanceof FerryError) return error;
    const text = serverMessage(error);
    const code = serverCode(error);
    const problem = tlsProblem(error);
    if (problem !== undefined) {
      return new FatalError(`[clickhouse] TLS with the server at ${this.where} failed: ${problem}`, { cause: error });
    }
    if (code === undefined) {
      if (isNetworkError(error) || /socket hang up|timeout|ECONN|network|other side closed/i.test(text)) {
        return new ConnectionError(`[clickhouse] cannot reach ${this.where} while ${doing}: ${text}`, {
          cause: error,
        });
      }
      return new TransientError(`[clickhouse] ${doing} on ${this.tableName} at ${this.where} failed: ${text}`, {
        cause: error,
      });
    }
    if (code === 192 || code === 193 || code === 516 || code === 194) {
      return new FatalError(
        `[clickhouse] the server at ${this.where} refused the credentials for user "${this.#username}" (wrong user or password): ${text}`,
        { cause: error },
      );
    }
    if (code === 60) {
      return new FatalError(`[clickhouse] table ${this.tableName} does not exist at ${this.where}: ${text}`, {
        cause: error,
      });
    }
    if (code === 81) {
      return new FatalError(
        `[clickhouse] database "${this.#config.database}" does not exist at ${this.where}: ${text}`,
        { cause: error },
      );
    }
    if (transientCodes.has(code)) {
      return new TransientError(`[clickhouse] ${doing} on ${this.tableName} at ${this.where} failed: ${text}`, {
        cause: error,
      });
    }
    return new FatalError(`[clickhouse] ${doing} on ${this.tableName} at ${this.where} failed: ${text}`, {
      cause: error,
    });
  }

  /** Connects, checks that the server answers and takes the credentials, and reads what it can do. */
  async check(): Promise<ServerFeatures> {
    await this.#connect();
    this.#features ??= await this.call('connecting', () => readServerFeatures(this.client));
    return this.#features;
  }

  async close(): Promise<void> {
    const made = this.#made;
    this.#made = undefined;
    if (made?.owned) await made.client.close().catch(() => undefined);
  }
}
