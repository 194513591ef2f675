import { createMemorySink, createPump, type PumpResult, type Sink, type Source, withFree } from '@ferry/core';
import { redisUrl, uniqueName } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSink, createRedisStreamSource, directMoveScript } from './index.js';
import { cutConnection } from './redis-stream-internals.js';

let admin: Redis;
let adminDb1: Redis;
const keys: string[] = [];
const keysDb1: string[] = [];

beforeAll(async () => {
  admin = new Redis(redisUrl());
  adminDb1 = new Redis(redisUrl(), { db: 1 });
  await Promise.all([admin.ping(), adminDb1.ping()]);
});
afterEach(async () => {
  if (keys.length > 0) await admin.del(...keys.splice(0));
  if (keysDb1.length > 0) await adminDb1.del(...keysDb1.splice(0));
});
afterAll(async () => {
  await Promise.all([admin.quit(), adminDb1.quit()]);
});

function stream(label: string): string {
  const name = uniqueName(`ferry.test.direct.${label}`);
  keys.push(name);
  return name;
}

/** Entry `i` of a mixed seed: text, numbers, JSON-looking text, UTF-8, bytes that are not UTF-8. */
function mixedFields(i: number): (string | Buffer)[] {
  const fields: (string | Buffer)[] = ['n', String(i), 'text', `message ${i}`, 'json', '{"a":[1,2]}'];
  if (i % 3 === 0) fields.push('utf8', `héllo ✓ 𝄞 ${i}`);
  if (i % 4 === 0) fields.push('bin', Buffer.from([0xff, 0xfe, 0x00, i & 0xff, 0xc3, 0x28]));
  if (i % 7 === 0) fields.push('empty', '');
  if (i % 11 === 0) fields.push(Buffer.from([0x80, 0x81]), 'a field name that is not UTF-8');
  return fields;
}

/** `mixedFields`, every fifth entry with a source id an earlier hop left. */
function carryingFields(i: number): (string | Buffer)[] {
  return i % 5 === 0 ? [...mixedFields(i), '_source_id', 'from-an-earlier-hop'] : mixedFields(i);
}

/** Seeds a stream with explicit ids `1-1`, `1-2`…, so that two streams can hold the very same entries. */
async function seed(name: string, count: number, fields: (i: number) => (string | Buffer)[] = mixedFields) {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const pipeline = admin.pipeline();
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      ids.push(`1-${i + 1}`);
      pipeline.xadd(name, `1-${i + 1}`, ...fields(i));
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
  return ids;
}

/** Every entry's fields as bytes, oldest first. */
async function fieldsOf(redis: Redis, name: string): Promise<Buffer[][]> {
  return (await redis.xrangeBuffer(name, '-', '+')).map(([, fields]) => fields);
}

async function sourceIds(redis: Redis, name: string): Promise<string[]> {
  return (await redis.xrange(name, '-', '+')).map(([, fields]) => fields[fields.lastIndexOf('_source_id') + 1]!);
}

const url = redisUrl();

function pump(source: Source, sink: Sink, extra: { batchSize?: number; whenFull?: 'wait' | 'stop' } = {}) {
  return createPump({ source, sink, batchSize: extra.batchSize ?? 1000, whenFull: extra.whenFull }).run();
}

describe('the same-server move (S2S on one Redis)', () => {
  it('writes byte for byte what the usual read, write, ack writes, and leaves the source empty', async () => {
    const [fastIn, fastOut, usualIn, usualOut] = [stream('in'), stream('out'), stream('in'), stream('out')];
    const ids = await seed(fastIn, 2345);
    await seed(usualIn, 2345);

    const fast = await pump(
      createRedisStreamSource({ url, stream: fastIn }),
      createRedisStreamSink({ url, stream: fastOut }),
    );
    const usual = await pump(
      createRedisStreamSource({ url, stream: usualIn, direct: false }),
      createRedisStreamSink({ url, stream: usualOut }),
    );

    expect(fast).toMatchObject({ records: 2345, batches: 3, stopReason: 'empty', direct: 'same-server script' });
    expect(usual).toMatchObject({ records: 2345, batches: 3, stopReason: 'empty' });
    expect(usual.direct).toBeUndefined();
    // The same byte count: the length of every field name and value, in bytes.
    expect(fast.bytes).toBe(usual.bytes);

    expect(await admin.xlen(fastIn)).toBe(0);
    const fastFields = await fieldsOf(admin, fastOut);
    expect(fastFields).toEqual(await fieldsOf(admin, usualOut));
    // The entries in their order, each with its source id last.
    expect(await sourceIds(admin, fastOut)).toEqual(ids);
    expect(fastFields[5]!.map(String)).toEqual([
      'n',
      '5',
      'text',
      'message 5',
      'json',
      '{"a":[1,2]}',
      '_source_id',
      '1-6',
    ]);
    expect(fastFields[4]![7]).toEqual(Buffer.from([0xff, 0xfe, 0x00, 4, 0xc3, 0x28]));
  });

  it('counts the bytes of field names and values as Redis holds them', async () => {
    const [from, to] = [stream('in'), stream('out')];
    await seed(from, 2, () => ['é', Buffer.from([0xff]), 'k', '𝄞']);
    const result = await pump(
      createRedisStreamSource({ url, stream: from }),
      createRedisStreamSink({ url, stream: to }),
    );
    expect(result).toMatchObject({ records: 2, direct: 'same-server script' });
    // é is 2 bytes, the byte 1, k 1, 𝄞 4: 8 per entry.
    expect(result.bytes).toBe(16);
  });

  it('keeps to the target maxLen: stops when full, the rest stays at the source in order', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const ids = await seed(from, 4000);
    const result = await pump(
      createRedisStreamSource({ url, stream: from }),
      createRedisStreamSink({ url, stream: to, maxLen: 2500 }),
      { whenFull: 'stop' },
    );
    expect(result).toMatchObject({ records: 2500, batches: 3, stopReason: 'full', direct: 'same-server script' });
    expect(await sourceIds(admin, to)).toEqual(ids.slice(0, 2500));
    expect((await admin.xrange(from, '-', '+')).map(([id]) => id)).toEqual(ids.slice(2500));
  });

  it("goes through a wrapper that forwards the sink's directTarget, with the wrapper's rule for room", async () => {
    const [from, to] = [stream('in'), stream('out')];
    const ids = await seed(from, 3000);
    const sink = createRedisStreamSink({ url, stream: to, maxLen: 100_000 });
    // Room only for whole batches while fewer than 1200 entries are there: the rule of core's withFree caller.
    const wrapped = withFree(sink, async () => ((await admin.xlen(to)) < 1200 ? sink.free() : 0));
    const result = await pump(createRedisStreamSource({ url, stream: from }), wrapped, { whenFull: 'stop' });
    expect(result).toMatchObject({ records: 2000, batches: 2, stopReason: 'full', direct: 'same-server script' });
    expect(await sourceIds(admin, to)).toEqual(ids.slice(0, 2000));
  });

  it('moves at most the number asked and no more than the target has room for, as the usual path past free()', async () => {
    const [from, to, usualIn, usualOut] = [stream('in'), stream('out'), stream('in'), stream('out')];
    await seed(from, 1200);
    await seed(usualIn, 1200);
    const source = createRedisStreamSource({ url, stream: from });
    const sink = createRedisStreamSink({ url, stream: to, maxLen: 150, trim: true });
    await source.open();
    await sink.open();
    const direct = source.directTo!(sink)!;
    expect(direct.name).toBe('same-server script');
    expect(await direct.move(7)).toMatchObject({ records: 7 });
    expect(await admin.xlen(from)).toBe(1193);
    expect(await direct.move(1000)).toMatchObject({ records: 143 });
    expect(await direct.move(1000)).toEqual({ records: 0, bytes: 0, full: true });
    expect(await admin.xlen(from)).toBe(1050);
    await source.close();
    await sink.close();

    // The usual path: read what free() leaves room for, write (XADD with MAXLEN ~), ack.
    const usualSource = createRedisStreamSource({ url, stream: usualIn, direct: false });
    const usualSink = createRedisStreamSink({ url, stream: usualOut, maxLen: 150, trim: true });
    await usualSource.open();
    await usualSink.open();
    for (const n of [7, 1000]) {
      const batch = await usualSource.read(Math.min(n, await usualSink.free()), { waitMs: 0 });
      await usualSink.write(batch.records);
      await usualSource.ack(batch);
    }
    expect(await usualSink.free()).toBe(0);
    await usualSource.close();
    await usualSink.close();
    const fast = await fieldsOf(admin, to);
    expect(fast).toHaveLength(150);
    expect(fast).toEqual(await fieldsOf(admin, usualOut));
  });

  it('a target another writer shares: the flow waits while it is full, goes on as a reader makes room, never above maxLen', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const ids = await seed(from, 3000);
    // Another writer got there first.
    for (let i = 0; i < 400; i++) await admin.xadd(to, '*', 'other', String(i));
    const maxLen = 1000;
    let longest = 0;
    let running = true;
    const taken: string[] = [];
    // A consumer of the target that empties it whenever it finds it full.
    const consumer = (async () => {
      const reader = new Redis(url);
      while (running) {
        const length = await reader.xlen(to);
        longest = Math.max(longest, length);
        if (length >= maxLen) {
          const entries = await reader.xrange(to, '-', '+');
          for (const [, fields] of entries) {
            const at = fields.lastIndexOf('_source_id');
            if (at >= 0) taken.push(fields[at + 1]!);
          }
          await reader.xdel(to, ...entries.map(([id]) => id));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await reader.quit();
    })();
    const waits: number[] = [];
    const result = await createPump({
      source: createRedisStreamSource({ url, stream: from }),
      sink: createRedisStreamSink({ url, stream: to, maxLen }),
      batchSize: 1000,
      pollIntervalMs: 20,
      onProgress: (progress) => {
        if (progress.waiting === 'full') waits.push(progress.records);
      },
    }).run();
    running = false;
    await consumer;
    expect(result).toMatchObject({ records: 3000, stopReason: 'empty', direct: 'same-server script' });
    // The first batch filled the room the other writer left, no more.
    expect(waits[0]).toBe(600);
    expect(longest).toBeLessThanOrEqual(maxLen);
    const rest = await sourceIds(admin, to);
    expect([...taken, ...rest]).toEqual(ids);
  });

  it('writes no source id when the sink has sourceIdField: false, and copies a carried one', async () => {
    const [from, to] = [stream('in'), stream('out')];
    await seed(from, 10, carryingFields);
    const result = await pump(
      createRedisStreamSource({ url, stream: from }),
      createRedisStreamSink({ url, stream: to, sourceIdField: false }),
    );
    expect(result).toMatchObject({ records: 10, direct: 'same-server script' });
    const fields = await fieldsOf(admin, to);
    expect(fields.map((f) => f.map(String).includes('_source_id'))).toEqual(
      Array.from({ length: 10 }, (_, i) => i % 5 === 0),
    );
    expect(fields[5]!.map(String).slice(-2)).toEqual(['_source_id', 'from-an-earlier-hop']);
  });

  it('leaves an entry with a source id of its own to the usual path, which refuses it with the reason', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const ids = await seed(from, 12, carryingFields);
    const deadLetter = createMemorySink();
    const result = await createPump({
      source: createRedisStreamSource({ url, stream: from }),
      sink: createRedisStreamSink({ url, stream: to }),
      deadLetter,
      batchSize: 4,
    }).run();
    expect(result).toMatchObject({ records: 9, direct: 'same-server script', stopReason: 'empty' });
    expect(await admin.xlen(from)).toBe(0);
    expect(await sourceIds(admin, to)).toEqual(ids.filter((_, i) => i % 5 !== 0));
    expect(deadLetter.records.map((r) => [r.value.sourceId, r.value.reason])).toEqual(
      ['1-1', '1-6', '1-11'].map((id) => [
        id,
        'the record has its own field "_source_id" ("from-an-earlier-hop"), which the sink\'s source-id field would overwrite: set sourceIdField to another name on this sink, or false',
      ]),
    );
  });
});

describe('the usual path, where the same-server move would not write the same or cannot see both', () => {
  interface Case {
    source: Source;
    sink: Sink;
    from: string;
    to: string;
    /** Where the target is read back. */
    redis?: Redis;
    /** Seed JSON values in a `data` field, for a json-codec source. */
    json?: boolean;
    done?: () => void;
  }
  const plain = (source: Record<string, unknown>, sink: Record<string, unknown> = {}): Case => {
    const [from, to] = [stream('in'), stream('out')];
    return {
      source: createRedisStreamSource({ url, stream: from, ...source }),
      sink: createRedisStreamSink({ url, stream: to, ...sink }),
      from,
      to,
    };
  };
  const cases: [string, () => Case][] = [
    [
      'a sink on another database (db 1)',
      () => {
        const [from, to] = [stream('in'), uniqueName('ferry.test.direct.db1')];
        keysDb1.push(to);
        return {
          source: createRedisStreamSource({ url, stream: from }),
          sink: createRedisStreamSink({ url: `${url}/1`, stream: to }),
          from,
          to,
          redis: adminDb1,
        };
      },
    ],
    ['direct: false', () => plain({ direct: false })],
    ['group mode', () => plain({ mode: 'group', group: 'g', consumer: 'c' })],
    [
      'a json-codec source (it decodes the entries)',
      () => ({ ...plain({ codec: 'json' }, { codec: 'json' }), json: true }),
    ],
    ['a json-codec sink (it writes the value again)', () => plain({}, { codec: 'json' })],
    [
      'a sink wrapped in another object',
      () => {
        const c = plain({});
        const sink = c.sink;
        c.sink = {
          name: sink.name,
          open: () => sink.open(),
          free: () => sink.free(),
          write: (records) => sink.write(records),
          close: () => sink.close(),
        };
        return c;
      },
    ],
    [
      'a sink whose directTarget is of another version of this package',
      () => {
        const c = plain({});
        const sink = c.sink;
        c.sink = withFree(
          {
            name: sink.name,
            open: () => sink.open(),
            free: () => sink.free(),
            write: (records) => sink.write(records),
            directTarget: () => ({
              ...(sink.directTarget?.() as object),
              protocol: '@ferry/redis-stream/direct-target/v1',
            }),
            close: () => sink.close(),
          },
          () => sink.free(),
        );
        return c;
      },
    ],
    [
      'a sink client with a key prefix',
      () => {
        const [from, to] = [stream('in'), stream('out')];
        keys.push(`p:${to}`);
        const prefixed = new Redis(url, { keyPrefix: 'p:' });
        return {
          source: createRedisStreamSource({ url, stream: from }),
          sink: createRedisStreamSink({ client: prefixed, stream: to }),
          from,
          to: `p:${to}`,
          done: () => prefixed.disconnect(),
        };
      },
    ],
  ];

  it.each(cases)('%s', async (_label, build) => {
    const { source, sink, from, to, redis = admin, json, done } = build();
    await seed(from, 1500, (i) => (json ? ['data', JSON.stringify({ n: i })] : ['n', String(i)]));
    const result: PumpResult = await pump(source, sink);
    done?.();
    expect(result).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(result.direct).toBeUndefined();
    expect(await admin.xlen(from)).toBe(0);
    expect(await redis.xlen(to)).toBe(1500);
  });

  it('a sink on the source stream itself', async () => {
    const name = stream('loop');
    const source = createRedisStreamSource({ url, stream: name });
    const sink = createRedisStreamSink({ url, stream: name });
    await source.open();
    await sink.open();
    expect(source.directTo!(sink)).toBeUndefined();
    await source.close();
    await sink.close();
  });
});

describe('the same-server move is atomic', () => {
  it('a reader never sees a record at both ends, nor at neither, while batches move', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const total = 30_000;
    await seed(from, total, (i) => ['n', String(i), 'text', `message ${i}`]);
    const observer = new Redis(url);
    const seen: [number, number][] = [];
    let running = true;
    const watching = (async () => {
      while (running) {
        // One MULTI is one point in time: the lengths of both streams at once.
        const replies = await observer.multi().xlen(from).xlen(to).exec();
        seen.push([replies![0]![1] as number, replies![1]![1] as number]);
      }
    })();
    const result = await pump(
      createRedisStreamSource({ url, stream: from }),
      createRedisStreamSink({ url, stream: to }),
    );
    running = false;
    await watching;
    await observer.quit();
    expect(result).toMatchObject({ records: total, direct: 'same-server script' });
    expect(seen.filter(([, out]) => out > 0 && out < total).length).toBeGreaterThan(0);
    expect(seen.filter(([left, out]) => left + out !== total)).toEqual([]);
  });

  it('a flow whose connections are killed mid-flow loses nothing, doubles nothing and counts every record once', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const total = 30_000;
    const ids = await seed(from, total, (i) => ['n', String(i)]);
    const connectionName = `direct-cut-${process.pid}`;
    const killed: Promise<number>[] = [];
    const cutAt = new Set<number>();
    const named = async () => {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      return [...list.matchAll(new RegExp(`\\bid=(\\d+) .* name=ferry:${connectionName} `, 'g'))];
    };
    const killAll = async (): Promise<number> => {
      // The sink's connection, idle on this path, may still be coming back from the last cut: wait for it.
      let victims = await named();
      for (const until = Date.now() + 3000; victims.length < 2 && Date.now() < until; victims = await named()) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      for (const [, id] of victims) await admin.call('CLIENT', 'KILL', 'ID', id!);
      return victims.length;
    };
    const result = await createPump({
      source: createRedisStreamSource({ url, stream: from, connectionName }),
      sink: createRedisStreamSink({ url, stream: to, connectionName }),
      batchSize: 500,
      retry: { retries: 10, initialDelayMs: 10, maxDelayMs: 200, factor: 2 },
      onProgress: (p) => {
        // Once per mark: a retry reports progress again at the same batch count.
        if (![5, 20, 40].includes(p.batches) || cutAt.has(p.batches)) return;
        cutAt.add(p.batches);
        // Not awaited: the kill lands while the next move is on its way, or in it.
        killed.push(killAll());
      },
    }).run();
    expect(await Promise.all(killed)).toEqual([2, 2, 2]);
    expect(result).toMatchObject({ records: total, stopReason: 'empty', direct: 'same-server script' });
    expect(await admin.xlen(from)).toBe(0);
    expect(await sourceIds(admin, to)).toEqual(ids);
  });

  it('a move whose reply is lost (the socket closed as the call went out) moves one batch and says so', async () => {
    const [from, to] = [stream('in'), stream('out')];
    await seed(from, 3000, (i) => ['n', String(i)]);
    const connection = new Redis(url);
    const source = createRedisStreamSource({ client: connection, stream: from });
    const sink = createRedisStreamSink({ url, stream: to });
    await source.open();
    await sink.open();
    const direct = source.directTo!(sink)!;
    for (let round = 1; round <= 3; round++) {
      const moving = direct.move(1000);
      // The call is on the wire; the socket goes before its reply comes: the driver resends it once reconnected.
      cutConnection(connection);
      expect(await moving).toMatchObject({ records: 1000 });
      expect([await admin.xlen(from), await admin.xlen(to)]).toEqual([3000 - round * 1000, round * 1000]);
    }
    await source.close();
    await sink.close();
    connection.disconnect();
  });

  it('a move retried after its reply was lost answers from its receipt and moves nothing more', async () => {
    const [from, to, receipt] = [stream('in'), stream('out'), stream('receipt')];
    await seed(from, 30, (i) => ['n', String(i)]);
    const move = (max: number, seq: string) =>
      admin.eval(directMoveScript, 3, from, to, receipt, max, seq, '1', '_source_id', 60_000, '');
    // Ten entries of 'n' and one digit: 20 bytes.
    expect(await move(10, '1')).toEqual([10, 20, 0]);
    // The same move again (the driver resends it, or the pump retries it): the same answer, nothing moved.
    expect(await move(10, '1')).toEqual([10, 20, 0]);
    expect([await admin.xlen(from), await admin.xlen(to)]).toEqual([20, 10]);
    expect(await move(10, '2')).toEqual([10, 30, 0]);
    expect([await admin.xlen(from), await admin.xlen(to)]).toEqual([10, 10 + 10]);
    expect(await admin.pttl(receipt)).toBeGreaterThan(0);
  });

  it('refuses a target that is not a stream before writing anything', async () => {
    const [from, to] = [stream('in'), stream('out')];
    await seed(from, 10, (i) => ['n', String(i)]);
    await admin.set(to, 'a string');
    const run = pump(createRedisStreamSource({ url, stream: from }), createRedisStreamSink({ url, stream: to }));
    await expect(run).rejects.toThrow(/WRONGTYPE target stream ".*" holds a string, not a stream/);
    expect(await admin.xlen(from)).toBe(10);
    expect(await admin.get(to)).toBe('a string');
  });

  it('moves the entries before one too wide for a script, then that one by itself', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const wide = Array.from({ length: 8000 }, (_, i) => `f${i}`);
    await seed(from, 3, (i) => (i === 1 ? wide : ['n', String(i)]));
    const source = createRedisStreamSource({ url, stream: from });
    const sink = createRedisStreamSink({ url, stream: to });
    await source.open();
    await sink.open();
    const direct = source.directTo!(sink)!;
    expect(await direct.move(10)).toMatchObject({ records: 1 });
    // The bytes of its field names and values, as the script counts them.
    expect(await direct.move(10)).toEqual({ records: 1, bytes: wide.join('').length });
    expect(await direct.move(10)).toMatchObject({ records: 1 });
    expect([await admin.xlen(from), await admin.xlen(to)]).toEqual([0, 3]);
    expect(await sourceIds(admin, to)).toEqual(['1-1', '1-2', '1-3']);
    await source.close();
    await sink.close();
  });
});
