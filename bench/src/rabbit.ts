import { createRabbitMqSink, createRabbitMqSource } from '@ferry/rabbitmq';
import {
  addEntriesScript,
  createRedisStreamSink,
  createRedisStreamSource,
  decodeFields,
  encodeFields,
  scriptChunk,
} from '@ferry/redis-stream';
import amqp, { type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import {
  type BenchCase,
  type BenchContext,
  checkMoved,
  type PreparedCase,
  type Timed,
  timedPump,
} from './bench-case.js';
import { seedStream, trimBelow } from './s2s.js';

const amqpUrl = () => process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefetch = (batchSize: number) => batchSize * 2;
/** How long a consumer waits after the first message of a batch for the batch to fill (the source's linger). */
const lingerMs = 50;

/** Publishes and waits for the confirms, honouring the channel's flow control, as the sink does. */
async function publishAll(channel: ConfirmChannel, queue: string, bodies: Buffer[], ids: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i++) {
    const ok = channel.publish('', queue, bodies[i]!, {
      persistent: true,
      messageId: ids[i]!,
      contentType: 'application/json',
      headers: { 'x-ferry-source-id': ids[i]! },
    });
    if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
  }
  await channel.waitForConfirms();
}

async function seedQueue(channel: ConfirmChannel, queue: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const bodies: Buffer[] = [];
    const ids: string[] = [];
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      bodies.push(Buffer.from(JSON.stringify({ task: `task-${i}`, n: i, text: 'hello from the bench' })));
      ids.push(`m-${i}`);
    }
    await publishAll(channel, queue, bodies, ids);
  }
}

/**
 * A hand-written consumer loop: prefetch, gather up to a batch or the linger
 * time, hand the batch over, ack it (multiple) once handled. Resolves when
 * `expected` messages were handled.
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

async function drainQueue(channel: Channel, queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

interface Env {
  readonly ctx: BenchContext;
  readonly redis: Redis;
  readonly connection: amqp.ChannelModel;
  readonly channel: ConfirmChannel;
  name(role: string): string;
}

async function environment(ctx: BenchContext, edge: string): Promise<Env> {
  const redis = new Redis(ctx.redisUrl);
  const connection = await amqp.connect(amqpUrl());
  const channel = await connection.createConfirmChannel();
  return {
    ctx,
    redis,
    connection,
    channel,
    name: (role) => `ferry.bench.${edge}.${process.pid}.${ctx.round}.${role}`,
  };
}

async function freshQueue(env: Env, role: string): Promise<string> {
  const queue = env.name(role);
  await env.channel.assertQueue(queue, { durable: true });
  await env.channel.purgeQueue(queue);
  return queue;
}

function prepared(env: Env, pump: () => Promise<Timed>, loop: () => Promise<Timed>): PreparedCase {
  return {
    pump,
    loop,
    async close() {
      await env.connection.close();
      await env.redis.quit();
    },
  };
}

export const s2q: BenchCase = {
  edge: 'S2Q',
  defaultRecords: 100_000,
  async prepare(ctx) {
    const env = await environment(ctx, 's2q');
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = env.name(`${side}-in`);
      const to = await freshQueue(env, `${side}-out`);
      await env.redis.del(from);
      await seedStream(env.redis, from, ctx.records);
      const timed = await move(from, to);
      checkMoved('S2Q', ctx.records, timed.records, await env.redis.xlen(from), await drainQueue(env.channel, to));
      await env.channel.deleteQueue(to);
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createRedisStreamSource({ url: ctx.redisUrl, stream: from }),
            createRabbitMqSink({ url: amqpUrl(), queue: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          const started = performance.now();
          let moved = 0;
          for (;;) {
            const entries = await env.redis.xrange(from, '-', '+', 'COUNT', ctx.batchSize);
            if (entries.length === 0) break;
            const bodies = entries.map(([, fields]) => Buffer.from(JSON.stringify(decodeFields(fields))));
            await publishAll(
              env.channel,
              to,
              bodies,
              entries.map(([id]) => id),
            );
            await trimBelow(env.redis, from, entries[entries.length - 1]![0]);
            moved += entries.length;
          }
          return { records: moved, seconds: (performance.now() - started) / 1000 };
        }),
    );
  },
};

export const q2s: BenchCase = {
  edge: 'Q2S',
  defaultRecords: 100_000,
  async prepare(ctx) {
    const env = await environment(ctx, 'q2s');
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = await freshQueue(env, `${side}-in`);
      const to = env.name(`${side}-out`);
      await env.redis.del(to);
      await seedQueue(env.channel, from, ctx.records);
      const timed = await move(from, to);
      checkMoved('Q2S', ctx.records, timed.records, await drainQueue(env.channel, from), await env.redis.xlen(to));
      await env.channel.deleteQueue(from);
      await env.redis.del(to);
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createRabbitMqSource({ url: amqpUrl(), queue: from }),
            createRedisStreamSink({ url: ctx.redisUrl, stream: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          const started = performance.now();
          const channel = await env.connection.createChannel();
          const moved = await consumeBatches(channel, from, ctx.batchSize, ctx.records, async (messages) => {
            const pipeline = env.redis.pipeline();
            for (let start = 0; start < messages.length; start += scriptChunk) {
              const args: (string | number | Buffer)[] = [addEntriesScript, 1, to, ''];
              for (const message of messages.slice(start, start + scriptChunk)) {
                const fields = encodeFields(JSON.parse(message.content.toString()));
                args.push(fields.length + 2, ...fields, '_source_id', message.properties.messageId as string);
              }
              pipeline.call('EVAL', ...args);
            }
            for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
          });
          const seconds = (performance.now() - started) / 1000;
          await channel.close();
          return { records: moved, seconds };
        }),
    );
  },
};

export const q2q: BenchCase = {
  edge: 'Q2Q',
  defaultRecords: 100_000,
  async prepare(ctx) {
    const env = await environment(ctx, 'q2q');
    const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
      const from = await freshQueue(env, `${side}-in`);
      const to = await freshQueue(env, `${side}-out`);
      await seedQueue(env.channel, from, ctx.records);
      const timed = await move(from, to);
      checkMoved(
        'Q2Q',
        ctx.records,
        timed.records,
        await drainQueue(env.channel, from),
        await drainQueue(env.channel, to),
      );
      await env.channel.deleteQueue(from);
      await env.channel.deleteQueue(to);
      return timed;
    };
    return prepared(
      env,
      () =>
        run('pump', (from, to) =>
          timedPump(
            createRabbitMqSource({ url: amqpUrl(), queue: from }),
            createRabbitMqSink({ url: amqpUrl(), queue: to }),
            ctx.batchSize,
          ),
        ),
      () =>
        run('loop', async (from, to) => {
          const started = performance.now();
          const channel = await env.connection.createChannel();
          const out = await env.connection.createConfirmChannel();
          const moved = await consumeBatches(channel, from, ctx.batchSize, ctx.records, async (messages) => {
            const bodies = messages.map((m) => Buffer.from(JSON.stringify(JSON.parse(m.content.toString()))));
            await publishAll(
              out,
              to,
              bodies,
              messages.map((m) => m.properties.messageId as string),
            );
          });
          const seconds = (performance.now() - started) / 1000;
          await channel.close();
          await out.close();
          return { records: moved, seconds };
        }),
    );
  },
};
