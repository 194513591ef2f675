import { isTransient } from '@ferry/core';
import { redisUrl, uniqueName } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamClient } from './redis-stream-client.js';
import { cutConnection } from './redis-stream-internals.js';

let admin: Redis;

beforeAll(async () => {
  admin = new Redis(redisUrl());
  await admin.ping();
});
afterAll(async () => {
  await admin.quit();
});

/** Counts once, after keeping the server busy for `ms`: long enough to drop the connection while it runs. */
const slowIncrement = `
local started = redis.call('TIME')
local deadline = tonumber(started[1]) * 1000000 + tonumber(started[2]) + tonumber(ARGV[1]) * 1000
repeat local now = redis.call('TIME') until tonumber(now[1]) * 1000000 + tonumber(now[2]) >= deadline
return redis.call('INCR', KEYS[1])
`;

describe('redis-stream connection', () => {
  it('fails a command whose connection dropped before the reply, instead of sending it again after reconnecting', async () => {
    const key = uniqueName('ferry.test.client');
    const client = new RedisStreamClient({ url: redisUrl(), stream: key });
    const redis = await client.open();
    try {
      const counted = client.call('EVAL', () => redis.eval(slowIncrement, 1, key, 300));
      // The script is running on the server: drop the socket under it, as a network cut would.
      await new Promise((resolve) => setTimeout(resolve, 50));
      cutConnection(redis);
      const error = await counted.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(isTransient(error)).toBe(true);
      expect(String(error)).toMatch(/before the reply came/);
      // The script ran once: the driver did not run it again on the new connection.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await admin.get(key)).toBe('1');
      // And the client goes on over its new connection.
      expect(await client.call('PING', () => redis.ping())).toBe('PONG');
    } finally {
      await client.close();
      await admin.del(key);
    }
  });
});
