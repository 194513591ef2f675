import { Socket } from 'node:net';
import {
  FatalError,
  type FerryRecord,
  fromJson,
  RecordRejectedError,
  type RecordValue,
  type Sink,
  toJson,
} from '@ferry/core';
import { sampleRecords, testSink, uniqueName } from '@ferry/testkit';
import { type ConfirmChannel, connect } from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRabbitMqSink } from './index.js';
import { admin, amqpUrl, closeAdmin, drainQueue, peekQueue, stallingRelay } from './test-admin.js';

const queues: string[] = [];
const exchanges: string[] = [];
const sinks: Sink[] = [];

afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
  const ch = await admin();
  for (const name of queues.splice(0)) await ch.deleteQueue(name);
  for (const name of exchanges.splice(0)) await ch.deleteExchange(name);
});
afterAll(closeAdmin);

async function queue(): Promise<string> {
  const name = uniqueName('ferry.test.q.sink');
  queues.push(name);
  await (await admin()).assertQueue(name, { durable: true });
  return name;
}

async function open(options: Record<string, unknown>): Promise<Sink> {
  const sink = createRabbitMqSink({ url: amqpUrl, ...options });
  sinks.push(sink);
  await sink.open();
  return sink;
}

/** The prototype of amqplib's confirm channels, from one opened and closed here. */
async function confirmChannelPrototype(): Promise<ConfirmChannel> {
  const model = await connect(amqpUrl);
  try {
    return Object.getPrototypeOf(await model.createConfirmChannel()) as ConfirmChannel;
  } finally {
    await model.close();
  }
}

const declare = async (ctx: { name: string }) => {
  await (await admin()).assertQueue(ctx.name, { durable: true });
};

testSink({
  name: 'rabbitmq sink, queue (contract)',
  prefix: 'ferry.test.q.contract',
  create: async (ctx) => {
    await declare(ctx);
    return createRabbitMqSink({ url: amqpUrl, queue: ctx.name, connectionName: 'test' });
  },
  createWithMaxLen: async (ctx, maxLen) => {
    await declare(ctx);
    return createRabbitMqSink({ url: amqpUrl, queue: ctx.name, maxLen });
  },
  readBack: async (ctx) =>
    (await peekQueue(ctx.name)).map((message) => ({
      sourceId: message.properties.headers?.['x-ferry-source-id'] as string | undefined,
      value: fromJson(message.content.toString('utf8')) as RecordValue,
    })),
  count: async (ctx) => (await (await admin()).checkQueue(ctx.name)).messageCount,
  cleanup: async (ctx) => {
    await (await admin()).deleteQueue(ctx.name);
  },
});

describe('rabbitmq sink', () => {
  it('publishes persistent messages with messageId, content type and the source-id header, unstamped', async () => {
    const name = await queue();
    const sink = await open({ queue: name });
    const [record] = sampleRecords(1);
    await sink.write([{ ...record!, headers: { trace: 'abc' } }]);
    const [message] = await drainQueue(name);
    expect(message!.properties).toMatchObject({
      deliveryMode: 2,
      messageId: 'rec-0',
      contentType: 'application/json',
      headers: { trace: 'abc', 'x-ferry-source-id': 'rec-0' },
    });
    expect(message!.properties.timestamp).toBeUndefined();
    expect(message!.content.toString()).toBe(toJson(record!.value).text);
  });

  it('with sourceIdHeader false, sends the record id in messageId only, keeping the record headers', async () => {
    const name = await queue();
    const sink = await open({ queue: name, sourceIdHeader: false });
    const [first, second] = sampleRecords(2);
    await sink.write([{ ...first!, headers: { trace: 'abc' } }, second!]);
    const messages = await drainQueue(name);
    expect(messages.map((m) => m.properties.messageId)).toEqual(['rec-0', 'rec-1']);
    expect(messages[0]!.properties.headers).toEqual({ trace: 'abc' });
    expect(messages[1]!.properties.headers ?? {}).toEqual({});
  });

  it('stamps each message with the publish time in seconds when timestamp is on', async () => {
    const name = await queue();
    const sink = await open({ queue: name, timestamp: true });
    const before = Math.floor(Date.now() / 1000);
    await sink.write(sampleRecords(2));
    const after = Math.floor(Date.now() / 1000);
    const messages = await drainQueue(name);
    expect(messages).toHaveLength(2);
    for (const message of messages) {
      expect(message.properties.timestamp).toBeGreaterThanOrEqual(before);
      expect(message.properties.timestamp).toBeLessThanOrEqual(after);
    }
  });

  it('waits for drain under flow control: with the network stalled, publish() says full, and every message arrives in order', async () => {
    const name = await queue();
    const relay = await stallingRelay();
    const sink = createRabbitMqSink({ url: relay.url, queue: name });
    sinks.push(sink);
    await sink.open();
    const total = 3000;
    // Count how often publish() said "buffer full"; the network comes back at the first.
    // Every confirm channel shares one prototype: the sink's too.
    const proto = await confirmChannelPrototype();
    const original = proto.publish;
    let full = 0;
    proto.publish = function (this: ConfirmChannel, ...args: Parameters<ConfirmChannel['publish']>) {
      const ok = original.apply(this, args);
      if (!ok && full++ === 0) setTimeout(() => relay.resume(), 100);
      return ok;
    };
    // 24 MiB: more than the kernel's buffers, the socket's 4 MiB and amqplib's own can hold.
    const padding = 'x'.repeat(8 * 1024);
    relay.stall();
    try {
      await sink.write(sampleRecords(total).map((record) => ({ ...record, value: { ...record.value, padding } })));
    } finally {
      proto.publish = original;
      relay.resume();
    }
    await sink.close();
    await relay.close();
    expect(full).toBeGreaterThan(0);
    expect((await (await admin()).checkQueue(name)).messageCount).toBe(total);
    const messages = await drainQueue(name);
    expect(messages.map((m) => m.properties.messageId)).toEqual(Array.from({ length: total }, (_, i) => `rec-${i}`));
    expect(JSON.parse(messages[total - 1]!.content.toString()).padding).toBe(padding);
  }, 60_000);

  it('sends a batch of 1,000 publishes in socket writes of some KiB each, neither one per message nor one for all', async () => {
    const name = await queue();
    const sink = await open({ queue: name });
    // Every socket write of the process while the batch is published: only the sink's socket is busy then.
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    const { _write: write, _writev: writev } = proto;
    let writes = 0;
    proto._write = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return write.apply(this, args);
    };
    proto._writev = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return writev.apply(this, args);
    };
    try {
      await sink.write(sampleRecords(1000));
    } finally {
      proto._write = write;
      proto._writev = writev;
    }
    // About 8 KiB a write: the broker stores the first messages while the client encodes the rest.
    expect(writes).toBeGreaterThan(5);
    expect(writes).toBeLessThan(100);
    const messages = await drainQueue(name);
    expect(messages.map((m) => m.properties.messageId)).toEqual(Array.from({ length: 1000 }, (_, i) => `rec-${i}`));
  });

  it('routes by a field of the record to the bound queues of an exchange', async () => {
    const exchange = uniqueName('ferry.test.x');
    exchanges.push(exchange);
    const a = await queue();
    const b = await queue();
    const sink = await open({ exchange, declare: true, routingKeyField: 'kind' });
    const ch = await admin();
    await ch.bindQueue(a, exchange, 'a');
    await ch.bindQueue(b, exchange, 'b');
    const records = ['a', 'b', 'a'].map((kind, i) => ({
      id: `r${i}`,
      value: { kind, i },
      readAt: Date.now(),
      bytes: 0,
    }));
    await sink.write(records);
    expect((await drainQueue(a)).map((m) => m.properties.messageId)).toEqual(['r0', 'r2']);
    expect((await drainQueue(b)).map((m) => m.properties.messageId)).toEqual(['r1']);
  });

  it('refuses a record without the routing key field, naming why, and publishes the others', async () => {
    const exchange = uniqueName('ferry.test.x');
    exchanges.push(exchange);
    const a = await queue();
    const sink = await open({ exchange, declare: true, routingKeyField: 'kind' });
    await (await admin()).bindQueue(a, exchange, 'a');
    const records: FerryRecord[] = [
      { id: 'ok', value: { kind: 'a' }, readAt: 0, bytes: 0 },
      { id: 'nokind', value: { other: 1n }, readAt: 0, bytes: 0 },
    ];
    const outcome = await sink.write(records);
    expect(outcome?.rejected.map((r) => [r.id, r.reason])).toEqual([
      ['nokind', 'no routing key: field "kind" is missing'],
    ]);
    expect((await drainQueue(a)).map((m) => m.properties.messageId)).toEqual(['ok']);
  });

  it('refuses a record whose headers do not fit an AMQP message, naming why, and publishes the others', async () => {
    const name = await queue();
    const sink = await open({ queue: name });
    const records: FerryRecord[] = [
      { id: 'before', value: { n: 1 }, readAt: 0, bytes: 0 },
      { id: 'huge', value: { n: 2 }, headers: { note: 'x'.repeat(70 * 1024) }, readAt: 0, bytes: 0 },
      { id: 'after', value: { n: 3 }, readAt: 0, bytes: 0 },
    ];
    const outcome = await sink.write(records);
    expect(outcome?.rejected.map((r) => r.id)).toEqual(['huge']);
    expect(outcome?.rejected[0]?.reason).toMatch(/^its headers do not fit an AMQP message: .*65536 byte/);
    // The channel goes on: the records on either side arrive, and so does the next batch.
    await sink.write([{ id: 'next', value: { n: 4 }, readAt: 0, bytes: 0 }]);
    expect((await drainQueue(name)).map((m) => m.properties.messageId)).toEqual(['before', 'after', 'next']);
  });

  it('an unroutable message is an error, not a silent loss', async () => {
    const exchange = uniqueName('ferry.test.x');
    exchanges.push(exchange);
    const sink = await open({ exchange, declare: true, routingKey: 'nobody' });
    const error = await sink.write(sampleRecords(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordRejectedError);
    expect((error as Error).message).toMatch(/unroutable.*routing key "nobody"/);
  });

  it('free() counts down from maxLen and is Infinity for an exchange', async () => {
    const name = await queue();
    const sink = await open({ queue: name, maxLen: 3 });
    expect(await sink.free()).toBe(3);
    await sink.write(sampleRecords(2));
    expect(await sink.free()).toBe(1);
    const exchange = uniqueName('ferry.test.x');
    exchanges.push(exchange);
    expect(await (await open({ exchange, declare: true })).free()).toBe(Number.POSITIVE_INFINITY);
  });

  it('a missing queue or exchange is a FatalError naming it and the vhost', async () => {
    const name = uniqueName('ferry.test.q.missing');
    const missingQueue = createRabbitMqSink({ url: amqpUrl, queue: name, connectionName: 'rabbit' });
    sinks.push(missingQueue);
    const error = await missingQueue.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(
      `[rabbitmq] queue "${name}" not found in vhost "/" (connection "rabbit")`,
    );
    const exchange = uniqueName('ferry.test.x.missing');
    const missingExchange = createRabbitMqSink({ url: amqpUrl, exchange });
    sinks.push(missingExchange);
    await expect(missingExchange.open()).rejects.toThrow(`exchange "${exchange}" not found in vhost "/"`);
  });

  it('a queue declared with other arguments is a FatalError naming the queue and the difference', async () => {
    const name = await queue();
    const sink = createRabbitMqSink({ url: amqpUrl, queue: name, declare: true, queueType: 'quorum' });
    sinks.push(sink);
    const error = await sink.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(new RegExp(`queue "${name.replace(/\./g, '\\.')}".*x-queue-type`));
  });

  it('the raw codec publishes the original bytes and content type', async () => {
    const name = await queue();
    const sink = await open({ queue: name, codec: 'raw' });
    await sink.write([
      { id: 'bin', value: { data: Buffer.from([1, 2, 3]), contentType: 'application/x-bin' }, readAt: 0, bytes: 3 },
    ]);
    const [message] = await drainQueue(name);
    expect([...message!.content]).toEqual([1, 2, 3]);
    expect(message!.properties.contentType).toBe('application/x-bin');
  });
});
