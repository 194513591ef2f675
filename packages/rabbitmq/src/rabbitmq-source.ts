import { createHash } from 'node:crypto';
import {
  ConnectionError,
  FatalError,
  type FerryError,
  type FerryRecord,
  LeaseLostError,
  type ReadOptions,
  type RejectedRecord,
  type Source,
  type SourceBatch,
  typesHeader,
  withTimeout,
} from '@ferry/core';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { closeQuietly, RabbitMqClient } from './rabbitmq-client.js';
import { decodeBody, stringifyHeaders } from './rabbitmq-codec.js';
import { declareArguments, parseSourceOptions, type RabbitMqSourceConfig } from './rabbitmq-config.js';

/** What `ack` and `release` need of a batch: the channel it came from and its delivery tags. */
export interface RabbitMqHandle {
  /** Which connection of this source delivered the batch: acks are only valid there. */
  readonly session: number;
  readonly deliveryTags: readonly number[];
}

interface Buffered {
  readonly message: ConsumeMessage;
  /** When it arrived (Date.now()), for lingerMs. */
  readonly at: number;
}

/** One connection and its consuming channel; replaced as a whole when either closes. */
interface Session {
  readonly id: number;
  readonly model: ChannelModel;
  readonly channel: Channel;
  /** For queue checks: a 404 closes the channel it happens on, so not on the consuming one. */
  admin: Channel | undefined;
  consumerTag: string | undefined;
  prefetch: number;
  readonly buffer: Buffered[];
  /** Delivery tags not yet acked or released on this channel: buffered or handed out. */
  readonly outstanding: Set<number>;
  /** Delivery tag → key of the classic-queue delivery count, dropped on ack. */
  readonly countKeys: Map<number, string>;
  dead: FerryError | undefined;
  closing: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

const emptyHandle: RabbitMqHandle = Object.freeze({ session: 0, deliveryTags: Object.freeze([]) });
const emptyBatch: SourceBatch<RabbitMqHandle> = Object.freeze({ records: Object.freeze([]), handle: emptyHandle });

/** Caps the in-memory delivery counts of a classic queue (messages that never came back). */
const maxCountKeys = 100_000;
/** How long a read with waitMs 0 waits for messages the broker says are ready. */
const readyGraceMs = 1000;
const closeTimeoutMs = 2000;

export function createRabbitMqSource(options: unknown): Source<RabbitMqHandle> {
  return new RabbitMqSource(parseSourceOptions(options));
}

class RabbitMqSource implements Source<RabbitMqHandle> {
  readonly name = 'rabbitmq';
  /** Deliveries are handed out once each and acked by tag: a next read takes the next ones. */
  readonly readAhead = true;
  /**
   * An ack is a frame sent on the channel, and a read only takes what the
   * broker pushed: a read gathering the next batch waits for deliveries that
   * the broker sends only once earlier messages are acked, so the ack must
   * not wait for the read.
   */
  readonly acksWhileReading = true;
  readonly #config: RabbitMqSourceConfig;
  readonly #client: RabbitMqClient;
  #session: Session | undefined;
  #sessions = 0;
  #opened = false;
  /** The error of a session that died between calls: the next read or ack reports it, once. */
  #broken: FerryError | undefined;
  /** The read waiting for deliveries, if any: what it waits for, and how to wake it. */
  #waiting: { readonly done: () => boolean; readonly finish: () => void } | undefined;
  /** Classic queues: how often each message that came back (by messageId or body hash) was delivered, as far as this process knows. */
  readonly #counts = new Map<string, number>();

  constructor(config: RabbitMqSourceConfig) {
    this.#config = config;
    this.#client = new RabbitMqClient(config, `queue "${config.queue}"`);
  }

  async open(): Promise<void> {
    this.#opened = true;
    this.#broken = undefined;
    if (this.#session !== undefined && this.#session.dead === undefined) return;
    this.#session = await this.#connect();
  }

  async #connect(): Promise<Session> {
    const model = await this.#client.connect();
    try {
      const channel = await this.#client.channel(model);
      const { queue, declare, durable } = this.#config;
      if (declare) {
        const args = declareArguments(this.#config);
        await this.#client.call('declaring the queue', () => channel.assertQueue(queue, { durable, arguments: args }));
      } else {
        await this.#client.call('checking the queue', () => channel.checkQueue(queue));
      }
      const session: Session = {
        id: ++this.#sessions,
        model,
        channel,
        admin: undefined,
        consumerTag: undefined,
        prefetch: 0,
        buffer: [],
        outstanding: new Set(),
        countKeys: new Map(),
        dead: undefined,
        closing: false,
      };
      const onClose = (error?: unknown) => this.#die(session, error);
      model.on('close', onClose);
      channel.on('close', onClose);
      model.on('error', (error: unknown) => this.#die(session, error));
      return session;
    } catch (error) {
      await closeQuietly(model);
      throw error;
    }
  }

  /**
   * The connection or channel closed (broker restart, forced close, heartbeat
   * timeout): the broker requeues every unacked message, so the buffer goes.
   */
  #die(session: Session, error?: unknown): void {
    if (session.dead !== undefined) return;
    const reason = error === undefined ? 'the channel closed' : this.#client.toError(error, 'consuming').message;
    session.dead = new ConnectionError(
      `[rabbitmq] the connection to ${this.#client.where} for queue "${this.#config.queue}" closed; ` +
        `its unacked messages go back to the queue and are delivered again (${reason})`,
      { cause: error },
    );
    session.buffer.length = 0;
    session.outstanding.clear();
    if (this.#session === session) {
      this.#session = undefined;
      if (!session.closing) this.#broken = session.dead;
    }
    if (!session.closing) void closeQuietly(session.model, closeTimeoutMs);
    this.#waiting?.finish();
  }

  /** The live session, reconnecting when the last one died (the pump retries a failed read). */
  async #live(): Promise<Session> {
    if (this.#broken !== undefined) {
      const error = this.#broken;
      this.#broken = undefined;
      throw error;
    }
    if (this.#session !== undefined) return this.#session;
    if (!this.#opened) throw new FatalError(`[rabbitmq] queue "${this.#config.queue}" is not open: call open() first`);
    this.#session = await this.#connect();
    return this.#session;
  }

  /** Starts consuming, or consumes again with a larger prefetch when a read asks for more than it allows. */
  async #consume(session: Session, max: number): Promise<void> {
    const configured = this.#config.prefetch;
    const want = Math.min(65_535, configured === 0 ? Math.max(2 * max, session.prefetch) : Math.max(configured, max));
    if (session.consumerTag !== undefined && want <= session.prefetch) return;
    const { channel } = session;
    await this.#client.call('setting the prefetch', () => channel.prefetch(want));
    // A consumer keeps the prefetch it started with: a new one is needed to raise it. The
    // old one's unacked messages stay on the channel and are acked there as usual.
    const previous = session.consumerTag;
    if (previous !== undefined) await this.#client.call('cancelling the consumer', () => channel.cancel(previous));
    const reply = await this.#client.call('consuming', () =>
      channel.consume(this.#config.queue, (message) => this.#deliver(session, message), { noAck: false }),
    );
    session.consumerTag = reply.consumerTag;
    session.prefetch = want;
  }

  #deliver(session: Session, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer: the queue was deleted, or its leader moved.
      this.#die(session, new Error(`the broker cancelled the consumer of queue "${this.#config.queue}"`));
      return;
    }
    if (session.dead !== undefined) return;
    session.buffer.push({ message, at: Date.now() });
    session.outstanding.add(message.fields.deliveryTag);
    // Only once the read can go on: waking it for every message would cost a timer and a promise each.
    if (this.#waiting?.done() === true) this.#waiting.finish();
  }

  /** Waits until `done()` holds, the deadline passes, the signal aborts or the session dies. */
  async #waitUntil(session: Session, done: () => boolean, deadline: number, signal?: AbortSignal): Promise<void> {
    if (done() || session.dead !== undefined || signal?.aborted) return;
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.#waiting = undefined;
        resolve();
      };
      const timer = setTimeout(finish, left);
      signal?.addEventListener('abort', finish, { once: true });
      this.#waiting = { done, finish };
    });
  }

  async read(max: number, options: ReadOptions): Promise<SourceBatch<RabbitMqHandle>> {
    const { signal } = options;
    if (max <= 0 || signal?.aborted) return emptyBatch;
    const session = await this.#live();
    await this.#consume(session, max);
    const { buffer } = session;
    if (buffer.length === 0) {
      if (options.waitMs > 0) {
        await this.#waitUntil(session, () => buffer.length > 0, Date.now() + options.waitMs, signal);
      } else {
        await this.#settle(session, signal);
      }
    }
    const lingerMs = this.#config.lingerMs;
    if (buffer.length > 0 && buffer.length < max && lingerMs > 0) {
      // No use waiting while every prefetch slot is taken (by batches out and the
      // buffer): the broker sends nothing more until one of them is acked.
      const full = () => buffer.length >= max || session.outstanding.size >= session.prefetch;
      await this.#waitUntil(session, full, buffer[0]!.at + lingerMs, signal);
    }
    if (session.dead !== undefined) {
      if (this.#broken === session.dead) this.#broken = undefined;
      throw session.dead;
    }
    if (signal?.aborted || buffer.length === 0) return emptyBatch;
    return this.#batch(session, buffer.splice(0, Math.min(max, buffer.length)));
  }

  /**
   * A read that must not wait (waitMs 0) still must not call a queue empty
   * while its messages are on the way. Deliveries are pushed, so ask the
   * broker: on the consuming channel, whose replies come after the deliveries
   * it sent before them, and wait a moment for ready messages it will push.
   */
  async #settle(session: Session, signal?: AbortSignal): Promise<void> {
    const { channel, buffer } = session;
    const check = () => this.#client.call('checking the queue', () => channel.checkQueue(this.#config.queue));
    let { messageCount } = await check();
    if (buffer.length > 0) return;
    if (messageCount === 0) ({ messageCount } = await check());
    if (buffer.length > 0 || messageCount === 0) return;
    if (session.outstanding.size >= session.prefetch) return; // every slot is held by batches in flight
    await this.#waitUntil(session, () => buffer.length > 0, Date.now() + readyGraceMs, signal);
  }

  /** How often this message has been delivered, this delivery included. */
  #deliveries(session: Session, message: ConsumeMessage): number {
    // Never handed out before, the broker says. Nothing to remember until it comes
    // back marked redelivered: counting from 1 then gives what counting now would.
    if (!message.fields.redelivered) return 1;
    // A quorum queue counts for us (returns and lost consumers), across restarts, and sets the header on each
    // redelivery; a classic queue, and a first delivery, pass on whatever the publisher put there.
    if (this.#config.queueType === 'quorum') {
      const counted = message.properties.headers?.['x-delivery-count'];
      if (typeof counted === 'number') return counted + 1;
    }
    const messageId = message.properties.messageId as string | undefined;
    const key =
      typeof messageId === 'string' && messageId !== ''
        ? `id:${messageId}`
        : `sha1:${createHash('sha1').update(message.content).digest('base64')}`;
    const seen = this.#counts.get(key);
    // Redelivered but never seen redelivered here: delivered once before, here or to another process.
    const count = (seen ?? 1) + 1;
    if (seen !== undefined) this.#counts.delete(key);
    this.#counts.set(key, count);
    if (this.#counts.size > maxCountKeys) {
      const oldest = this.#counts.keys().next().value;
      if (oldest !== undefined) this.#counts.delete(oldest);
    }
    session.countKeys.set(message.fields.deliveryTag, key);
    return count;
  }

  #batch(session: Session, taken: readonly Buffered[]): SourceBatch<RabbitMqHandle> {
    const { codec, maxDeliveries } = this.#config;
    const readAt = Date.now();
    const records: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    const deliveryTags: number[] = new Array(taken.length);
    // Per message on the hot path: no closure, spread or throwaway object that the record does not keep.
    for (let i = 0; i < taken.length; i++) {
      const { message } = taken[i]!;
      const { deliveryTag, consumerTag, redelivered } = message.fields;
      deliveryTags[i] = deliveryTag;
      const properties = message.properties;
      const messageId = properties.messageId as string | undefined;
      const id =
        typeof messageId === 'string' && messageId !== '' ? messageId : `delivery:${consumerTag}:${deliveryTag}`;
      const rawHeaders = properties.headers as Record<string, unknown> | undefined;
      const headers = rawHeaders === undefined ? undefined : stringifyHeaders(rawHeaders);
      const contentType = properties.contentType as string | undefined;
      const attempts = this.#deliveries(session, message);
      const decoded =
        attempts >= maxDeliveries
          ? ({
              ok: false,
              reason: `delivered ${attempts} times without being acknowledged (maxDeliveries ${maxDeliveries})`,
            } as const)
          : decodeBody(message.content, codec, contentType, rawHeaders?.[typesHeader]);
      if (!decoded.ok) {
        const refused: Mutable<RejectedRecord> = { id, reason: decoded.reason, raw: message.content, attempts };
        if (contentType !== undefined) refused.contentType = contentType;
        if (headers !== undefined) refused.headers = headers;
        rejected.push(refused);
        continue;
      }
      const record: Mutable<FerryRecord> = { id, value: decoded.value, readAt, bytes: message.content.length };
      if (headers !== undefined && hasKeys(headers)) record.headers = headers;
      // The broker says it handed this message out before: the pump checks the sink for it.
      if (redelivered) record.redelivered = true;
      records.push(record);
    }
    const handle: RabbitMqHandle = { session: session.id, deliveryTags };
    return rejected.length === 0 ? { records, handle } : { records, handle, rejected };
  }

  /** The session a batch came from, if it is still the live one. */
  #sessionOf(batch: SourceBatch<RabbitMqHandle>): Session | undefined {
    const session = this.#session;
    if (session === undefined || session.dead !== undefined || session.id !== batch.handle.session) return undefined;
    return session;
  }

  /**
   * Acks (or nacks) exactly the batch's messages: one call with `multiple` on
   * the highest tag when the batch is every outstanding message up to it, else one per message.
   */
  #settleTags(session: Session, tags: readonly number[], settle: (message: Message, multiple: boolean) => void): void {
    let highest = 0;
    for (const tag of tags) if (tag > highest) highest = tag;
    let below = 0;
    for (const tag of session.outstanding) if (tag <= highest) below += 1;
    const all = below === tags.length && tags.every((tag) => session.outstanding.has(tag));
    const message = (tag: number) => ({ fields: { deliveryTag: tag } }) as unknown as Message;
    try {
      if (all) settle(message(highest), true);
      else for (const tag of tags) if (session.outstanding.has(tag)) settle(message(tag), false);
    } catch (error) {
      throw this.#client.toError(error, 'acknowledging');
    }
    for (const tag of tags) session.outstanding.delete(tag);
  }

  async ack(batch: SourceBatch<RabbitMqHandle>): Promise<void> {
    const tags = batch.handle.deliveryTags;
    if (tags.length === 0) return;
    const session = this.#sessionOf(batch);
    if (session === undefined) {
      // Not a silent success: the messages are back in the queue and will be delivered again.
      // The pump keeps their ids and drops them from the redelivery where the sink can tell.
      if (this.#broken !== undefined) this.#broken = undefined;
      throw new LeaseLostError(
        `[rabbitmq] cannot ack ${tags.length} messages of queue "${this.#config.queue}" at ${this.#client.where}: ` +
          'the channel they were delivered on has closed, so the broker has put them back in the queue ' +
          'and will deliver them again',
      );
    }
    const { channel } = session;
    this.#settleTags(session, tags, (message, multiple) => channel.ack(message, multiple));
    if (session.countKeys.size === 0) return;
    for (const tag of tags) {
      const key = session.countKeys.get(tag);
      if (key === undefined) continue;
      session.countKeys.delete(tag);
      this.#counts.delete(key);
    }
  }

  async release(batch: SourceBatch<RabbitMqHandle>): Promise<void> {
    const tags = batch.handle.deliveryTags;
    if (tags.length === 0) return;
    const session = this.#sessionOf(batch);
    // A closed channel has given its messages back already: nothing left to do.
    if (session === undefined) return;
    const { channel, consumerTag } = session;
    // Stop deliveries first: the nack frees prefetch room, and a message pushed into it now
    // would be handed back by the close that often follows a release, one more delivery
    // on a quorum queue's count for a message nobody read. The next read consumes again.
    if (consumerTag !== undefined) {
      session.consumerTag = undefined;
      await this.#client.call('cancelling the consumer', () => channel.cancel(consumerTag));
    }
    this.#settleTags(session, tags, (message, multiple) => channel.nack(message, multiple, true));
    for (const tag of tags) session.countKeys.delete(tag);
  }

  /**
   * Ready messages at the broker plus those buffered here. For display: while
   * the broker is delivering, a message can be counted as ready and be in the
   * buffer by the time the count arrives, so the figure may be a few high.
   */
  async backlog(): Promise<number | undefined> {
    const session = this.#session;
    if (session === undefined || session.dead !== undefined) return undefined;
    try {
      if (session.admin === undefined) {
        const admin = await this.#client.channel(session.model);
        admin.on('close', () => {
          if (session.admin === admin) session.admin = undefined;
        });
        session.admin = admin;
      }
      const admin = session.admin;
      const { messageCount } = await admin.checkQueue(this.#config.queue);
      return messageCount + session.buffer.length;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#opened = false;
    this.#broken = undefined;
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    session.closing = true;
    if (session.dead === undefined) {
      const { channel, consumerTag } = session;
      try {
        if (consumerTag !== undefined) {
          await withTimeout(channel.cancel(consumerTag), closeTimeoutMs, () => new Error('cancel timed out'));
        }
        // Closing the channel would requeue them too; saying so first keeps their order.
        if (session.outstanding.size > 0) channel.nackAll(true);
      } catch {
        // The channel is gone: the broker requeues what it held.
      }
    }
    session.buffer.length = 0;
    await closeQuietly(session.model, closeTimeoutMs);
    this.#waiting?.finish();
  }
}
