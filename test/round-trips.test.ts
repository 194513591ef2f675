/**
 * Round trips: what goes out of a system and comes back is what it was, read
 * at the origin with its own driver (the fidelity matrix's readers, from each
 * package's test end). Each trip names its systems: what changes on the way
 * (an `_id` gained, an Int64 that fits read back as Int32, a decimal's tag)
 * depends on the pair.
 */

import { createClickHouseSink, createClickHouseSource } from '@ferry/clickhouse';
import { readTable } from '@ferry/clickhouse/testing';
import type { Sink } from '@ferry/core';
import { createMongoSink, createMongoSource } from '@ferry/mongo';
import { canonical, readCollection } from '@ferry/mongo/testing';
import { createRabbitMqSink, createRabbitMqSource } from '@ferry/rabbitmq';
import { readQueue } from '@ferry/rabbitmq/testing';
import { createRedisStreamSink, createRedisStreamSource } from '@ferry/redis-stream';
import { readStream } from '@ferry/redis-stream/testing';
import { uniqueName } from '@ferry/testkit';
import { NOT_UTF8, OID, SCRIPTS, UUID_TEXT } from '@ferry/testkit/fidelity';
import { Binary, Decimal128, type Document, Double, Int32, Long, ObjectId, UUID } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { redisUrl } from './support/cli.js';
import { chdbTarget, serverTarget } from './support/clickhouse-targets.js';
import { move } from './support/fidelity.js';
import { useWorld } from './support/world.js';

const world = useWorld('roundtrip');
const checkpointKeys: string[] = [];

afterAll(async () => {
  if (checkpointKeys.length === 0) return;
  const keys = checkpointKeys.map((key) => `'${key}'`).join(', ');
  await world.ch
    .command({ query: `ALTER TABLE default.ferry_checkpoints DELETE WHERE key IN (${keys})` })
    .catch(() => undefined);
});

const quoted = (name: string) => `\`${name}\``;

/** Field texts of every sort an outside producer writes, in order; each must come back as the same bytes. */
// biome-ignore format: one field a line
const roundTripFields: [string, string | Buffer][] = [
  ['int_2p53p1', '9007199254740993'], ['int64_min', '-9223372036854775808'], ['uint64_max', '18446744073709551615'],
  ['dec_0_1', '0.1'], ['dec_1_0', '1.0'], ['dec_neg0', '-0'], ['dec_1e5', '1e5'], ['dec_007', '007'],
  ['text_scripts', SCRIPTS], ['text_empty', ''], ['null_text', 'null'], ['json_true', 'true'],
  ['json_object', '{"a":1}'], ['json_quoted', '"quoted"'], ['marker_binary', '{"$binary":"aGVsbG8="}'],
  ['marker_types', '{"/a":"bytes"}'], ['bytes', NOT_UTF8], ['a.b', 'dotted'], ['__proto__', 'proto'],
  ['\\ferry:types', '{"/a":"bytes"}'],
];

/** Moves everything from source to sink and expects no dead letter. */
async function moveAll(source: Parameters<typeof move>[0], sink: Sink): Promise<void> {
  expect([...(await move(source, sink, {}))]).toEqual([]);
}

describe('round trips', () => {
  const redis = () => world.streams.redis;

  it('S→Q→S: every field text comes back byte for byte, and no ferry:types appears', async () => {
    const fields = [...roundTripFields, ['$top', 'dollar'] as [string, string]];
    const origin = world.streams.name('rt.sqs');
    const id = (await redis().xadd(origin, '*', ...fields.flat())) as string;
    const queue = uniqueName('fidelity.rt.sqs');
    await world.vhost.channel.assertQueue(queue, { durable: true });
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream: origin }),
      createRabbitMqSink({ url: world.vhost.url, queue }),
    );
    const back = world.streams.name('rt.sqs.back');
    await moveAll(
      createRabbitMqSource({ url: world.vhost.url, queue }),
      createRedisStreamSink({ url: redisUrl, stream: back }),
    );
    expect((await readStream(redis(), back)).get(id)).toEqual({ fields });
  });

  it('S→M→S: every field text comes back byte for byte, after the _id the document was given', async () => {
    const origin = world.streams.name('rt.sms');
    const id = (await redis().xadd(origin, '*', ...roundTripFields.flat())) as string;
    const collection = uniqueName('fidelity.rt.sms');
    const mongo = { url: world.mongo.url, database: world.db.databaseName, collection };
    await moveAll(createRedisStreamSource({ url: redisUrl, stream: origin }), createMongoSink(mongo));
    const back = world.streams.name('rt.sms.back');
    await moveAll(createMongoSource(mongo), createRedisStreamSink({ url: redisUrl, stream: back }));
    expect((await readStream(redis(), back)).get(id)).toEqual({ fields: [['_id', id], ...roundTripFields] });
  });

  it('Q→S→Q: a body in the form ferry writes comes back as the same text; the decimal gains its tag', async () => {
    // biome-ignore format: the body as one JSON text
    const text = `{"big":18446744073709551615,"min":-9223372036854775808,"f":1.0,"nz":-0.0,"tenth":0.1,"pi":3.14159265358979323846,"t":"1.0","e":"","u":${JSON.stringify(SCRIPTS)},"n":null,"b":true,"o":{"a":[1,2.5,{"$binary":"aGVsbG8="}],"__proto__":{"x":"y"}},"raw":"//4AgA=="}`;
    const queue = uniqueName('fidelity.rt.qsq');
    const channel = world.vhost.channel;
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from(text), {
      messageId: 'rt-qsq',
      contentType: 'application/json',
      headers: { 'ferry-types': '{"/raw":"bytes"}' },
    });
    await channel.waitForConfirms();
    const stream = world.streams.name('rt.qsq');
    // No source-id field in the stream: it would be one more key of the body on the way back.
    const middle = createRedisStreamSink({ url: redisUrl, stream, sourceIdField: false });
    await moveAll(createRabbitMqSource({ url: world.vhost.url, queue }), middle);
    const back = uniqueName('fidelity.rt.qsq.back');
    await channel.assertQueue(back, { durable: true });
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream }),
      createRabbitMqSink({ url: world.vhost.url, queue: back }),
    );
    const messages = [...(await readQueue(channel, back)).values()];
    expect(messages).toEqual([{ body: text, types: { '/pi': 'decimal', '/raw': 'bytes' } }]);
  });

  it('M→S→M: every BSON type comes back, except an Int64 that fits Int32, which comes back Int32 (the README write table)', async () => {
    const doc: Document = {
      _id: 'rt-msm',
      int64: Long.fromString('9007199254740993'),
      int64Small: Long.fromNumber(5),
      int32: new Int32(7),
      double: new Double(1),
      decimal: Decimal128.fromString('1.50'),
      bytes: new Binary(NOT_UTF8, 0),
      oid: new ObjectId(OID),
      date: new Date(1704164645678),
      uuid: new UUID(UUID_TEXT),
      nested: { k: [Long.fromString('4611686018427387904'), new Double(-0), new Int32(-1)] },
      text: '18446744073709551615',
    };
    const from = uniqueName('fidelity.rt.msm');
    await world.db.collection(from).insertOne(doc);
    const stream = world.streams.name('rt.msm');
    const where = { url: world.mongo.url, database: world.db.databaseName };
    // No source-id field in the stream: it would be one more field of the document on the way back.
    await moveAll(
      createMongoSource({ ...where, collection: from }),
      createRedisStreamSink({ url: redisUrl, stream, sourceIdField: false }),
    );
    const to = uniqueName('fidelity.rt.msm.back');
    await moveAll(createRedisStreamSource({ url: redisUrl, stream }), createMongoSink({ ...where, collection: to }));
    const { _id, ...rest } = doc;
    expect((await readCollection(world.db, to)).get('rt-msm')).toBe(canonical({ ...rest, int64Small: new Int32(5) }));
  });
});

/** The ClickHouse trips on the 18.16 server and on ClickHouse 26 embedded (chDB), which the sinks and sources open in this process too. */
const chTargets = [serverTarget(), chdbTarget()];
afterAll(async () => {
  for (const target of chTargets) await target.close();
});

describe.each(chTargets)('round trips through $name', (target) => {
  const redis = () => world.streams.redis;

  it('S→C(String columns)→S: every field text comes back byte for byte', async () => {
    const fields = [...roundTripFields, ['$top', 'dollar'] as [string, string]];
    const origin = world.streams.name('rt.scs');
    const id = (await redis().xadd(origin, '*', ...fields.flat())) as string;
    // A user's field `ferry:types` is the key `ferry:types`, and so the column.
    const columns = fields.map(([name]) => `${quoted(name.replace(/^\\/, ''))} String`).join(', ');
    const table = await target.table('scs', `_source_id String, ${columns}`, '_source_id');
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream: origin }),
      createClickHouseSink({ url: target.url, table }),
    );
    const back = world.streams.name('rt.scs.back');
    const checkpointKey = uniqueName('fidelity.rt.scs');
    checkpointKeys.push(checkpointKey);
    // The cursor is the id column the first hop wrote: the record id of the way back is the entry's own.
    const source = createClickHouseSource({ url: target.url, table, cursor: '_source_id', checkpointKey });
    await moveAll(source, createRedisStreamSink({ url: redisUrl, stream: back }));
    expect((await readStream(redis(), back)).get(id)).toEqual({ fields });
  });

  it('C→S→C: UInt64, Int64 and Decimal(38, 10) values come back exactly', async () => {
    const columns = 'n UInt32, u UInt64, i Int64, d Decimal(38, 10)';
    const from = await target.table('csc_from', columns, 'n');
    await target.command(
      `INSERT INTO default.\`${from}\` VALUES (1, 18446744073709551615, -9223372036854775808, toDecimal128('1234567890123456789012345678.0123456789', 10)), (2, 9007199254740993, 9223372036854775807, toDecimal128('0.1', 10))`,
    );
    const stream = world.streams.name('rt.csc');
    const checkpointKey = uniqueName('fidelity.rt.csc');
    checkpointKeys.push(checkpointKey);
    const source = createClickHouseSource({ url: target.url, table: from, cursor: 'n', checkpointKey });
    // No source-id field in the stream: the way back would refuse to put another id in _source_id.
    await moveAll(source, createRedisStreamSink({ url: redisUrl, stream, sourceIdField: false }));
    const to = await target.table('csc_to', `_source_id String, ${columns}`, 'n');
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream }),
      createClickHouseSink({ url: target.url, table: to }),
    );
    const rows = [...(await target.use((ch) => readTable(ch, to))).values()].sort(
      (a, b) => Number(a[0]![1]) - Number(b[0]![1]),
    );
    expect(rows).toEqual([
      [
        ['n', '1'],
        ['u', '18446744073709551615'],
        ['i', '-9223372036854775808'],
        ['d', '1234567890123456789012345678.0123456789'],
      ],
      [
        ['n', '2'],
        ['u', '9007199254740993'],
        ['i', '9223372036854775807'],
        ['d', '0.1000000000'],
      ],
    ]);
  });
});
