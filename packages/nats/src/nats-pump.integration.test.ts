import {
  createMemoryJournal,
  createPump,
  fromJson,
  parseJsonTypes,
  type RecordValue,
  type Sink,
  toJson,
  typesHeader,
} from '@ferry/core';
import { createRedisStreamSink, decodeFields } from '@ferry/redis-stream';
import { redisUrl, sampleValues, uniqueName } from '@ferry/testkit';
import { nanos } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsSink, createNatsSource } from './index.js';
import {
  closeAdmin,
  createStream,
  deleteStreams,
  messageCount,
  natsUrl,
  publish,
  storedMessages,
  streamName,
  unacked,
} from './test-admin.js';

let redis: Redis;
const streams: string[] = [];
const keys: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await deleteStreams(...streams.splice(0));
  if (keys.length > 0) await redis.del(...keys.splice(0));
});
afterAll(async () => {
  await closeAdmin();
  await redis.quit();
});

async function stream(config: Parameters<typeof createStream>[1] = {}): Promise<string> {
  const name = streamName('ferry_test_n_pump');
  streams.push(name);
  await createStream(name, config);
  return name;
}

/** Values with bytes among them, published with their ids and types as a NATS sink would. */
async function seed(name: string, count: number): Promise<{ ids: string[]; values: RecordValue[] }> {
  const values: RecordValue[] = sampleValues(count).map((value, i) => ({ ...value, raw: Buffer.from([i, 255]) }));
  const ids = values.map((_, i) => `in-${i}`);
  for (const [i, value] of values.entries()) {
    const { text, types } = toJson(value);
    await publish(name, text, { msgId: ids[i]!, headers: { [typesHeader]: JSON.stringify(types) } });
  }
  return { ids, values };
}

describe('pump runs with NATS', () => {
  it('N2N: every record arrives once, with its id and value, and the source is drained', async () => {
    const from = await stream();
    const to = await stream();
    const { ids, values } = await seed(from, 25);
    const result = await createPump({
      source: createNatsSource({ url: natsUrl, stream: from }),
      sink: createNatsSink({ url: natsUrl, stream: to }),
      batchSize: 10,
    }).run();
    expect(result).toMatchObject({ stopReason: 'empty', records: 25, batches: 3 });
    const stored = await storedMessages(to);
    expect(stored.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(ids);
    const read = stored.map((m) => fromJson(m.string(), parseJsonTypes(m.header.get(typesHeader))));
    expect(read).toEqual(values);
    expect(await unacked(from)).toBe(0);
  });

  it('N2S: every record arrives in the Redis stream with its id as _source_id', async () => {
    const from = await stream();
    const to = uniqueName('ferry.test.n2s');
    keys.push(to);
    const { ids, values } = await seed(from, 12);
    const result = await createPump({
      source: createNatsSource({ url: natsUrl, stream: from }),
      sink: createRedisStreamSink({ url: redisUrl(), stream: to }),
      batchSize: 5,
    }).run();
    expect(result).toMatchObject({ stopReason: 'empty', records: 12 });
    // As the Redis source reads them: UTF-8 as text, other bytes as bytes.
    const text = (b: Buffer) => (Buffer.from(b.toString()).equals(b) ? b.toString() : b);
    const entries = (await redis.xrangeBuffer(to, '-', '+')).map(([, fields]) => decodeFields(fields.map(text)));
    expect(entries.map((entry) => entry._source_id)).toEqual(ids);
    expect(entries.map(({ _source_id, ...value }) => value)).toEqual(values);
    expect(await unacked(from)).toBe(0);
  });

  it('a poison message goes to the dead-letter stream after maxDeliveries, and the flow goes on', async () => {
    const from = await stream();
    const to = await stream();
    const dead = await stream();
    await publish(from, '{"ok":1}', { msgId: 'good' });
    await publish(from, 'not json', { msgId: 'bad' });
    const result = await createPump({
      source: createNatsSource({ url: natsUrl, stream: from }),
      sink: createNatsSink({ url: natsUrl, stream: to }),
      deadLetter: createNatsSink({ url: natsUrl, stream: dead }),
      batchSize: 10,
    }).run();
    expect(result).toMatchObject({ stopReason: 'empty', records: 1, deadLettered: 1 });
    const [letter] = await storedMessages(dead);
    const value = fromJson(letter!.string(), parseJsonTypes(letter!.header.get(typesHeader)));
    expect(value).toMatchObject({ sourceId: 'bad', source: 'nats', attempts: 1n, original: Buffer.from('not json') });
    expect(await unacked(from)).toBe(0);
  });

  describe('a batch left in doubt past the duplicate window', () => {
    /** Writes a batch, notes it in the journal, and "crashes" before the ack; then waits past the 1 s window. */
    async function crashAfterWrite(from: string, to: string, journal: ReturnType<typeof createMemoryJournal>) {
      const source = createNatsSource({ url: natsUrl, stream: from });
      const sink = createNatsSink({ url: natsUrl, stream: to });
      await source.open();
      await sink.open();
      const batch = await source.read(10, { waitMs: 0 });
      await journal.begin({ ids: batch.records.map((r) => r.id), attempts: 1, position: await sink.position!() });
      await sink.write(batch.records);
      // Closed unacked: the messages come back at once, as after a crash they would after their ack wait.
      await source.close();
      await sink.close();
      await new Promise((resolve) => setTimeout(resolve, 1300));
    }

    it('is found by its message ids (reconcile from the noted sequence), and not written again', async () => {
      const from = await stream();
      const to = await stream({ duplicate_window: nanos(1000) });
      const { ids } = await seed(from, 3);
      const journal = createMemoryJournal();
      await crashAfterWrite(from, to, journal);
      const result = await createPump({
        source: createNatsSource({ url: natsUrl, stream: from }),
        sink: createNatsSink({ url: natsUrl, stream: to }),
        journal,
        batchSize: 10,
      }).run();
      expect(result).toMatchObject({ stopReason: 'empty', records: 0 });
      expect((await storedMessages(to)).map((m) => m.header.get('Nats-Msg-Id'))).toEqual(ids);
      expect(await unacked(from)).toBe(0);
    });

    it('would be written twice by the duplicate window alone (a sink that cannot reconcile)', async () => {
      const from = await stream();
      const to = await stream({ duplicate_window: nanos(1000) });
      await seed(from, 3);
      const journal = createMemoryJournal();
      await crashAfterWrite(from, to, journal);
      const sink = createNatsSink({ url: natsUrl, stream: to });
      const blind: Sink = {
        name: sink.name,
        open: () => sink.open(),
        free: () => sink.free(),
        write: (records) => sink.write(records),
        close: () => sink.close(),
      };
      await createPump({
        source: createNatsSource({ url: natsUrl, stream: from }),
        sink: blind,
        journal,
        batchSize: 10,
      }).run();
      expect(await messageCount(to)).toBe(6);
    });
  });
});
