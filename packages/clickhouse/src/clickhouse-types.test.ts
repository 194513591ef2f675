import { Decimal, type FerryRecord, Scalar, sameValue, type Value } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { BinaryReader, BinaryWriter } from './clickhouse-binary.js';
import { decimalText, decoderFor, textOrBytes } from './clickhouse-decode.js';
import { encoderFor, exactOf } from './clickhouse-encode.js';
import { createRowMapper } from './clickhouse-sink.js';
import { compactType, parseColumnType } from './clickhouse-types.js';

/** Encodes a value for a type, then decodes it: the value ferry reads back, or the refusal. */
function trip(type: string, value: Value): { back: Value } | { refused: string } {
  const parsed = parseColumnType(type);
  const out = new BinaryWriter(16);
  const refused = encoderFor(parsed)(value, out);
  if (refused !== undefined) return { refused };
  const input = new BinaryReader(out.buf.subarray(0, out.pos));
  const problem = { reason: undefined as string | undefined };
  const back = decoderFor(parsed)(input, problem);
  expect(input.done).toBe(true);
  expect(problem.reason).toBeUndefined();
  return { back };
}

const stored = (type: string, value: Value): Value => {
  const result = trip(type, value);
  if ('refused' in result) throw new Error(`refused: ${result.refused}`);
  return result.back;
};
const refused = (type: string, value: Value): string => {
  const result = trip(type, value);
  if ('back' in result) throw new Error(`stored as ${String(result.back)}`);
  return result.refused;
};

describe('type parser', () => {
  it('reads DESCRIBE types, nested, with enum members, zones and named tuple elements', () => {
    expect(parseColumnType('Nullable(Decimal(18, 4))').args[0]).toMatchObject({ kind: 'type' });
    const e = parseColumnType("Enum8('b' = -2, 'a\\'s' = 1)");
    expect(e.args).toEqual([
      { kind: 'string', text: 'b', value: '-2' },
      { kind: 'string', text: "a's", value: '1' },
    ]);
    expect(parseColumnType("DateTime('Europe/Berlin')").args).toEqual([{ kind: 'string', text: 'Europe/Berlin' }]);
    const t = parseColumnType('Tuple(a UInt8, b Array(String))');
    expect(t.args.map((a) => (a.kind === 'type' ? a.type.name : a.kind))).toEqual(['UInt8', 'Array']);
    expect(() => parseColumnType('Array(UInt8')).toThrow(/cannot read the type/);
  });
});

describe('types as current releases write them', () => {
  it('a named Tuple over several lines parses, and compacts to one line; quoted whitespace stays', () => {
    const pretty = 'Map(String, Tuple(\n    x UInt64,\n    y Array(Nullable(String))))';
    expect(parseColumnType(pretty).args[1]).toMatchObject({ kind: 'type', type: { name: 'Tuple' } });
    expect(compactType(pretty)).toBe('Map(String, Tuple(x UInt64, y Array(Nullable(String))))');
    expect(compactType("Enum8('a  b\\' c' = 1,\n 'd' = 2)")).toBe("Enum8('a  b\\' c' = 1, 'd' = 2)");
    expect(compactType('UInt8')).toBe('UInt8');
  });
});

describe('integers', () => {
  it('any integer type reads back as a bigint, exactly, from bigint, exact text, integral floats and decimals', () => {
    expect(stored('UInt64', 18446744073709551615n)).toBe(18446744073709551615n);
    expect(stored('UInt64', '18446744073709551615')).toBe(18446744073709551615n);
    expect(stored('Int64', -9223372036854775808n)).toBe(-9223372036854775808n);
    expect(stored('Int8', -128n)).toBe(-128n);
    expect(stored('UInt32', 7)).toBe(7n);
    expect(stored('UInt32', new Decimal('1E+3'))).toBe(1000n);
    expect(stored('UInt32', '1.0')).toBe(1n);
    expect(stored('UInt8', true)).toBe(1n);
    expect(stored('Int64', '-5')).toBe(-5n);
    expect(stored('Int64', '-9007199254740992')).toBe(-9007199254740992n);
    expect(stored('Int64', '-9007199254740993')).toBe(-9007199254740993n);
    expect(stored('UInt64', '4294967296')).toBe(4294967296n);
    expect(stored('Int8', '-128')).toBe(-128n);
    expect(stored('Int128', '-77')).toBe(-77n);
    expect(stored('Int128', -(2n ** 127n))).toBe(-(2n ** 127n));
    expect(stored('UInt256', 2n ** 256n - 1n)).toBe(2n ** 256n - 1n);
    expect(stored('Int256', -12345678901234567890123456789n)).toBe(-12345678901234567890123456789n);
  });

  it('refuses what the column would wrap, truncate or guess', () => {
    expect(refused('UInt64', 2n ** 64n)).toBe('an integer 18446744073709551616 is out of range');
    expect(refused('UInt64', '18446744073709551616')).toMatch(/out of range/);
    expect(refused('UInt8', -1n)).toMatch(/out of range/);
    expect(refused('UInt8', '256')).toBe('text "256" is out of range');
    expect(refused('UInt64', '-1')).toMatch(/out of range/);
    expect(refused('Int8', 128n)).toMatch(/out of range/);
    expect(refused('UInt64', 'abc')).toBe('text "abc" is not a number literal');
    expect(refused('UInt64', '007')).toMatch(/not a number literal/);
    expect(refused('UInt64', ' 1')).toMatch(/not a number literal/);
    expect(refused('UInt64', 1.5)).toBe('a float 1.5 is not an integer');
    expect(refused('UInt64', '0.5')).toMatch(/not an integer/);
    expect(refused('UInt64', -0)).toMatch(/-0 would lose its sign/);
    expect(refused('UInt64', '-0')).toMatch(/sign/);
    expect(refused('Int32', Number.NaN)).toMatch(/not a finite number/);
    expect(refused('UInt64', 1e300)).toMatch(/out of range/);
    expect(refused('UInt64', '1e999999999')).toMatch(/out of range/);
    expect(refused('UInt64', null)).toMatch(/^null/);
    expect(refused('UInt16', true)).toMatch(/boolean true is not a number/);
    expect(refused('UInt64', new Uint8Array([1]))).toMatch(/1 bytes is not a number/);
  });
});

describe('floats', () => {
  it('Float64 keeps bits: NaN, infinities, -0, the smallest subnormal', () => {
    for (const x of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      5e-324,
      0.1,
      1.7976931348623157e308,
    ]) {
      expect(Object.is(stored('Float64', x), x)).toBe(true);
    }
    expect(stored('Float64', 9007199254740992n)).toBe(9007199254740992);
    expect(stored('Float64', '0.1')).toBe(0.1);
    expect(Object.is(stored('Float64', '-0'), -0)).toBe(true);
    expect(stored('Float64', 'NaN')).toBeNaN();
    expect(refused('Float64', 9007199254740993n)).toMatch(/no exact float/);
    expect(refused('Float64', new Decimal('0.1000000000000000000001'))).toMatch(/no exact float/);
  });

  it('Float32 takes only what a float32 holds, and reads back its exact value', () => {
    expect(stored('Float32', 0.5)).toBe(0.5);
    expect(stored('Float32', 16777216n)).toBe(16777216);
    expect(stored('Float32', Math.fround(0.1))).toBe(0.10000000149011612);
    expect(refused('Float32', 0.1)).toMatch(/no exact Float32 \(the nearest is 0\.10000000149011612\)/);
    expect(refused('Float32', 16777217n)).toMatch(/no exact Float32/);
  });
});

describe('decimals', () => {
  it('reads back with exactly the column scale', () => {
    expect(stored('Decimal(9, 2)', new Decimal('1.5'))).toEqual(new Decimal('1.50'));
    expect(stored('Decimal(38, 3)', '-12345678901234567890123456789.123')).toEqual(
      new Decimal('-12345678901234567890123456789.123'),
    );
    expect(stored('Decimal64(4)', 0.1)).toEqual(new Decimal('0.1000'));
    expect(stored('Decimal(10, 0)', 12n)).toEqual(new Decimal('12'));
    expect(stored('Decimal32(2)', '1e-2')).toEqual(new Decimal('0.01'));
    expect(stored('Decimal(18, 2)', new Decimal('1.500'))).toEqual(new Decimal('1.50'));
  });

  it('refuses digits the column would drop and values it cannot hold', () => {
    expect(refused('Decimal(10, 0)', 0.1)).toBe('a float 0.1 has more than 0 fraction digits');
    expect(refused('Decimal(9, 1)', 100000000n)).toMatch(/more than 8 integer digits/);
    expect(refused('Decimal(9, 2)', Number.NaN)).toMatch(/not a finite number/);
    expect(refused('Decimal(9, 2)', new Decimal('-0.0'))).toMatch(/sign/);
    expect(refused('Decimal(9, 2)', 'x')).toMatch(/not a number literal/);
  });

  it('decimalText places the point', () => {
    expect(decimalText(-150n, 2)).toBe('-1.50');
    expect(decimalText(5n, 3)).toBe('0.005');
    expect(decimalText(5n, 0)).toBe('5');
  });
});

describe('strings', () => {
  it('text is byte-exact, bytes stay bytes, other kinds their exact text', () => {
    const text = 'grüße, 世界 🚀 \u200f\0';
    expect(stored('String', text)).toBe(text);
    const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
    expect(sameValue(stored('String', binary), binary)).toBe(true);
    expect(stored('String', new Uint8Array([0x68, 0x69]))).toBe('hi');
    expect(stored('String', 18446744073709551615n)).toBe('18446744073709551615');
    expect(stored('String', 9007199254740993n)).toBe('9007199254740993');
    expect(stored('String', -0)).toBe('-0');
    expect(stored('String', new Decimal('1.50'))).toBe('1.50');
    expect(stored('String', false)).toBe('false');
    expect(stored('String', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)))).toBe('2024-01-02T03:04:05.006Z');
    expect(stored('String', { a: [1n, 'b', 2.5] })).toBe('{"a":[1,"b",2.5]}');
    expect(stored('LowCardinality(Nullable(String))', null)).toBe(null);
  });

  it('refuses what UTF-8 or JSON text cannot say', () => {
    expect(refused('String', 'a\ud800b')).toMatch(/lone surrogate/);
    expect(refused('String', { b: new Uint8Array([1]) })).toMatch(/bytes at \/b/);
    expect(refused('String', null)).toMatch(/not Nullable/);
  });

  it('FixedString takes exactly N bytes', () => {
    expect(stored('FixedString(3)', 'abc')).toBe('abc');
    expect(refused('FixedString(3)', 'ab')).toMatch(/2 bytes, not 3 \(the server would pad/);
    expect(refused('FixedString(3)', 'abcd')).toMatch(/4 bytes, not 3/);
  });

  it('textOrBytes: a U+FFFD that was in the text stays text', () => {
    expect(textOrBytes(Buffer.from('a\uFFFDb'))).toBe('a\uFFFDb');
    expect(textOrBytes(Buffer.from([0x61, 0xc3]))).toEqual(Buffer.from([0x61, 0xc3]));
  });
});

describe('times', () => {
  const at = (iso: string) => new Date(iso);
  it('DateTime holds whole seconds of an instant, from timestamps or zoned text', () => {
    expect(stored('DateTime', at('2024-01-02T03:04:05Z'))).toEqual(at('2024-01-02T03:04:05Z'));
    expect(stored("DateTime('Asia/Tokyo')", '2024-01-02T03:04:05+09:00')).toEqual(at('2024-01-01T18:04:05Z'));
    expect(stored("DateTime('UTC')", '2024-01-02 03:04:05')).toEqual(at('2024-01-02T03:04:05Z'));
    expect(refused('DateTime', at('2024-01-02T03:04:05.123Z'))).toMatch(/has milliseconds/);
    expect(refused('DateTime', '2024-01-02 03:04:05')).toMatch(/no time zone/);
    expect(refused('DateTime', '2024-02-30T00:00:00Z')).toMatch(/not a time of the calendar/);
    expect(refused('DateTime', at('1969-12-31T23:59:59Z'))).toMatch(/outside/);
    expect(refused('DateTime', 1700000000n)).toMatch(/not a timestamp/);
  });

  it('Date holds UTC days; DateTime64 the milliseconds its precision has', () => {
    expect(stored('Date', '2024-02-29')).toEqual(at('2024-02-29T00:00:00Z'));
    expect(stored('Date', at('2105-12-31T00:00:00Z'))).toEqual(at('2105-12-31T00:00:00Z'));
    expect(refused('Date', at('2106-01-01T00:00:00Z'))).toMatch(/outside Date's range/);
    expect(refused('Date', at('2024-02-29T01:00:00Z'))).toMatch(/not a UTC midnight/);
    expect(refused('Date', '2023-02-29')).toMatch(/not a day of the calendar/);
    expect(stored("DateTime64(3, 'UTC')", at('2024-01-02T03:04:05.678Z'))).toEqual(at('2024-01-02T03:04:05.678Z'));
    expect(stored('DateTime64(6)', at('1900-01-02T03:04:05.678Z'))).toEqual(at('1900-01-02T03:04:05.678Z'));
    expect(refused('DateTime64(1)', at('2024-01-02T03:04:05.678Z'))).toMatch(/finer than DateTime64\(1\)/);
  });

  it('Date32 holds UTC days from 1900 to 2299, before 1970 included', () => {
    expect(stored('Date32', '1900-01-01')).toEqual(at('1900-01-01T00:00:00Z'));
    expect(stored('Date32', at('1969-12-31T00:00:00Z'))).toEqual(at('1969-12-31T00:00:00Z'));
    expect(stored('Date32', at('2299-12-31T00:00:00Z'))).toEqual(at('2299-12-31T00:00:00Z'));
    expect(refused('Date32', '1899-12-31')).toMatch(/outside Date32's range \(1900-01-01 to 2299-12-31\)/);
    expect(refused('Date32', at('1969-12-31T12:00:00Z'))).toMatch(/not a UTC midnight/);
  });

  it('DateTime64 refuses an instant outside its calendar, or whose ticks would not fit 64 bits', () => {
    expect(stored('DateTime64(3)', at('1969-12-31T23:59:59.999Z'))).toEqual(at('1969-12-31T23:59:59.999Z'));
    expect(stored('DateTime64(9)', at('2262-04-11T23:47:16.854Z'))).toEqual(at('2262-04-11T23:47:16.854Z'));
    expect(refused('DateTime64(9)', at('2262-04-11T23:47:16.855Z'))).toMatch(
      /outside DateTime64\(9\)'s range \(1900-01-01T00:00:00\.000Z to 2262-04-11T23:47:16\.854Z\)/,
    );
    expect(refused('DateTime64(3)', at('2300-01-01T00:00:00Z'))).toMatch(/outside DateTime64\(3\)'s range/);
    expect(refused('DateTime64(3)', at('1899-12-31T23:59:59.999Z'))).toMatch(/outside/);
  });

  it('a DateTime64 read with sub-millisecond digits is a problem for its row, not a rounded time', () => {
    const input = new BinaryReader(Buffer.from(new BigInt64Array([1_700_000_000_123_456n]).buffer));
    const problem = { reason: undefined as string | undefined };
    decoderFor(parseColumnType('DateTime64(6)'))(input, problem);
    expect(problem.reason).toMatch(/finer than milliseconds/);
  });
});

describe('other types', () => {
  it('UUID reads back as the canonical uuid scalar; Enum by name; Bool; containers', () => {
    const uuid = '00112233-4455-6677-8899-aabbccddeeff';
    expect(stored('UUID', new Scalar('uuid', uuid))).toEqual(new Scalar('uuid', uuid));
    expect(stored('UUID', uuid.toUpperCase())).toEqual(new Scalar('uuid', uuid));
    expect(refused('UUID', 'nope')).toMatch(/not a UUID/);
    expect(stored("Enum8('a' = 1, 'b' = -2)", 'b')).toBe('b');
    expect(refused("Enum16('a' = 1, 'b' = 2)", 'c')).toBe('text "c" is not one of "a", "b"');
    expect(stored('Bool', true)).toBe(true);
    expect(stored('Bool', 'false')).toBe(false);
    expect(stored('Array(Nullable(UInt64))', [1n, null, '18446744073709551615'])).toEqual([
      1n,
      null,
      18446744073709551615n,
    ]);
    expect(refused('Array(UInt8)', [1n, 300n])).toMatch(/^item 1: an integer 300 is out of range/);
    expect(stored('Tuple(UInt8, String)', [7n, 'z'])).toEqual([7n, 'z']);
    expect(refused('Tuple(UInt8, String)', [7n])).toMatch(/not an array of 2 items/);
    expect(stored('Map(String, UInt64)', { a: 1n, __proto__x: 2n })).toEqual({ a: 1n, __proto__x: 2n });
    expect(stored('Map(UInt64, String)', { '18446744073709551615': 'x' })).toEqual({ '18446744073709551615': 'x' });
  });

  it('a type with no mapping refuses every value, naming the type', () => {
    expect(refused('IPv4', '1.2.3.4')).toMatch(/no exact mapping for IPv4/);
    expect(() => decoderFor(parseColumnType('IPv4'))).toThrow(/no exact mapping for IPv4/);
  });

  it('exactOf normalizes trailing zeros', () => {
    expect(exactOf('-1.500e3')).toEqual({ negative: true, digits: 15n, exponent: 2 });
    expect(exactOf('0.000')).toEqual({ negative: false, digits: 0n, exponent: 0 });
  });
});

describe('row mapper', () => {
  const described = [
    { name: '_source_id', type: 'String' },
    { name: 'user_id', type: 'UInt64' },
    { name: 'payload', type: 'Nullable(String)' },
    { name: 'n', type: 'Int32' },
    { name: 'm', type: 'UInt64', default_type: 'MATERIALIZED' },
  ];
  const record = (value: FerryRecord['value'], id = 'r1'): FerryRecord => ({ id, value, readAt: 0, bytes: 0 });
  const map = (records: FerryRecord[], options: Partial<Parameters<typeof createRowMapper>[0]> = {}) =>
    createRowMapper(
      { columns: {}, unknownFields: 'skip', idColumn: '_source_id', ...options },
      described,
      'default.t',
    )(records, new BinaryWriter(8));

  it('maps keys to columns in the record order, the id last, and notes dropped keys', () => {
    const { rows, rejected } = map([record({ userId: 1n, other: 'x', n: 2n })], { columns: { userId: 'user_id' } });
    expect(rejected).toEqual([]);
    expect(rows[0]!.columns.map((c) => c.name)).toEqual(['user_id', 'n', '_source_id']);
    expect(rows[0]!.skipped).toEqual(['other']);
  });

  it('dead-letters a record that maps to no column, one that would overwrite its id, and unknown keys under reject', () => {
    const { rows, rejected } = map([
      record({ a: 1n, b: 2n }, 'none'),
      record({}, 'empty'),
      record({ n: 1n, _source_id: 'someone else' }, 'clash'),
      record({ n: 1n, _source_id: 'same' }, 'same'),
      record({ m: 1n }, 'computed'),
      record({ n: 'x' }, 'bad'),
    ]);
    expect(rows.map((r) => r.record.id)).toEqual(['same']);
    const why = Object.fromEntries(rejected.map((r) => [r.id, r.reason]));
    expect(why.none).toBe('no key of the record ("a", "b") has a column in default.t: it would be a row of defaults');
    expect(why.empty).toMatch(/no keys/);
    expect(why.clash).toBe(
      'key "_source_id" holds text "someone else", which would overwrite the record id "clash" in column "_source_id" of default.t; set idColumn to another column',
    );
    expect(why.computed).toMatch(/column "m" is MATERIALIZED/);
    expect(why.bad).toBe('key "n" → column "n" Int32 of default.t: text "x" is not a number literal');
    const strict = map([record({ n: 1n, other: 'x' })], { unknownFields: 'reject' });
    expect(strict.rejected[0]!.reason).toBe('field "other" has no column in default.t (unknownFields: reject)');
  });

  it('maps keys named like Object.prototype members (constructor, __proto__, toString) to their own columns', () => {
    const named = [
      { name: '_source_id', type: 'String' },
      { name: 'constructor', type: 'String' },
      { name: '__proto__', type: 'String' },
      { name: 'toString', type: 'String' },
    ];
    const value: FerryRecord['value'] = { constructor: 'c', toString: 't' };
    Object.defineProperty(value, '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true });
    const mapper = createRowMapper(
      { columns: {}, unknownFields: 'reject', idColumn: '_source_id' },
      named,
      'default.t',
    );
    const { rows, rejected } = mapper([record(value)], new BinaryWriter(8));
    expect(rejected).toEqual([]);
    expect(rows[0]!.columns.map((c) => c.name)).toEqual(['constructor', 'toString', '__proto__', '_source_id']);
  });

  it('a refused record leaves nothing of itself in the body', () => {
    const out = new BinaryWriter(8);
    const mapper = createRowMapper({ columns: {}, unknownFields: 'skip', idColumn: false }, described, 'default.t');
    const { rows } = mapper([record({ n: 1n }), record({ n: 2n, user_id: -1n }), record({ n: 3n })], out);
    expect(rows.map((r) => [r.start, r.end])).toEqual([
      [0, 4],
      [4, 8],
    ]);
  });
});
