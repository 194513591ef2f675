import { createServer } from 'node:net';
import { ConnectionError, FatalError, type RecordValue, type Source, toJson, typesHeader } from '@ferry/core';
import { sampleValues, testSource } from '@ferry/testkit';
import { AckPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createNatsSource, type NatsHandle } from './index.js';
import {
  admin,
  closeAdmin,
  createStream,
  deleteStreams,
  ensureStream,
  natsUrl,
  publish,
  streamName,
  unacked,
} from './test-admin.js';

const streams: string[] = [];
const sources: Source<NatsHandle>[] = [];

afterEach(async () => {
  for (const source of sources.splice(0)) await source.close();
  await deleteStreams(...streams.splice(0));
});
afterAll(closeAdmin);

async function stream(config: Parameters<typeof createStream>[1] = {}): Promise<string> {
  const name = streamName();
  streams.push(name);
  await createStream(name, config);
  return name;
}

/** Publishes values as a NATS sink would; ids from the values' tags, so that a second seed never repeats one (the stream would drop it). */
async function seed(name: string, values: readonly RecordValue[], prefix = name): Promise<string[]> {
  const ids = values.map((value, i) => `${prefix}-${typeof value.tag === 'string' ? value.tag : i}`);
  for (const [i, value] of values.entries()) {
    const { text, types } = toJson(value);
    await publish(name, text, {
      msgId: ids[i]!,
      ...(types === undefined ? {} : { headers: { [typesHeader]: JSON.stringify(types) } }),
    });
  }
  return ids;
}

async function open(options: Record<string, unknown>): Promise<Source<NatsHandle>> {
  const source = createNatsSource({ url: natsUrl, ...options });
  sources.push(source);
  await source.open();
  return source;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The contract suite's names have dots, which stream names may not. */
const streamOf = (ctx: { name: string }) => ctx.name.replaceAll('.', '_');

for (const retention of [RetentionPolicy.Limits, RetentionPolicy.Workqueue] as const) {
  testSource({
    name: `nats source, ${retention} stream (contract)`,
    prefix: 'ferry_test_n_contract',
    create: async (ctx) => {
      await ensureStream(streamOf(ctx), { retention });
      return createNatsSource({ url: natsUrl, stream: streamOf(ctx), connectionName: 'test' });
    },
    seed: async (ctx, values) => {
      await ensureStream(streamOf(ctx), { retention });
      await seed(streamOf(ctx), values);
    },
    // Acked messages stay in a limits stream: what is left to the source is what its consumer has not had acked.
    count: (ctx) => unacked(streamOf(ctx)),
    cleanup: (ctx) => deleteStreams(streamOf(ctx)),
  });
}

describe('nats source', () => {
  it('reads the values as the client published them, headers and the id header included', async () => {
    const name = await stream();
    await publish(name, '{"a":1,"big":18446744073709551616,"f":1.5}', {
      msgId: 'm-1',
      headers: { trace: 'abc', 'Nats-Expected-Stream': name },
    });
    const source = await open({ stream: name });
    const [record] = (await source.read(10, { waitMs: 0 })).records;
    expect(record).toMatchObject({ id: 'm-1', headers: { trace: 'abc' }, bytes: 42 });
    expect(record!.value).toEqual({ a: 1n, big: 18446744073709551616n, f: 1.5 });
    expect(record!.redelivered).toBeUndefined();
  });

  it('gives a message without Nats-Msg-Id the id <stream>:<sequence>, the same on every delivery', async () => {
    const name = await stream();
    const seq = await publish(name, '{"a":1}');
    const source = await open({ stream: name });
    const first = await source.read(10, { waitMs: 0 });
    expect(first.records.map((r) => r.id)).toEqual([`${name}:${seq}`]);
    await source.release(first);
    const again = await source.read(10, { waitMs: 0 });
    expect(again.records.map((r) => r.id)).toEqual([`${name}:${seq}`]);
  });

  it('marks a redelivery (after a release, or a crash) as redelivered', async () => {
    const name = await stream();
    await seed(name, sampleValues(2));
    const source = await open({ stream: name });
    const first = await source.read(1, { waitMs: 0 });
    expect(first.records[0]!.redelivered).toBeUndefined();
    await source.release(first);
    const again = await source.read(10, { waitMs: 0 });
    expect(again.records.map((r) => r.redelivered)).toEqual([true, undefined]);
  });

  it('hands a body that is not a JSON object over as rejected, with the reason and its bytes; ack removes it', async () => {
    const name = await stream({ retention: RetentionPolicy.Workqueue });
    await publish(name, 'not json', { msgId: 'bad', headers: { trace: 't' } });
    await publish(name, '[1]', { msgId: 'array' });
    await publish(name, '{"ok":true}', { msgId: 'good' });
    const source = await open({ stream: name });
    const batch = await source.read(10, { waitMs: 0 });
    expect(batch.records.map((r) => r.id)).toEqual(['good']);
    const [bad, array] = batch.rejected!;
    expect(bad).toMatchObject({ id: 'bad', attempts: 1, headers: { trace: 't' } });
    expect(bad!.reason).toMatch(/^body is not JSON: /);
    expect(Buffer.from(bad!.raw).toString()).toBe('not json');
    expect(array!.reason).toBe('body is JSON but an array, not an object');
    await source.ack(batch);
    expect(await unacked(name)).toBe(0);
    expect((await (await admin()).jsm.streams.info(name)).state.messages).toBe(0);
  });

  it('the raw codec reads any body as bytes', async () => {
    const name = await stream();
    await publish(name, new Uint8Array([1, 2, 255]), { msgId: 'bin' });
    const source = await open({ stream: name, codec: 'raw' });
    const [record] = (await source.read(1, { waitMs: 0 })).records;
    expect(record!.value).toEqual({ data: Buffer.from([1, 2, 255]) });
  });

  it('hands a message over as rejected once delivered maxDeliveries times, counted by the server', async () => {
    const name = await stream();
    await seed(name, [{ poison: true, tag: 'v-0' }], 'poison');
    const source = await open({ stream: name, maxDeliveries: 3 });
    for (let attempt = 1; attempt < 3; attempt++) {
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records.map((r) => r.id)).toEqual(['poison-v-0']);
      await source.release(batch);
    }
    // A new instance (another process) goes on from the server's count.
    await source.close();
    const next = await open({ stream: name, maxDeliveries: 3 });
    const last = await next.read(10, { waitMs: 0 });
    expect(last.records).toHaveLength(0);
    expect(last.rejected).toEqual([
      expect.objectContaining({
        id: 'poison-v-0',
        attempts: 3,
        reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
      }),
    ]);
    await next.ack(last);
    expect(await unacked(name)).toBe(0);
  });

  it('creates the durable consumer with explicit acks, no delivery limit of its own and the ack wait asked for', async () => {
    const name = await stream();
    await open({ stream: name, consumer: 'reader', ackWaitMs: 4000, filterSubject: `ferry.test.${name}` });
    const info = await (await admin()).jsm.consumers.info(name, 'reader');
    expect(info.config).toMatchObject({
      durable_name: 'reader',
      ack_policy: AckPolicy.Explicit,
      max_deliver: -1,
      ack_wait: nanos(4000),
      filter_subject: `ferry.test.${name}`,
    });
  });

  it('refuses a consumer it cannot read exactly: push, acks that are not explicit, fewer deliveries than maxDeliveries', async () => {
    const name = await stream();
    const { jsm } = await admin();
    await jsm.consumers.add(name, { durable_name: 'all', ack_policy: AckPolicy.All });
    await jsm.consumers.add(name, { durable_name: 'few', ack_policy: AckPolicy.Explicit, max_deliver: 2 });
    await jsm.consumers.add(name, { durable_name: 'push', ack_policy: AckPolicy.Explicit, deliver_subject: 'x.y' });
    const refused = async (consumer: string) => {
      const source = createNatsSource({ url: natsUrl, stream: name, consumer });
      sources.push(source);
      return (await source.open().catch((error: unknown) => error)) as Error;
    };
    expect(await refused('all')).toBeInstanceOf(FatalError);
    expect((await refused('all')).message).toMatch(/needs "explicit"/);
    expect((await refused('few')).message).toMatch(/after 2 deliveries, before maxDeliveries 5/);
    expect((await refused('push')).message).toMatch(/is a push consumer/);
  });

  it('stop-when-empty waits for records another reader holds, and ends once they are acked', async () => {
    const name = await stream();
    await seed(name, sampleValues(2));
    const other = await open({ stream: name });
    const held = await other.read(10, { waitMs: 0 });
    expect(held.records).toHaveLength(2);
    const source = await open({ stream: name });
    const started = Date.now();
    const reading = source.read(10, { waitMs: 0 });
    await wait(300);
    await other.ack(held);
    expect((await reading).records).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stop-when-empty gets the records a reader that died held, once their ack wait is over', async () => {
    const name = await stream();
    const ids = await seed(name, sampleValues(2));
    const { jsm } = await admin();
    await jsm.consumers.add(name, { durable_name: 'ferry', ack_policy: AckPolicy.Explicit, ack_wait: nanos(1000) });
    // A reader that takes the messages and never acks or gives them back.
    const died = await jsm.consumers.info(name, 'ferry');
    expect(died.num_pending).toBe(2);
    const { nc } = await admin();
    const taken = new Promise((resolve) => nc.subscribe(`ferry.test.died.${name}`, { max: 1, callback: resolve }));
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${name}.ferry`, JSON.stringify({ batch: 1, no_wait: true }), {
      reply: `ferry.test.died.${name}`,
    });
    await taken;
    const source = await open({ stream: name });
    const all: string[] = [];
    for (;;) {
      const batch = await source.read(10, { waitMs: 0 });
      if (batch.records.length === 0) break;
      all.push(...batch.records.map((r) => r.id));
      await source.ack(batch);
    }
    expect(all.sort()).toEqual([...ids].sort());
  });

  it('keeps a held batch from coming back while it is held past the ack wait', async () => {
    const name = await stream();
    await seed(name, sampleValues(1));
    const source = await open({ stream: name, ackWaitMs: 1000 });
    const held = await source.read(10, { waitMs: 0 });
    const other = await open({ stream: name });
    // One and a half ack waits: without the source's in-progress notes the server would deliver it again.
    expect((await other.read(10, { waitMs: 1500 })).records).toHaveLength(0);
    await source.ack(held);
    expect(await unacked(name)).toBe(0);
  });

  it('a missing stream is a FatalError naming it', async () => {
    const name = streamName('ferry_test_n_missing');
    const source = createNatsSource({ url: natsUrl, stream: name, connectionName: 'nats' });
    sources.push(source);
    const error = await source.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(
      `[nats] stream "${name}" not found at 127.0.0.1:4222 (connection "nats")`,
    );
  });

  it('an unreachable port is a ConnectionError naming host:port, promptly', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const source = createNatsSource({ url: `nats://127.0.0.1:${port}`, stream: 'any' });
    const started = Date.now();
    const error = await source.open().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });
});
