import {
  ConnectionError,
  FatalError,
  type FerryError,
  type FerryRecord,
  RecordRejectedError,
  type RejectedRecord,
  rejectRecord,
  type Sink,
  TransientError,
  typesHeader,
  type WriteOptions,
  type WriteOutcome,
} from '@ferry/core';
import type { Channel, ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { closeQuietly, describe, RabbitMqClient } from './rabbitmq-client.js';
import { type EncodedBody, encodeBody } from './rabbitmq-codec.js';
import { declareArguments, parseSinkOptions, type RabbitMqSinkConfig } from './rabbitmq-config.js';
import { type FrameBatcher, frameBatcher, sinkWriteBufferBytes } from './rabbitmq-frames.js';

interface Session {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Sends a batch's publishes in a few socket writes of some KiB each. */
  readonly frames: FrameBatcher;
  /** For queue checks (free): a 404 closes the channel it happens on, so not on the publishing one. */
  admin: Channel | undefined;
  /** Messages the broker could not route (mandatory), by messageId, during the current write. */
  readonly returned: Message[];
  dead: FerryError | undefined;
  /** Settles when the session dies: races every wait on the broker. */
  readonly died: Promise<never>;
  closing: boolean;
}

export function createRabbitMqSink(options: unknown): Sink {
  return new RabbitMqSink(parseSinkOptions(options));
}

class RabbitMqSink implements Sink {
  readonly name = 'rabbitmq';
  readonly #config: RabbitMqSinkConfig;
  readonly #client: RabbitMqClient;
  #session: Session | undefined;
  #opened = false;

  constructor(config: RabbitMqSinkConfig) {
    this.#config = config;
    const target = config.exchange !== undefined ? `exchange "${config.exchange}"` : `queue "${config.queue}"`;
    this.#client = new RabbitMqClient(config, target);
  }

  async open(): Promise<void> {
    this.#opened = true;
    if (this.#session !== undefined && this.#session.dead === undefined) return;
    this.#session = await this.#connect();
  }

  async #connect(): Promise<Session> {
    const model = await this.#client.connect(sinkWriteBufferBytes);
    try {
      const channel = (await this.#client.channel(model, true)) as ConfirmChannel;
      await this.#checkTarget(channel);
      let die: (error: FerryError) => void = () => undefined;
      const died = new Promise<never>((_, reject) => {
        die = reject;
      });
      died.catch(() => undefined);
      const session: Session = {
        model,
        channel,
        frames: frameBatcher(model),
        admin: undefined,
        returned: [],
        dead: undefined,
        died,
        closing: false,
      };
      const onClose = (error?: unknown) => {
        if (session.dead !== undefined) return;
        const reason = error === undefined ? 'the channel closed' : describe(error);
        session.dead =
          error === undefined
            ? new ConnectionError(
                `[rabbitmq] the connection to ${this.#client.where} for ${this.#client.target} closed (${reason})`,
              )
            : this.#client.toError(error, 'publishing');
        if (!session.closing) void closeQuietly(model);
        die(session.dead);
      };
      model.on('close', onClose);
      model.on('error', onClose);
      channel.on('close', onClose);
      channel.on('error', onClose);
      channel.on('return', (message: Message) => session.returned.push(message));
      return session;
    } catch (error) {
      await closeQuietly(model);
      throw error;
    }
  }

  async #checkTarget(channel: Channel): Promise<void> {
    const { queue, exchange, declare, durable, exchangeType } = this.#config;
    const args = this.#config.arguments;
    if (exchange !== undefined) {
      await this.#client.call(declare ? 'declaring the exchange' : 'checking the exchange', () =>
        declare
          ? channel.assertExchange(exchange, exchangeType, { durable, arguments: args })
          : channel.checkExchange(exchange),
      );
      return;
    }
    const name = queue!;
    await this.#client.call(declare ? 'declaring the queue' : 'checking the queue', () =>
      declare
        ? channel.assertQueue(name, {
            durable,
            arguments: declareArguments(this.#config),
          })
        : channel.checkQueue(name),
    );
  }

  /** The live session; a dead one is replaced (its failed write was already reported). */
  async #live(): Promise<Session> {
    const session = this.#session;
    if (session !== undefined && session.dead === undefined) return session;
    if (!this.#opened) throw new FatalError(`[rabbitmq] ${this.#client.target} is not open: call open() first`);
    this.#session = undefined;
    this.#session = await this.#connect();
    return this.#session;
  }

  #routingKey(record: FerryRecord): string {
    const field = this.#config.routingKeyField;
    if (field === undefined) return this.#config.routingKey;
    const value = record.value[field];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    const reason = `no routing key: field "${field}" is ${value === undefined ? 'missing' : 'not a string'}`;
    throw new RecordRejectedError(
      record.id,
      reason,
      `[rabbitmq] record "${record.id}" cannot be published to ${this.#client.target}: ${reason}`,
    );
  }

  /** A record's routing key and body, or the reason it cannot be published. */
  #prepare(record: FerryRecord): { key: string; encoded: EncodedBody } | string {
    try {
      return { key: this.#routingKey(record), encoded: encodeBody(record.value, this.#config.codec) };
    } catch (error) {
      if (error instanceof RecordRejectedError) return error.reason;
      return `the value cannot be published as JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /**
   * Every routing key and body first: a record that cannot be published (no
   * routing key, a value JSON cannot hold) is set aside as rejected, with the
   * reason, before any of the batch is published; the others are published.
   */
  async write(records: readonly FerryRecord[], _options?: WriteOptions): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return;
    const ready: { record: FerryRecord; key: string; encoded: EncodedBody }[] = [];
    const rejected: RejectedRecord[] = [];
    for (const record of records) {
      const prepared = this.#prepare(record);
      if (typeof prepared === 'string') rejected.push(rejectRecord(record, prepared));
      else ready.push({ record, ...prepared });
    }
    if (ready.length > 0) rejected.push(...(await this.#publish(ready)));
    return rejected.length === 0 ? undefined : { rejected };
  }

  /** Publishes the batch and waits for its confirms; returns the records amqplib refused to encode. */
  async #publish(
    ready: readonly { record: FerryRecord; key: string; encoded: EncodedBody }[],
  ): Promise<RejectedRecord[]> {
    const refused: RejectedRecord[] = [];
    const session = await this.#live();
    const { channel, returned, frames } = session;
    const { sourceIdHeader } = this.#config;
    const exchange = this.#config.exchange ?? '';
    returned.length = 0;
    const stamp = this.#config.timestamp ? { timestamp: Math.floor(Date.now() / 1000) } : {};
    frames.hold();
    try {
      for (const { record, key, encoded } of ready) {
        const { body, contentType, types } = encoded;
        let headers = sourceIdHeader === false ? record.headers : { ...record.headers, [sourceIdHeader]: record.id };
        if (types !== undefined) headers = { ...headers, [typesHeader]: types };
        const options: Options.Publish = {
          persistent: true,
          // Unroutable messages come back (basic.return) instead of vanishing.
          mandatory: true,
          messageId: record.id,
          ...stamp,
          headers,
          ...(contentType === undefined ? {} : { contentType }),
        };
        let room: boolean;
        try {
          room = channel.publish(exchange, key, body, options);
        } catch (error) {
          // amqplib encodes the headers into a 64 KiB table before it sends anything: a
          // record whose headers do not fit is refused alone, and the channel goes on.
          if (!(error instanceof RangeError)) throw error;
          refused.push(rejectRecord(record, `its headers do not fit an AMQP message: ${error.message}`));
          continue;
        }
        // A chunk's worth waiting goes out while the next is encoded; a full socket also waits for drain.
        if (!room || frames.due(body.length)) {
          // Listening before the flush: the flush lets the frames out, and with them the drain event.
          const drained = room ? undefined : this.#drain(session);
          await frames.flush();
          await drained;
          frames.hold();
        }
      }
      await frames.flush();
      await Promise.race([channel.waitForConfirms(), session.died]);
    } catch (error) {
      if (session.dead !== undefined) throw session.dead;
      if (error instanceof Error && /nack/i.test(error.message)) {
        throw new TransientError(
          `[rabbitmq] the broker did not take (nack) every message of a batch of ${ready.length} for ${this.#client.target} at ${this.#client.where}`,
          { cause: error },
        );
      }
      throw this.#client.toError(error, 'publishing');
    } finally {
      frames.release();
    }
    if (returned.length > 0) {
      const first = returned[0]!;
      const id = String(first.properties.messageId);
      const reason = `unroutable: no queue is bound to ${this.#client.target} for routing key "${first.fields.routingKey}"`;
      throw new RecordRejectedError(
        id,
        reason,
        `[rabbitmq] ${returned.length} of ${ready.length} records were returned by the broker, the first "${id}": ${reason} (the others of the batch were published)`,
      );
    }
    return refused;
  }

  /** Flow control: publish() said the socket buffer is full; wait until it drains. */
  #drain(session: Session): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => session.channel.once('drain', () => resolve())), session.died]);
  }

  async free(): Promise<number> {
    const { maxLen, queue } = this.#config;
    if (maxLen === undefined || queue === undefined) return Number.POSITIVE_INFINITY;
    const session = await this.#live();
    if (session.admin === undefined) {
      const admin = await this.#client.channel(session.model);
      admin.on('close', () => {
        if (session.admin === admin) session.admin = undefined;
      });
      session.admin = admin;
    }
    const admin = session.admin;
    const { messageCount } = await this.#client.call('checking the queue length', () => admin.checkQueue(queue));
    return Math.max(0, maxLen - messageCount);
  }

  async close(): Promise<void> {
    this.#opened = false;
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    session.closing = true;
    await closeQuietly(session.model);
  }
}
