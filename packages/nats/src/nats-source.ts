import {
  FatalError,
  type FerryRecord,
  type ReadOptions,
  type RejectedRecord,
  type Source,
  type SourceBatch,
  sleep,
  typesHeader,
  withTimeout,
} from '@ferry/core';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { type Msg, millis, type NatsConnection, nanos, RequestError } from '@nats-io/transport-node';
import { apiCode, apiCodes, closeQuietly, NatsClient } from './nats-client.js';
import { decodeBody, msgIdHeader, recordHeaders } from './nats-codec.js';
import { type NatsSourceConfig, parseSourceOptions } from './nats-config.js';
import { Puller, type PullStatus, parseAckSubject } from './nats-pull.js';

/** What `ack` and `release` need of a batch: its messages' ack subjects, in read order. */
export interface NatsHandle {
  readonly replies: readonly string[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const emptyHandle: NatsHandle = Object.freeze({ replies: Object.freeze([]) });
const emptyBatch: SourceBatch<NatsHandle> = Object.freeze({ records: Object.freeze([]), handle: emptyHandle });

const ack = '+ACK';
const nak = '-NAK';
const inProgress = '+WPI';

/** The ack wait of a consumer the source creates, when `ackWaitMs` is not given (the server's default too). */
const defaultAckWaitMs = 30_000;
/**
 * How many delivered, unacked messages a consumer the source creates allows
 * (the server's default is 1000): a pump holds two batches, and the bench's
 * batches are 5000.
 */
const createdMaxAckPending = 20_000;
/** A read that waited for its first message waits this much longer for the rest of the batch. */
const lingerMs = 50;
/** While a read with waitMs 0 waits for records other readers hold: how often it asks again. */
const settleStepMs = 250;
const closeTimeoutMs = 2000;

export function createNatsSource(options: unknown): Source<NatsHandle> {
  return new NatsSource(parseSourceOptions(options));
}

interface Session {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly puller: Puller;
}

class NatsSource implements Source<NatsHandle> {
  readonly name = 'nats';
  /** The consumer hands each delivery out once, and acks go by message: a next read takes the next ones. */
  readonly readAhead = true;
  /**
   * An ack is a publish of its own, and the server delivers no more once
   * the consumer's ack-pending limit is reached: a read waiting for room
   * must not hold up the ack that makes it.
   */
  readonly acksWhileReading = true;
  readonly #config: NatsSourceConfig;
  readonly #client: NatsClient;
  #session: Session | undefined;
  #opened = false;
  /** Ack subjects of the messages handed out in batches not yet acked or released. */
  readonly #held = new Set<string>();
  #ackWaitMs = defaultAckWaitMs;
  /** The consumer's limit of delivered, unacked messages (-1: none). */
  #maxAckPending = -1;
  /** The consumer's limit of messages per pull (0: none). */
  #maxBatch = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Reads waiting for an ack to free room under the ack-pending limit. */
  #roomWaiters: (() => void)[] = [];

  constructor(config: NatsSourceConfig) {
    this.#config = config;
    this.#client = new NatsClient(config, `stream "${config.stream}"`);
  }

  get #consumer(): string {
    return `consumer "${this.#config.consumer}" of stream "${this.#config.stream}"`;
  }

  async open(): Promise<void> {
    this.#opened = true;
    if (this.#session !== undefined && !this.#session.nc.isClosed()) return;
    this.#session = await this.#connect();
  }

  async #connect(): Promise<Session> {
    const nc = await this.#client.connect();
    try {
      const jsm = await this.#client.manager(nc);
      await this.#client.call('reading the stream', () => jsm.streams.info(this.#config.stream));
      const info = await this.#ensureConsumer(jsm);
      const config = info.config;
      this.#ackWaitMs = config.ack_wait === undefined ? defaultAckWaitMs : millis(config.ack_wait);
      this.#maxAckPending =
        config.max_ack_pending !== undefined && config.max_ack_pending > 0 ? config.max_ack_pending : -1;
      this.#maxBatch = config.max_batch ?? 0;
      const session: Session = { nc, jsm, puller: new Puller(nc, this.#config.stream, this.#config.consumer) };
      this.#startHeartbeat();
      return session;
    } catch (error) {
      await closeQuietly(nc);
      throw error;
    }
  }

  /** The durable consumer, created when missing; an existing one must be one this source can read exactly. */
  async #ensureConsumer(jsm: JetStreamManager): Promise<ConsumerInfo> {
    const { stream, consumer, filterSubject, ackWaitMs } = this.#config;
    let info = await this.#consumerInfo(jsm);
    if (info === undefined) {
      const config: Partial<ConsumerConfig> = {
        durable_name: consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs ?? defaultAckWaitMs),
        // The source counts deliveries and dead-letters a poison message itself (maxDeliveries).
        max_deliver: -1,
        max_ack_pending: createdMaxAckPending,
        ...(filterSubject === undefined ? {} : { filter_subject: filterSubject }),
      };
      try {
        info = await jsm.consumers.add(stream, config);
      } catch (error) {
        // Another reader created it at the same moment: that one is checked like any other.
        info = await this.#consumerInfo(jsm);
        if (info === undefined) throw this.#client.toError(error, `creating ${this.#consumer}`);
      }
    }
    this.#check(info.config);
    if (ackWaitMs !== undefined && info.config.ack_wait !== undefined && millis(info.config.ack_wait) !== ackWaitMs) {
      info = await this.#client.call(`setting the ack wait of ${this.#consumer}`, () =>
        jsm.consumers.update(stream, consumer, { ack_wait: nanos(ackWaitMs) }),
      );
    }
    return info;
  }

  async #consumerInfo(jsm: JetStreamManager): Promise<ConsumerInfo | undefined> {
    try {
      return await jsm.consumers.info(this.#config.stream, this.#config.consumer);
    } catch (error) {
      if (apiCode(error) === apiCodes.consumerNotFound) return undefined;
      throw this.#client.toError(error, `reading ${this.#consumer}`);
    }
  }

  #check(config: ConsumerConfig): void {
    const { filterSubject, maxDeliveries } = this.#config;
    const refuse = (why: string) => new FatalError(`[nats] ${this.#consumer} at ${this.#client.where} ${why}`);
    if (config.deliver_subject !== undefined && config.deliver_subject !== '') {
      throw refuse('is a push consumer: the source reads through a pull consumer (name another consumer)');
    }
    if (config.ack_policy !== AckPolicy.Explicit) {
      throw refuse(
        `acks with policy "${config.ack_policy}": the source acks each message after its write and needs "explicit" (name another consumer)`,
      );
    }
    const maxDeliver = config.max_deliver ?? -1;
    if (maxDeliver > 0 && maxDeliver < maxDeliveries) {
      throw refuse(
        `stops delivering a message after ${maxDeliver} deliveries, before maxDeliveries ${maxDeliveries} would dead-letter it: ` +
          `such a message would be skipped without trace (set maxDeliveries to ${maxDeliver} or less, or max_deliver to -1)`,
      );
    }
    const filter = config.filter_subject ?? '';
    if (filterSubject !== undefined && filter !== filterSubject) {
      throw refuse(
        `filters ${filter === '' ? 'no subject' : `subject "${filter}"`}, not "${filterSubject}" as asked (name another consumer)`,
      );
    }
  }

  /**
   * The server delivers a held message again once its ack wait passes: while
   * a batch is written (retries and backoff included), the source tells the
   * server every third of that wait that the work goes on. A crashed process
   * sends nothing, and its messages come back after the ack wait.
   */
  #startHeartbeat(): void {
    clearInterval(this.#heartbeat);
    const every = Math.max(500, Math.floor(this.#ackWaitMs / 3));
    this.#heartbeat = setInterval(() => {
      const session = this.#session;
      if (session === undefined || session.nc.isClosed()) return;
      try {
        for (const reply of this.#held) session.nc.publish(reply, inProgress);
        for (const msg of session.puller.late) if (msg.reply) session.nc.publish(msg.reply, inProgress);
      } catch {
        // The connection closed: the next call reconnects.
      }
    }, every);
    this.#heartbeat.unref();
  }

  /** The open session, reconnected when its connection closed for good. */
  async #live(): Promise<Session> {
    if (!this.#opened) throw new FatalError(`[nats] ${this.#consumer} is not open: call open() first`);
    if (this.#session !== undefined && !this.#session.nc.isClosed()) return this.#session;
    this.#session?.puller.close();
    this.#session = undefined;
    this.#session = await this.#connect();
    return this.#session;
  }

  /** How many messages the next pull may ask for: the consumer's limits less what this source holds. */
  #room(max: number, session: Session): number {
    let room = max;
    if (this.#maxBatch > 0) room = Math.min(room, this.#maxBatch);
    if (this.#maxAckPending > 0) {
      room = Math.min(room, this.#maxAckPending - this.#held.size - session.puller.late.length);
    }
    return Math.max(0, room);
  }

  async read(max: number, options: ReadOptions): Promise<SourceBatch<NatsHandle>> {
    const { signal, waitMs } = options;
    if (max <= 0 || signal?.aborted) return emptyBatch;
    const session = await this.#live();
    const { puller } = session;
    let until = Date.now() + waitMs;
    /** A read with waitMs 0 that found nothing to deliver while other readers hold records: it waits for them. */
    let settling = false;
    for (;;) {
      // Delivered for a pull given up on (or between pulls): ours, and older than what a new pull brings.
      if (puller.late.length > 0) return this.#batch(puller.late.splice(0, max));
      const left = until - Date.now();
      const room = this.#room(max, session);
      if (room === 0) {
        // This source's own batches hold every ack slot: nothing comes until one of them is acked.
        if (left <= 0) return emptyBatch;
        await this.#waitForRoom(left, signal);
        if (signal?.aborted) return emptyBatch;
        continue;
      }
      const expiresMs = left <= 0 ? 0 : settling ? Math.min(left, settleStepMs) : left;
      const result = await puller.pull(room, expiresMs, signal);
      if (result.messages.length > 0) {
        return this.#batch(await this.#linger(session, result.messages, room, expiresMs, signal));
      }
      if (signal?.aborted) return emptyBatch;
      this.#checkStatus(result.status);
      if (puller.late.length > 0) continue;
      if (waitMs === 0 && !settling) {
        if (await this.#nothingLeft(session)) {
          if (puller.late.length > 0) continue;
          return emptyBatch;
        }
        // Records are there but not to be had now: another reader holds them, or they wait
        // out an ack wait. They come back within one; "empty" would leave them behind.
        settling = true;
        until = Date.now() + this.#ackWaitMs + settleStepMs;
        continue;
      }
      if (Date.now() >= until) return emptyBatch;
      if (settling && (await this.#nothingLeft(session)) && puller.late.length === 0) return emptyBatch;
      // Refused for now (requests pending, a limit): not a tight loop.
      if (result.status?.code !== 408 || result.status.description !== 'Request Timeout') {
        await sleep(Math.min(100, Math.max(0, until - Date.now())), signal);
      }
    }
  }

  /**
   * A pull that waited is answered with the first messages there are: the
   * rest of a batch published at that moment is a moment behind. One more
   * look after lingerMs fills the batch with what came meanwhile.
   */
  async #linger(session: Session, got: Msg[], room: number, expiresMs: number, signal?: AbortSignal): Promise<Msg[]> {
    if (expiresMs === 0 || got.length >= room || signal?.aborted) return got;
    await sleep(lingerMs, signal);
    const { puller } = session;
    const messages = [...got, ...puller.late.splice(0, room - got.length)];
    const want = Math.min(room, this.#room(room, session)) - messages.length;
    if (want <= 0 || signal?.aborted) return messages;
    const more = await puller.pull(want, 0, signal);
    return [...messages, ...more.messages];
  }

  /** Statuses that no retry can help: the consumer went away or changed under the source. */
  #checkStatus(status: PullStatus | undefined): void {
    if (status === undefined) return;
    const { code, description } = status;
    if (code === 409 && /consumer (deleted|is push based)/i.test(description)) {
      throw new FatalError(`[nats] ${this.#consumer} at ${this.#client.where}: ${description}`);
    }
    if (code === 400)
      throw new FatalError(`[nats] ${this.#consumer} at ${this.#client.where} refused a pull: ${description}`);
  }

  /** True when the consumer has nothing left but what this source holds: none undelivered, none held elsewhere. */
  async #nothingLeft(session: Session): Promise<boolean> {
    const { stream, consumer } = this.#config;
    const info = await this.#client.call(`reading ${this.#consumer}`, () =>
      session.jsm.consumers.info(stream, consumer),
    );
    return info.num_pending === 0 && info.num_ack_pending <= this.#held.size + session.puller.late.length;
  }

  #waitForRoom(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#roomWaiters = this.#roomWaiters.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#roomWaiters.push(done);
    });
  }

  #batch(messages: readonly Msg[]): SourceBatch<NatsHandle> {
    const { codec, maxDeliveries, stream } = this.#config;
    const readAt = Date.now();
    const records: FerryRecord[] = [];
    const rejected: RejectedRecord[] = [];
    const replies: string[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      const reply = msg.reply ?? '';
      replies[i] = reply;
      this.#held.add(reply);
      const delivery = parseAckSubject(reply);
      const attempts = delivery?.deliveries ?? 1;
      const hdrs = msg.headers;
      const msgId = hdrs?.has(msgIdHeader) ? hdrs.get(msgIdHeader) : '';
      // The publisher's id when it gave one (what a NATS sink writes), else the stream's own for the message.
      const id = msgId !== '' ? msgId : `${stream}:${delivery?.streamSeq ?? reply}`;
      const headers = recordHeaders(hdrs);
      const decoded =
        attempts >= maxDeliveries
          ? ({
              ok: false,
              reason: `delivered ${attempts} times without being acknowledged (maxDeliveries ${maxDeliveries})`,
            } as const)
          : decodeBody(msg.data, codec, hdrs?.has(typesHeader) ? hdrs.get(typesHeader) : undefined);
      if (!decoded.ok) {
        // A copy: the message's bytes are a view of what the connection read.
        const refused: Mutable<RejectedRecord> = { id, reason: decoded.reason, raw: Buffer.from(msg.data), attempts };
        if (headers !== undefined) refused.headers = headers;
        rejected.push(refused);
        continue;
      }
      const record: Mutable<FerryRecord> = { id, value: decoded.value, readAt, bytes: msg.data.length };
      if (headers !== undefined) record.headers = headers;
      // Handed out before (released, or its ack wait passed): the pump checks the sink for it.
      if (attempts > 1) record.redelivered = true;
      records.push(record);
    }
    const handle: NatsHandle = { replies };
    return rejected.length === 0 ? { records, handle } : { records, handle, rejected };
  }

  /**
   * Sends one reply per message, the last as a request: the server handles a
   * consumer's acks in order, so its answer to the last says every one of
   * them landed.
   */
  async #settle(session: Session, replies: readonly string[], body: string, doing: string): Promise<void> {
    const { nc } = session;
    const last = replies.length - 1;
    try {
      for (let i = 0; i < last; i++) nc.publish(replies[i]!, body);
      await nc.request(replies[last]!, body, { timeout: this.#config.requestTimeoutMs });
    } catch (error) {
      if (error instanceof RequestError && error.isNoResponders()) {
        throw new FatalError(
          `[nats] ${this.#consumer} at ${this.#client.where} does not answer ${doing}: it was deleted, and its messages will not come back to it`,
          { cause: error },
        );
      }
      throw this.#client.toError(error, `${doing} on ${this.#consumer}`);
    }
  }

  async ack(batch: SourceBatch<NatsHandle>): Promise<void> {
    const { replies } = batch.handle;
    if (replies.length === 0) return;
    const session = await this.#live();
    await this.#settle(session, replies, ack, 'acknowledging');
    for (const reply of replies) this.#held.delete(reply);
    for (const wake of this.#roomWaiters) wake();
  }

  async release(batch: SourceBatch<NatsHandle>): Promise<void> {
    const { replies } = batch.handle;
    if (replies.length === 0) return;
    // No more in-progress notes for them: the nak puts them first in line for the next read.
    for (const reply of replies) this.#held.delete(reply);
    const session = await this.#live();
    await this.#settle(session, replies, nak, 'giving a batch back');
    for (const wake of this.#roomWaiters) wake();
  }

  /** Records waiting for this source: not yet delivered, or delivered and held by another reader. */
  async backlog(): Promise<number | undefined> {
    const session = this.#session;
    if (session === undefined || session.nc.isClosed()) return undefined;
    try {
      const info = await session.jsm.consumers.info(this.#config.stream, this.#config.consumer);
      return Math.max(0, info.num_pending + info.num_ack_pending - this.#held.size - session.puller.late.length);
    } catch {
      return undefined;
    }
  }

  /** Gives back everything held (batches not acked, messages that came late), so that it comes back at once. */
  async close(): Promise<void> {
    this.#opened = false;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const session = this.#session;
    this.#session = undefined;
    for (const wake of this.#roomWaiters) wake();
    if (session === undefined) {
      this.#held.clear();
      return;
    }
    session.puller.close();
    const replies = [...this.#held, ...session.puller.late.map((msg) => msg.reply ?? '')].filter((r) => r !== '');
    this.#held.clear();
    session.puller.late.length = 0;
    if (replies.length > 0 && !session.nc.isClosed()) {
      // Not acked: a crash would leave them to their ack wait; a close gives them back now.
      await withTimeout(
        this.#settle(session, replies, nak, 'giving back what it held'),
        closeTimeoutMs,
        () => new Error('timed out'),
      ).catch(() => undefined);
    }
    await closeQuietly(session.nc, closeTimeoutMs);
  }
}
