import {
  ConfigError,
  ConnectionError,
  clientCertificateHint,
  FatalError,
  FerryError,
  isNetworkError,
  mapErrors,
  resolveTls,
  TransientError,
  tlsProblem,
} from '@ferry/core';
import { Redis, type RedisOptions } from 'ioredis';
import { clientProblem, maskSecrets, type RedisStreamConnectionConfig } from './redis-stream-config.js';
import { rejectUnanswered } from './redis-stream-internals.js';

/** Driver settings that keep a dead server from hanging a call: the pump owns the retries. */
const driverOptions: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: 2,
  retryStrategy: (times) => Math.min(times * 200, 2000),
  connectTimeout: 5000,
  enableAutoPipelining: false,
  // A command sent on a connection that then dropped may have run: sending it
  // again would write twice. It fails instead (see `failUnanswered`), and the
  // pump retries it the way that cannot double: reconcile before a write.
  autoResendUnfulfilledCommands: false,
};

/**
 * Fails the commands a dropped connection never answered. ioredis keeps them
 * to send again after it reconnects, or, told not to, drops them without
 * settling their promises; a write waiting on one would wait forever.
 * Runs on 'close', which ioredis emits a tick after it stopped reading.
 */
function failUnanswered(redis: Redis): void {
  rejectUnanswered(redis, new Error('Connection is closed before the reply came: the command may or may not have run'));
}

const connectionMessages =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|connect ETIMEDOUT|Socket closed/i;

/** Reply errors that say "not now" rather than "never". */
const transientReplies = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|OOM)\b/;

function isConnectionProblem(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isNetworkError(error)) return true;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return connectionMessages.test(error.message);
}

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * One connection of a source or sink: opens it, closes it when it is ours,
 * and turns driver errors into ferry's error family, naming the server and stream.
 */
export class RedisStreamClient {
  readonly #config: RedisStreamConnectionConfig;
  #redis: Redis | undefined;
  #lastError: Error | undefined;
  readonly #onError = (error: Error): void => {
    this.#lastError = error;
  };

  constructor(config: RedisStreamConnectionConfig) {
    this.#config = config;
  }

  /** The connected client; only valid between a successful `open` and `close`. */
  get redis(): Redis {
    if (this.#redis === undefined) {
      const stream = this.#config.stream;
      const what = stream === undefined ? `the connection to ${this.where}` : `stream "${stream}"`;
      throw new FatalError(`[redis-stream] ${what} is not open: call open() first`);
    }
    return this.#redis;
  }

  /** `127.0.0.1:6379 (connection "default")`: where, without any password. */
  get where(): string {
    const options = this.#redis?.options ?? this.#urlOptions();
    const address = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
    const name = this.#config.connectionName;
    return name === undefined ? address : `${address} (connection "${name}")`;
  }

  #urlOptions(): { host?: string; port?: number; path?: string } {
    try {
      const url = new URL(this.#config.url ?? '');
      return { host: url.hostname || '127.0.0.1', port: url.port === '' ? 6379 : Number(url.port) };
    } catch {
      return {};
    }
  }

  async open(): Promise<Redis> {
    const redis = await this.#acquire();
    try {
      if (redis.status === 'wait') await redis.connect();
      await redis.ping();
    } catch (error) {
      if (this.#config.url !== undefined) {
        // A failed ioredis client keeps reconnecting; drop it so that the next open() starts clean.
        redis.disconnect();
        this.#redis = undefined;
      }
      const reason = this.#lastError ?? error;
      this.#lastError = undefined;
      const problem = tlsProblem(reason);
      if (problem !== undefined) {
        throw new ConfigError(`[redis-stream] cannot connect to ${this.where} over TLS: ${problem}`, { cause: reason });
      }
      const hint = this.#config.url?.startsWith('rediss://') ? clientCertificateHint(this.#config.tls) : '';
      throw new ConnectionError(`[redis-stream] cannot reach ${this.where}: ${maskSecrets(describe(reason))}${hint}`, {
        cause: reason,
      });
    }
    this.#lastError = undefined;
    return redis;
  }

  async #acquire(): Promise<Redis> {
    const current = this.#redis;
    if (current !== undefined && current.status !== 'end') return current;
    const { url, client } = this.#config;
    let redis: Redis;
    if (url !== undefined) {
      // Named, so that an operator sees ferry's connections in CLIENT LIST (and can kill them).
      const name = this.#config.connectionName === undefined ? 'ferry' : `ferry:${this.#config.connectionName}`;
      const tls = this.#config.tls === undefined ? {} : { tls: resolveTls(this.#config.tls, this.where) };
      redis = new Redis(url, { ...driverOptions, ...tls, connectionName: name });
      redis.on('close', () => failUnanswered(redis));
    } else if (typeof client === 'function') {
      try {
        redis = await client();
      } catch (error) {
        throw new ConnectionError(`[redis-stream] the client function failed: ${describe(error)}`, { cause: error });
      }
    } else {
      redis = client!;
    }
    const problem = clientProblem(redis);
    if (problem !== undefined) throw new ConfigError(`[redis-stream] stream "${this.#config.stream}": ${problem}`);
    redis.on('error', this.#onError);
    this.#redis = redis;
    return redis;
  }

  /** Closes a client this package created; a client passed in belongs to its owner. */
  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    if (redis === undefined) return;
    redis.off('error', this.#onError);
    if (this.#config.url === undefined) return;
    if (redis.status !== 'ready') {
      // QUIT would wait in the offline queue of a client that never connected.
      redis.disconnect();
      return;
    }
    try {
      await redis.quit();
    } catch {
      redis.disconnect();
    }
  }

  /** Runs one driver call, turning its failure into ferry's error family (see `toError`). */
  call<T>(command: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => this.toError(error, command));
  }

  /**
   * The ferry error for a failed driver call: a lost connection is transient,
   * a reply error is the server refusing the command, which retrying will not change.
   */
  toError(error: unknown, command: string): FerryError {
    if (error instanceof FerryError) return error;
    const stream = this.#config.stream;
    const doing = stream === undefined ? command : `${command} on stream "${stream}"`;
    const reason = maskSecrets(describe(error));
    if (isReplyError(error)) {
      const message = `[redis-stream] ${doing} at ${this.where} failed: ${reason}`;
      if (transientReplies.test(error.message)) return new TransientError(message, { cause: error });
      return new FatalError(message, { cause: error });
    }
    if (isConnectionProblem(error)) {
      return new ConnectionError(`[redis-stream] lost connection to ${this.where} during ${doing}: ${reason}`, {
        cause: error,
      });
    }
    return new FatalError(`[redis-stream] ${doing} failed: ${reason}`, { cause: error });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
