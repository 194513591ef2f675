import { FatalError, type Sink, type Source } from '@ferry/core';
import { uniqueName } from '@ferry/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRabbitMqSink, createRabbitMqSource, type RabbitMqHandle } from './index.js';
import { admin, amqpUrl, closeAdmin, countMessages, deleteQueues, publish } from './test-admin.js';

// A classic queue passes a publisher's `x-delivery-count` through as it was sent; only a quorum queue's broker counts.
const queues: string[] = [];
const sources: Source<RabbitMqHandle>[] = [];
const sinks: Sink[] = [];

afterEach(async () => {
  for (const source of sources.splice(0)) await source.close();
  for (const sink of sinks.splice(0)) await sink.close();
  await deleteQueues(...queues.splice(0));
});
afterAll(closeAdmin);

async function queue(type: 'classic' | 'quorum'): Promise<string> {
  const name = uniqueName(`ferry.test.q.count.${type}`);
  queues.push(name);
  await (await admin()).assertQueue(name, { durable: true, arguments: { 'x-queue-type': type } });
  return name;
}

async function open(options: Record<string, unknown>): Promise<Source<RabbitMqHandle>> {
  const source = createRabbitMqSource({ url: amqpUrl, ...options });
  sources.push(source);
  await source.open();
  return source;
}

/** Publishes one message whose publisher set `x-delivery-count: 99`. */
async function forged(name: string): Promise<void> {
  await publish(name, '{"n":1}', {
    messageId: 'forged',
    contentType: 'application/json',
    headers: { 'x-delivery-count': 99, trace: 't' },
  });
}

describe('x-delivery-count', () => {
  it('on a classic queue, the header a publisher set is ignored: ferry counts the deliveries itself', async () => {
    const name = await queue('classic');
    await forged(name);
    const source = await open({ queue: name, maxDeliveries: 3 });
    for (let delivery = 1; delivery < 3; delivery++) {
      const batch = await source.read(10, { waitMs: 2000 });
      expect(batch.rejected ?? []).toEqual([]);
      expect(batch.records.map((r) => [r.id, r.value])).toEqual([['forged', { n: 1n }]]);
      await source.release(batch);
    }
    // Its third delivery, by ferry's own count: poison after all.
    const third = await source.read(10, { waitMs: 2000 });
    expect(third.records).toEqual([]);
    expect(third.rejected).toEqual([
      expect.objectContaining({
        id: 'forged',
        attempts: 3,
        reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
      }),
    ]);
    await source.ack(third);
    expect(await countMessages(name)).toBe(0);
  });

  it('on a queue declared quorum through arguments, the first delivery ignores the header too (the broker passes it through)', async () => {
    const name = await queue('quorum');
    await forged(name);
    const source = await open({ queue: name, arguments: { 'x-queue-type': 'quorum' }, maxDeliveries: 3 });
    const batch = await source.read(10, { waitMs: 2000 });
    expect(batch.rejected ?? []).toEqual([]);
    expect(batch.records.map((r) => r.id)).toEqual(['forged']);
    await source.ack(batch);
  });

  it("on a quorum queue, the broker's own count dead-letters a poison message, across readers that never saw it", async () => {
    const name = await queue('quorum');
    await forged(name);
    // A new reader each time: only the broker's count can know about the deliveries before it.
    for (let delivery = 1; delivery < 3; delivery++) {
      const source = await open({ queue: name, queueType: 'quorum', maxDeliveries: 3 });
      const batch = await source.read(10, { waitMs: 2000 });
      expect(batch.records.map((r) => r.id)).toEqual(['forged']);
      await source.release(batch);
      await source.close();
    }
    const last = await open({ queue: name, queueType: 'quorum', maxDeliveries: 3 });
    const batch = await last.read(10, { waitMs: 2000 });
    expect(batch.records).toEqual([]);
    expect(batch.rejected).toEqual([
      expect.objectContaining({
        id: 'forged',
        attempts: 3,
        reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
      }),
    ]);
    await last.ack(batch);
  });

  it('a classic queue read by new readers each time: the count starts again, as the README says', async () => {
    const name = await queue('classic');
    await forged(name);
    for (let delivery = 1; delivery <= 3; delivery++) {
      const source = await open({ queue: name, maxDeliveries: 3 });
      const batch = await source.read(10, { waitMs: 2000 });
      // Redelivered, never seen here: counted as a second delivery, never as the 100th.
      expect(batch.records.map((r) => r.id)).toEqual(['forged']);
      await source.release(batch);
      await source.close();
    }
  });
});

describe('declare by queue type', () => {
  it('a sink declares a stream queue, which a classic declare then finds different', async () => {
    const name = uniqueName('ferry.test.q.count.stream');
    queues.push(name);
    const sink = createRabbitMqSink({ url: amqpUrl, queue: name, declare: true, queueType: 'stream' });
    sinks.push(sink);
    await sink.open();
    await sink.write([{ id: 'r1', value: { n: 1 }, readAt: 0, bytes: 7 }]);
    const same = createRabbitMqSink({
      url: amqpUrl,
      queue: name,
      declare: true,
      arguments: { 'x-queue-type': 'stream' },
    });
    sinks.push(same);
    await same.open();
    const classic = createRabbitMqSink({ url: amqpUrl, queue: name, declare: true });
    sinks.push(classic);
    const error = await classic.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/x-queue-type/);
  });
});
