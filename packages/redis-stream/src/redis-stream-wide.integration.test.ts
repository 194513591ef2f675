import { createHash } from 'node:crypto';
import { createPump, type FerryRecord } from '@ferry/core';
import { redisUrl, uniqueName } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSink, createRedisStreamSource } from './index.js';
import { moveWideScript } from './redis-stream-direct.js';

// Lua's `unpack` stops near 8000 values: entries wider than that once stopped a flow mid-batch.
let admin: Redis;
const keys: string[] = [];
const url = redisUrl();

beforeAll(async () => {
  admin = new Redis(url);
  await admin.ping();
});
afterEach(async () => {
  if (keys.length > 0) await admin.del(...keys.splice(0));
});
afterAll(async () => {
  await admin.quit();
});

function stream(label: string): string {
  const name = uniqueName(`ferry.test.wide.${label}`);
  keys.push(name);
  return name;
}

/** `width` fields `f0…` with values `v0…`; the last value is not UTF-8. */
function wideFields(width: number): (string | Buffer)[] {
  const fields: (string | Buffer)[] = [];
  for (let j = 0; j < width; j++) fields.push(`f${j}`, `v${j}`);
  fields[fields.length - 1] = Buffer.from([0xff, 0xfe]);
  return fields;
}

/** Widths around the script's limits (7900 strings a call), and far beyond them. */
const widths = [1, 3948, 3949, 3950, 10_000, 2, 100_000, 3];

/** Seeds one entry per width, ids `1-1`…; returns the ids and the fields each must have at the target. */
async function seedWide(name: string): Promise<{ ids: string[]; expected: Buffer[][] }> {
  const ids: string[] = [];
  const expected: Buffer[][] = [];
  const pipeline = admin.pipeline();
  widths.forEach((width, i) => {
    const id = `1-${i + 1}`;
    const fields = width <= 3 ? ['n', String(i)] : wideFields(width);
    // One array argument: ioredis flattens it, where a spread of 200,000 would overflow the stack.
    pipeline.call('XADD', [name, id, ...fields]);
    ids.push(id);
    expected.push([...fields.map((field) => Buffer.from(field)), Buffer.from('_source_id'), Buffer.from(id)]);
  });
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  return { ids, expected };
}

/** A digest of an entry's fields, each length-prefixed: vitest compares 200,000 buffers one by one in seconds. */
function digest(fields: Buffer[]): string {
  const hash = createHash('sha256');
  for (const field of fields) hash.update(`${field.length}:`).update(field);
  return hash.digest('hex');
}

async function fieldsOf(name: string): Promise<Buffer[][]> {
  return (await admin.xrangeBuffer(name, '-', '+')).map(([, fields]) => fields);
}

describe('entries wider than a script can add at once', () => {
  const paths: [string, Record<string, unknown>, Record<string, unknown>, string | undefined][] = [
    ['the same-server move', {}, {}, 'same-server script'],
    ['direct: false, script writes', { direct: false }, {}, undefined],
    ['direct: false, pipeline writes', { direct: false }, { write: 'pipeline' }, undefined],
    ['group mode', { mode: 'group', group: 'g', consumer: 'c' }, {}, undefined],
  ];

  it.each(paths)(
    '%s moves them with the narrow ones of their batch, byte for byte and in order',
    async (_label, sourceOptions, sinkOptions, direct) => {
      const [from, to] = [stream('in'), stream('out')];
      const { expected } = await seedWide(from);
      const result = await createPump({
        source: createRedisStreamSource({ url, stream: from, ...sourceOptions }),
        sink: createRedisStreamSink({ url, stream: to, ...sinkOptions }),
        batchSize: 100,
      }).run();
      expect(result).toMatchObject({ records: widths.length, deadLettered: 0, stopReason: 'empty' });
      expect(result.direct).toBe(direct);
      expect(await admin.xlen(from)).toBe(0);
      const written = await fieldsOf(to);
      expect(written.map((fields) => fields.length / 2)).toEqual(expected.map((fields) => fields.length / 2));
      expect(written.map(digest)).toEqual(expected.map(digest));
    },
    60_000,
  );

  it("the same-server move counts a wide entry's bytes as the usual path does", async () => {
    const [fastIn, fastOut, usualIn, usualOut] = [stream('in'), stream('out'), stream('in'), stream('out')];
    await seedWide(fastIn);
    await seedWide(usualIn);
    const run = (from: string, to: string, direct: boolean) =>
      createPump({
        source: createRedisStreamSource({ url, stream: from, direct }),
        sink: createRedisStreamSink({ url, stream: to }),
        batchSize: 100,
      }).run();
    const fast = await run(fastIn, fastOut, true);
    const usual = await run(usualIn, usualOut, false);
    expect(fast.direct).toBe('same-server script');
    expect(fast.bytes).toBe(usual.bytes);
  }, 60_000);

  it('the same-server move keeps a wide entry within the target maxLen', async () => {
    const [from, to] = [stream('in'), stream('out')];
    const { ids } = await seedWide(from);
    // Room for four: the fifth entry is the one of 10,000 fields.
    const result = await createPump({
      source: createRedisStreamSource({ url, stream: from }),
      sink: createRedisStreamSink({ url, stream: to, maxLen: 4 }),
      batchSize: 100,
      whenFull: 'stop',
    }).run();
    expect(result).toMatchObject({ records: 4, stopReason: 'full', direct: 'same-server script' });
    expect((await admin.xrange(from, '-', '+')).map(([id]) => id)).toEqual(ids.slice(4));
    expect(await admin.xlen(to)).toBe(4);
  }, 60_000);

  it('a wide record value (not read from a stream) is written by both write modes', async () => {
    const value: Record<string, string> = {};
    for (let j = 0; j < 20_000; j++) value[`k${j}`] = `value ${j}`;
    const records: FerryRecord[] = [
      { id: 'a', value: { n: '1' }, bytes: 10, readAt: 0 },
      { id: 'b', value, bytes: 300_000, readAt: 0 },
      { id: 'c', value: { n: '3' }, bytes: 10, readAt: 0 },
    ];
    for (const write of ['script', 'pipeline'] as const) {
      const to = stream(write);
      const sink = createRedisStreamSink({ url, stream: to, write });
      await sink.open();
      await sink.write(records);
      await sink.close();
      const entries = await admin.xrange(to, '-', '+');
      expect(entries.map(([, fields]) => fields.length / 2)).toEqual([2, 20_001, 2]);
      const wide = entries[1]![1];
      expect(wide.slice(0, 4)).toEqual(['k0', 'value 0', 'k1', 'value 1']);
      expect(wide.slice(-4)).toEqual(['k19999', 'value 19999', '_source_id', 'b']);
    }
  }, 60_000);

  it('a server that stops running scripts mid-flow: the records whose calls failed are written once, the wide one is not doubled', async () => {
    const to = stream('acl');
    const user = uniqueName('ferry-test-noscript');
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '+@all');
    try {
      const sink = createRedisStreamSink({ url: url.replace('redis://', `redis://${user}:pw@`), stream: to });
      await sink.open();
      const narrow = (id: string): FerryRecord => ({ id, value: { n: id }, bytes: 1, readAt: 0 });
      const value: Record<string, string> = {};
      for (let j = 0; j < 5000; j++) value[`k${j}`] = 'v';
      await sink.write([narrow('a')]);
      await admin.call('ACL', 'SETUSER', user, '-eval', '-evalsha');
      await sink.write([narrow('b'), { id: 'w', value, bytes: 1, readAt: 0 }, narrow('c')]);
      await sink.write([narrow('d')]);
      await sink.close();
      const ids = (await admin.xrange(to, '-', '+')).map(([, fields]) => fields[fields.length - 1]);
      // The wide entry's XADD landed with the refused scripts of its batch; only theirs were written again.
      expect(ids).toEqual(['a', 'w', 'b', 'c', 'd']);
    } finally {
      await admin.call('ACL', 'DELUSER', user);
    }
  });

  describe("the wide move's second half takes the added entry back", () => {
    const finish = async (from: string, to: string, id: string, capacity: string) => {
      const replies = await admin
        .multi()
        .xadd(to, '*', 'f', 'v', '_source_id', id)
        .eval(moveWideScript, 3, from, to, `${from}.receipt`, id, '7', '42', 60_000, capacity)
        .exec();
      return replies![1]![1];
    };

    it('when the source entry is gone (moved by another, or a resent transaction)', async () => {
      const [from, to] = [stream('in'), stream('out')];
      keys.push(`${from}.receipt`);
      await admin.xadd(to, '1-1', 'kept', 'x');
      await admin.xadd(from, '5-1', 'other', 'y');
      expect(await finish(from, to, '5-0', '')).toEqual([0, 0, 3]);
      expect(await admin.xrange(to, '-', '+')).toEqual([['1-1', ['kept', 'x']]]);
      expect(await admin.xlen(from)).toBe(1);
      expect(await admin.exists(`${from}.receipt`)).toBe(0);
    });

    it('when the target went over its maxLen', async () => {
      const [from, to] = [stream('in'), stream('out')];
      keys.push(`${from}.receipt`);
      await admin.xadd(to, '1-1', 'kept', 'x');
      await admin.xadd(from, '5-0', 'wide', 'y');
      expect(await finish(from, to, '5-0', '1')).toEqual([0, 0, 1]);
      expect(await admin.xrange(to, '-', '+')).toEqual([['1-1', ['kept', 'x']]]);
      expect(await admin.xlen(from)).toBe(1);
    });

    it('and otherwise deletes the source entry and notes the receipt', async () => {
      const [from, to] = [stream('in'), stream('out')];
      keys.push(`${from}.receipt`);
      await admin.xadd(from, '5-0', 'wide', 'y');
      expect(await finish(from, to, '5-0', '2')).toEqual([1, 42, 0]);
      expect(await admin.xlen(from)).toBe(0);
      expect((await admin.xrange(to, '-', '+')).map(([, fields]) => fields)).toEqual([['f', 'v', '_source_id', '5-0']]);
      expect(await admin.get(`${from}.receipt`)).toBe('7:1:42');
    });
  });
});
