import type { ClickHouseSettings } from '@clickhouse/client';
import {
  createMemorySink,
  createMemorySource,
  createPump,
  Decimal,
  type FerryRecord,
  type RecordValue,
  Scalar,
  type Sink,
  type Source,
  sameValue,
  type Value,
  type WriteOutcome,
} from '@ferry/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClickHouseSink, createClickHouseSource } from './index.js';
import { admin, clickHouseUrl, closeAdmin, count, drop, onChdb, tableName } from './test-admin.js';

// Every value here is read back with the server's own driver, through expressions
// (toString, hex, toUnixTimestamp) and settings that keep the check itself exact.

const tables: string[] = [];
const opened: (Sink | Source)[] = [];
afterEach(async () => {
  for (const end of opened.splice(0)) await end.close();
  for (const table of tables.splice(0)) await drop(table);
});
afterAll(closeAdmin);

async function table(columns: string, order = 'tuple()'): Promise<string> {
  const name = tableName('ferry_values');
  tables.push(name);
  await admin().command({
    query: `CREATE TABLE default.\`${name}\` (${columns}) ENGINE = MergeTree ORDER BY ${order}`,
    // 18.16 needs this to create LowCardinality columns; current releases have no such setting and refuse it.
    clickhouse_settings: onChdb ? {} : ({ allow_experimental_low_cardinality_type: 1 } as ClickHouseSettings),
  });
  return name;
}

async function sink(name: string, options: Record<string, unknown> = {}): Promise<Sink> {
  const opened_ = createClickHouseSink({ url: clickHouseUrl, table: name, ...options });
  opened.push(opened_);
  await opened_.open();
  return opened_;
}

async function source(name: string, cursor: string, options: Record<string, unknown> = {}): Promise<Source> {
  const opened_ = createClickHouseSource({ url: clickHouseUrl, table: name, cursor, checkpointKey: name, ...options });
  opened.push(opened_);
  await opened_.open();
  return opened_;
}

/** Rows as the driver reads them, 64-bit integers quoted by an explicit setting. */
async function exact<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const result = await admin().query({
    query,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  });
  return (await result.json()) as T[];
}

const records = (values: readonly RecordValue[], prefix = 'r'): FerryRecord[] =>
  values.map((value, i) => ({ id: `${prefix}-${i}`, value, readAt: Date.now(), bytes: 0 }));

/** What `hex(reinterpretAsString(x))` shows for a float: its little-endian bytes, trailing zero bytes dropped. */
function floatHex(value: number, bytes: 4 | 8 = 8): string {
  const buf = Buffer.alloc(bytes);
  if (bytes === 8) buf.writeDoubleLE(value);
  else buf.writeFloatLE(value);
  return buf
    .toString('hex')
    .toUpperCase()
    .replace(/(00)+$/, '');
}

const everyType = [
  'k UInt32',
  'u8 UInt8',
  'u16 UInt16',
  'u32 UInt32',
  'u64 UInt64',
  'i8 Int8',
  'i16 Int16',
  'i32 Int32',
  'i64 Int64',
  'f32 Float32',
  'f64 Float64',
  'd Decimal(9, 2)',
  'd32 Decimal32(3)',
  'd64 Decimal64(4)',
  'd128 Decimal128(10)',
  's String',
  'b String',
  'fs FixedString(4)',
  'day Date',
  'dt DateTime',
  "dtz DateTime('Asia/Tokyo')",
  'uuid UUID',
  "e8 Enum8('a' = 1, 'b' = -2)",
  "e16 Enum16('x' = 1000)",
  'arr Array(Nullable(UInt64))',
  'tup Tuple(UInt8, String)',
  'nf Nullable(Float64)',
  'lc LowCardinality(String)',
  'strs Array(String)',
  'json String',
  '_source_id String',
].join(', ');

const uuid = '00112233-4455-6677-8899-aabbccddeeff';
const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x0a, 0x80]);
const text = 'grüße, 世界 🚀 "quoted" \u200f\\';
/** A double 18.16 parses one bit off from its shortest text. */
const hardFloat = 4.66089540846119e266;

const written: RecordValue[] = [
  {
    k: 1n,
    u8: 255n,
    u16: 65535n,
    u32: 4294967295n,
    u64: 18446744073709551615n,
    i8: -128n,
    i16: -32768n,
    i32: -2147483648n,
    i64: -9223372036854775808n,
    f32: Math.fround(0.1),
    f64: hardFloat,
    d: new Decimal('-1234567.89'),
    d32: '0.001',
    d64: 0.1,
    d128: new Decimal('-1234567890123456789012345678.0123456789'),
    s: text,
    b: binary,
    fs: 'ab\0c',
    day: new Date('2105-12-31T00:00:00Z'),
    dt: new Date('2106-02-07T06:28:15Z'),
    dtz: '2024-01-02T03:04:05+09:00',
    uuid: new Scalar('uuid', uuid),
    e8: 'b',
    e16: 'x',
    arr: [18446744073709551615n, null],
    tup: [7n, 'z'],
    nf: null,
    lc: 'low',
    strs: ['a', ''],
    json: '{"big":18446744073709551615,"f":1.0,"d":0.1}',
  },
  {
    k: 2n,
    u64: '9007199254740993',
    i64: 9223372036854775807n,
    f32: Number.NEGATIVE_INFINITY,
    f64: -0,
    nf: Number.NaN,
    d: '0',
    s: '',
    b: new Uint8Array([0xc3]),
    day: '1970-01-01',
    dt: '1970-01-01T00:00:00Z',
    arr: [],
    strs: [],
    json: '[]',
  },
];

/** What the source reads for each written value (keys not written read as the column's default). */
const readBack: Record<string, Value>[] = [
  {
    ...(written[0] as Record<string, Value>),
    d32: new Decimal('0.001'),
    d64: new Decimal('0.1000'),
    dtz: new Date('2024-01-01T18:04:05Z'),
    json: { big: 18446744073709551615n, f: 1, d: 0.1 },
    _source_id: 'r-0',
  },
  {
    k: 2n,
    u64: 9007199254740993n,
    i64: 9223372036854775807n,
    f32: Number.NEGATIVE_INFINITY,
    f64: -0,
    nf: Number.NaN,
    d: new Decimal('0.00'),
    s: '',
    b: new Uint8Array([0xc3]),
    day: new Date(0),
    dt: new Date(0),
    arr: [],
    strs: [],
    json: [],
    _source_id: 'r-1',
  },
];

describe('clickhouse values: every type 18.16 has, both ways', () => {
  it('the sink stores each value exactly, as the server reads it back itself', async () => {
    const name = await table(everyType, 'k');
    const out = await sink(name);
    expect(await out.write(records(written))).toBeUndefined();
    const [first, second] = await exact(
      `SELECT toString(u8) AS u8, toString(u16) AS u16, toString(u32) AS u32, toString(u64) AS u64,
        toString(i8) AS i8, toString(i16) AS i16, toString(i32) AS i32, toString(i64) AS i64,
        hex(reinterpretAsString(f32)) AS f32, hex(reinterpretAsString(f64)) AS f64,
        hex(s) AS s, hex(b) AS b, hex(fs) AS fs, toRelativeDayNum(day) AS day, toUnixTimestamp(dt) AS dt,
        toUnixTimestamp(dtz) AS dtz, toString(uuid) AS uuid, toString(e8) AS e8, toString(e16) AS e16,
        arr, tup, isNull(nf) AS nfNull, hex(reinterpretAsString(assumeNotNull(nf))) AS nfBits, toString(lc) AS lc,
        strs, json, _source_id
       FROM default.\`${name}\` ORDER BY k`,
    );
    expect(first).toEqual({
      u8: '255',
      u16: '65535',
      u32: '4294967295',
      u64: '18446744073709551615',
      i8: '-128',
      i16: '-32768',
      i32: '-2147483648',
      i64: '-9223372036854775808',
      f32: floatHex(Math.fround(0.1), 4),
      f64: floatHex(hardFloat),
      s: Buffer.from(text).toString('hex').toUpperCase(),
      b: 'FF00FE0A80',
      fs: '61620063',
      day: Date.UTC(2105, 11, 31) / 86_400_000,
      dt: Date.parse('2106-02-07T06:28:15Z') / 1000,
      dtz: Date.parse('2024-01-01T18:04:05Z') / 1000,
      uuid,
      e8: 'b',
      e16: 'x',
      arr: ['18446744073709551615', null],
      tup: [7, 'z'],
      nfNull: 1,
      nfBits: '',
      lc: 'low',
      strs: ['a', ''],
      json: '{"big":18446744073709551615,"f":1.0,"d":0.1}',
      _source_id: 'r-0',
    });
    expect(second).toMatchObject({
      u64: '9007199254740993',
      i64: '9223372036854775807',
      f32: floatHex(Number.NEGATIVE_INFINITY, 4),
      f64: floatHex(-0),
      nfNull: 0,
      nfBits: floatHex(Number.NaN),
      b: 'C3',
      day: 0,
      dt: 0,
    });
    // Decimals as TabSeparated writes them, with their scale: 18.16's toString garbles a Decimal128
    // this wide, and a current release's toString drops trailing zeros.
    const tsv = await admin().query({
      query: `SELECT d, d32, d64, d128 FROM default.\`${name}\` ORDER BY k`,
      format: 'TabSeparated',
      // 18.16 always writes the scale; a current release only when told.
      clickhouse_settings: onChdb ? { output_format_decimal_trailing_zeros: 1 } : {},
    });
    expect(await tsv.text()).toBe(
      '-1234567.89\t0.001\t0.1000\t-1234567890123456789012345678.0123456789\n0.00\t0.000\t0.0000\t0.0000000000\n',
    );
  });

  it('the source reads each column type as the value the table says, bytes that are not UTF-8 as bytes', async () => {
    const name = await table(everyType, 'k');
    await (await sink(name)).write(records(written));
    const reader = await source(name, 'k', { jsonColumns: ['json'] });
    const batch = await reader.read(10, { waitMs: 0 });
    expect(batch.rejected).toBeUndefined();
    expect(batch.records.map((r) => r.id)).toEqual(['1', '2']);
    for (const [i, record] of batch.records.entries()) {
      for (const [key, want] of Object.entries(readBack[i]!)) {
        expect({ key, same: sameValue(record.value[key], want) }).toEqual({ key, same: true });
      }
    }
    // Keys the second record did not hold read as the columns' defaults, of the column's kind.
    expect(batch.records[1]!.value.u8).toBe(0n);
    expect(batch.records[1]!.value.uuid).toEqual(new Scalar('uuid', '00000000-0000-0000-0000-000000000000'));
    expect(batch.records[1]!.value.fs).toBe('\0\0\0\0');
  });

  it('a thousand random doubles keep their bits (18.16 parses the text of about 6% of them one bit off)', async () => {
    const name = await table('k UInt32, f Float64, _source_id String', 'k');
    const bits = Buffer.alloc(8);
    const values: RecordValue[] = [];
    for (let k = 0; k < 1000; k++) {
      let x: number;
      do {
        bits.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, 0);
        bits.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, 4);
        x = bits.readDoubleLE(0);
      } while (!Number.isFinite(x));
      values.push({ k: BigInt(k), f: x });
    }
    await (await sink(name)).write(records(values));
    const back = await exact<{ k: number; f: string }>(
      `SELECT k, hex(reinterpretAsString(f)) AS f FROM default.\`${name}\` ORDER BY k`,
    );
    expect(back.filter((row) => row.f !== floatHex(values[row.k]!.f as number))).toEqual([]);
    expect(back).toHaveLength(1000);
  });
});

describe('clickhouse values: the issue 16 cases', () => {
  it('text 18446744073709551615 and 9007199254740993 (as Redis fields give them) are stored exactly', async () => {
    const name = await table('id UInt64, ids String, _source_id String');
    const out = await sink(name);
    await out.write(records([{ id: '18446744073709551615', ids: '9007199254740993' }], 'text'));
    // JSON numbers a message body held, read by core's exact reader: integers.
    await out.write(records([{ id: 18446744073709551615n, ids: 18446744073709551615n }], 'json'));
    expect(
      await exact(`SELECT toString(id) AS id, ids, _source_id FROM default.\`${name}\` ORDER BY _source_id`),
    ).toEqual([
      { id: '18446744073709551615', ids: '18446744073709551615', _source_id: 'json-0' },
      { id: '18446744073709551615', ids: '9007199254740993', _source_id: 'text-0' },
    ]);
  });

  it('a UInt64 cursor and value of 18446744073709551615 read back as 18446744073709551615n', async () => {
    const name = await table('id UInt64, n Int64', 'id');
    await admin().insert({
      table: `default.\`${name}\``,
      values: [{ id: '18446744073709551615', n: '-9223372036854775808' }],
      format: 'JSONEachRow',
    });
    const reader = await source(name, 'id');
    const [record] = (await reader.read(10, { waitMs: 0 })).records;
    expect(record?.id).toBe('18446744073709551615');
    expect(record?.value).toEqual({ id: 18446744073709551615n, n: -9223372036854775808n });
  });

  it('each value a column cannot hold exactly is dead-lettered with a reason naming the column, its type and the kind', async () => {
    const name = await table(
      'u64 UInt64, u8 UInt8, i32 Int32, d Decimal(10, 0), dec Decimal(9, 2), s String, dt DateTime, f32 Float32, fs FixedString(2), _source_id String',
    );
    const out = await sink(name);
    const cases: [RecordValue, RegExp][] = [
      [
        { u64: 18446744073709551616n },
        /^key "u64" → column "u64" UInt64 of default\.\w+: an integer 18446744073709551616 is out of range$/,
      ],
      [{ u64: '18446744073709551616' }, /column "u64" UInt64 .*text "18446744073709551616" is out of range/],
      // What a JSON.parse of 18446744073709551615 gives: the float 2^64, one past the top.
      [{ u64: 2 ** 64 }, /column "u64" UInt64 .*a float 18446744073709552000 is out of range/],
      [{ u8: -1n }, /column "u8" UInt8 .*an integer -1 is out of range/],
      [{ u8: 256 }, /column "u8" UInt8 .*a float 256 is out of range/],
      [{ i32: 'abc' }, /column "i32" Int32 .*text "abc" is not a number literal/],
      [{ i32: 1.5 }, /column "i32" Int32 .*a float 1\.5 is not an integer/],
      [{ d: 0.1 }, /column "d" Decimal\(10, 0\) .*a float 0\.1 has more than 0 fraction digits/],
      [{ dec: Number.NaN }, /column "dec" Decimal\(9, 2\) .*a float NaN is not a finite number/],
      [{ s: null }, /column "s" String .*null, and the column is not Nullable/],
      [
        { dt: new Date('2024-01-02T03:04:05.123Z') },
        /column "dt" DateTime .*a timestamp 2024-01-02T03:04:05\.123Z has milliseconds/,
      ],
      [{ f32: 0.1 }, /column "f32" Float32 .*a float 0\.1 has no exact Float32/],
      [{ fs: 'a' }, /column "fs" FixedString\(2\) .*1 bytes, not 2/],
      [
        { u8: 1n, _source_id: 'another id' },
        /would overwrite the record id "r-13" in column "_source_id".*set idColumn to another column/,
      ],
    ];
    const outcome = (await out.write(records(cases.map(([value]) => value)))) as WriteOutcome;
    expect(outcome.rejected.map((r) => r.id)).toEqual(cases.map((_, i) => `r-${i}`));
    cases.forEach(([, reason], i) => {
      expect(outcome.rejected[i]!.reason).toMatch(reason);
    });
    expect(await count(name)).toBe(0);
  });

  it('1000 records whose keys match no column: all dead-lettered, no row of defaults; records that lose keys are counted', async () => {
    const name = await table('n UInt32, task String, _source_id String');
    const deadLetter = createMemorySink();
    const moved = await createPump({
      source: createMemorySource(Array.from({ length: 1000 }, (_, i) => ({ count: BigInt(i), job: 'x' }))),
      sink: createClickHouseSink({ url: clickHouseUrl, table: name }),
      deadLetter,
      batchSize: 100,
    }).run();
    expect(moved).toMatchObject({ records: 0, deadLettered: 1000 });
    expect(moved.skippedFields).toBeUndefined();
    expect(await count(name)).toBe(0);
    expect(deadLetter.records[0]!.value.reason).toMatch(
      /^no key of the record \("count", "job"\) has a column in default\.\w+: it would be a row of defaults$/,
    );

    const skipped = await createPump({
      source: createMemorySource(Array.from({ length: 10 }, (_, i) => ({ n: BigInt(i), task: 't', extra: true }))),
      sink: createClickHouseSink({ url: clickHouseUrl, table: name }),
      batchSize: 4,
    }).run();
    expect(skipped).toMatchObject({ records: 10, deadLettered: 0, skippedFields: 10 });
    expect(skipped.firstSkipped?.keys).toEqual(['extra']);
    expect(await count(name)).toBe(10);
  });
});
