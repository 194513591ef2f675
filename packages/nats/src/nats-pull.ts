import { createInbox, type Msg, type NatsConnection, nanos, type Subscription } from '@nats-io/transport-node';

/** What a JetStream message's ack subject says of one delivery. */
export interface DeliveryInfo {
  /** How many times the consumer has delivered this message, this delivery included. */
  readonly deliveries: number;
  readonly streamSeq: number;
  /** Messages left for the consumer after this one, when it was delivered. */
  readonly pending: number;
}

/**
 * A delivery's ack subject read: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`,
 * or the newer form with a domain and an account hash in front and a token after.
 */
export function parseAckSubject(reply: string | undefined): DeliveryInfo | undefined {
  if (reply === undefined || !reply.startsWith('$JS.ACK.')) return undefined;
  const tokens = reply.split('.');
  const at = tokens.length === 9 ? 4 : tokens.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const deliveries = Number(tokens[at]);
  const streamSeq = Number(tokens[at + 1]);
  const pending = Number(tokens[at + 4]);
  if (!Number.isSafeInteger(deliveries) || !Number.isSafeInteger(streamSeq)) return undefined;
  return { deliveries, streamSeq, pending: Number.isSafeInteger(pending) ? pending : 0 };
}

/** How a pull ended when the server said so: 404 nothing to deliver, 408 its time ran out, 409 refused. */
export interface PullStatus {
  readonly code: number;
  readonly description: string;
}

export interface PullResult {
  readonly messages: Msg[];
  /** Absent when the batch filled, the signal aborted, or the server did not answer in time. */
  readonly status?: PullStatus;
}

interface Active {
  readonly id: string;
  readonly want: number;
  readonly got: Msg[];
  finish(status?: PullStatus): void;
}

/** How long past its own expiry a pull waits for the server to end it. */
const graceMs = 1000;
/** How long a pull that must answer at once (no_wait) may take: longer means the server holds it back. */
const noWaitGraceMs = 2000;

/**
 * Pulls batches of a pull consumer by hand: one request at a time to
 * `$JS.API.CONSUMER.MSG.NEXT`, answered on an inbox of its own. The client
 * library's `fetch` cannot ask for an answer at once (its shortest expiry is
 * a second), which a read with `waitMs: 0` needs: a `no_wait` pull is
 * answered with what there is, or a 404 when there is nothing.
 */
export class Puller {
  readonly #nc: NatsConnection;
  readonly #subject: string;
  readonly #inbox: string;
  readonly #sub: Subscription;
  #next = 0;
  #active: Active | undefined;
  /**
   * Messages that came when no pull wanted them: the server still served a
   * request this side stopped waiting for. They are delivered to this
   * consumer, held like any batch, and handed out first by the next read.
   */
  readonly late: Msg[] = [];

  constructor(nc: NatsConnection, stream: string, consumer: string, apiPrefix = '$JS.API') {
    this.#nc = nc;
    this.#subject = `${apiPrefix}.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, {
      callback: (error, msg) => {
        if (error === null) this.#deliver(msg);
      },
    });
  }

  #deliver(msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    const active = this.#active;
    if (code > 0 && (msg.reply === undefined || msg.reply === '')) {
      // A status ends the request it answers; a late one ends nothing (100 is a heartbeat).
      if (active !== undefined && msg.subject === active.id && code !== 100) {
        active.finish({ code, description: msg.headers?.description ?? '' });
      }
      return;
    }
    // Delivered messages carry their own subject, not the request's: the one waiting takes them, in order.
    if (active !== undefined && active.got.length < active.want) {
      active.got.push(msg);
      if (active.got.length >= active.want) active.finish();
    } else {
      this.late.push(msg);
    }
  }

  /**
   * Up to `batch` messages. `expiresMs` 0 answers at once with what there is
   * (no_wait); more waits that long for the first message, then answers with
   * what there is. Resolves early on abort; messages that come after that
   * are kept in `late`.
   */
  pull(batch: number, expiresMs: number, signal?: AbortSignal): Promise<PullResult> {
    const id = `${this.#inbox}.${++this.#next}`;
    const request = expiresMs > 0 ? { batch, no_wait: true, expires: nanos(expiresMs) } : { batch, no_wait: true };
    return new Promise((resolve) => {
      const got: Msg[] = [];
      let timer: NodeJS.Timeout | undefined;
      const finish = (status?: PullStatus) => {
        if (this.#active?.id !== id) return;
        this.#active = undefined;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        resolve(status === undefined ? { messages: got } : { messages: got, status });
      };
      const abort = () => finish();
      this.#active = { id, want: batch, got, finish };
      timer = setTimeout(finish, expiresMs > 0 ? expiresMs + graceMs : noWaitGraceMs);
      signal?.addEventListener('abort', abort, { once: true });
      try {
        this.#nc.publish(this.#subject, JSON.stringify(request), { reply: id });
      } catch {
        // The connection is closed: nothing comes, and the caller finds out on its next call.
        finish();
      }
    });
  }

  close(): void {
    this.#active?.finish();
    this.#sub.unsubscribe();
  }
}
