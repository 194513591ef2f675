import type { BenchEnd, OpenBenchEnd } from '@ferry/core';
import { type Channel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { createRabbitMqSink } from './rabbitmq-sink.js';
import { createRabbitMqSource } from './rabbitmq-source.js';

const amqpUrl = () => process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefetch = (batchSize: number) => batchSize * 2;
/** How long a consumer waits after the first message of a batch for the batch to fill (the source's linger). */
const lingerMs = 50;
const seedChunk = 5000;
/**
 * Classic queues of version 2, the default from RabbitMQ 3.13 on. A version-1
 * queue (3.12 and older) holding 100,000 persistent messages delivers them
 * from memory or pages them to disk as it sees fit, at 60,000 or 18,000 a
 * second from one run to the next, which would swamp the comparison.
 */
const queueArguments = { 'x-queue-version': 2 };

/**
 * Publishes and waits for the confirms, honouring the channel's flow control,
 * as the sink does. `mandatory` as the sink sets it: without it a message no
 * queue takes is confirmed and gone, and with it the broker publishes about
 * 5% slower, which a loop without it would not pay.
 */
async function publishAll(
  channel: ConfirmChannel,
  queue: string,
  bodies: Buffer[],
  ids: string[],
  { mandatory }: { mandatory: boolean },
): Promise<void> {
  for (let i = 0; i < bodies.length; i++) {
    const ok = channel.publish('', queue, bodies[i]!, {
      persistent: true,
      mandatory,
      messageId: ids[i]!,
      contentType: 'application/json',
      headers: { 'x-ferry-source-id': ids[i]! },
    });
    if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
  }
  await channel.waitForConfirms();
}

async function seedQueue(channel: ConfirmChannel, queue: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += seedChunk) {
    const bodies: Buffer[] = [];
    const ids: string[] = [];
    for (let i = start; i < Math.min(count, start + seedChunk); i++) {
      bodies.push(Buffer.from(JSON.stringify({ task: `task-${i}`, n: i, text: 'hello from the bench' })));
      ids.push(`m-${i}`);
    }
    // Seeding is not measured: a message no queue takes would fail the count after it anyway.
    await publishAll(channel, queue, bodies, ids, { mandatory: false });
  }
}

/**
 * A hand-written consumer loop: prefetch, gather up to a batch or the linger
 * time, hand the batch over, ack it (multiple) once handled. Resolves when
 * `expected` messages were handled: a queue cannot tell "empty" from "slow".
 */
async function consumeBatches(
  channel: Channel,
  queue: string,
  batchSize: number,
  expected: number,
  handle: (messages: ConsumeMessage[]) => Promise<void>,
): Promise<number> {
  await channel.prefetch(prefetch(batchSize));
  let handled = 0;
  let pending: ConsumeMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  return new Promise((resolve, reject) => {
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      chain = chain
        .then(async () => {
          await handle(batch);
          channel.ack(batch[batch.length - 1]!, true);
          handled += batch.length;
          if (handled >= expected) resolve(handled);
        })
        .catch(reject);
    };
    channel
      .consume(queue, (message) => {
        if (message === null) return;
        pending.push(message);
        if (pending.length >= batchSize) flush();
        else timer ??= setTimeout(flush, lingerMs);
      })
      .catch(reject);
  });
}

/** RabbitMQ (Q) on AMQP_URL: durable queues on the default exchange, JSON bodies, publisher confirms. */
export const openRabbitMqBenchEnd: OpenBenchEnd = async () => {
  const connection = await connect(amqpUrl());
  // Seeding, counting and the hand loop's publishing share one confirm channel; each drain consumes on its own.
  const channel = await connection.createConfirmChannel();
  const fresh = async (queue: string) => {
    await channel.assertQueue(queue, { durable: true, arguments: queueArguments });
    await channel.purgeQueue(queue);
  };
  const count = async (queue: string) => (await channel.checkQueue(queue)).messageCount;
  const end: BenchEnd = {
    async seed(name, count) {
      await fresh(name);
      await seedQueue(channel, name, count);
    },
    left: count,
    source: (name) => createRabbitMqSource({ url: amqpUrl(), queue: name }),
    async drain(name, batchSize, expected, write) {
      const consuming = await connection.createChannel();
      const moved = await consumeBatches(consuming, name, batchSize, expected, (messages) =>
        write(
          messages.map((message) => ({
            id: message.properties.messageId as string,
            value: JSON.parse(message.content.toString()),
          })),
        ),
      );
      await consuming.close();
      return moved;
    },
    fresh,
    arrived: count,
    sink: (name) => createRabbitMqSink({ url: amqpUrl(), queue: name }),
    writer: (name) => (records) =>
      publishAll(
        channel,
        name,
        records.map((record) => Buffer.from(JSON.stringify(record.value))),
        records.map((record) => record.id),
        { mandatory: true },
      ),
    async drop(name) {
      await channel.deleteQueue(name);
    },
    async close() {
      await connection.close();
    },
  };
  return end;
};
