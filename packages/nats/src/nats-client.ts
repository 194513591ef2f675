import {
  ConfigError,
  ConnectionError,
  clientCertificateHint,
  FatalError,
  FerryError,
  isNetworkError,
  mapErrors,
  maskSecrets,
  resolveTls,
  TransientError,
  tlsProblem,
  withTimeout,
} from '@ferry/core';
import { JetStreamApiError, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import {
  AuthorizationError,
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  type NatsConnection,
  ConnectionError as NatsConnectionError,
  NoRespondersError,
  PermissionViolationError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from '@nats-io/transport-node';
import { hostPort, type NatsAddress, type NatsConnectionConfig, parseNatsUrl } from './nats-config.js';

/** JetStream API error codes ferry tells apart. */
export const apiCodes = {
  consumerNotFound: 10014,
  noMessageFound: 10037,
  streamNotFound: 10059,
  consumerAlreadyExists: 10148,
  consumerExists: 10105,
} as const;

/** The JetStream API error code of an error, if it is one. */
export function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return maskSecrets(error.message || error.name);
  return maskSecrets(String(error));
}

/**
 * One connection of a source, a sink or an inspector: opens it with the
 * configured name and timeouts, and turns client errors into ferry's error
 * family, naming the server and the stream.
 */
export class NatsClient {
  readonly #config: NatsConnectionConfig;
  readonly #address: NatsAddress;
  /** `stream "x"`: what this client works on, for messages. */
  readonly target: string;

  constructor(config: NatsConnectionConfig, target: string) {
    this.#config = config;
    this.#address = parseNatsUrl(config.url);
    this.target = target;
  }

  /** `127.0.0.1:4222 (connection "nats")`: where, without any credential. */
  get where(): string {
    const name = this.#config.connectionName;
    return `${hostPort(this.#address)}${name === undefined ? '' : ` (connection "${name}")`}`;
  }

  /**
   * A connection that reconnects by itself for as long as it is open: a
   * request made while it is away fails on its timeout (a ConnectionError),
   * which the pump retries; the consumer's state lives on the server, so
   * nothing held is lost meanwhile.
   */
  async connect(name = this.#config.connectionName ?? 'ferry'): Promise<NatsConnection> {
    const { host, port, tls, user, pass, token } = this.#address;
    const timeoutMs = this.#config.connectTimeoutMs;
    const settings = this.#config.tls === undefined ? undefined : resolveTls(this.#config.tls, this.where);
    const connecting = connect({
      servers: hostPort({ host, port, tls }),
      name,
      timeout: timeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Given settings, or tls://, require TLS; otherwise the client upgrades when the server asks.
      ...(settings !== undefined ? { tls: settings } : tls ? { tls: {} } : {}),
      ...(user === undefined ? {} : { user, pass: pass ?? '' }),
      ...(token === undefined ? {} : { token }),
    });
    try {
      return await withTimeout(connecting, timeoutMs + 1000, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (error) {
      // A connection that opens after the timeout must not stay behind.
      connecting.then((late) => late.close().catch(() => undefined)).catch(() => undefined);
      throw this.#connectError(error);
    }
  }

  /** The JetStream manager of a connection; fails with the reason when JetStream is off. */
  async manager(nc: NatsConnection): Promise<JetStreamManager> {
    return this.call('checking JetStream', () =>
      jetstreamManager(nc, { timeout: this.#config.requestTimeoutMs, checkAPI: true }),
    );
  }

  #connectError(error: unknown): FerryError {
    const reason = describe(error);
    if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
      return new FatalError(`[nats] the server at ${this.where} refused the credentials: ${reason}`, {
        cause: error,
      });
    }
    const problem = tlsProblem(error);
    if (problem !== undefined) {
      return new ConfigError(`[nats] cannot connect to ${this.where} over TLS: ${problem}`, { cause: error });
    }
    const tls = this.#address.tls || this.#config.tls !== undefined;
    const hint = tls ? clientCertificateHint(this.#config.tls) : '';
    return new ConnectionError(`[nats] cannot reach ${this.where}: ${reason}${hint}`, { cause: error });
  }

  /** Runs one client call, turning its failure into ferry's error family (see `toError`). */
  call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => this.toError(error, doing));
  }

  /**
   * The ferry error for a failed client call: the server refusing it (no such
   * stream, no permission, a bad request) is fatal; a lost or slow connection,
   * and a server short of resources, are transient.
   */
  toError(error: unknown, doing: string): FerryError {
    if (error instanceof FerryError) return error;
    const text = describe(error);
    // Not exported by the client: told by its name. Also what a publish to a subject no stream takes gets.
    if (error instanceof Error && error.name === 'JetStreamNotEnabled') {
      return new FatalError(
        `[nats] JetStream does not answer at ${this.where} while ${doing} on ${this.target}: it is not enabled for this account, or no stream takes the subject (${text})`,
        { cause: error },
      );
    }
    if (error instanceof JetStreamApiError) {
      const code = error.code;
      if (code === apiCodes.streamNotFound) {
        return new FatalError(
          `[nats] ${this.target} not found at ${this.where}: create it first (nats stream add) (${text})`,
          { cause: error },
        );
      }
      // 503s: the JetStream system or a stream's store is busy or short of resources for now.
      if (error.status >= 500) {
        return new TransientError(`[nats] ${doing} on ${this.target} at ${this.where} failed: ${text}`, {
          cause: error,
        });
      }
      return new FatalError(`[nats] ${doing} on ${this.target} at ${this.where} was refused: ${text}`, {
        cause: error,
      });
    }
    if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
      return new FatalError(`[nats] the server at ${this.where} refused the credentials: ${text}`, { cause: error });
    }
    if (error instanceof PermissionViolationError) {
      return new FatalError(`[nats] permission denied at ${this.where} while ${doing} on ${this.target}: ${text}`, {
        cause: error,
      });
    }
    if (
      error instanceof NatsConnectionError ||
      error instanceof ClosedConnectionError ||
      error instanceof DrainingConnectionError ||
      error instanceof TimeoutError ||
      error instanceof NoRespondersError ||
      isNetworkError(error)
    ) {
      return new ConnectionError(
        `[nats] no answer from ${this.where} while ${doing} on ${this.target} (the connection is away or slow): ${text}`,
        { cause: error },
      );
    }
    return new TransientError(`[nats] ${doing} on ${this.target} at ${this.where} failed: ${text}`, { cause: error });
  }
}

/** Closes a connection without waiting forever and without throwing. */
export async function closeQuietly(nc: NatsConnection | undefined, timeoutMs = 2000): Promise<void> {
  if (nc === undefined || nc.isClosed()) return;
  try {
    await withTimeout(nc.close(), timeoutMs, () => new Error('close timed out'));
  } catch {
    // Gone already.
  }
}
