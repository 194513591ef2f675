import type { FidelityEnd, FidelitySourceCase } from '@ferry/core';
import {
  type Dead,
  dead,
  NOT_UTF8,
  OID,
  pointer,
  SCRIPTS,
  type Tag,
  textOrBytes,
  typesOf,
  UUID_TEXT,
} from '@ferry/testkit/fidelity';
import type { Redis } from 'ioredis';

/**
 * Redis Streams in the fidelity matrix. As a source, the `fields` family:
 * entries as an outside producer writes them with XADD, field texts and
 * bytes, tagged cases carrying `ferry:types` as the README tells a producer
 * to write it. As a target, what XRANGE reads back of every case, from the
 * README's "Types: stream fields ↔ ferry values".
 */

/** An entry: its fields in order (without `_source_id` and `ferry:types`), and `ferry:types` parsed. */
export interface StreamView {
  readonly fields: (readonly [string | Buffer, string | Buffer])[];
  readonly types?: Record<string, string>;
}

/** One key: the field's bytes, its tag in `ferry:types`, and its name when it is not the key. */
type SCell = { readonly s: string | Buffer; readonly tag?: Tag; readonly name?: string | Buffer } | Dead;

const s = (value: string | Buffer, tag?: Tag, name?: string | Buffer): SCell => ({
  s: value,
  ...(tag === undefined ? {} : { tag }),
  ...(name === undefined ? {} : { name }),
});

/** The entry of a record of one key, after the fields a source put before it (MongoDB's `_id`). */
function streamView(key: string, cell: SCell, before: [string, string][] = []): StreamView | Dead {
  if ('dead' in cell) return cell;
  const types = typesOf(key, cell.tag);
  const fields = [...before, [cell.name ?? key, cell.s] as const];
  return Object.keys(types).length === 0 ? { fields } : { fields, types };
}

/** The entry of a ClickHouse row: `n` (an integer) and its columns, each [name, text, tag?]. */
function fields(n: number, ...rest: [string, string | Buffer, string?][]): StreamView {
  const types: Record<string, string> = { '/n': 'integer' };
  for (const [name, , tag] of rest) if (tag !== undefined) types[pointer(name)] = tag;
  return { fields: [['n', String(n)], ...rest.map(([name, value]) => [name, value] as const)], types };
}

// ---------------------------------------------------------------------------
// As a source: the fields family

interface FieldsCase {
  readonly name: string;
  /** The field, and the record key every target sees. */
  readonly key: string;
  readonly value: string | Buffer;
  /** The kind an outside producer gives it in `ferry:types`. */
  readonly tag?: string;
  /** The entry's fields, when they are not just `key value` (and the tag). */
  readonly fields?: (string | Buffer)[];
  /** Why the source cannot hand it to another system. */
  readonly refused?: string;
  /** What a stream holds after S→S, for a case no other system takes. */
  readonly same?: SCell;
}

const notUtf8Name = Buffer.from([0x6e, 0xff]);
const undecodable = (why: string) => `entry of stream "<source>" cannot be decoded: ${why}`;
const nameNotUtf8 =
  'field name 0x6eff is not UTF-8: only a Redis stream can hold it (the fields codec copies it to another stream as it is)';

// biome-ignore format: a table reads best one row per line
const fieldsCases: FieldsCase[] = [
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  { name: 'int_2p53p1', key: 'int_2p53p1', value: '9007199254740993' },
  { name: 'int64_max', key: 'int64_max', value: '9223372036854775807' },
  { name: 'int64_min', key: 'int64_min', value: '-9223372036854775808' },
  { name: 'uint64_max', key: 'uint64_max', value: '18446744073709551615' },
  { name: 'uint64_max_in_string', key: 'uint64_max_in_string', value: '18446744073709551615' },
  // decimals as field text
  { name: 'dec_0_1', key: 'dec_0_1', value: '0.1' },
  { name: 'dec_1_0', key: 'dec_1_0', value: '1.0' },
  { name: 'dec_neg0_uint', key: 'dec_neg0_uint', value: '-0' },
  { name: 'dec_neg0_float', key: 'dec_neg0_float', value: '-0' },
  { name: 'dec_1e5', key: 'dec_1e5', value: '1e5' },
  { name: 'dec_007', key: 'dec_007', value: '007' },
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  { name: 'dec_8_digits', key: 'dec_8_digits', value: '99999999' },
  { name: 'dec_9_digits', key: 'dec_9_digits', value: '100000000' },
  { name: 'dec_007_string', key: 'dec_007_string', value: '007' },
  // text
  { name: 'text_scripts', key: 'text_scripts', value: SCRIPTS },
  { name: 'text_empty', key: 'text_empty', value: '' },
  { name: 'null_text', key: 'null_text', value: 'null' },
  { name: 'nested_text', key: 'nested_text', value: '{"a":[1,{"b":null}],"c":{"d":"e"}}' },
  { name: 'json_true', key: 'json_true', value: 'true' },
  { name: 'json_object', key: 'json_object', value: '{"a":1}' },
  { name: 'json_quoted', key: 'json_quoted', value: '"quoted"' },
  { name: 'marker_binary', key: 'marker_binary', value: '{"$binary":"aGVsbG8="}' },
  { name: 'marker_types', key: 'marker_types', value: '{"/a":"bytes"}' },
  // bytes that are not UTF-8: bytes, untagged
  { name: 'bytes', key: 'bytes', value: NOT_UTF8 },
  // kinds a producer states in ferry:types
  { name: 'tagged_integer', key: 'tagged_integer', value: '18446744073709551615', tag: 'integer' },
  { name: 'tagged_decimal', key: 'tagged_decimal', value: '1.50', tag: 'decimal' },
  { name: 'tagged_float', key: 'tagged_float', value: '-0', tag: 'float' },
  { name: 'tagged_null', key: 'tagged_null', value: 'null', tag: 'null' },
  { name: 'tagged_boolean', key: 'tagged_boolean', value: 'true', tag: 'boolean' },
  { name: 'tagged_json', key: 'tagged_json', value: '{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}', tag: 'json' },
  { name: 'tagged_timestamp', key: 'tagged_timestamp', value: '2024-01-02T03:04:05.678Z', tag: 'timestamp' },
  { name: 'tagged_objectid', key: 'tagged_objectid', value: OID, tag: 'objectId' },
  // field names
  { name: 'name_dotted', key: 'a.b', value: 'dotted' },
  { name: 'name_dollar', key: '$top', value: 'dollar' },
  { name: 'name_proto', key: '__proto__', value: 'proto' },
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  { name: 'name_ferry_types', key: 'ferry:types', value: '{"/a":"bytes"}', fields: ['\\ferry:types', '{"/a":"bytes"}'] },
  // no value outside a stream: S→S copies the entry as it is, any other sink refuses it
  { name: 'name_not_utf8', key: 'name_not_utf8', value: 'x', fields: [notUtf8Name, 'x'], refused: undecodable(nameNotUtf8), same: s('x', undefined, notUtf8Name) },
  { name: 'tag_misfit', key: 'tag_misfit', value: 'hello', tag: 'integer', refused: undecodable('field "tag_misfit" is tagged integer but "hello" is not an integer'), same: s('hello', 'integer') },
];

function entryOf(kase: FieldsCase): (string | Buffer)[] {
  if (kase.fields !== undefined) return kase.fields;
  const fields = [kase.key, kase.value];
  if (kase.tag !== undefined) fields.push('ferry:types', JSON.stringify({ [pointer(kase.key)]: kase.tag }));
  return fields;
}

// ---------------------------------------------------------------------------
// As a target: what XRANGE reads of each case, by family (a key that is not the case's name comes first)

type Row = SCell | [key: string, cell: SCell];

const loneSurrogate = 'holds a lone UTF-16 surrogate';

// biome-ignore format: a table reads best one row per line
const fromFields: Record<string, Row> = {
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  int_2p53p1: s('9007199254740993'),
  int64_max: s('9223372036854775807'),
  int64_min: s('-9223372036854775808'),
  uint64_max: s('18446744073709551615'),
  uint64_max_in_string: s('18446744073709551615'),
  // decimals as field text
  dec_0_1: s('0.1'),
  dec_1_0: s('1.0'),
  dec_neg0_uint: s('-0'),
  dec_neg0_float: s('-0'),
  dec_1e5: s('1e5'),
  dec_007: s('007'),
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  dec_8_digits: s('99999999'),
  dec_9_digits: s('100000000'),
  dec_007_string: s('007'),
  // text
  text_scripts: s(SCRIPTS),
  text_empty: s(''),
  null_text: s('null'),
  nested_text: s('{"a":[1,{"b":null}],"c":{"d":"e"}}'),
  json_true: s('true'),
  json_object: s('{"a":1}'),
  json_quoted: s('"quoted"'),
  marker_binary: s('{"$binary":"aGVsbG8="}'),
  marker_types: s('{"/a":"bytes"}'),
  // bytes that are not UTF-8: bytes, untagged
  bytes: s(NOT_UTF8),
  // kinds a producer states in ferry:types
  tagged_integer: s('18446744073709551615', 'integer'),
  tagged_decimal: s('1.50', 'decimal'),
  tagged_float: s('-0', 'float'),
  tagged_null: s('null', 'null'),
  tagged_boolean: s('true', 'boolean'),
  tagged_json: s('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}', 'json'),
  tagged_timestamp: s('2024-01-02T03:04:05.678Z', 'timestamp'),
  tagged_objectid: s(OID, 'objectId'),
  // field names
  name_dotted: ['a.b', s('dotted')],
  name_dollar: ['$top', s('dollar')],
  name_proto: ['__proto__', s('proto')],
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  name_ferry_types: ['ferry:types', s('{"/a":"bytes"}', undefined, '\\ferry:types')],
};

// biome-ignore format: a table reads best one row per line
const fromJson: Record<string, Row> = {
  // integer literals of any size are integers
  int_2p53p1: s('9007199254740993', 'integer'),
  int64_max: s('9223372036854775807', 'integer'),
  int64_min: s('-9223372036854775808', 'integer'),
  uint64_max: s('18446744073709551615', 'integer'),
  small_int: s('5', 'integer'),
  int_neg0: s('0', 'integer'),
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  float_0_1: s('0.1', 'float'),
  float_1_0: s('1', 'float'),
  float_neg0: s('-0', 'float'),
  float_1e5: s('100000', 'float'),
  decimal_pi: s('3.14159265358979323846', 'decimal'),
  // text
  text_scripts: s(SCRIPTS),
  text_escaped: s('café 👋 \u200f'),
  text_empty: s(''),
  json_true: s('true'),
  json_object: s('{"a":1}'),
  json_quoted: s('"quoted"'),
  marker_binary_text: s('{"$binary":"aGVsbG8="}'),
  // other JSON kinds
  null: s('null', 'null'),
  boolean: s('true', 'boolean'),
  nested: s('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}', 'json'),
  array_u64: s('[1,18446744073709551615]', 'json'),
  marker_binary_object: s('{"$binary":"aGVsbG8="}', 'json'),
  proto_nested: s('{"__proto__":{"polluted":true}}', 'json'),
  // bytes: base64 text the ferry-types header tags
  bytes: s(NOT_UTF8),
  // field names
  name_dotted: ['a.b', s('dotted')],
  name_dollar: ['$top', s('dollar')],
  name_proto: ['__proto__', s('proto')],
  name_ferry_types: ['ferry:types', s('{"/a":"bytes"}', undefined, '\\ferry:types')],
  // a NUL in a key: text anywhere but in a BSON name
  name_nul: ['a\0b', s('x')],
  // what no target holds
  lone_surrogate: dead(`field "lone_surrogate" ${loneSurrogate}, which UTF-8 (and so Redis text) cannot hold`),
};

/** Documents: every record holds the document's `_id` (the case's name, a String) first, as text. */
// biome-ignore format: a table reads best one row per line
const fromBson: Record<string, Row> = {
  int32: s('5', 'integer'),
  int64_small: s('5', 'integer'),
  int64_2p53p1: s('9007199254740993', 'integer'),
  int64_max: s('9223372036854775807', 'integer'),
  int64_min: s('-9223372036854775808', 'integer'),
  double_1_0: s('1', 'float'),
  double_neg0: s('-0', 'float'),
  double_0_1: s('0.1', 'float'),
  double_nan: s('NaN', 'float'),
  decimal_0_1: s('0.1', 'decimal'),
  decimal_1_0: s('1.0', 'decimal'),
  decimal_neg0: s('-0', 'decimal'),
  decimal_1e5: s('1E+5', 'decimal'),
  bytes: s(NOT_UTF8),
  bytes_utf8: s('hello', 'bytes'),
  bytes_old: s(NOT_UTF8),
  uuid: s(UUID_TEXT, 'uuid'),
  objectid: s(OID, 'objectId'),
  date: s('2024-01-02T03:04:05.678Z', 'timestamp'),
  text_scripts: s(SCRIPTS),
  text_empty: s(''),
  text_numeric: s('18446744073709551615'),
  null: s('null', 'null'),
  boolean: s('false', 'boolean'),
  nested: s('{"a":[1,2.5,{"b":null}],"big":9223372036854775807}', 'json'),
  nested_bytes: s('{"raw":"/w=="}', { '': 'json', '/raw': 'bytes' }),
  marker_binary: s('{"$binary":"aGVsbG8="}', 'json'),
  marker_binary_text: s('{"$binary":"aGVsbG8="}'),
  name_dotted: ['a.b', s('dotted')],
  name_dollar: ['$top', s('dollar')],
  name_proto: ['__proto__', s('proto')],
  name_ferry_types: ['ferry:types', s('{"/a":"bytes"}', undefined, '\\ferry:types')],
};

/** Typed rows: `n` and the row's columns. */
// biome-ignore format: a table reads best one row per line
const fromColumns: Record<string, StreamView> = {
  u64_2p53p1: fields(1, ['u64', '9007199254740993', 'integer']),
  u64_max: fields(2, ['u64', '18446744073709551615', 'integer']),
  i64_max: fields(3, ['i64', '9223372036854775807', 'integer']),
  i64_min: fields(4, ['i64', '-9223372036854775808', 'integer']),
  f64_0_1: fields(5, ['f64', '0.1', 'float']),
  f64_1: fields(6, ['f64', '1', 'float']),
  f64_neg0: fields(7, ['f64', '-0', 'float']),
  f64_1e5: fields(8, ['f64', '100000', 'float']),
  f64_nan: fields(9, ['f64', 'NaN', 'float']),
  f64_inf: fields(10, ['f64', 'Infinity', 'float']),
  decimals: fields(11, ['dec', '0.10', 'decimal'], ['pi', '3.14159265358979323846', 'decimal']),
  decimals_neg: fields(12, ['dec', '-1.50', 'decimal'], ['pi', '0.00000000000000000000', 'decimal']),
  str_scripts: fields(13, ['s', SCRIPTS]),
  str_empty: fields(14, ['s', '']),
  str_true: fields(15, ['s', 'true']),
  str_json: fields(16, ['s', '{"a":1}']),
  str_quoted: fields(17, ['s', '"quoted"']),
  str_marker_binary: fields(18, ['s', '{"$binary":"aGVsbG8="}']),
  str_marker_types: fields(19, ['s', '{"/a":"bytes"}']),
  str_uint64_max: fields(20, ['s', '18446744073709551615']),
  str_not_utf8: fields(21, ['s', NOT_UTF8]),
  nulls: fields(22, ['ns', 'null', 'null'], ['ni', 'null', 'null']),
  not_nulls: fields(23, ['ns', 'x'], ['ni', '-5', 'integer']),
  arrays: fields(24, ['au', '[1,18446744073709551615]', 'json'], ['an', '["a",null]', 'json']),
  times: fields(25, ['d', '2024-01-02T00:00:00.000Z', 'timestamp'], ['dt', '2024-01-02T03:04:05.000Z', 'timestamp'], ['u', UUID_TEXT, 'uuid']),
  misc: fields(26, ['e', 'b'], ['fs', 'ab\0\0'], ['tup', '[7,"x"]', 'json']),
  names: fields(27, ['a.b', 'dotted'], ['$top', 'dollar'], ['__proto__', 'proto'], ['\\ferry:types', '{"/a":"bytes"}']),
};

function expectation(kase: string): StreamView | Dead | undefined {
  const [family, name = ''] = kase.split('/');
  const one = (rows: Record<string, Row>, before?: [string, string][]) => {
    const row = Object.hasOwn(rows, name) ? rows[name] : undefined;
    if (row === undefined) return undefined;
    return Array.isArray(row) ? streamView(row[0], row[1], before) : streamView(name, row, before);
  };
  if (family === 'fields') return one(fromFields);
  if (family === 'json') return one(fromJson);
  if (family === 'bson') return one(fromBson, [['_id', name]]);
  if (family === 'columns') return Object.hasOwn(fromColumns, name) ? fromColumns[name] : undefined;
  return undefined;
}

/** Every entry of a stream through XRANGE as bytes: by its `_source_id` (or by entry id when it has none). */
export async function readStream(redis: Redis, stream: string): Promise<Map<string, StreamView>> {
  const out = new Map<string, StreamView>();
  for (const [id, raw] of await redis.xrangeBuffer(stream, '-', '+')) {
    const fields: [string | Buffer, string | Buffer][] = [];
    let sourceId = id.toString();
    let types: Record<string, string> | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = textOrBytes(raw[i]!);
      const value = textOrBytes(raw[i + 1]!);
      if (name === '_source_id') sourceId = String(value);
      else if (name === 'ferry:types') types = JSON.parse(String(value));
      else fields.push([name, value]);
    }
    out.set(sourceId, types === undefined ? { fields } : { fields, types });
  }
  return out;
}

/** Redis Streams' row and column of the fidelity matrix, on the end's client. */
export function redisStreamFidelity(redis: Redis, name: (label: string) => string): FidelityEnd {
  const cases: FidelitySourceCase[] = fieldsCases.map((kase) =>
    kase.refused === undefined
      ? { name: kase.name, reads: `fields/${kase.name}` }
      : { name: kase.name, refused: kase.refused, ...(kase.same ? { same: streamView(kase.key, kase.same) } : {}) },
  );
  return {
    cases,
    async seed(label) {
      const stream = name(label);
      const ids = new Map<string, string>();
      for (const kase of fieldsCases) ids.set((await redis.xadd(stream, '*', ...entryOf(kase))) as string, kase.name);
      return { names: [stream], cases: ids };
    },
    variants: [{ label: 'the usual way (direct: false)', source: { direct: false } }],
    create: async () => undefined,
    read: (stream) => readStream(redis, stream),
    expect: expectation,
  };
}
