import { randomBytes } from 'node:crypto';
import { type ConnectorDefinition, type Inspector, parseConfig } from '@ferry/core';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry } from '../connectors.js';
import { configEndpoints } from './config-endpoints.js';
import { createDepthProbe, shortReason } from './depth-probe.js';

describe('the depth probe, with connectors of its own', () => {
  /** A connector of letter F whose inspectors count the letters of a name, and record what they were made from. */
  function fakeConnector(withInspect: boolean, withLatest: boolean) {
    const made: { options: unknown; clientName: string }[] = [];
    const closed: unknown[] = [];
    const connector: ConnectorDefinition = {
      kind: 'fake',
      letter: 'F',
      title: 'Fake',
      schemes: ['fake:'],
      holds: 'stream',
      options: { source: z.unknown(), sink: z.unknown() },
      dataPlaneKeys: { source: ['box'], sink: ['box'] },
      createSource: () => {
        throw new Error('not here');
      },
      createSink: () => {
        throw new Error('not here');
      },
      describeEndpoint: (_role, options) => ({
        what: 'box',
        name: String((options as { box: unknown }).box),
        singleReader: false,
      }),
      ...(withInspect
        ? {
            inspect(options, settings): Inspector {
              made.push({ options, clientName: settings.clientName });
              return {
                probe: async () => ({ detail: 'fine' }),
                depth: async (o) => {
                  const box = String((o as { box: unknown }).box);
                  if (box === 'gone') throw new Error('[fake] no box "gone"');
                  if (box === 'slow') return new Promise<number>(() => {});
                  return box.length;
                },
                ...(withLatest ? { latest: async (_o: unknown, n: number) => [{ reason: `newest ${n}` }] } : {}),
                close: async () => void closed.push(options),
              };
            },
          }
        : {}),
    };
    return { connector, made, closed };
  }

  const fakeConfig = parseConfig({
    connections: { one: { kind: 'fake', url: 'fake://a', token: 't' }, two: { kind: 'fake', url: 'fake://b' } },
    flows: {
      a: { source: { connection: 'one', box: 'abc' }, sink: { connection: 'one', box: 'gone' } },
      b: { source: { connection: 'two', box: 'slow' }, sink: { connection: 'two', box: 'de' } },
    },
  });

  it('asks one inspector per connection, made from its keys, and closes them all', async () => {
    const { connector, made, closed } = fakeConnector(true, true);
    const registry = createRegistry([connector]);
    const endpoints = configEndpoints(fakeConfig, registry);
    const byId = (id: string) => endpoints.find((e) => e.id === id)!;
    const probe = createDepthProbe({ registry, timeoutMs: 200 });
    expect(await probe.depth(byId('one/abc'))).toBe(3);
    expect(await probe.depth(byId('two/de'))).toBe(2);
    await expect(probe.depth(byId('one/gone'))).rejects.toThrow(/^no box "gone"$/);
    await expect(probe.depth(byId('two/slow'))).rejects.toThrow('box: no answer in 0.2 s');
    expect(await probe.latest(byId('one/abc'), 5)).toEqual([{ reason: 'newest 5' }]);
    expect(made).toEqual([
      { options: { url: 'fake://a', token: 't' }, clientName: 'ferry:dashboard' },
      { options: { url: 'fake://b' }, clientName: 'ferry:dashboard' },
    ]);
    await probe.close();
    expect(closed).toHaveLength(2);
  });

  it('has no latest where the inspector has none, and no depth where the connector has no inspector', async () => {
    const withoutLatest = fakeConnector(true, false);
    let registry = createRegistry([withoutLatest.connector]);
    let probe = createDepthProbe({ registry });
    const endpoint = configEndpoints(fakeConfig, registry)[0]!;
    expect(await probe.latest(endpoint, 5)).toBeUndefined();
    await probe.close();

    registry = createRegistry([fakeConnector(false, false).connector]);
    probe = createDepthProbe({ registry });
    await expect(probe.depth(endpoint)).rejects.toThrow('no depth for this connector');
    expect(await probe.latest(endpoint, 5)).toBeUndefined();
    await probe.close();
  });
});

// Against the real servers `npm test` starts, through each connector's inspector: one cheap call per count.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqpUrl = `amqp://guest:guest@${process.env.FERRY_RABBITMQ_HOST ?? '127.0.0.1'}:${process.env.FERRY_RABBITMQ_PORT ?? '5672'}`;
const clickHouseUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const names = {
  stream: `ferry.test.depth.${run}.in`,
  dlq: `ferry.test.depth.${run}.dlq`,
  queue: `ferry.test.depth.${run}`,
  missingQueue: `ferry.test.depth.${run}.missing`,
  table: `depth_${run}`,
};

const config = parseConfig({
  connections: {
    default: { kind: 'redis-stream', url: redisUrl },
    rabbit: { kind: 'rabbitmq', url: amqpUrl },
    ch: { kind: 'clickhouse', url: clickHouseUrl },
  },
  flows: {
    a: {
      source: { stream: names.stream },
      sink: { connection: 'rabbit', queue: names.queue },
      deadLetter: { stream: names.dlq },
    },
    b: { source: { stream: names.stream }, sink: { connection: 'rabbit', queue: names.missingQueue } },
    c: { source: { stream: names.stream }, sink: { connection: 'ch', table: names.table } },
    d: { source: { stream: names.stream }, sink: { connection: 'ch', table: `${names.table}_missing` } },
  },
});
const registry = createRegistry();
const endpoint = (id: string) => configEndpoints(config, registry).find((e) => e.id === id)!;
const redis = new Redis(redisUrl);
const probe = createDepthProbe({ registry });

const clickhouse = async (query: string) => {
  const res = await fetch(clickHouseUrl, { method: 'POST', body: query });
  if (!res.ok) throw new Error(await res.text());
};

afterAll(async () => {
  await probe.close();
  await redis.del(names.stream, names.dlq);
  redis.disconnect();
  const model = await amqpConnect(amqpUrl);
  const channel = await model.createChannel();
  await channel.deleteQueue(names.queue);
  await model.close();
  await clickhouse(`DROP TABLE IF EXISTS default.${names.table}`);
});

describe('the depth probe', () => {
  it('counts a stream with XLEN and reads the newest dead letters of either codec', async () => {
    for (let i = 0; i < 3; i++) await redis.xadd(names.stream, '*', 'n', String(i));
    await redis.xadd(names.dlq, '*', 'reason', 'older reason', 'sourceId', '1-0', 'rejectedAt', '2026-01-01T00:00:00Z');
    await redis.xadd(names.dlq, '*', 'data', JSON.stringify({ reason: 'newer reason', sourceId: '2-0' }));
    expect(await probe.depth(endpoint(`default/${names.stream}`))).toBe(3);
    expect(await probe.depth(endpoint(`default/${names.dlq}`))).toBe(2);
    const latest = await probe.latest(endpoint(`default/${names.dlq}`), 5);
    expect(latest?.map((l) => [l.reason, l.sourceId])).toEqual([
      ['newer reason', '2-0'],
      ['older reason', '1-0'],
    ]);
    expect(latest?.[1]?.at).toBe('2026-01-01T00:00:00Z');
  });

  it("counts a queue's messages with a passive declare, and names a queue that is not there", async () => {
    const model = await amqpConnect(amqpUrl);
    const channel = await model.createChannel();
    await channel.assertQueue(names.queue, { durable: false });
    channel.sendToQueue(names.queue, Buffer.from('{}'));
    channel.sendToQueue(names.queue, Buffer.from('{}'));
    await channel.close();
    await model.close();
    await expect.poll(() => probe.depth(endpoint(`rabbit/${names.queue}`))).toBe(2);
    await expect(probe.depth(endpoint(`rabbit/${names.missingQueue}`))).rejects.toThrow(
      `no queue '${names.missingQueue}' in vhost '/'`,
    );
    // The failed declare spent its own channel only.
    expect(await probe.depth(endpoint(`rabbit/${names.queue}`))).toBe(2);
    expect(await probe.latest(endpoint(`rabbit/${names.queue}`), 5)).toBeUndefined();
  });

  it("counts a table's rows, and says when the table is not there", async () => {
    await clickhouse(`CREATE TABLE default.${names.table} (n UInt64) ENGINE = MergeTree ORDER BY n`);
    await clickhouse(`INSERT INTO default.${names.table} VALUES (1), (2), (3), (4)`);
    expect(await probe.depth(endpoint(`ch/default.${names.table}`))).toBe(4);
    await expect(probe.depth(endpoint(`ch/default.${names.table}_missing`))).rejects.toThrow(
      /Table default\.depth_\w+_missing doesn't exist/,
    );
  });

  it('drops the connector name a message starts with', () => {
    expect(shortReason('[ferry] connect ECONNREFUSED 127.0.0.1:1')).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(shortReason("no queue 'q' in vhost '/'")).toBe("no queue 'q' in vhost '/'");
  });
});
