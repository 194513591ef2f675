import { ConnectionError, FatalError, type FerryRecord, isTransient } from '@ferry/core';
import { redisUrl, sampleRecords, testSink, uniqueName, type WrittenRecord } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSink, createRedisStreamSource, decodeFields, decodeJson } from './index.js';
import { scriptChunk } from './redis-stream-sink.js';

let admin: Redis;
const keys: string[] = [];

beforeAll(async () => {
  admin = new Redis(redisUrl());
  await admin.ping();
});
afterEach(async () => {
  if (keys.length > 0) await admin.del(...keys.splice(0));
});
afterAll(async () => {
  await admin.quit();
});

function stream(): string {
  const name = uniqueName('ferry.test.sink');
  keys.push(name);
  return name;
}

const cleanup = async (ctx: { name: string }) => {
  await admin.del(ctx.name);
};
const count = (ctx: { name: string }) => admin.xlen(ctx.name);

async function readBackFields(name: string): Promise<WrittenRecord[]> {
  return (await admin.xrange(name, '-', '+')).map(([, fields]) => {
    const { _source_id: sourceId, ...value } = decodeFields(fields);
    return { sourceId: sourceId as string | undefined, value };
  });
}

for (const write of ['script', 'pipeline'] as const) {
  testSink({
    name: `redis-stream sink, fields codec, ${write} writes (contract)`,
    create: (ctx) => createRedisStreamSink({ url: redisUrl(), stream: ctx.name, write }),
    createWithMaxLen: (ctx, maxLen) => createRedisStreamSink({ url: redisUrl(), stream: ctx.name, maxLen, write }),
    readBack: (ctx) => readBackFields(ctx.name),
    count,
    cleanup,
  });
}

testSink({
  name: 'redis-stream sink, json codec (contract)',
  create: (ctx) => createRedisStreamSink({ url: redisUrl(), stream: ctx.name, codec: 'json' }),
  createWithMaxLen: (ctx, maxLen) =>
    createRedisStreamSink({ url: redisUrl(), stream: ctx.name, codec: 'json', maxLen }),
  readBack: async (ctx) =>
    (await admin.xrange(ctx.name, '-', '+')).map(([, fields]) => ({
      sourceId: fields[fields.indexOf('_source_id') + 1],
      value: decodeJson(fields, 'data'),
    })),
  count,
  cleanup,
});

describe('redis-stream sink', () => {
  const open = async (options: Record<string, unknown>) => {
    const sink = createRedisStreamSink({ url: redisUrl(), ...options });
    await sink.open();
    return sink;
  };

  it('trim: false never trims, whatever maxLen says', async () => {
    const name = stream();
    const sink = await open({ stream: name, maxLen: 3 });
    try {
      await sink.write(sampleRecords(10));
      expect(await admin.xlen(name)).toBe(10);
      expect(await sink.free()).toBe(0);
    } finally {
      await sink.close();
    }
  });

  it('writes what a fields-codec source read exactly as it was, and refuses one with a source id of its own', async () => {
    const from = stream();
    const to = stream();
    // Written by another producer: a quoted string, a duplicate field; then one with an old source id.
    const id = await admin.xadd(from, '*', 'a', '"x"', 'n', '007', 'a', 'again');
    const older = await admin.xadd(from, '*', 'a', 'y', '_source_id', 'older');
    const source = createRedisStreamSource({ url: redisUrl(), stream: from });
    const sink = await open({ stream: to });
    await source.open();
    try {
      const batch = await source.read(10, { waitMs: 0 });
      const outcome = await sink.write(batch.records);
      const entries = (await admin.xrange(to, '-', '+')) as [string, string[]][];
      expect(entries.map(([, fields]) => fields)).toEqual([['a', '"x"', 'n', '007', 'a', 'again', '_source_id', id]]);
      expect(outcome?.rejected.map((r) => [r.id, r.reason])).toEqual([
        [
          older,
          'the record has its own field "_source_id" ("older"), which the sink\'s source-id field would overwrite: set sourceIdField to another name on this sink, or false',
        ],
      ]);
    } finally {
      await source.close();
      await sink.close();
    }
  });

  it('copies bytes that are not UTF-8 exactly, S2S and through a JSON value', async () => {
    const from = stream();
    const to = stream();
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x61, 0x62, 0x63]);
    const id = await admin.xadd(from, '*', 'data', bytes, 'text', 'plain');
    const source = createRedisStreamSource({ url: redisUrl(), stream: from });
    const sink = await open({ stream: to });
    await source.open();
    try {
      const batch = await source.read(10, { waitMs: 0 });
      // What a sink of another kind sees: the bytes as bytes, the text as text.
      expect(batch.records[0]!.value).toEqual({ data: bytes, text: 'plain' });
      await sink.write(batch.records);
      // And written back from a value of another source, without the entry's own fields.
      await sink.write([{ id: 'json-1', value: { ...batch.records[0]!.value }, readAt: 0, bytes: 0 }]);
      const out = (await admin.xrangeBuffer(to, '-', '+')) as [Buffer, Buffer[]][];
      expect(out.map(([, fields]) => fields[1])).toEqual([bytes, bytes]);
      expect(out[0]![1].map((f) => f.toString())).toEqual([
        'data',
        bytes.toString(),
        'text',
        'plain',
        '_source_id',
        id,
      ]);
    } finally {
      await source.close();
      await sink.close();
    }
  });

  it('a batch larger than one script call lands whole and in order', async () => {
    const name = stream();
    const sink = await open({ stream: name });
    try {
      const records = sampleRecords(scriptChunk * 2 + 500);
      await sink.write(records);
      const back = await readBackFields(name);
      expect(back.map((r) => r.sourceId)).toEqual(records.map((r) => r.id));
      expect(back.map((r) => r.value)).toEqual(records.map((r) => r.value));
    } finally {
      await sink.close();
    }
  });

  it('trim: true caps the stream near maxLen (deleting the oldest, read or not)', async () => {
    const name = stream();
    const sink = await open({ stream: name, maxLen: 10, trim: true });
    try {
      for (let i = 0; i < 5; i++) await sink.write(sampleRecords(200, `b${i}`));
      const length = await admin.xlen(name);
      expect(length).toBeGreaterThanOrEqual(10);
      expect(length).toBeLessThan(1000);
    } finally {
      await sink.close();
    }
  });

  it('keeps the record id in _source_id as plain text, refuses a record with one of its own; sourceIdField: false writes none', async () => {
    const name = stream();
    const plain = stream();
    const record: FerryRecord = { id: '123', value: { a: 'x', _source_id: 'older' }, readAt: 0, bytes: 0 };
    const fresh: FerryRecord = { id: '123', value: { a: 'x' }, readAt: 0, bytes: 0 };
    const sink = await open({ stream: name });
    const bare = await open({ stream: plain, sourceIdField: false });
    try {
      const outcome = await sink.write([record]);
      expect(outcome?.rejected[0]?.reason).toMatch(/own field "_source_id" \("older"\)/);
      expect(await admin.xlen(name)).toBe(0);
      await sink.write([fresh]);
      const [[, fields]] = (await admin.xrange(name, '-', '+')) as [[string, string[]]];
      expect(fields).toEqual(['a', 'x', '_source_id', '123']);
      expect(await sink.reconcile!([fresh])).toEqual([]);
      await bare.write([record]);
      expect((await admin.xrange(plain, '-', '+'))[0]![1]).toEqual(['a', 'x', '_source_id', 'older']);
      expect(await bare.reconcile!([record])).toEqual([record]);
    } finally {
      await sink.close();
      await bare.close();
    }
  });

  for (const write of ['script', 'pipeline'] as const) {
    it(`reconciles from a noted position a batch now far from the stream's end (${write} writes)`, async () => {
      const name = stream();
      const sink = await open({ stream: name, write });
      const fresh = await open({ stream: name, write });
      try {
        expect(await sink.position!()).toBe('0-0');
        await sink.write(sampleRecords(1000, 'before'));
        const noted = await sink.position!();
        // The position a sink reports from its own last write is the stream's last entry, as a new sink reads it.
        expect(noted).toBe((await admin.xrevrange(name, '+', '-', 'COUNT', 1))[0]![0]);
        expect(await fresh.position!()).toBe(noted);
        const batch = sampleRecords(5, 'doubt');
        await sink.write(batch);
        await sink.write(sampleRecords(3000, 'after'));
        const unwritten = sampleRecords(2, 'never');
        expect(await sink.reconcile!([...batch, ...unwritten], noted)).toEqual(unwritten);
        // Without the position, only the last entries are looked at: the batch is not found there.
        expect(await sink.reconcile!(batch)).toEqual(batch);
        // Entries before the position are not looked at.
        expect(await sink.reconcile!(sampleRecords(3, 'before'), noted)).toHaveLength(3);
      } finally {
        await sink.close();
        await fresh.close();
      }
    });
  }

  it('refuses a record with no fields by id instead of sending a broken XADD', async () => {
    const sink = await open({ stream: stream(), sourceIdField: false });
    try {
      const outcome = await sink.write([{ id: 'empty-1', value: {}, readAt: 0, bytes: 0 }]);
      expect(outcome?.rejected).toMatchObject([
        { id: 'empty-1', reason: 'the value has no fields, and a stream entry needs at least one' },
      ]);
    } finally {
      await sink.close();
    }
  });

  it('a key of the wrong type is a FatalError naming the stream', async () => {
    const name = stream();
    await admin.set(name, 'not a stream');
    const sink = await open({ stream: name });
    try {
      const error = await sink.write(sampleRecords(2)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect(isTransient(error)).toBe(false);
      expect((error as Error).message).toMatch(
        new RegExp(`XADD .* on stream "${name.replace(/\./g, '\\.')}".*WRONGTYPE`),
      );
    } finally {
      await sink.close();
    }
  });

  it('an unreachable server gives a prompt ConnectionError naming host:port, and close does not hang', async () => {
    const sink = createRedisStreamSink({ url: 'redis://127.0.0.1:1', stream: 's', connectionName: 'out' });
    const started = Date.now();
    const error = await sink.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain('cannot reach 127.0.0.1:1 (connection "out")');
    await sink.close();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('moves a stream to another, S2S, with the source ids kept', async () => {
    const from = stream();
    const to = stream();
    const values = Array.from({ length: 20_000 }, (_, n) => ({ n, name: `item-${n}`, tags: ['a', 'b'], ok: true }));
    for (let i = 0; i < values.length; i += 5000) {
      await admin
        .pipeline(
          values
            .slice(i, i + 5000)
            .map((v) => ['xadd', from, '*', 'n', String(v.n), 'name', v.name, 'tags', '["a","b"]', 'ok', 'true']),
        )
        .exec();
    }
    const source = createRedisStreamSource({ url: redisUrl(), stream: from });
    const sink = await open({ stream: to });
    await source.open();
    try {
      const started = performance.now();
      let moved = 0;
      for (;;) {
        const batch = await source.read(1000, { waitMs: 0 });
        if (batch.records.length === 0) break;
        await sink.write(batch.records);
        await source.ack(batch);
        moved += batch.records.length;
      }
      const rate = Math.round(moved / ((performance.now() - started) / 1000));
      console.info(`[redis-stream] S2S moved ${moved} records at ${rate} records/s`);
      expect(moved).toBe(values.length);
      expect(await admin.xlen(from)).toBe(0);
      const head = (await readBackFields(to)).slice(0, 2);
      // Stream fields are text, and stay text.
      expect(head.map((w) => w.value)).toEqual(
        values.slice(0, 2).map((v) => ({ n: String(v.n), name: v.name, tags: '["a","b"]', ok: 'true' })),
      );
      expect(head[0]!.sourceId).toMatch(/^\d+-\d+$/);
    } finally {
      await source.close();
      await sink.close();
    }
  });
});
