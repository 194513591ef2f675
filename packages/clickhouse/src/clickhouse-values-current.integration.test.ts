import {
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

// The types ClickHouse 18.16 does not have: its CREATE TABLE refuses every one of them,
// so these run on the current release (chDB) only. Values are read back with the
// engine's own driver, through expressions that keep the check exact.

const tables: string[] = [];
const opened: (Sink | Source)[] = [];
afterEach(async () => {
  for (const end of opened.splice(0)) await end.close();
  for (const table of tables.splice(0)) await drop(table);
});
afterAll(closeAdmin);

async function table(columns: string): Promise<string> {
  const name = tableName('ferry_values_new');
  tables.push(name);
  await admin().command({ query: `CREATE TABLE default.\`${name}\` (${columns}) ENGINE = MergeTree ORDER BY k` });
  return name;
}

async function sink(name: string): Promise<Sink> {
  const made = createClickHouseSink({ url: clickHouseUrl, table: name });
  opened.push(made);
  await made.open();
  return made;
}

async function source(name: string): Promise<Source> {
  const made = createClickHouseSource({ url: clickHouseUrl, table: name, cursor: 'k', checkpointKey: name });
  opened.push(made);
  await made.open();
  return made;
}

/** Rows as the driver reads them (an alias shadows its column in ClickHouse: each differs from the columns): 64-bit integers as digits, decimals with their scale. */
async function exact<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const result = await admin().query({
    query,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1, output_format_decimal_trailing_zeros: 1 },
  });
  return (await result.json()) as T[];
}

const records = (values: readonly RecordValue[], prefix = 'r'): FerryRecord[] =>
  values.map((value, i) => ({ id: `${prefix}-${i}`, value, readAt: Date.now(), bytes: 0 }));

/** Each key of `want` in `got`, by core's exact comparison (bigint is not number, 1.50 is not 1.5). */
function expectSame(got: RecordValue, want: Record<string, Value>): void {
  for (const [key, value] of Object.entries(want)) {
    expect({ key, got: got[key], same: sameValue(got[key], value) }).toEqual({ key, got: got[key], same: true });
  }
}

const newTypes = [
  'k UInt32',
  'i128 Int128',
  'i256 Int256',
  'u128 UInt128',
  'u256 UInt256',
  'b Bool',
  'nb Nullable(Bool)',
  'm Map(String, UInt64)',
  'mi Map(UInt64, Nullable(String))',
  "t3 DateTime64(3, 'UTC')",
  't6 DateTime64(6)',
  "t0 DateTime64(0, 'Asia/Tokyo')",
  'd32 Date32',
  'dec Decimal(76, 10)',
  'd256 Decimal256(0)',
  'lcn LowCardinality(Nullable(String))',
  // A named Tuple: DESCRIBE writes it over several lines on current releases.
  'tup Tuple(a UInt8, b String)',
  'arr Array(Tuple(n Int128, s LowCardinality(String)))',
  'uuid UUID',
  "e Enum8('a' = 1, 'b' = -2)",
  '_source_id String',
].join(', ');

const i128 = { min: -(2n ** 127n), max: 2n ** 127n - 1n };
const i256 = { min: -(2n ** 255n), max: 2n ** 255n - 1n };
const u128max = 2n ** 128n - 1n;
const u256max = 2n ** 256n - 1n;
const dec66 = `${'9'.repeat(66)}.${'9'.repeat(10)}`;
const nines76 = '9'.repeat(76);
const uuid = 'ffffffff-0000-4000-8000-00000000abcd';

/** Both ends of each type: maxima in the first row, minima (and before 1970) in the second. */
const written: RecordValue[] = [
  {
    k: 1n,
    i128: i128.max,
    i256: i256.max,
    u128: u128max,
    u256: u256max,
    b: true,
    nb: null,
    m: { a: 1n, 'b c': 18446744073709551615n, '': 0n },
    mi: { '0': null, '18446744073709551615': 'max' },
    t3: new Date('2024-01-02T03:04:05.678Z'),
    t6: new Date('1969-12-31T23:59:59.999Z'),
    t0: '2024-01-02T03:04:05+09:00',
    d32: new Date('2299-12-31T00:00:00Z'),
    dec: new Decimal(dec66),
    d256: nines76,
    lcn: 'low',
    tup: [7n, 'z'],
    arr: [
      [i128.min, 'x'],
      [1n, ''],
    ],
    uuid: new Scalar('uuid', uuid),
    e: 'b',
  },
  {
    k: 2n,
    i128: i128.min,
    i256: i256.min,
    u128: 0n,
    u256: '0',
    b: false,
    nb: false,
    m: {},
    mi: {},
    t3: new Date('1900-01-01T00:00:00.000Z'),
    t6: '1969-07-20T20:17:40.123Z',
    t0: new Date('1969-12-31T23:59:59Z'),
    d32: '1900-01-01',
    dec: `-${dec66}`,
    d256: new Decimal(`-${nines76}`),
    lcn: null,
    tup: [255n, ''],
    arr: [],
    uuid: uuid.toUpperCase(),
    e: 'a',
  },
];

/** The same rows as SQL builds them, for the source to read what ferry did not write. */
const seededRows = [
  `(1, toInt128('${i128.max}'), toInt256('${i256.max}'), toUInt128('${u128max}'), toUInt256('${u256max}'), true, NULL,
    map('a', toUInt64(1), 'b c', toUInt64('18446744073709551615'), '', toUInt64(0)),
    map(toUInt64(0), CAST(NULL, 'Nullable(String)'), toUInt64('18446744073709551615'), 'max'),
    toDateTime64('2024-01-02 03:04:05.678', 3, 'UTC'), toDateTime64('1969-12-31 23:59:59.999', 6, 'UTC'),
    toDateTime64('2024-01-02 03:04:05', 0, 'Asia/Tokyo'), toDate32('2299-12-31'),
    toDecimal256('${dec66}', 10), toDecimal256('${nines76}', 0), 'low', (7, 'z'),
    [(toInt128('${i128.min}'), 'x'), (toInt128(1), '')], toUUID('${uuid}'), 'b', 'r-0')`,
  `(2, toInt128('${i128.min}'), toInt256('${i256.min}'), toUInt128(0), toUInt256(0), false, false, map(), map(),
    toDateTime64('1900-01-01 00:00:00.000', 3, 'UTC'), toDateTime64('1969-07-20 20:17:40.123', 6, 'UTC'),
    toDateTime64('1969-12-31 23:59:59', 0, 'UTC'), toDate32('1900-01-01'),
    toDecimal256('-${dec66}', 10), toDecimal256('-${nines76}', 0), NULL, (255, ''), [], toUUID('${uuid}'), 'a', 'r-1')`,
];

/** What the source reads for each row, exactly. */
const readBack: Record<string, Value>[] = [
  {
    k: 1n,
    i128: i128.max,
    i256: i256.max,
    u128: u128max,
    u256: u256max,
    b: true,
    nb: null,
    m: { a: 1n, 'b c': 18446744073709551615n, '': 0n },
    mi: { '0': null, '18446744073709551615': 'max' },
    t3: new Date('2024-01-02T03:04:05.678Z'),
    t6: new Date('1969-12-31T23:59:59.999Z'),
    t0: new Date('2024-01-01T18:04:05Z'),
    d32: new Date('2299-12-31T00:00:00Z'),
    dec: new Decimal(dec66),
    d256: new Decimal(nines76),
    lcn: 'low',
    tup: [7n, 'z'],
    arr: [
      [i128.min, 'x'],
      [1n, ''],
    ],
    uuid: new Scalar('uuid', uuid),
    e: 'b',
    _source_id: 'r-0',
  },
  {
    k: 2n,
    i128: i128.min,
    i256: i256.min,
    u128: 0n,
    u256: 0n,
    b: false,
    nb: false,
    m: {},
    mi: {},
    t3: new Date('1900-01-01T00:00:00.000Z'),
    t6: new Date('1969-07-20T20:17:40.123Z'),
    t0: new Date('1969-12-31T23:59:59Z'),
    d32: new Date('1900-01-01T00:00:00Z'),
    dec: new Decimal(`-${dec66}`),
    d256: new Decimal(`-${nines76}`),
    lcn: null,
    tup: [255n, ''],
    arr: [],
    uuid: new Scalar('uuid', uuid),
    e: 'a',
    _source_id: 'r-1',
  },
];

describe.skipIf(!onChdb)(
  'clickhouse values: the types 18.16 lacks (current release only: 18.16 cannot create them)',
  () => {
    it('the sink stores each value exactly, as the engine reads it back itself', async () => {
      const name = await table(newTypes);
      expect(await (await sink(name)).write(records(written))).toBeUndefined();
      const back = await exact(
        `SELECT toString(i128) AS i128, toString(i256) AS i256, toString(u128) AS u128, toString(u256) AS u256,
        toString(b) AS b, toString(nb) AS nb, mapKeys(m) AS mk, arrayMap(v -> toString(v), mapValues(m)) AS mv,
        arrayMap(k -> toString(k), mapKeys(mi)) AS mik, mapValues(mi) AS miv,
        toString(t3) AS t3text, toString(toUnixTimestamp64Milli(t3)) AS t3ms, toString(toUnixTimestamp64Micro(t6)) AS t6us,
        toString(t0) AS t0text, toString(toUnixTimestamp64Milli(t0)) AS t0ms, toString(d32) AS d32text, toInt32(d32) AS d32days,
        toDecimalString(dec, 10) AS dec, toString(d256) AS d256, lcn, toString(tup) AS tup, toString(arr) AS arr,
        toString(uuid) AS uuid, toString(e) AS e, _source_id
       FROM default.\`${name}\` ORDER BY k`,
      );
      expect(back).toEqual([
        {
          i128: i128.max.toString(),
          i256: i256.max.toString(),
          u128: u128max.toString(),
          u256: u256max.toString(),
          b: 'true',
          nb: null,
          mk: ['a', 'b c', ''],
          mv: ['1', '18446744073709551615', '0'],
          mik: ['0', '18446744073709551615'],
          miv: [null, 'max'],
          t3text: '2024-01-02 03:04:05.678',
          t3ms: String(Date.parse('2024-01-02T03:04:05.678Z')),
          t6us: '-1000',
          t0text: '2024-01-02 03:04:05',
          t0ms: String(Date.parse('2024-01-01T18:04:05Z')),
          d32text: '2299-12-31',
          d32days: Date.UTC(2299, 11, 31) / 86_400_000,
          dec: dec66,
          d256: nines76,
          lcn: 'low',
          tup: "(7,'z')",
          arr: `[(${i128.min},'x'),(1,'')]`,
          uuid,
          e: 'b',
          _source_id: 'r-0',
        },
        {
          i128: i128.min.toString(),
          i256: i256.min.toString(),
          u128: '0',
          u256: '0',
          b: 'false',
          nb: 'false',
          mk: [],
          mv: [],
          mik: [],
          miv: [],
          t3text: '1900-01-01 00:00:00.000',
          t3ms: String(Date.UTC(1900, 0, 1)),
          t6us: String(Date.parse('1969-07-20T20:17:40.123Z') * 1000),
          t0text: '1970-01-01 08:59:59',
          t0ms: '-1000',
          d32text: '1900-01-01',
          d32days: Date.UTC(1900, 0, 1) / 86_400_000,
          dec: `-${dec66}`,
          d256: `-${nines76}`,
          lcn: null,
          tup: "(255,'')",
          arr: '[]',
          uuid,
          e: 'a',
          _source_id: 'r-1',
        },
      ]);
    });

    it('the source reads each as the value the column says: bigint, boolean, object, ms timestamps, exact decimals', async () => {
      const name = await table(newTypes);
      await admin().command({ query: `INSERT INTO default.\`${name}\` VALUES ${seededRows.join(', ')}` });
      const batch = await (await source(name)).read(10, { waitMs: 0 });
      expect(batch.rejected).toBeUndefined();
      expect(batch.records.map((record) => record.id)).toEqual(['1', '2']);
      for (const [i, record] of batch.records.entries()) expectSame(record.value, readBack[i]!);
    });

    it('what the sink wrote, the source reads as it was written', async () => {
      const name = await table(newTypes);
      await (await sink(name)).write(records(written));
      const batch = await (await source(name)).read(10, { waitMs: 0 });
      expect(batch.rejected).toBeUndefined();
      for (const [i, record] of batch.records.entries()) expectSame(record.value, readBack[i]!);
    });

    it('a DateTime64 finer than milliseconds is dead-lettered at the source naming the column; the rows around it read on', async () => {
      const name = await table("k UInt32, t DateTime64(6, 'UTC'), t9 DateTime64(9, 'UTC')");
      await admin().command({
        query: `INSERT INTO default.\`${name}\` VALUES
        (1, toDateTime64('1969-12-31 23:59:59.999000', 6, 'UTC'), toDateTime64('2262-04-11 23:47:16.854', 9, 'UTC')),
        (2, toDateTime64('2024-01-02 03:04:05.678901', 6, 'UTC'), toDateTime64('2024-01-02 03:04:05', 9, 'UTC')),
        (3, toDateTime64('1900-01-01 00:00:00', 6, 'UTC'), toDateTime64('1969-12-31 23:59:59.000000001', 9, 'UTC'))`,
      });
      const batch = await (await source(name)).read(10, { waitMs: 0 });
      expect(batch.records.map((record) => record.id)).toEqual(['1']);
      expectSame(batch.records[0]!.value, {
        t: new Date('1969-12-31T23:59:59.999Z'),
        t9: new Date('2262-04-11T23:47:16.854Z'),
      });
      expect(batch.rejected?.map((r) => [r.id, r.reason])).toEqual([
        [
          '2',
          expect.stringMatching(
            /^row 2 of default\.\w+: column "t" DateTime64\(6, 'UTC'\): the value has digits finer than milliseconds/,
          ),
        ],
        [
          '3',
          expect.stringMatching(/: column "t9" DateTime64\(9, 'UTC'\): the value has digits finer than milliseconds/),
        ],
      ]);
    });

    it('a Map holding a key twice is dead-lettered at the source (an object would keep one value); a Map key that is no text is too', async () => {
      const name = await table('k UInt32, m Map(String, UInt8), md Map(Date, UInt8)');
      await admin().command({
        query: `INSERT INTO default.\`${name}\` VALUES
        (1, map('a', 1, 'b', 2), map()), (2, map('a', 1, 'a', 2), map()), (3, map(), map(toDate('2024-01-02'), 1))`,
      });
      const batch = await (await source(name)).read(10, { waitMs: 0 });
      expect(batch.records.map((record) => [record.id, record.value.m])).toEqual([['1', { a: 1n, b: 2n }]]);
      expect(batch.rejected?.map((r) => [r.id, r.reason])).toEqual([
        ['2', expect.stringMatching(/column "m" Map\(String, UInt8\): the key "a" is in the map twice$/)],
        [
          '3',
          expect.stringMatching(/column "md" Map\(Date, UInt8\): a Map\(Date, UInt8\) key is not text or an integer$/),
        ],
      ]);
    });

    it('a type ferry has no exact mapping for (IPv4, JSON, Variant, Time) fails the source at open and dead-letters at the sink, naming the column', async () => {
      const name = await table('k UInt32, ip IPv4, j JSON, v Variant(String, UInt64), t Time, _source_id String');
      const reader = createClickHouseSource({ url: clickHouseUrl, table: name, cursor: 'k', checkpointKey: name });
      opened.push(reader);
      await expect(reader.open()).rejects.toThrow(/column "ip" has type IPv4, which ferry cannot read exactly/);
      const outcome = (await (
        await sink(name)
      ).write(
        records([
          { k: 1n, ip: '1.2.3.4' },
          { k: 2n, j: '{}' },
          { k: 3n, v: 'x' },
          { k: 4n, t: '01:02:03' },
        ]),
      )) as WriteOutcome;
      expect(outcome.rejected.map((r) => r.reason)).toEqual([
        expect.stringMatching(/column "ip" IPv4 .*ferry has no exact mapping for IPv4$/),
        expect.stringMatching(/column "j" JSON .*ferry has no exact mapping for JSON$/),
        expect.stringMatching(/column "v" Variant\(String, UInt64\) .*no exact mapping for Variant\(String, UInt64\)$/),
        expect.stringMatching(/column "t" Time .*ferry has no exact mapping for Time$/),
      ]);
      expect(await count(name)).toBe(0);
    });

    it('each value such a column cannot hold exactly is dead-lettered with a reason naming the column', async () => {
      const name = await table(newTypes);
      const out = await sink(name);
      const cases: [RecordValue, RegExp][] = [
        [
          { i128: i128.max + 1n },
          /^key "i128" → column "i128" Int128 of default\.\w+: an integer 170141183460469231731687303715884105728 is out of range$/,
        ],
        [{ i256: i256.min - 1n }, /column "i256" Int256 .*is out of range/],
        [{ u128: `${u128max + 1n}` }, /column "u128" UInt128 .*text "340282366920938463463374607431768211456" is out/],
        [{ u256: -1n }, /column "u256" UInt256 .*an integer -1 is out of range/],
        [{ i256: 1.5 }, /column "i256" Int256 .*a float 1\.5 is not an integer/],
        [{ b: 1n }, /column "b" Bool .*an integer 1 is not a boolean/],
        [{ nb: 'yes' }, /column "nb" Nullable\(Bool\) .*text "yes" is not a boolean/],
        [{ m: { a: 1n, b: -1n } }, /column "m" Map\(String, UInt64\) .*key "b": an integer -1 is out of range/],
        [{ m: 'a=1' }, /column "m" Map\(String, UInt64\) .*text "a=1" is not an object/],
        [
          { mi: { x: 'y' } },
          /column "mi" Map\(UInt64, Nullable\(String\)\) .*key "x": text "x" is not a number literal/,
        ],
        [{ t3: '2024-01-02T03:04:05.6789Z' }, /column "t3" DateTime64\(3, 'UTC'\) .*finer than milliseconds/],
        [{ t0: new Date('2024-01-02T03:04:05.500Z') }, /column "t0" DateTime64\(0, 'Asia\/Tokyo'\) .*finer than/],
        [{ t6: '2024-01-02 03:04:05' }, /column "t6" DateTime64\(6\) .*has no time zone/],
        [{ t6: new Date('2300-01-01T00:00:00Z') }, /column "t6" DateTime64\(6\) .*is outside DateTime64\(6\)'s range/],
        [{ t3: new Date('1899-12-31T23:59:59.999Z') }, /column "t3" .*is outside DateTime64\(3, 'UTC'\)'s range/],
        [{ d32: '1899-12-31' }, /column "d32" Date32 .*outside Date32's range \(1900-01-01 to 2299-12-31\)/],
        [{ dec: `1${'0'.repeat(66)}` }, /column "dec" Decimal\(76, 10\) .*has more than 66 integer digits/],
        [{ dec: '0.12345678901' }, /column "dec" Decimal\(76, 10\) .*has more than 10 fraction digits/],
        [{ d256: `1${'0'.repeat(76)}` }, /column "d256" Decimal\(76, 0\) .*has more than 76 integer digits/],
        // Reasons name a named Tuple on one line, though DESCRIBE writes it over several.
        [{ tup: [1n] }, /column "tup" Tuple\(a UInt8, b String\) of .*is not an array of 2 items$/],
        [
          {
            arr: [
              [1n, 'a'],
              [i128.max + 1n, 'b'],
            ],
          },
          /column "arr" Array\(Tuple\(n Int128, s LowCardinality\(String\)\)\) .*item 1: item 0: an integer \d+ is out of range/,
        ],
        [{ e: 'c' }, /column "e" Enum8\('b' = -2, 'a' = 1\) .*text "c" is not one of "b", "a"/],
        [{ uuid: 'not-a-uuid' }, /column "uuid" UUID .*text "not-a-uuid" is not a UUID/],
      ];
      const outcome = (await out.write(records(cases.map(([value]) => ({ k: 1n, ...value }))))) as WriteOutcome;
      expect(outcome.rejected.map((r) => r.id)).toEqual(cases.map((_, i) => `r-${i}`));
      cases.forEach(([, reason], i) => {
        expect(outcome.rejected[i]!.reason).toMatch(reason);
      });
      expect(await count(name)).toBe(0);
    });
  },
);
