import {
  ConnectionError,
  FatalError,
  FerryError,
  mapErrors,
  resolveTls,
  TransientError,
  tlsProblem,
} from '@ferry/core';
import {
  type Collection,
  type Db,
  type Document,
  MongoClient,
  type MongoClientOptions,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  type W,
  WriteConcern,
} from 'mongodb';
import { type MongoConnectionConfig, maskSecrets, parseMongoUrl } from './mongo-config.js';

/** Server error codes that say "try again later", not "this cannot work" (error_codes.yml). */
const transientCodes = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Codes that mean the credentials or the rights are wrong. */
const authCodes = new Set([18, 13, 11]);

export function describe(error: unknown): string {
  if (error instanceof Error) return maskSecrets(error.message || error.name);
  return maskSecrets(String(error));
}

/** Each server's last error behind a failed server selection: where the socket's TLS reason is kept. */
function serverErrors(error: unknown): unknown[] {
  const servers = (error as { reason?: { servers?: Map<string, { error?: unknown }> } }).reason?.servers;
  return servers instanceof Map ? [...servers.values()].map((server) => server.error) : [];
}

/**
 * One MongoClient of a source or sink: opens it with a short server
 * selection timeout, so that an unreachable server fails promptly, and turns
 * driver errors into ferry's error family, naming the hosts, the database and
 * the connection.
 */
export class MongoConnection {
  readonly #config: MongoConnectionConfig;
  #client: MongoClient | undefined;
  #db: Db | undefined;

  constructor(config: MongoConnectionConfig) {
    this.#config = config;
  }

  /** `127.0.0.1:27017, database "app" (connection "mongo")`: where, without any password. */
  get where(): string {
    const hosts = parseMongoUrl(this.#config.url)?.hosts.join(',') ?? '?';
    const name = this.#config.connectionName;
    return `${hosts}, database "${this.#config.database}"${name === undefined ? '' : ` (connection "${name}")`}`;
  }

  /** `collection "x" in 127.0.0.1:27017, database "app"`, or the server alone for a connection without a collection. */
  get target(): string {
    const collection = this.#config.collection;
    return collection === undefined ? this.where : `collection "${collection}" at ${this.where}`;
  }

  get db(): Db {
    if (this.#db === undefined) throw new FatalError(`[mongo] ${this.target}: used before open()`);
    return this.#db;
  }

  collection<T extends Document = Document>(name = this.#config.collection): Collection<T> {
    if (name === undefined) throw new FatalError(`[mongo] ${this.target}: no collection named`);
    return this.db.collection<T>(name);
  }

  /** Another database of the same server, through the same client. */
  database(name: string): Db {
    if (this.#client === undefined) throw new FatalError(`[mongo] ${this.target}: used before open()`);
    return this.#client.db(name);
  }

  async open(): Promise<Db> {
    if (this.#db !== undefined) return this.#db;
    const { url, connectionName, serverSelectionTimeoutMs, connectTimeoutMs, writeConcern } = this.#config;
    const client = new MongoClient(url, {
      appName: connectionName ?? 'ferry',
      serverSelectionTimeoutMS: serverSelectionTimeoutMs,
      connectTimeoutMS: connectTimeoutMs,
      writeConcern: new WriteConcern(writeConcern.w as W, writeConcern.wtimeoutMS, writeConcern.j),
      ...this.#tlsOptions(),
    });
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw this.#connectError(error);
    }
    this.#client = client;
    this.#db = client.db(this.#config.database);
    return this.#db;
  }

  /** The driver's TLS options from the `tls` option, its files read now; none: the url's own `tls=…` decide. */
  #tlsOptions(): MongoClientOptions {
    if (this.#config.tls === undefined) return {};
    const { ca, cert, key, passphrase, servername, rejectUnauthorized } = resolveTls(
      this.#config.tls,
      `mongo ${this.where}`,
    );
    return {
      tls: true,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert, key }),
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(servername === undefined ? {} : { servername }),
      ...(rejectUnauthorized ? {} : { tlsAllowInvalidCertificates: true }),
    };
  }

  #connectError(error: unknown): FerryError {
    const problem = [error, ...serverErrors(error)].map(tlsProblem).find((text) => text !== undefined);
    if (problem !== undefined) {
      return new FatalError(`[mongo] TLS with the server at ${this.where} failed: ${problem}`, { cause: error });
    }
    const code = error instanceof MongoServerError ? error.code : undefined;
    if (typeof code === 'number' && authCodes.has(code)) {
      const user = parseMongoUrl(this.#config.url)?.username;
      return new FatalError(
        `[mongo] the server at ${this.where} refused the credentials${user === undefined ? '' : ` of user "${user}"`} (wrong user, password or authSource?): ${describe(error)}`,
        { cause: error },
      );
    }
    if (error instanceof MongoServerError || error instanceof MongoInvalidArgumentError) {
      return new FatalError(`[mongo] the server at ${this.where} refused the connection: ${describe(error)}`, {
        cause: error,
      });
    }
    return new ConnectionError(`[mongo] cannot reach ${this.where}: ${describe(error)}`, { cause: error });
  }

  /** Runs one driver call, turning its failure into ferry's error family (see `toError`). */
  call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => this.toError(error, doing));
  }

  /**
   * The ferry error for a failed driver call: a lost or unreachable server is a
   * ConnectionError, a busy or stepping-down one a TransientError, wrong
   * rights or a refused command fatal.
   */
  toError(error: unknown, doing: string): FerryError {
    if (error instanceof FerryError) return error;
    const text = describe(error);
    if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) {
      return new ConnectionError(`[mongo] lost the connection to ${this.where} while ${doing}: ${text}`, {
        cause: error,
      });
    }
    if (error instanceof MongoServerError) {
      const code = typeof error.code === 'number' ? error.code : undefined;
      if (code !== undefined && authCodes.has(code)) {
        return new FatalError(`[mongo] not allowed ${doing} on ${this.target}: ${text}`, { cause: error });
      }
      if ((code !== undefined && transientCodes.has(code)) || error.hasErrorLabel('RetryableWriteError')) {
        return new TransientError(`[mongo] ${doing} on ${this.target} failed, for now: ${text}`, { cause: error });
      }
      return new FatalError(`[mongo] ${doing} on ${this.target} failed: ${text} (code ${error.code})`, {
        cause: error,
      });
    }
    if (error instanceof MongoError && /closed|pool|socket|connection/i.test(error.message)) {
      return new ConnectionError(`[mongo] lost the connection to ${this.where} while ${doing}: ${text}`, {
        cause: error,
      });
    }
    if (error instanceof MongoInvalidArgumentError) {
      return new FatalError(`[mongo] ${doing} on ${this.target} failed: ${text}`, { cause: error });
    }
    return new TransientError(`[mongo] ${doing} on ${this.target} failed: ${text}`, { cause: error });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#db = undefined;
    await client?.close().catch(() => undefined);
  }
}
