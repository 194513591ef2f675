import { createServer } from 'node:net';
import { ConnectionError, FatalError, LeaseLostError, type RecordValue, type Source, toJson } from '@ferry/core';
import { sampleValues, testSource, uniqueName } from '@ferry/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRabbitMqSource, type RabbitMqHandle } from './index.js';
import { admin, amqpUrl, closeAdmin, closeConnections, countMessages, deleteQueues, publish } from './test-admin.js';

const queues: string[] = [];
const sources: Source<RabbitMqHandle>[] = [];

afterEach(async () => {
  for (const source of sources.splice(0)) await source.close();
  await deleteQueues(...queues.splice(0));
});
afterAll(closeAdmin);

async function queue(args: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName('ferry.test.q.source');
  queues.push(name);
  await (await admin()).assertQueue(name, { durable: true, arguments: args });
  return name;
}

async function seed(name: string, values: readonly RecordValue[], prefix = name): Promise<string[]> {
  const ids = values.map((_, i) => `${prefix}-${i}`);
  for (const [i, value] of values.entries()) {
    await publish(name, toJson(value).text, { messageId: ids[i]!, contentType: 'application/json' });
  }
  return ids;
}

async function open(options: Record<string, unknown>): Promise<Source<RabbitMqHandle>> {
  const source = createRabbitMqSource({ url: amqpUrl, ...options });
  sources.push(source);
  await source.open();
  return source;
}

for (const queueType of ['classic', 'quorum'] as const) {
  const declare = async (name: string) => {
    const args = queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
    await (await admin()).assertQueue(name, { durable: true, arguments: args });
  };
  testSource({
    name: `rabbitmq source, ${queueType} queue (contract)`,
    prefix: 'ferry.test.q.contract',
    // The suite seeds before it creates the source: whichever comes first declares the queue.
    create: async (ctx) => {
      await declare(ctx.name);
      return createRabbitMqSource({ url: amqpUrl, queue: ctx.name, queueType, connectionName: 'test' });
    },
    seed: async (ctx, values) => {
      await declare(ctx.name);
      await seed(ctx.name, values);
    },
    // A quorum queue's message count (rabbitmqctl) lags by seconds: the suite checks counts on classic only.
    ...(queueType === 'classic' ? { count: (ctx: { name: string }) => countMessages(ctx.name) } : {}),
    cleanup: async (ctx) => {
      await deleteQueues(ctx.name);
    },
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rabbitmq source', () => {
  it('acks exactly the batch: acking a later batch leaves an earlier one unacked', async () => {
    const name = await queue();
    const ids = await seed(name, sampleValues(6));
    const source = await open({ queue: name });
    const first = await source.read(3, { waitMs: 0 });
    const second = await source.read(3, { waitMs: 0 });
    expect(first.records.map((r) => r.id)).toEqual(ids.slice(0, 3));
    expect(second.records.map((r) => r.id)).toEqual(ids.slice(3));
    await source.ack(second);
    await source.close();
    // Only the first batch went back to the queue.
    const again = await open({ queue: name });
    const batch = await again.read(10, { waitMs: 0 });
    expect(batch.records.map((r) => r.id)).toEqual(ids.slice(0, 3));
    await again.ack(batch);
    await again.close();
    expect(await countMessages(name)).toBe(0);
  });

  it('acks in order with one call per batch, and release puts the same messageIds back', async () => {
    const name = await queue();
    const ids = await seed(name, sampleValues(4));
    const source = await open({ queue: name });
    const first = await source.read(2, { waitMs: 0 });
    await source.ack(first);
    const second = await source.read(2, { waitMs: 0 });
    await source.release(second);
    const again = await source.read(10, { waitMs: 0 });
    expect(again.records.map((r) => r.id)).toEqual(ids.slice(2));
    await source.ack(again);
    expect(await countMessages(name)).toBe(0);
  });

  it('gives a message without messageId a delivery id', async () => {
    const name = await queue();
    await publish(name, JSON.stringify({ a: 1 }));
    const source = await open({ queue: name });
    const batch = await source.read(10, { waitMs: 0 });
    expect(batch.records).toHaveLength(1);
    expect(batch.records[0]!.id).toMatch(/^delivery:[^:]+:\d+$/);
    expect(batch.records[0]!.value).toEqual({ a: 1n });
  });

  it('carries headers as strings and the body size', async () => {
    const name = await queue();
    await publish(name, '{"a":1}', { messageId: 'm1', headers: { trace: 'abc', n: 2 } });
    const source = await open({ queue: name });
    const [record] = (await source.read(1, { waitMs: 0 })).records;
    expect(record).toMatchObject({ id: 'm1', headers: { trace: 'abc', n: '2' }, bytes: 7 });
  });

  it('hands a body that is not a JSON object over as rejected, with the reason and its bytes; ack removes it', async () => {
    const name = await queue();
    await publish(name, 'not json', { messageId: 'bad', contentType: 'text/plain' });
    await publish(name, '[1]', { messageId: 'array' });
    await publish(name, '{"ok":true}', { messageId: 'good' });
    const source = await open({ queue: name });
    const batch = await source.read(10, { waitMs: 0 });
    expect(batch.records.map((r) => r.id)).toEqual(['good']);
    expect(batch.rejected).toHaveLength(2);
    const [bad, array] = batch.rejected!;
    expect(bad).toMatchObject({ id: 'bad', attempts: 1, contentType: 'text/plain' });
    expect(bad!.reason).toMatch(/^body is not JSON: /);
    expect(Buffer.from(bad!.raw).toString()).toBe('not json');
    expect(array!.reason).toBe('body is JSON but an array, not an object');
    await source.ack(batch);
    expect(await countMessages(name)).toBe(0);
  });

  it('the raw codec reads any body as bytes with its content type', async () => {
    const name = await queue();
    await publish(name, Buffer.from([1, 2, 3]), { messageId: 'bin', contentType: 'application/x-bin' });
    const source = await open({ queue: name, codec: 'raw' });
    const [record] = (await source.read(1, { waitMs: 0 })).records;
    expect(record!.value).toEqual({ data: Buffer.from([1, 2, 3]), contentType: 'application/x-bin' });
  });

  for (const queueType of ['classic', 'quorum'] as const) {
    it(`hands a message over as rejected once delivered maxDeliveries times (${queueType} queue)`, async () => {
      const name = await queue(queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {});
      await seed(name, [{ poison: true }], 'poison');
      const source = await open({ queue: name, queueType, maxDeliveries: 3 });
      for (let attempt = 1; attempt < 3; attempt++) {
        const batch = await source.read(10, { waitMs: 2000 });
        expect(batch.records.map((r) => r.id)).toEqual(['poison-0']);
        await source.release(batch);
      }
      const last = await source.read(10, { waitMs: 2000 });
      expect(last.records).toHaveLength(0);
      expect(last.rejected).toEqual([
        expect.objectContaining({
          id: 'poison-0',
          attempts: 3,
          reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
        }),
      ]);
      await source.ack(last);
      expect((await source.read(10, { waitMs: 300 })).records).toHaveLength(0);
      if (queueType === 'classic') expect(await countMessages(name)).toBe(0);
    });
  }

  it('raises the prefetch when a read asks for more than it allows', async () => {
    const name = await queue();
    const ids = await seed(name, sampleValues(30));
    const source = await open({ queue: name });
    const small = await source.read(2, { waitMs: 0 });
    expect(small.records).toHaveLength(2);
    const big = await source.read(28, { waitMs: 0 });
    expect([...small.records, ...big.records].map((r) => r.id)).toEqual(ids);
  });

  it('a waiting read returns lingerMs after its first message, not after waitMs', async () => {
    const name = await queue();
    const source = await open({ queue: name, lingerMs: 100 });
    const started = Date.now();
    const reading = source.read(10, { waitMs: 5000 });
    await wait(100);
    await seed(name, sampleValues(1));
    const batch = await reading;
    expect(batch.records).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a read lingering for a full batch returns as soon as the batch is full, not at the end of lingerMs', async () => {
    const name = await queue();
    const source = await open({ queue: name, lingerMs: 20_000 });
    const started = Date.now();
    const reading = source.read(5, { waitMs: 20_000 });
    await wait(100);
    const ids = await seed(name, sampleValues(5));
    const batch = await reading;
    expect(batch.records.map((r) => r.id)).toEqual(ids);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a missing queue is a FatalError naming the queue and the vhost', async () => {
    const name = uniqueName('ferry.test.q.missing');
    const source = createRabbitMqSource({ url: amqpUrl, queue: name, connectionName: 'rabbit' });
    sources.push(source);
    const error = await source.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(
      `[rabbitmq] queue "${name}" not found in vhost "/" (connection "rabbit")`,
    );
  });

  it('declare: true creates the queue (quorum with x-queue-type)', async () => {
    const name = uniqueName('ferry.test.q.declared');
    queues.push(name);
    await open({ queue: name, declare: true, queueType: 'quorum' });
    expect((await (await admin()).checkQueue(name)).queue).toBe(name);
  });

  it('wrong credentials are a FatalError saying so, promptly', async () => {
    const source = createRabbitMqSource({ url: 'amqp://guest:wrong@127.0.0.1:5672', queue: 'any' });
    const started = Date.now();
    const error = await source.open().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/refused the credentials for user "guest" on vhost "\/"/);
    expect((error as Error).message).not.toContain('wrong');
  });

  it('an unreachable port is a ConnectionError naming host:port, promptly', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const source = createRabbitMqSource({ url: `amqp://guest:guest@127.0.0.1:${port}`, queue: 'any' });
    const started = Date.now();
    const error = await source.open().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('after the broker closes the connection the next read fails transient, then one reconnects and nothing is lost', async () => {
    const name = await queue();
    const ids = await seed(name, sampleValues(5));
    const connectionName = uniqueName('ferry-test-conn');
    const source = await open({ queue: name, connectionName });
    const held = await source.read(10, { waitMs: 0 });
    expect(held.records.map((r) => r.id)).toEqual(ids);
    expect(await closeConnections(connectionName)).toBe(1);
    await wait(300);
    const failed = await source.read(10, { waitMs: 0 }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ConnectionError);
    // Acking a batch of the dead channel is not a silent success.
    await expect(source.ack(held)).rejects.toBeInstanceOf(LeaseLostError);
    await source.release(held);
    const again = await source.read(10, { waitMs: 2000 });
    expect(again.records.map((r) => r.id)).toEqual(ids);
    await source.ack(again);
    expect(await countMessages(name)).toBe(0);
  });

  it('backlog counts ready and buffered messages', async () => {
    const name = await queue();
    await seed(name, sampleValues(5));
    // A prefetch that takes all five at the first read: an ack then frees room
    // for no delivery, which the broker's count could miss or count twice.
    const source = await open({ queue: name, prefetch: 10 });
    expect(await source.backlog!()).toBe(5);
    await source.ack(await source.read(2, { waitMs: 0 }));
    expect(await source.backlog!()).toBe(3);
  });
});
