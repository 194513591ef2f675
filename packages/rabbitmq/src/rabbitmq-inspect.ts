import { type Inspector, type InspectSettings, inspectCall, withTimeout } from '@ferry/core';
import type { ChannelModel } from 'amqplib';
import { closeQuietly, RabbitMqClient } from './rabbitmq-client.js';
import {
  parseConnectionOptions,
  parseSinkOptions,
  parseSourceOptions,
  type RabbitMqConnectionConfig,
} from './rabbitmq-config.js';

/** The queue an endpoint's options name, a source's or a sink's; a sink's exchange has no depth. */
function queueOf(options: unknown): string {
  let parsed: { queue?: string | undefined };
  try {
    parsed = parseSourceOptions(options);
  } catch (error) {
    try {
      parsed = parseSinkOptions(options);
    } catch {
      throw error;
    }
  }
  if (parsed.queue === undefined) throw new Error('an exchange holds no messages');
  return parsed.queue;
}

/** The broker's own words of a refusal: `no queue 'x' in vhost '/'` of `… "NOT_FOUND - no queue 'x' in vhost '/'"`. */
function shortBrokerReason(text: string): string {
  return /NOT_FOUND - ([^"]+)/.exec(text)?.[1]?.trim() ?? text;
}

/**
 * Questions about one RabbitMQ broker through the package's own client: the
 * login for the version, a passive queue declare's message count for a
 * depth, each on a channel of its own (a missing queue closes it). One
 * connection, opened on first use, kept until the broker closes it. No
 * `latest`: a queue's messages cannot be read without taking them.
 */
export function inspectRabbitMq(options: unknown, settings: InspectSettings): Inspector {
  const { url, tls, heartbeatSeconds } = parseConnectionOptions(options);
  const { timeoutMs } = settings;
  const connection: RabbitMqConnectionConfig = {
    url,
    tls,
    heartbeatSeconds,
    connectTimeoutMs: timeoutMs,
    connectionName: settings.clientName,
  };
  const broker = new RabbitMqClient(connection, 'the broker');
  let model: Promise<ChannelModel> | undefined;

  /** The open connection; one that failed or closed is forgotten, so that the next question connects again. */
  const connected = (): Promise<ChannelModel> => {
    if (model === undefined) {
      const attempt = broker.connect();
      model = attempt;
      const forget = () => {
        if (model === attempt) model = undefined;
      };
      attempt.then((opened) => opened.on('close', forget), forget);
    }
    return model;
  };

  return {
    probe: () =>
      inspectCall('the broker', timeoutMs, async () => {
        const { version } = (await connected()).connection.serverProperties;
        return { ...(version === undefined ? {} : { version: String(version) }), detail: 'reachable, logged in' };
      }),

    async depth(endpoint) {
      const queue = queueOf(endpoint);
      return inspectCall(
        'queue',
        timeoutMs,
        async () => {
          const opened = await connected();
          const client = new RabbitMqClient(connection, `queue "${queue}"`);
          const channel = await client.channel(opened);
          try {
            return (await client.call('declaring it passively', () => channel.checkQueue(queue))).messageCount;
          } finally {
            await channel.close().catch(() => undefined);
          }
        },
        shortBrokerReason,
      );
    },

    async close() {
      const pending = model;
      model = undefined;
      if (pending === undefined) return;
      // A connection still opening is closed when it opens, however long that takes.
      const closing = pending.then(
        (opened) => closeQuietly(opened, timeoutMs),
        () => undefined,
      );
      await withTimeout(closing, timeoutMs, () => new Error('close: no answer')).catch(() => undefined);
    },
  };
}
