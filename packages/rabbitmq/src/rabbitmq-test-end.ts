import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type OpenTestEnd, type RecordValue, type TestEnd, toJson, typesHeader } from '@ferry/core';
import { endName, heldFromJson } from '@ferry/testkit/ends';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { rabbitMqFidelity } from './rabbitmq-fidelity.js';

const amqpUrl = () => process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const seedChunk = 5000;

const rabbitmqctl = async (...args: string[]): Promise<void> => {
  await promisify(execFile)('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
};

/**
 * RabbitMQ (Q): a virtual host of its own per end, so that its queues meet
 * no other run's; queues read back with basic.get, which takes the messages.
 */
export const openRabbitMqTestEnd: OpenTestEnd = async ({ scope }) => {
  const vhost = endName({ prefix: 'ferry-test-', scope, label: 'vhost', separator: '-', allowed: /[\w-]/ });
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const base = new URL(amqpUrl());
  base.pathname = `/${encodeURIComponent(vhost)}`;
  const url = base.toString();

  let model: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  /** The end's channel, opened again when a failed call (a queue not found) closed it. */
  const open = async (): Promise<ConfirmChannel> => {
    if (model === undefined) {
      model = await amqp.connect(url);
      model.on('error', () => undefined);
    }
    if (channel === undefined) {
      const created = await model.createConfirmChannel();
      created.on('error', () => undefined);
      created.on('close', () => {
        if (channel === created) channel = undefined;
      });
      channel = created;
    }
    return channel;
  };

  /** Publishes each value as a JSON body (its other kinds in `ferry-types`), persistent and confirmed, with its messageId. */
  const publish = async (queue: string, values: readonly RecordValue[], args: Record<string, unknown> = {}) => {
    const ch = await open();
    await ch.assertQueue(queue, { durable: true, arguments: args });
    const ids: string[] = [];
    for (let start = 0; start < values.length; start += seedChunk) {
      values.slice(start, start + seedChunk).forEach((value, i) => {
        const id = `q-${start + i}`;
        const { text, types } = toJson(value);
        ch.sendToQueue(queue, Buffer.from(text), {
          persistent: true,
          contentType: 'application/json',
          messageId: id,
          ...(types === undefined ? {} : { headers: { [typesHeader]: JSON.stringify(types) } }),
        });
        ids.push(id);
      });
      await ch.waitForConfirms();
    }
    return ids;
  };

  const count = async (name: string) => (await (await open()).checkQueue(name)).messageCount;
  const queues: string[] = [];
  const name = (label: string) => {
    const queue = endName({ prefix: 'ferry.test.', scope, label, separator: '.', allowed: /[\w.:-]/ });
    queues.push(queue);
    return queue;
  };

  const end: TestEnd = {
    connection: () => ({ kind: 'rabbitmq', url }),
    name,
    endpoint: (name) => ({ queue: name }),
    async create(name) {
      await (await open()).assertQueue(name, { durable: true });
    },
    seed: (name, values) => publish(name, values),
    async readBack(name) {
      const ch = await open();
      const held = [];
      // Taken, as a consumer would: a broker requeues thousands of messages given back far too slowly.
      for (;;) {
        const message = await ch.get(name, { noAck: true });
        if (message === false) return held;
        const header = message.properties.headers?.[typesHeader] as string | Buffer | undefined;
        held.push({
          id: message.properties.messageId as string | undefined,
          value: heldFromJson(message.content.toString(), header?.toString()),
        });
      }
    },
    count,
    left: count,
    async drop(name) {
      await (await open()).deleteQueue(name);
    },
    async close() {
      // Each queue first: the broker deletes a vhost that holds many persistent messages far slower than its queues.
      for (const queue of queues) await (await open()).deleteQueue(queue).catch(() => undefined);
      await model?.close().catch(() => undefined);
      await rabbitmqctl('delete_vhost', vhost);
    },
    fidelity: rabbitMqFidelity(open, name),
    poison: {
      // A quorum queue counts deliveries itself (x-delivery-count); one message in flight at a time.
      endpoint: (name, maxDeliveries) => ({ queue: name, queueType: 'quorum', maxDeliveries, prefetch: 1 }),
      seed: (name, values) => publish(name, values, { 'x-queue-type': 'quorum' }),
    },
  };
  return end;
};

export { readQueue } from './rabbitmq-fidelity.js';
