import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { ConnectionError, type RecordValue } from '@ferry/core';
import { redisUrl, sampleValues, testSource, uniqueName } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSource, encodeFields, encodeJson } from './index.js';

let admin: Redis;
const streams: string[] = [];

beforeAll(async () => {
  admin = new Redis(redisUrl());
  await admin.ping();
});
afterEach(async () => {
  if (streams.length > 0) await admin.del(...streams.splice(0));
});
afterAll(async () => {
  await admin.quit();
});

function stream(): string {
  const name = uniqueName('ferry.test.source');
  streams.push(name);
  return name;
}

async function seedFields(name: string, values: readonly RecordValue[]): Promise<string[]> {
  const replies = await admin.pipeline(values.map((value) => ['xadd', name, '*', ...encodeFields(value)])).exec();
  return (replies ?? []).map(([, id]) => id as string);
}

const seed = async (ctx: { name: string }, values: readonly RecordValue[]) => {
  await seedFields(ctx.name, values);
};
const count = (ctx: { name: string }) => admin.xlen(ctx.name);
const cleanup = async (ctx: { name: string }) => {
  await admin.del(ctx.name);
};

testSource({
  name: 'redis-stream source, range mode (contract)',
  create: (ctx) => createRedisStreamSource({ url: redisUrl(), stream: ctx.name, connectionName: 'test' }),
  seed,
  count,
  cleanup,
});

testSource({
  name: 'redis-stream source, group mode (contract)',
  // One consumer name per test target: a new instance is the same worker restarted.
  create: (ctx) =>
    createRedisStreamSource({ url: redisUrl(), stream: ctx.name, mode: 'group', consumer: `${ctx.name}-c` }),
  seed,
  count,
  cleanup,
});

testSource({
  name: 'redis-stream source, json codec (contract)',
  create: (ctx) => createRedisStreamSource({ url: redisUrl(), stream: ctx.name, codec: 'json', field: 'doc' }),
  seed: async (ctx, values) => {
    await admin.pipeline(values.map((value) => ['xadd', ctx.name, '*', ...encodeJson(value, 'doc')])).exec();
  },
  count,
  cleanup,
});

describe('redis-stream source, group mode', () => {
  const open = async (options: Record<string, unknown>) => {
    const source = createRedisStreamSource({ url: redisUrl(), mode: 'group', ...options });
    await source.open();
    return source;
  };

  it('takes over entries a killed consumer left pending, once they are idle for claimIdleMs', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(3));
    const a = await open({ stream: name, consumer: 'A', claimIdleMs: 200 });
    expect((await a.read(10, { waitMs: 0 })).records.map((r) => r.id)).toEqual(ids);
    await a.close(); // never acked: the entries stay pending on A

    const b = await open({ stream: name, consumer: 'B', claimIdleMs: 200 });
    try {
      // Nothing new to read, but A's entries are pending: the read waits until they can be claimed.
      const taken = await b.read(10, { waitMs: 0 });
      expect(taken.records.map((r) => r.id)).toEqual(ids);
      expect(taken.records.every((r) => r.redelivered)).toBe(true);
      expect(taken.records.map((r) => r.value.n)).toEqual([0n, 1n, 2n]);
      await b.ack(taken);
      expect(await admin.xlen(name)).toBe(0);
      expect(((await admin.xpending(name, 'ferry')) as unknown[])[0]).toBe(0);
    } finally {
      await b.close();
    }
  });

  /** A pid that ran on this host and has exited. */
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    return Number(child.stdout);
  };

  it("takes over at open a dead process's entries under a default consumer name (host-pid), without waiting", async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(8));
    const gone = `${hostname()}-${deadPid()}`;
    await admin.xgroup('CREATE', name, 'ferry', '0');
    await admin.xreadgroup('GROUP', 'ferry', gone, 'COUNT', 5, 'STREAMS', name, '>');
    const b = await open({ stream: name, claimIdleMs: 600_000 });
    try {
      const started = Date.now();
      const taken = await b.read(10, { waitMs: 0 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(taken.records.map((r) => r.id)).toEqual(ids.slice(0, 5));
      expect(taken.records.every((r) => r.redelivered)).toBe(true);
      await b.ack(taken);
      expect((await b.read(10, { waitMs: 0 })).records.map((r) => r.id)).toEqual(ids.slice(5));
      const consumers = (await admin.call('XINFO', 'CONSUMERS', name, 'ferry')) as unknown[][];
      expect(consumers.map((c) => c[1])).not.toContain(gone);
    } finally {
      await b.close();
    }
  });

  it('leaves alone the entries of a consumer that may be alive, and stops as empty once it acks them', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(3));
    await admin.xgroup('CREATE', name, 'ferry', '0');
    // A live process of this host (the test runner's parent), and a consumer of another host.
    const alive = `${hostname()}-${process.ppid}`;
    await admin.xreadgroup('GROUP', 'ferry', alive, 'COUNT', 2, 'STREAMS', name, '>');
    await admin.xreadgroup('GROUP', 'ferry', 'elsewhere-12345', 'COUNT', 1, 'STREAMS', name, '>');
    const b = await open({ stream: name, claimIdleMs: 600_000 });
    try {
      const acked = new Promise((resolve) => setTimeout(resolve, 400)).then(() => admin.xack(name, 'ferry', ...ids));
      const started = Date.now();
      const batch = await b.read(10, { waitMs: 0 });
      await acked;
      expect(batch.records).toHaveLength(0);
      // It did not say empty while the entries were pending, nor take them.
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      const pending = (await admin.xpending(name, 'ferry')) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    } finally {
      await b.close();
    }
  });

  it('takes over from a consumer whose connection just dropped (no quit)', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(2));
    const client = new Redis(redisUrl(), { lazyConnect: true });
    const a = createRedisStreamSource({ client, stream: name, mode: 'group', consumer: 'A', claimIdleMs: 200 });
    await a.open();
    await a.read(10, { waitMs: 0 });
    client.disconnect();
    const b = await open({ stream: name, consumer: 'B', claimIdleMs: 200 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const taken = await b.read(10, { waitMs: 0 });
      expect(taken.records.map((r) => r.id)).toEqual(ids);
      await b.ack(taken);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('redelivers its own pending entries first after a restart with the same consumer name', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(5));
    const first = await open({ stream: name, consumer: 'worker-1' });
    expect((await first.read(2, { waitMs: 0 })).records.map((r) => r.id)).toEqual(ids.slice(0, 2));
    await first.close();
    const again = await open({ stream: name, consumer: 'worker-1' });
    try {
      const pending = await again.read(10, { waitMs: 0 });
      expect(pending.records.map((r) => r.id)).toEqual(ids.slice(0, 2));
      await again.ack(pending);
      const fresh = await again.read(10, { waitMs: 0 });
      expect(fresh.records.map((r) => r.id)).toEqual(ids.slice(2));
    } finally {
      await again.close();
    }
  });

  it('hands out pending entries once when a batch is still in flight', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(4));
    const first = await open({ stream: name, consumer: 'w' });
    await first.read(10, { waitMs: 0 });
    await first.close();
    const again = await open({ stream: name, consumer: 'w' });
    try {
      const one = await again.read(2, { waitMs: 0 });
      const two = await again.read(2, { waitMs: 0 });
      expect([...one.records, ...two.records].map((r) => r.id)).toEqual(ids);
      expect((await again.read(2, { waitMs: 0 })).records).toHaveLength(0);
    } finally {
      await again.close();
    }
  });

  it('keep: true acknowledges but leaves the entries in the stream', async () => {
    const name = stream();
    await seedFields(name, sampleValues(3));
    const source = await open({ stream: name, keep: true });
    try {
      await source.ack(await source.read(10, { waitMs: 0 }));
      expect(await admin.xlen(name)).toBe(3);
      expect(((await admin.xpending(name, 'ferry')) as unknown[])[0]).toBe(0);
      expect((await source.read(10, { waitMs: 0 })).records).toHaveLength(0);
    } finally {
      await source.close();
    }
  });

  it('startId "$" skips what is already there; an existing group is reused', async () => {
    const name = stream();
    await seedFields(name, sampleValues(2));
    const source = await open({ stream: name, group: 'late', startId: '$' });
    const reused = await open({ stream: name, group: 'late', startId: '$', consumer: 'other' });
    try {
      expect((await source.read(10, { waitMs: 0 })).records).toHaveLength(0);
      const [id] = await seedFields(name, sampleValues(1, 'new'));
      expect((await source.read(10, { waitMs: 0 })).records.map((r) => r.id)).toEqual([id]);
    } finally {
      await source.close();
      await reused.close();
    }
  });

  it('acknowledges away pending entries whose data was deleted', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(3));
    const source = await open({ stream: name, consumer: 'w' });
    try {
      const batch = await source.read(10, { waitMs: 0 });
      await admin.xdel(name, ids[1]!);
      await source.release(batch);
      const again = await source.read(10, { waitMs: 0 });
      expect(again.records.map((r) => r.id)).toEqual([ids[0], ids[2]]);
      await source.ack(again);
      expect(((await admin.xpending(name, 'ferry')) as unknown[])[0]).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('an entry the json codec cannot decode comes back rejected with its reason; released, it stays pending', async () => {
    const name = stream();
    await admin.xadd(name, '*', 'data', '{"ok":1}');
    const bad = await admin.xadd(name, '*', 'data', 'not json');
    const source = await open({ stream: name, codec: 'json' });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const batch = await source.read(10, { waitMs: 0 });
        expect(batch.records.map((r) => r.value)).toEqual([{ ok: 1n }]);
        expect(batch.rejected).toHaveLength(1);
        expect(batch.rejected![0]).toMatchObject({ id: bad });
        expect(batch.rejected![0]!.reason).toMatch(/^entry of stream ".*" cannot be decoded: field "data" is not JSON/);
        expect(Buffer.from(batch.rejected![0]!.raw).toString()).toBe('["data","not json"]');
        await source.release(batch);
      }
      expect(((await admin.xpending(name, 'ferry')) as unknown[])[0]).toBe(2);
      expect(await admin.xlen(name)).toBe(2);
      // Acked (after the pump dead-lettered it), the rejected entry goes with its batch.
      await source.ack(await source.read(10, { waitMs: 0 }));
      expect(await admin.xlen(name)).toBe(0);
    } finally {
      await source.close();
    }
  });
});

describe('redis-stream source, group mode poison', () => {
  it('hands an entry over as rejected once the group has delivered it maxDeliveries times', async () => {
    const name = stream();
    const ids = await seedFields(name, [{ n: 1 }, { poison: true }, { n: 3 }]);
    const source = createRedisStreamSource({
      url: redisUrl(),
      stream: name,
      mode: 'group',
      maxDeliveries: 3,
      consumer: 'c1',
    });
    await source.open();
    try {
      for (let delivery = 1; delivery < 3; delivery++) {
        const batch = await source.read(10, { waitMs: 0 });
        expect(batch.records.map((r) => r.id)).toEqual(ids);
        expect(batch.rejected).toBeUndefined();
        await source.release(batch);
      }
      const third = await source.read(10, { waitMs: 0 });
      expect(third.records).toHaveLength(0);
      expect(third.rejected!.map((r) => [r.id, r.attempts, r.reason])).toEqual(
        ids.map((id) => [id, 3, 'delivered 3 times without being acknowledged (maxDeliveries 3)']),
      );
      await source.ack(third);
      expect(await admin.xlen(name)).toBe(0);
    } finally {
      await source.close();
    }
  });
});

describe('redis-stream source, range mode', () => {
  it('release gives back the same ids; ack deletes exactly the batch', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(5));
    const source = createRedisStreamSource({ url: redisUrl(), stream: name });
    await source.open();
    try {
      const batch = await source.read(3, { waitMs: 0 });
      await source.release(batch);
      const again = await source.read(3, { waitMs: 0 });
      expect(again.records.map((r) => r.id)).toEqual(ids.slice(0, 3));
      await source.ack(again);
      expect((await admin.xrange(name, '-', '+')).map(([id]) => id)).toEqual(ids.slice(3));
    } finally {
      await source.close();
    }
  });

  it('ack deletes only the batch when the head of the stream changed under it', async () => {
    const name = stream();
    const ids = await seedFields(name, sampleValues(6));
    const source = createRedisStreamSource({ url: redisUrl(), stream: name });
    await source.open();
    try {
      const batch = await source.read(3, { waitMs: 0 });
      // An operator deletes the first entry of the batch, then the batch is acked:
      // the trim must not reach past the batch, and nothing unread may go.
      await admin.xdel(name, ids[0]!);
      await source.ack(batch);
      expect((await admin.xrange(name, '-', '+')).map(([id]) => id)).toEqual(ids.slice(3));
      const next = await source.read(10, { waitMs: 0 });
      await source.ack(next);
      expect(await admin.xlen(name)).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('an entry the json codec cannot decode comes back rejected, and nothing is deleted until the ack', async () => {
    const name = stream();
    await admin.xadd(name, '*', 'data', '{"ok":1}');
    const bad = await admin.xadd(name, '*', 'data', '[1,2]');
    const other = await admin.xadd(name, '*', 'other', '{}');
    const source = createRedisStreamSource({ url: redisUrl(), stream: name, codec: 'json' });
    await source.open();
    try {
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records).toHaveLength(1);
      expect(batch.rejected!.map((r) => r.id)).toEqual([bad, other]);
      expect(batch.rejected![0]!.reason).toMatch(/holds an array, not a JSON object/);
      expect(batch.rejected![1]!.reason).toMatch(/field "data" is missing/);
      expect(await admin.xlen(name)).toBe(3);
      await source.ack(batch);
      expect(await admin.xlen(name)).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('records carry the entry id, the decoded value and the bytes read', async () => {
    const name = stream();
    const id = await admin.xadd(name, '*', 'a', '1', 'b', 'text', '_source_id', 'up-1');
    const source = createRedisStreamSource({ url: redisUrl(), stream: name });
    await source.open();
    try {
      const [record] = (await source.read(10, { waitMs: 0 })).records;
      expect(record).toMatchObject({
        id,
        value: { a: '1', b: 'text', _source_id: 'up-1' },
        bytes: 1 + 1 + 1 + 4 + 10 + 4,
      });
    } finally {
      await source.close();
    }
  });
});

describe('redis-stream source, connection', () => {
  it('an unreachable server gives a prompt ConnectionError naming host:port and connection', async () => {
    const source = createRedisStreamSource({ url: 'redis://127.0.0.1:1', stream: 's', connectionName: 'default' });
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = Date.now();
      const error = await source.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).transient).toBe(true);
      expect((error as Error).message).toMatch(
        /^\[redis-stream\] cannot reach 127\.0\.0\.1:1 \(connection "default"\): .*ECONNREFUSED/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    }
    const started = Date.now();
    await source.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('never shows the password of the url', async () => {
    const source = createRedisStreamSource({ url: 'redis://user:s3cret@127.0.0.1:1', stream: 's' });
    const error = await source.open().catch((e: unknown) => e);
    expect((error as Error).message).not.toContain('s3cret');
    await source.close();
  });

  it('opens again after a failed open, once the server is reachable', async () => {
    const name = stream();
    let calls = 0;
    const client = new Redis(redisUrl(), { lazyConnect: true });
    const source = createRedisStreamSource({
      client: () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return client;
      },
      stream: name,
    });
    await expect(source.open()).rejects.toBeInstanceOf(ConnectionError);
    await source.open();
    expect((await source.read(1, { waitMs: 0 })).records).toHaveLength(0);
    await source.close();
    // A client passed in belongs to its owner: close() leaves it open.
    expect(client.status).toBe('ready');
    await client.quit();
  });

  it('a client lost mid-flow turns into a transient ConnectionError', async () => {
    const name = stream();
    const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const source = createRedisStreamSource({ client, stream: name });
    await source.open();
    client.disconnect();
    const error = await source.read(10, { waitMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/during XRANGE on stream/);
    await source.close();
  });
});
