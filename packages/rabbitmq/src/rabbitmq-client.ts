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
  withTimeout,
} from '@ferry/core';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { type AmqpAddress, maskSecrets, parseAmqpUrl, type RabbitMqConnectionConfig } from './rabbitmq-config.js';
import { socketOf } from './rabbitmq-internals.js';

/** Reply codes (AMQP 0-9-1) that retrying cannot fix. */
const fatalCodes = new Set([402, 403, 404, 406, 501, 502, 503, 504, 530, 540]);

/** The AMQP reply code a driver error carries, from its `code` or its message (`… 404 (NOT-FOUND) …`). */
export function replyCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return code;
  const match = /\b(\d{3}) \([A-Z-]+\)/.exec(error.message);
  return match === null ? undefined : Number(match[1]);
}

/** The broker's own words from a driver error: `NOT_FOUND - no queue 'x' in vhost '/'`. */
function brokerText(error: Error): string {
  const match = /with message "([^"]*)"/.exec(error.message);
  return match?.[1] ?? error.message;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return maskSecrets(error.message || error.name);
  return maskSecrets(String(error));
}

/**
 * One connection of a source or sink: opens it with the configured heartbeat,
 * timeout and connection name, and turns driver errors into ferry's error
 * family, naming the server, the vhost and the queue or exchange.
 */
export class RabbitMqClient {
  readonly #config: RabbitMqConnectionConfig;
  readonly #address: AmqpAddress;
  /** `queue "x"` or `exchange "y"`: what this client works on, for messages. */
  readonly target: string;

  constructor(config: RabbitMqConnectionConfig, target: string) {
    this.#config = config;
    this.#address = parseAmqpUrl(config.url);
    this.target = target;
  }

  get vhost(): string {
    return this.#address.vhost;
  }

  /** `127.0.0.1:5672, vhost "/" (connection "rabbit")`: where, without any password. */
  get where(): string {
    const { host, port, vhost } = this.#address;
    const name = this.#config.connectionName;
    return `${host}:${port}, vhost "${vhost}"${name === undefined ? '' : ` (connection "${name}")`}`;
  }

  /** ` (connection "rabbit")` or nothing. */
  get #named(): string {
    const name = this.#config.connectionName;
    return name === undefined ? '' : ` (connection "${name}")`;
  }

  /** `writeBufferBytes`: how much the socket holds before publish() says to wait (see `rabbitmq-frames.ts`). */
  async connect(writeBufferBytes?: number): Promise<ChannelModel> {
    const { protocol, host, port, username, password, vhost } = this.#address;
    const timeoutMs = this.#config.connectTimeoutMs;
    const name = this.#config.connectionName;
    const tls = this.#config.tls === undefined ? {} : resolveTls(this.#config.tls, this.where);
    const connecting = connect(
      { protocol, hostname: host, port, username, password, vhost, heartbeat: this.#config.heartbeatSeconds },
      {
        // amqps:// only: amqplib hands these to tls.connect.
        ...tls,
        timeout: timeoutMs,
        // amqplib leaves Nagle on: a small frame (an ack, the last publishes of a
        // batch) then waits for the broker's delayed TCP ack, up to 40 ms, while the
        // broker waits for that frame to send more deliveries or its confirms.
        noDelay: true,
        ...(writeBufferBytes === undefined ? {} : { writableHighWaterMark: writeBufferBytes }),
        ...(name === undefined ? {} : { clientProperties: { connection_name: name } }),
      },
    );
    let model: ChannelModel;
    try {
      // The socket timeout covers the TCP connect; this covers a broker that accepts and then says nothing.
      model = await withTimeout(connecting, timeoutMs + 1000, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (error) {
      // A connection that opens after the timeout must not stay behind.
      connecting.then((late) => late.close().catch(() => undefined)).catch(() => undefined);
      throw this.#connectError(error);
    }
    // Without a listener an 'error' event would throw; the 'close' event tells the owner.
    model.on('error', () => undefined);
    return model;
  }

  #connectError(error: unknown): FerryError {
    const code = replyCode(error);
    const reason = describe(error);
    const { username } = this.#address;
    const problem = tlsProblem(error);
    if (problem !== undefined) {
      return new ConfigError(`[rabbitmq] cannot connect to ${this.where} over TLS: ${problem}`, { cause: error });
    }
    if (code === 403) {
      return new FatalError(
        `[rabbitmq] the broker at ${this.where} refused the credentials for user "${username}" on vhost "${this.vhost}": ${reason}`,
        { cause: error },
      );
    }
    if (code === 530) {
      return new FatalError(
        `[rabbitmq] vhost "${this.vhost}" does not exist or user "${username}" may not use it, at ${this.where}: ${reason}`,
        { cause: error },
      );
    }
    if (code !== undefined && fatalCodes.has(code)) {
      return new FatalError(`[rabbitmq] the broker at ${this.where} refused the connection: ${reason}`, {
        cause: error,
      });
    }
    const hint = this.#address.protocol === 'amqps' ? clientCertificateHint(this.#config.tls) : '';
    return new ConnectionError(`[rabbitmq] cannot reach ${this.where}: ${reason}${hint}`, { cause: error });
  }

  /** A channel with an error listener (an unheard 'error' event would crash the process). */
  async channel(model: ChannelModel, confirm = false): Promise<Channel> {
    try {
      const channel = confirm ? await model.createConfirmChannel() : await model.createChannel();
      channel.on('error', () => undefined);
      return channel;
    } catch (error) {
      throw this.toError(error, 'opening a channel');
    }
  }

  /** Runs one driver call, turning its failure into ferry's error family (see `toError`). */
  call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => this.toError(error, doing));
  }

  /**
   * The ferry error for a failed driver call: the broker refusing it (no such
   * queue, no permission, different arguments) is fatal; a closed channel or
   * connection is transient.
   */
  toError(error: unknown, doing: string): FerryError {
    if (error instanceof FerryError) return error;
    const code = replyCode(error);
    const text = error instanceof Error ? maskSecrets(brokerText(error)) : describe(error);
    const kind = this.target.split(' ')[0];
    const named = this.#named;
    if (code === 404) {
      return new FatalError(`[rabbitmq] ${this.target} not found in vhost "${this.vhost}"${named}: ${text}`, {
        cause: error,
      });
    }
    if (code === 403) {
      return new FatalError(
        `[rabbitmq] access refused to ${this.target} in vhost "${this.vhost}"${named} while ${doing}: ${text}`,
        { cause: error },
      );
    }
    if (code === 406) {
      return new FatalError(
        `[rabbitmq] ${this.target} in vhost "${this.vhost}"${named} exists with other settings than asked for (${kind} arguments, durable or type differ): ${text}`,
        { cause: error },
      );
    }
    if (code !== undefined && fatalCodes.has(code)) {
      return new FatalError(`[rabbitmq] ${doing} on ${this.target} at ${this.where} failed: ${text}`, {
        cause: error,
      });
    }
    if (
      code !== undefined ||
      isNetworkError(error) ||
      (error instanceof Error &&
        (error.name === 'IllegalOperationError' || /closed|heartbeat|socket/i.test(error.message)))
    ) {
      return new ConnectionError(
        `[rabbitmq] lost the connection to ${this.where} while ${doing} on ${this.target}: ${describe(error)}`,
        { cause: error },
      );
    }
    return new TransientError(`[rabbitmq] ${doing} on ${this.target} at ${this.where} failed: ${describe(error)}`, {
      cause: error,
    });
  }
}

/** Closes a channel model without waiting forever and without throwing. */
export async function closeQuietly(model: ChannelModel | undefined, timeoutMs = 2000): Promise<void> {
  if (model === undefined) return;
  try {
    await withTimeout(model.close(), timeoutMs, () => new Error('close timed out'));
  } catch {
    // Closed already, or the broker is gone: drop the socket.
    socketOf(model)?.destroy();
  }
}
