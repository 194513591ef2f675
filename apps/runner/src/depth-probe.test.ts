import { randomBytes } from 'node:crypto';
import { parseConfig } from '@ferry/core';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { configEndpoints } from './config-endpoints.js';
import { createDepthProbe, shortReason } from './depth-probe.js';

// Against the real servers `npm test` starts: one call of each system's own client per count.
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
const endpoint = (id: string) => configEndpoints(config).find((e) => e.id === id)!;
const redis = new Redis(redisUrl);
const probe = createDepthProbe();

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

  it('keeps the part of a driver message an operator acts on', () => {
    expect(
      shortReason(
        `Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue 'q' in vhost '/'"`,
      ),
    ).toBe("no queue 'q' in vhost '/'");
    expect(
      shortReason(
        "HTTP 404: Code: 60, e.displayText() = DB::Exception: Table default.t doesn't exist., e.what() = DB::Exception",
      ),
    ).toBe("Table default.t doesn't exist.");
    expect(shortReason('[ferry] connect ECONNREFUSED 127.0.0.1:1')).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });
});
