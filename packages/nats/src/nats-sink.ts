import {
  FatalError,
  type FerryRecord,
  RecordRejectedError,
  type RejectedRecord,
  rejectRecord,
  type Sink,
  typesHeader,
  type WriteOptions,
  type WriteOutcome,
} from '@ferry/core';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  type PubAck,
  type StreamInfo,
} from '@nats-io/jetstream';
import { type MsgHdrs, type NatsConnection, nanos, headers as natsHeaders } from '@nats-io/transport-node';
import { closeQuietly, describe, NatsClient } from './nats-client.js';
import { encodeBody, headerProblem, msgIdHeader } from './nats-codec.js';
import { isWildcard, type NatsSinkConfig, parseSinkOptions, subjectMatches } from './nats-config.js';
import { Puller } from './nats-pull.js';

interface Session {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

/** A record ready to publish: its body and headers, and their size as the server counts it. */
interface Prepared {
  readonly record: FerryRecord;
  readonly body: Uint8Array;
  readonly headers: MsgHdrs;
  readonly types: string | undefined;
}

/** Without a noted position: how far back `reconcile` looks beyond twice the batch, for messages other writers added since. */
const reconcileSlack = 100;
/** Messages per pull when `reconcile` reads the stream's tail. */
const reconcilePage = 1000;

export function createNatsSink(options: unknown): Sink {
  return new NatsSink(parseSinkOptions(options));
}

/** The bytes of a header block as the client writes it: `NATS/1.0`, a line per value, a blank line. */
function headerBytes(entries: readonly (readonly [string, string])[]): number {
  let bytes = 12;
  for (const [key, value] of entries) bytes += 4 + Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

class NatsSink implements Sink {
  readonly name = 'nats';
  readonly #config: NatsSinkConfig;
  readonly #client: NatsClient;
  #session: Session | undefined;
  #opened = false;
  /** The subject every record is published to. */
  #subject = '';
  /** The stream's limits as last read: messages (-1 none) and one message's bytes (-1 none). */
  #maxMsgs = -1;
  #maxMsgSize = -1;
  /** The stream's last sequence as last seen (its info, or a publish acknowledgement): a position no later than its end. */
  #lastSeq = 0;

  constructor(config: NatsSinkConfig) {
    this.#config = config;
    this.#client = new NatsClient(config, `stream "${config.stream}"`);
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
      const info = await this.#client.call('reading the stream', () => jsm.streams.info(this.#config.stream));
      this.#subject = this.#subjectOf(info);
      this.#adopt(info);
      return { nc, jsm, js: jetstream(nc, { timeout: this.#config.requestTimeoutMs }) };
    } catch (error) {
      await closeQuietly(nc);
      throw error;
    }
  }

  /** The option's subject, which must be the stream's, else the stream's first subject. */
  #subjectOf(info: StreamInfo): string {
    const subjects = info.config.subjects ?? [];
    const { subject, stream } = this.#config;
    const refuse = (why: string) => new FatalError(`[nats] stream "${stream}" at ${this.#client.where}: ${why}`);
    if (subject !== undefined) {
      if (!subjects.some((pattern) => subjectMatches(pattern, subject))) {
        throw refuse(
          `subject "${subject}" is not one of its subjects (${subjects.join(', ') || 'none'}): a message published there would not be stored in it`,
        );
      }
      return subject;
    }
    const first = subjects[0];
    if (first === undefined)
      throw refuse('it takes no subjects (a mirror or a sourced stream): it cannot be published to');
    if (isWildcard(first)) {
      throw refuse(`its first subject "${first}" is a pattern: give the subject to publish to (subject)`);
    }
    return first;
  }

  #adopt(info: StreamInfo): void {
    this.#maxMsgs = info.config.max_msgs ?? -1;
    this.#maxMsgSize = info.config.max_msg_size ?? -1;
    if (info.state.last_seq > this.#lastSeq) this.#lastSeq = info.state.last_seq;
  }

  async #live(): Promise<Session> {
    if (!this.#opened) throw new FatalError(`[nats] ${this.#client.target} is not open: call open() first`);
    if (this.#session !== undefined && !this.#session.nc.isClosed()) return this.#session;
    this.#session = undefined;
    this.#session = await this.#connect();
    return this.#session;
  }

  /** The most bytes one message may have here: the server's max_payload and the stream's max_msg_size. */
  #maxBytes(session: Session): number {
    const payload = session.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    return this.#maxMsgSize > 0 ? Math.min(payload, this.#maxMsgSize) : payload;
  }

  /** A record's message, or the reason it cannot be published as it is. */
  #prepare(record: FerryRecord, maxBytes: number): Prepared | string {
    const { id } = record;
    if (id === '' || /[\r\n]/.test(id) || id !== id.trim()) {
      return `the record id ${JSON.stringify(id)} cannot be a ${msgIdHeader} header (empty, a line break, or white space at an end)`;
    }
    const entries: [string, string][] = [[msgIdHeader, id]];
    for (const key in record.headers) {
      const value = record.headers[key]!;
      if (key === typesHeader) continue;
      const problem = headerProblem(key, value);
      if (problem !== undefined) return problem;
      entries.push([key, value]);
    }
    let encoded: ReturnType<typeof encodeBody>;
    try {
      encoded = encodeBody(record.value, this.#config.codec);
    } catch (error) {
      // A value its source could not decode (read lazily) keeps the source's reason, as at every other sink.
      if (error instanceof RecordRejectedError) return error.reason;
      return `the value cannot be published as JSON: ${describe(error)}`;
    }
    if (encoded.types !== undefined) entries.push([typesHeader, encoded.types]);
    const size = encoded.body.length + headerBytes(entries);
    if (size > maxBytes) {
      return `the message would be ${size} bytes, more than the ${maxBytes} one message may have here (the server's max_payload, the stream's max_msg_size)`;
    }
    const headers = natsHeaders();
    // The id header is the publish option's, set by the client.
    for (let i = 1; i < entries.length; i++) headers.set(entries[i]![0], entries[i]![1]);
    return { record, body: encoded.body, headers, types: encoded.types };
  }

  /**
   * Publishes every record and waits for each acknowledgement. A record
   * that cannot go as it is (an id or header NATS cannot carry, a value JSON
   * cannot hold, a message over the size limit) is set aside as rejected,
   * with the reason; so is one the stream drops as a duplicate of another
   * message with the same id.
   */
  async write(records: readonly FerryRecord[], _options?: WriteOptions): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return;
    const session = await this.#live();
    const maxBytes = this.#maxBytes(session);
    const ready: Prepared[] = [];
    const rejected: RejectedRecord[] = [];
    for (const record of records) {
      const prepared = this.#prepare(record, maxBytes);
      if (typeof prepared === 'string') rejected.push(rejectRecord(record, prepared));
      else ready.push(prepared);
    }
    if (ready.length > 0) rejected.push(...(await this.#publish(session, ready)));
    return rejected.length === 0 ? undefined : { rejected };
  }

  async #publish(session: Session, ready: readonly Prepared[]): Promise<RejectedRecord[]> {
    const { js } = session;
    const timeout = this.#config.requestTimeoutMs;
    const subject = this.#subject;
    // All in flight at once: the stream stores them in the order they were sent.
    const settled = await Promise.allSettled(
      ready.map(({ record, body, headers }) => js.publish(subject, body, { msgID: record.id, headers, timeout })),
    );
    const duplicates: { prepared: Prepared; ack: PubAck }[] = [];
    let failure: unknown;
    let failed = 0;
    for (let i = 0; i < settled.length; i++) {
      const outcome = settled[i]!;
      if (outcome.status === 'rejected') {
        failure ??= outcome.reason;
        failed += 1;
        continue;
      }
      const ack = outcome.value;
      if (ack.stream !== this.#config.stream) {
        throw new FatalError(
          `[nats] a message for subject "${subject}" was stored in stream "${ack.stream}", not "${this.#config.stream}"`,
        );
      }
      if (ack.seq > this.#lastSeq) this.#lastSeq = ack.seq;
      if (ack.duplicate) duplicates.push({ prepared: ready[i]!, ack });
    }
    if (failure !== undefined) {
      // The pump retries the batch after asking reconcile which of it is stored.
      throw this.#client.toError(failure, `publishing (${failed} of ${ready.length} records unacknowledged)`);
    }
    return duplicates.length === 0 ? [] : this.#checkDuplicates(session, duplicates);
  }

  /**
   * A publish the stream drops as a duplicate is stored already when it is
   * this record written again (a retry): then the message its id names holds
   * the same body. Another body under the same id is another record, which
   * the stream will not take within its duplicate window: refused, with the reason.
   */
  async #checkDuplicates(
    session: Session,
    duplicates: readonly { prepared: Prepared; ack: PubAck }[],
  ): Promise<RejectedRecord[]> {
    const { stream } = this.#config;
    const stored = await this.#client.call('reading messages the stream holds', () =>
      Promise.all(duplicates.map(({ ack }) => session.jsm.streams.getMessage(stream, { seq: ack.seq }))),
    );
    const rejected: RejectedRecord[] = [];
    for (const [i, { prepared, ack }] of duplicates.entries()) {
      const message = stored[i];
      // Gone since (taken from a work queue, aged out): its id was this record's, written before.
      if (message === null || message === undefined) continue;
      const storedTypes = message.header?.has(typesHeader) ? message.header.get(typesHeader) : undefined;
      if (Buffer.from(message.data).equals(prepared.body) && storedTypes === prepared.types) continue;
      rejected.push(
        rejectRecord(
          prepared.record,
          `stream "${stream}" already holds another message with ${msgIdHeader} "${prepared.record.id}" (sequence ${ack.seq}) and dropped this one as its duplicate: ids must be unique within the stream's duplicate window`,
        ),
      );
    }
    return rejected;
  }

  /**
   * How many more records before a limit: the stream's max_msgs and the
   * sink's maxLen, less what the stream holds; Infinity with neither. With
   * the stream's discard policy `old` (the default) a write past max_msgs
   * drops the stream's oldest messages, which is why the pump asks first.
   */
  async free(): Promise<number> {
    const session = await this.#live();
    const info = await this.#client.call('reading the stream', () => session.jsm.streams.info(this.#config.stream));
    this.#adopt(info);
    const { maxLen } = this.#config;
    const limit = Math.min(
      maxLen ?? Number.POSITIVE_INFINITY,
      this.#maxMsgs > 0 ? this.#maxMsgs : Number.POSITIVE_INFINITY,
    );
    if (limit === Number.POSITIVE_INFINITY) return limit;
    return Math.max(0, limit - info.state.messages);
  }

  /** The stream's last sequence, from this sink's own last look: no round trip after the first. */
  async position(): Promise<string> {
    if (this.#lastSeq === 0) await this.#live();
    return String(this.#lastSeq);
  }

  /**
   * The records whose ids no message after `since` holds in its `Nats-Msg-Id`
   * (messages on this sink's subject, headers only). Without a position it
   * looks among the newest 2 × batch + 100. Only what the stream still holds
   * can be found: a message a work-queue consumer took, or a limit removed, is not.
   */
  async reconcile(records: readonly FerryRecord[], since?: string): Promise<readonly FerryRecord[]> {
    if (records.length === 0) return [];
    const session = await this.#live();
    const { stream } = this.#config;
    const info = await this.#client.call('reading the stream', () => session.jsm.streams.info(stream));
    this.#adopt(info);
    const { first_seq: first, last_seq: last } = info.state;
    const noted = since === undefined ? Number.NaN : Number(since);
    let from = Number.isSafeInteger(noted)
      ? noted + 1
      : Math.max(first, last - (2 * records.length + reconcileSlack) + 1);
    // A note past the stream's end: the stream was made anew since, and everything in it is after the note.
    if (from > last + 1) from = first;
    if (from > last || last === 0) return [...records];
    const wanted = new Set(records.map((record) => record.id));
    await this.#client.call('reading the stream for a batch in doubt', () =>
      this.#scan(session, Math.max(from, first), wanted),
    );
    return records.filter((record) => wanted.has(record.id));
  }

  /** Reads the message ids on this sink's subject from `from` on, headers only, deleting each found from `wanted`. */
  async #scan(session: Session, from: number, wanted: Set<string>): Promise<void> {
    const { stream } = this.#config;
    const consumer = await session.jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
      headers_only: true,
      filter_subject: this.#subject,
      mem_storage: true,
      // Removed by the server if this process goes away before it deletes it.
      inactive_threshold: nanos(60_000),
    });
    const puller = new Puller(session.nc, stream, consumer.name);
    try {
      while (wanted.size > 0) {
        const { messages } = await puller.pull(reconcilePage, 0);
        if (messages.length === 0) break;
        for (const msg of messages) {
          const id = msg.headers?.has(msgIdHeader) ? msg.headers.get(msgIdHeader) : undefined;
          if (id !== undefined) wanted.delete(id);
        }
      }
    } finally {
      puller.close();
      await session.jsm.consumers.delete(stream, consumer.name).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#opened = false;
    const session = this.#session;
    this.#session = undefined;
    await closeQuietly(session?.nc);
  }
}
