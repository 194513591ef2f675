import { type BenchEnd, type HandRecord, type OpenBenchEnd, toJson, typesHeader } from '@ferry/core';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { hostPort, parseNatsUrl } from './nats-config.js';
import { createNatsSink } from './nats-sink.js';
import { createNatsSource } from './nats-source.js';

const natsUrl = () => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
/** Publishes in flight at once while seeding. */
const seedChunk = 1000;
const consumer = 'ferry';

/** A bench name as a stream name (no dots, spaces or wildcards), and the subject its stream takes. */
const streamOf = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_');
const subjectOf = (name: string) => `ferry.bench.${streamOf(name)}`;

/**
 * NATS JetStream (N): a source is a work-queue stream (a message acked is
 * gone, so what is left is what was not moved) read through the durable pull
 * consumer the source creates; a sink is a limits stream on one subject.
 */
export const openNatsBenchEnd: OpenBenchEnd = async () => {
  const url = natsUrl();
  const address = parseNatsUrl(url);
  const nc = await connect({
    servers: hostPort(address),
    name: 'ferry-bench',
    ...(address.tls ? { tls: {} } : {}),
    ...(address.user === undefined ? {} : { user: address.user, pass: address.pass ?? '' }),
    ...(address.token === undefined ? {} : { token: address.token }),
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);

  const make = async (name: string, retention: RetentionPolicy) => {
    await jsm.streams.delete(streamOf(name)).catch(() => undefined);
    await jsm.streams.add({ name: streamOf(name), subjects: [subjectOf(name)], retention });
  };
  const count = async (name: string) => (await jsm.streams.info(streamOf(name))).state.messages;

  /** Publishes each record with its id in Nats-Msg-Id and waits for every acknowledgement, as the sink does. */
  const publishAll = async (name: string, records: readonly HandRecord[]) => {
    await Promise.all(
      records.map((record) => {
        const { text, types } = toJson(record.value);
        const headers = natsHeaders();
        if (types !== undefined) headers.set(typesHeader, JSON.stringify(types));
        return js.publish(subjectOf(name), text, { msgID: record.id, headers });
      }),
    );
  };

  const end: BenchEnd = {
    async seed(name, total) {
      await make(name, RetentionPolicy.Workqueue);
      for (let start = 0; start < total; start += seedChunk) {
        const records: HandRecord[] = [];
        for (let i = start; i < Math.min(total, start + seedChunk); i++) {
          records.push({ id: `m-${i}`, value: { task: `task-${i}`, n: BigInt(i), text: 'hello from the bench' } });
        }
        await publishAll(name, records);
      }
    },
    left: count,
    source: (name) => createNatsSource({ url, stream: streamOf(name), consumer }),
    /**
     * The client's own pull loop: fetch a batch, hand it over, ack every
     * message and wait for the server to confirm the last, as the source
     * does. A fetch that finds fewer than a batch waits out its expiry (a
     * second at least), so the loop stops at the expected count.
     */
    async drain(name, batchSize, expected, write) {
      await jsm.consumers.add(streamOf(name), {
        durable_name: consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_deliver: -1,
        max_ack_pending: 20_000,
      });
      const pull = await js.consumers.get(streamOf(name), consumer);
      let moved = 0;
      while (moved < expected) {
        const messages = [];
        for await (const message of await pull.fetch({ max_messages: batchSize, expires: 1000 }))
          messages.push(message);
        if (messages.length === 0) break;
        await write(
          messages.map((message) => {
            // Plain JSON, as a hand-written loop reads the seeded records (every end's writer takes that).
            const value: unknown = JSON.parse(message.string());
            const id = message.headers?.has('Nats-Msg-Id') ? message.headers.get('Nats-Msg-Id') : String(message.seq);
            return { id, value: value as HandRecord['value'] };
          }),
        );
        for (let i = 0; i < messages.length - 1; i++) messages[i]!.ack();
        await messages[messages.length - 1]!.ackAck();
        moved += messages.length;
      }
      return moved;
    },
    async fresh(name) {
      await make(name, RetentionPolicy.Limits);
    },
    arrived: count,
    sink: (name) => createNatsSink({ url, stream: streamOf(name) }),
    writer: (name) => (records) => publishAll(name, records),
    async drop(name) {
      await jsm.streams.delete(streamOf(name)).catch(() => undefined);
    },
    async close() {
      await nc.close();
    },
  };
  return end;
};
