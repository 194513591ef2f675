import type { Inspector } from '@ferry/core';
import { redisUrl, tcpRelay, uniqueName, unusedPort, writeDeadLetters } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSink, redisStreamConnector } from './index.js';

let admin: Redis;
const inspectors: Inspector[] = [];
const streams: string[] = [];
const settings = { timeoutMs: 3000, clientName: 'ferry:inspect-test' };

const inspector = (url = redisUrl()): Inspector => {
  const opened = redisStreamConnector.inspect!({ kind: 'redis-stream', url }, settings);
  inspectors.push(opened);
  return opened;
};
const stream = (): string => {
  const name = uniqueName('ferry.test.inspect');
  streams.push(name);
  return name;
};
/** A URL on the test server with a user and password of `credentials`, e.g. `nobody:wrong`. */
const withCredentials = (credentials: string): string => redisUrl().replace('redis://', `redis://${credentials}@`);

beforeAll(async () => {
  admin = new Redis(redisUrl());
  await admin.ping();
});
afterAll(async () => {
  await Promise.all(inspectors.map((i) => i.close()));
  if (streams.length > 0) await admin.del(...streams);
  await admin.quit();
});

describe('redis-stream inspect', () => {
  it("probes the server: its version, under the inspector's client name", async () => {
    const probe = inspector();
    const found = await probe.probe();
    expect(found.version).toBe(/redis_version:(\S+)/.exec(await admin.info('server'))?.[1]);
    expect(found.detail).toBe('reachable, PING and INFO answered');
    expect(await admin.client('LIST')).toContain('name=ferry:inspect-test ');
  });

  it('says credentials refused for a wrong user or password, unreachable for a port nothing listens on', async () => {
    await expect(inspector(withCredentials('nobody:wrong')).probe()).rejects.toThrow(/^credentials refused: WRONGPASS/);
    const nothing = `redis://127.0.0.1:${await unusedPort()}`;
    await expect(inspector(nothing).probe()).rejects.toThrow(/^unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('forgets a failed connect: the next question connects again', async () => {
    const port = await unusedPort();
    const probe = inspector(`redis://127.0.0.1:${port}`);
    await expect(probe.depth({ url: `redis://127.0.0.1:${port}`, stream: 'x' })).rejects.toThrow(/^unreachable: /);
    const relay = await tcpRelay(port, Number(new URL(redisUrl()).port || 6379));
    try {
      expect((await probe.probe()).version).toMatch(/^\d+\.\d+/);
    } finally {
      await probe.close();
      await relay.close();
    }
  });

  it("counts a stream's entries, for a source's options or a sink's", async () => {
    const name = stream();
    const probe = inspector();
    for (let i = 0; i < 3; i++) await admin.xadd(name, '*', 'n', String(i));
    expect(await admin.xlen(name)).toBe(3);
    expect(await probe.depth({ kind: 'redis-stream', url: redisUrl(), stream: name, mode: 'group' })).toBe(3);
    expect(await probe.depth({ kind: 'redis-stream', url: redisUrl(), stream: name, maxLen: 10 })).toBe(3);
    expect(await probe.depth({ url: redisUrl(), stream: `${name}.none` })).toBe(0);
    await expect(probe.depth({ url: redisUrl() })).rejects.toThrow(/invalid source options[\s\S]*stream/);
  });

  for (const codec of ['fields', 'json'] as const) {
    it(`reads the newest dead letters as the pump writes them with the ${codec} codec, without taking them`, async () => {
      const name = stream();
      const options = { url: redisUrl(), stream: name, codec, ...(codec === 'json' ? { field: 'letter' } : {}) };
      const before = new Date().toISOString();
      const ids = await writeDeadLetters(createRedisStreamSink(options), ['older reason', 'middle', 'newer reason']);
      const probe = inspector();
      const latest = await probe.latest!(options, 2);
      expect(latest.map((l) => [l.reason, l.sourceId])).toEqual([
        ['newer reason', ids[2]],
        ['middle', ids[1]],
      ]);
      const entries = await admin.xrevrange(name, '+', '-', 'COUNT', 2);
      expect(latest.map((l) => l.id)).toEqual(entries.map(([id]) => id));
      expect(latest[0]!.at! >= before && latest[0]!.at! <= new Date().toISOString()).toBe(true);
      expect(await probe.depth(options)).toBe(3);
      expect(await admin.xlen(name)).toBe(3);
    });
  }

  it('shows an entry without a reason as such, and the text fields of one written by hand', async () => {
    const name = stream();
    await admin.xadd(name, '*', 'reason', 'by hand', 'sourceId', '1-0', 'rejectedAt', '2026-01-01T00:00:00Z');
    await admin.xadd(name, '*', 'data', 'not json');
    const latest = await inspector().latest!({ url: redisUrl(), stream: name }, 5);
    expect(latest.map(({ id: _, ...rest }) => rest)).toEqual([
      { reason: '(no reason recorded)' },
      { reason: 'by hand', sourceId: '1-0', at: '2026-01-01T00:00:00Z' },
    ]);
  });
});
