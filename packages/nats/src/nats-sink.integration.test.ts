import {
  Decimal,
  FatalError,
  type FerryRecord,
  fromJson,
  parseJsonTypes,
  RecordRejectedError,
  type RecordValue,
  Scalar,
  type Sink,
  TransientError,
  typesHeader,
} from '@ferry/core';
import { sampleRecords, testSink, type WrittenRecord } from '@ferry/testkit';
import { DiscardPolicy, type StoredMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createNatsSink } from './index.js';
import {
  closeAdmin,
  createStream,
  deleteStreams,
  ensureStream,
  messageCount,
  natsUrl,
  publish,
  storedMessages,
  streamName,
  subjectOf,
} from './test-admin.js';

const streams: string[] = [];
const sinks: Sink[] = [];

afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
  await deleteStreams(...streams.splice(0));
});
afterAll(closeAdmin);

async function stream(config: Parameters<typeof createStream>[1] = {}): Promise<string> {
  const name = streamName();
  streams.push(name);
  await createStream(name, config);
  return name;
}

async function open(options: Record<string, unknown>): Promise<Sink> {
  const sink = createNatsSink({ url: natsUrl, ...options });
  sinks.push(sink);
  await sink.open();
  return sink;
}

/** A stored message read back with the client alone: the id header, and the body with its types header. */
function written(message: StoredMsg): WrittenRecord {
  const header = (key: string) => (message.header?.has(key) ? message.header.get(key) : undefined);
  const types = header(typesHeader);
  const value = fromJson(Buffer.from(message.data).toString(), types === undefined ? undefined : parseJsonTypes(types));
  return { sourceId: header('Nats-Msg-Id'), value: value as RecordValue };
}

const streamOf = (ctx: { name: string }) => ctx.name.replaceAll('.', '_');

testSink({
  name: 'nats sink (contract)',
  prefix: 'ferry_test_n_sink',
  create: async (ctx) => {
    await ensureStream(streamOf(ctx));
    return createNatsSink({ url: natsUrl, stream: streamOf(ctx) });
  },
  // The capacity is the stream's own max_msgs (discard old: a write past it still lands, dropping the oldest).
  createWithMaxLen: async (ctx, maxLen) => {
    await ensureStream(streamOf(ctx), { max_msgs: maxLen });
    return createNatsSink({ url: natsUrl, stream: streamOf(ctx) });
  },
  readBack: async (ctx) => (await storedMessages(streamOf(ctx))).map(written),
  count: (ctx) => messageCount(streamOf(ctx)),
  cleanup: (ctx) => deleteStreams(streamOf(ctx)),
});

describe('nats sink', () => {
  it('writes lossless JSON with the kinds JSON lacks in ferry-types, the id in Nats-Msg-Id, headers as given', async () => {
    const name = await stream();
    const sink = await open({ stream: name });
    const value: RecordValue = {
      big: 18446744073709551617n,
      f: 5,
      price: new Decimal('1.50'),
      raw: Buffer.from([0, 255]),
      at: new Date('2024-01-02T03:04:05.678Z'),
      uuid: new Scalar('uuid', '123e4567-e89b-12d3-a456-426614174000'),
      nan: Number.NaN,
      text: 'grüße 🚀',
    };
    await sink.write([{ id: 'rec-1', value, headers: { trace: 'abc' }, readAt: Date.now(), bytes: 0 }]);
    const [message] = await storedMessages(name);
    expect(message!.subject).toBe(subjectOf(name));
    expect(Buffer.from(message!.data).toString()).toBe(
      '{"big":18446744073709551617,"f":5.0,"price":1.50,"raw":"AP8=","at":"2024-01-02T03:04:05.678Z",' +
        '"uuid":"123e4567-e89b-12d3-a456-426614174000","nan":"NaN","text":"grüße 🚀"}',
    );
    expect(message!.header.get('Nats-Msg-Id')).toBe('rec-1');
    expect(message!.header.get('trace')).toBe('abc');
    expect(JSON.parse(message!.header.get(typesHeader))).toEqual({
      '/price': 'decimal',
      '/raw': 'bytes',
      '/at': 'timestamp',
      '/uuid': 'uuid',
      '/nan': 'float',
    });
    expect(written(message!).value).toEqual(value);
  });

  it('the raw codec publishes a { data } value as its bytes', async () => {
    const name = await stream();
    const sink = await open({ stream: name, codec: 'raw' });
    await sink.write([{ id: 'b', value: { data: Buffer.from([1, 2, 3]) }, readAt: 0, bytes: 0 }]);
    const [message] = await storedMessages(name);
    expect(Buffer.from(message!.data)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('within the duplicate window a batch written again is stored once, and the write still resolves', async () => {
    const name = await stream();
    const sink = await open({ stream: name });
    const records = sampleRecords(3);
    await sink.write(records);
    expect(await sink.write(records)).toBeUndefined();
    expect(await messageCount(name)).toBe(3);
  });

  it('refuses a record whose id the stream already holds for another message in its duplicate window', async () => {
    const name = await stream();
    const sink = await open({ stream: name });
    await publish(name, '{"someone":"else"}', { msgId: 'rec-1' });
    const outcome = await sink.write(sampleRecords(3));
    expect(outcome?.rejected.map((r) => r.id)).toEqual(['rec-1']);
    expect(outcome!.rejected[0]!.reason).toMatch(
      /already holds another message with Nats-Msg-Id "rec-1" \(sequence 1\)/,
    );
    expect((await storedMessages(name)).map((m) => m.header.get('Nats-Msg-Id'))).toEqual(['rec-1', 'rec-0', 'rec-2']);
  });

  it('past the duplicate window the same id is stored again: reconcile from the noted position finds it first', async () => {
    const name = await stream({ duplicate_window: nanos(1000) });
    const sink = await open({ stream: name });
    const records = sampleRecords(2);
    const since = await sink.position!();
    await sink.write(records);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    // What reconcile is for: the server alone would take the batch again.
    expect(await sink.reconcile!(records, since)).toEqual([]);
    await sink.write(records);
    expect(await messageCount(name)).toBe(4);
  });

  it('reconcile reads only what came after the noted position, and without one the newest 2 × batch + 100', async () => {
    const name = await stream();
    const sink = await open({ stream: name });
    const records = sampleRecords(3);
    await sink.write(records.slice(0, 1));
    const since = await sink.position!();
    expect(since).toBe('1');
    await sink.write(records.slice(1, 2));
    expect((await sink.reconcile!(records, since)).map((r) => r.id)).toEqual(['rec-0', 'rec-2']);
    expect((await sink.reconcile!(records)).map((r) => r.id)).toEqual(['rec-2']);
    for (let i = 0; i < 120; i++) await publish(name, '{}', { msgId: `other-${i}` });
    // rec-0 and rec-1 are 120 messages back now: beyond 2 × 3 + 100 without a position, found from one.
    expect((await sink.reconcile!(records)).map((r) => r.id)).toEqual(['rec-0', 'rec-1', 'rec-2']);
    expect((await sink.reconcile!(records, '0')).map((r) => r.id)).toEqual(['rec-2']);
  });

  it('free() is the least of max_msgs and maxLen less what the stream holds', async () => {
    const name = await stream({ max_msgs: 10 });
    expect(await (await open({ stream: name })).free()).toBe(10);
    const sink = await open({ stream: name, maxLen: 4 });
    await sink.write(sampleRecords(3));
    expect(await sink.free()).toBe(1);
  });

  it('a stream full with discard new refuses the write for now (transient), and nothing is lost', async () => {
    const name = await stream({ max_msgs: 2, discard: DiscardPolicy.New });
    const sink = await open({ stream: name });
    expect(await sink.free()).toBe(2);
    const error = await sink.write(sampleRecords(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/maximum messages exceeded/);
    expect(await messageCount(name)).toBe(2);
    expect(await sink.free()).toBe(0);
  });

  it('refuses what cannot go exactly, with the reason, and writes the rest', async () => {
    const name = await stream({ max_msg_size: 200 });
    const sink = await open({ stream: name });
    const record = (id: string, value: RecordValue, headers?: Record<string, string>) => ({
      id,
      value,
      readAt: 0,
      bytes: 0,
      ...(headers === undefined ? {} : { headers }),
    });
    const outcome = await sink.write([
      record('ok', { a: 1n }),
      record('big', { text: 'x'.repeat(300) }),
      record('line', { a: 1n }, { note: 'two\nlines' }),
      record('spaced', { a: 1n }, { note: ' padded ' }),
      record('server', { a: 1n }, { 'Nats-Rollup': 'all' }),
      record('', { a: 1n }),
    ]);
    const reasons = Object.fromEntries(outcome!.rejected.map((r) => [r.id, r.reason]));
    expect(Object.keys(reasons)).toEqual(['big', 'line', 'spaced', 'server', '']);
    expect(reasons.big).toMatch(/more than the 200 one message may have here/);
    expect(reasons.line).toMatch(/cannot hold a line break/);
    expect(reasons.spaced).toMatch(/loses white space/);
    expect(reasons.server).toMatch(/instructions to the NATS server/);
    expect(reasons['']).toMatch(/cannot be a Nats-Msg-Id header/);
    expect((await storedMessages(name)).map((m) => m.header.get('Nats-Msg-Id'))).toEqual(['ok']);
  });

  it("refuses a value its source could not decode with the source's own reason, as every sink does", async () => {
    const name = await stream();
    const sink = await open({ stream: name });
    const undecodable: FerryRecord = {
      id: '1-0',
      readAt: 0,
      bytes: 0,
      // A source that decodes lazily, as the Redis Streams one does: the value throws when first read.
      get value(): RecordValue {
        throw new RecordRejectedError('1-0', 'field name 0x6eff is not UTF-8', '[redis-stream] entry 1-0: not UTF-8');
      },
    };
    const outcome = await sink.write([undecodable, { id: 'ok', value: { a: 1n }, readAt: 0, bytes: 0 }]);
    expect(outcome?.rejected.map((r) => [r.id, r.reason])).toEqual([['1-0', 'field name 0x6eff is not UTF-8']]);
    expect((await storedMessages(name)).map((m) => m.header.get('Nats-Msg-Id'))).toEqual(['ok']);
  });

  it("publishes to the stream's first subject, or to the subject given when it is the stream's", async () => {
    const name = streamName();
    streams.push(name);
    await createStream(name, { subjects: [`${subjectOf(name)}.orders`, `${subjectOf(name)}.other.*`] });
    await (await open({ stream: name })).write(sampleRecords(1));
    await (await open({ stream: name, subject: `${subjectOf(name)}.other.x` })).write(sampleRecords(1, 'o'));
    expect((await storedMessages(name)).map((m) => m.subject)).toEqual([
      `${subjectOf(name)}.orders`,
      `${subjectOf(name)}.other.x`,
    ]);
  });

  it('refuses a subject the stream does not take, and a first subject that is a pattern', async () => {
    const name = streamName();
    streams.push(name);
    await createStream(name, { subjects: [`${subjectOf(name)}.>`] });
    const refused = async (options: Record<string, unknown>) => {
      const sink = createNatsSink({ url: natsUrl, stream: name, ...options });
      sinks.push(sink);
      return (await sink.open().catch((e: unknown) => e)) as Error;
    };
    expect(await refused({})).toBeInstanceOf(FatalError);
    expect((await refused({})).message).toMatch(/first subject ".*\.>" is a pattern: give the subject/);
    expect((await refused({ subject: 'elsewhere' })).message).toMatch(/subject "elsewhere" is not one of its subjects/);
  });
});
