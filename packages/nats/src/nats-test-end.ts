import { type HeldRecord, type OpenTestEnd, type RecordValue, type TestEnd, toJson, typesHeader } from '@ferry/core';
import { endName, heldFromJson } from '@ferry/testkit/ends';
import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, nanos, headers as natsHeaders } from '@nats-io/transport-node';
import { hostPort, parseNatsUrl } from './nats-config.js';
import { natsFidelity } from './nats-fidelity.js';

const natsUrl = () => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
/** Publishes in flight at once while seeding. */
const seedChunk = 1000;
/**
 * The ack wait of a source's consumer: a batch a killed worker held comes
 * back after it, and a restarted source waits that long at most for it.
 */
const ackWaitMs = 1000;
/** The durable consumer a source reads through when its options name none. */
const consumer = 'ferry';

const subjectOf = (stream: string) => `ferry.test.${stream}`;

/**
 * NATS JetStream (N) on NATS_URL: limits streams of their own, each on one
 * subject, read back by sequence through an ordered consumer (which leaves
 * them as they are).
 */
export const openNatsTestEnd: OpenTestEnd = async ({ scope }) => {
  const url = natsUrl();
  const address = parseNatsUrl(url);
  const nc = await connect({
    servers: hostPort(address),
    name: 'ferry-test-end',
    ...(address.user === undefined ? {} : { user: address.user, pass: address.pass ?? '' }),
    ...(address.token === undefined ? {} : { token: address.token }),
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const streams: string[] = [];

  const create = async (stream: string) => {
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({ name: stream, subjects: [subjectOf(stream)], retention: RetentionPolicy.Limits });
    }
  };

  /** Publishes each value as a JSON body (its other kinds in `ferry-types`) with its id in Nats-Msg-Id, acknowledged. */
  const seed = async (stream: string, values: readonly RecordValue[]) => {
    await create(stream);
    const ids = values.map((_, i) => `n-${i}`);
    for (let start = 0; start < values.length; start += seedChunk) {
      await Promise.all(
        values.slice(start, start + seedChunk).map((value, i) => {
          const { text, types } = toJson(value);
          const headers = natsHeaders();
          if (types !== undefined) headers.set(typesHeader, JSON.stringify(types));
          return js.publish(subjectOf(stream), text, { msgID: ids[start + i]!, headers });
        }),
      );
    }
    return ids;
  };

  const count = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
  const name = (label: string) => {
    const stream = endName({ prefix: 'ferry_test_', scope, label, separator: '_', allowed: /[\w-]/ });
    streams.push(stream);
    return stream;
  };

  const end: TestEnd = {
    connection: () => ({ kind: 'nats', url }),
    name,
    endpoint: (name, role) => (role === 'source' ? { stream: name, ackWaitMs } : { stream: name }),
    create: (name) => create(name),
    seed,
    async readBack(name) {
      const total = await count(name);
      const held: HeldRecord[] = [];
      if (total === 0) return held;
      const reader = await js.consumers.get(name);
      while (held.length < total) {
        const before = held.length;
        for await (const message of await reader.fetch({ max_messages: total - held.length, expires: 2000 })) {
          held.push(heldOf(message));
        }
        if (held.length === before) throw new Error(`[nats test end] stream ${name} holds ${total}, read ${before}`);
      }
      return held;
    },
    count,
    async left(name) {
      try {
        const info = await jsm.consumers.info(name, consumer);
        return info.num_pending + info.num_ack_pending;
      } catch {
        // No consumer yet: nothing was read.
        return count(name);
      }
    },
    async drop(name) {
      await jsm.streams.delete(name).catch(() => undefined);
    },
    async close() {
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
    fidelity: natsFidelity({ js, jsm }, name, create, subjectOf),
    poison: {
      // The server counts deliveries; a short ack wait brings back what a killed worker held.
      endpoint: (name, maxDeliveries) => ({ stream: name, maxDeliveries, ackWaitMs }),
      async seed(name, values) {
        const ids = await seed(name, values);
        // One message in flight (as a queue's prefetch 1): the source's read ahead finds none while the
        // poison one is held, so that only it is delivered again and again.
        await jsm.consumers.add(name, {
          durable_name: consumer,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          max_deliver: -1,
          max_ack_pending: 1,
          ack_wait: nanos(ackWaitMs),
        });
        return ids;
      },
    },
  };
  return end;
};

/** A message as a held record: its Nats-Msg-Id, and the JSON body's keys. */
function heldOf(message: JsMsg): HeldRecord {
  const id = message.headers?.has('Nats-Msg-Id') ? message.headers.get('Nats-Msg-Id') : undefined;
  const types = message.headers?.has(typesHeader) ? message.headers.get(typesHeader) : undefined;
  return { id, value: heldFromJson(message.string(), types) };
}
