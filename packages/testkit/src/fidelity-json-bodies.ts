import {
  type Dead,
  type JsonCell,
  jsonCell,
  type MessageView,
  messageOf,
  messageView,
  OID,
  SCRIPTS,
  UUID_TEXT,
} from './fidelity.js';

/**
 * A system that carries lossless JSON bodies with the `ferry-types` header
 * (RabbitMQ, NATS JetStream) in the fidelity matrix: the bodies its source
 * refuses, and the body and types it stores of every case. One table, so that
 * every such system is held to the same expectations.
 */

// ---------------------------------------------------------------------------
// As a source: the json family, read by the system's source

const notJson007 = 'body is not JSON: not JSON: bad number at position 15';
const keyTwice =
  'body is not JSON: key "key_twice" appears twice in an object at position 15: one of its values would be lost';

/** The bodies the source refuses, and why. */
// biome-ignore format: one case a line
export const jsonBodyRefusals: Readonly<Record<string, string>> = {
  key_twice: keyTwice,
  literal_007: notJson007,
  body_not_utf8: 'body is not UTF-8',
  types_misfit: 'the ferry-types header does not fit the body: /types_misfit is tagged bytes but is not base64',
};

// ---------------------------------------------------------------------------
// As a target: the body and ferry-types of each case, by family (a key that is not the case's name comes first)

const q = jsonCell;
const body = messageOf;
type Row = JsonCell | [key: string, cell: JsonCell];

// biome-ignore format: a table reads best one row per line
const fromFields: Record<string, Row> = {
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  int_2p53p1: q(JSON.stringify('9007199254740993')),
  int64_max: q(JSON.stringify('9223372036854775807')),
  int64_min: q(JSON.stringify('-9223372036854775808')),
  uint64_max: q(JSON.stringify('18446744073709551615')),
  uint64_max_in_string: q(JSON.stringify('18446744073709551615')),
  // decimals as field text
  dec_0_1: q(JSON.stringify('0.1')),
  dec_1_0: q(JSON.stringify('1.0')),
  dec_neg0_uint: q(JSON.stringify('-0')),
  dec_neg0_float: q(JSON.stringify('-0')),
  dec_1e5: q(JSON.stringify('1e5')),
  dec_007: q(JSON.stringify('007')),
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  dec_8_digits: q(JSON.stringify('99999999')),
  dec_9_digits: q(JSON.stringify('100000000')),
  dec_007_string: q(JSON.stringify('007')),
  // text
  text_scripts: q(JSON.stringify(SCRIPTS)),
  text_empty: q(JSON.stringify('')),
  null_text: q(JSON.stringify('null')),
  nested_text: q(JSON.stringify('{"a":[1,{"b":null}],"c":{"d":"e"}}')),
  json_true: q(JSON.stringify('true')),
  json_object: q(JSON.stringify('{"a":1}')),
  json_quoted: q(JSON.stringify('"quoted"')),
  marker_binary: q(JSON.stringify('{"$binary":"aGVsbG8="}')),
  marker_types: q(JSON.stringify('{"/a":"bytes"}')),
  // bytes that are not UTF-8: bytes, untagged
  bytes: q('"//4AgA=="', 'bytes'),
  // kinds a producer states in ferry:types
  tagged_integer: q('18446744073709551615'),
  tagged_decimal: q('1.50', 'decimal'),
  tagged_float: q('-0.0'),
  tagged_null: q('null'),
  tagged_boolean: q('true'),
  tagged_json: q('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}'),
  tagged_timestamp: q('"2024-01-02T03:04:05.678Z"', 'timestamp'),
  tagged_objectid: q(`"${OID}"`, 'objectId'),
  // field names
  name_dotted: ['a.b', q(JSON.stringify('dotted'))],
  name_dollar: ['$top', q(JSON.stringify('dollar'))],
  name_proto: ['__proto__', q(JSON.stringify('proto'))],
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  name_ferry_types: ['ferry:types', q(JSON.stringify('{"/a":"bytes"}'))],
};

// biome-ignore format: a table reads best one row per line
const fromJson: Record<string, Row> = {
  // integer literals of any size are integers
  int_2p53p1: q('9007199254740993'),
  int64_max: q('9223372036854775807'),
  int64_min: q('-9223372036854775808'),
  uint64_max: q('18446744073709551615'),
  small_int: q('5'),
  int_neg0: q('0'),
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  float_0_1: q('0.1'),
  float_1_0: q('1.0'),
  float_neg0: q('-0.0'),
  float_1e5: q('100000.0'),
  decimal_pi: q('3.14159265358979323846', 'decimal'),
  // text
  text_scripts: q(JSON.stringify(SCRIPTS)),
  text_escaped: q(JSON.stringify('café 👋 \u200f')),
  text_empty: q(JSON.stringify('')),
  json_true: q(JSON.stringify('true')),
  json_object: q(JSON.stringify('{"a":1}')),
  json_quoted: q(JSON.stringify('"quoted"')),
  marker_binary_text: q(JSON.stringify('{"$binary":"aGVsbG8="}')),
  // other JSON kinds
  null: q('null'),
  boolean: q('true'),
  nested: q('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}'),
  array_u64: q('[1,18446744073709551615]'),
  marker_binary_object: q('{"$binary":"aGVsbG8="}'),
  proto_nested: q('{"__proto__":{"polluted":true}}'),
  // bytes: base64 text the ferry-types header tags
  bytes: q('"//4AgA=="', 'bytes'),
  // field names
  name_dotted: ['a.b', q(JSON.stringify('dotted'))],
  name_dollar: ['$top', q(JSON.stringify('dollar'))],
  name_proto: ['__proto__', q(JSON.stringify('proto'))],
  name_ferry_types: ['ferry:types', q(JSON.stringify('{"/a":"bytes"}'))],
  // a NUL in a key: text anywhere but in a BSON name
  name_nul: ['a\0b', q(JSON.stringify('x'))],
  // what no target holds
  lone_surrogate: q('"\\ud800"'),
};

/** Documents: every record holds the document's `_id` (the case's name, a String) first. */
// biome-ignore format: a table reads best one row per line
const fromBson: Record<string, Row> = {
  int32: q('5'),
  int64_small: q('5'),
  int64_2p53p1: q('9007199254740993'),
  int64_max: q('9223372036854775807'),
  int64_min: q('-9223372036854775808'),
  double_1_0: q('1.0'),
  double_neg0: q('-0.0'),
  double_0_1: q('0.1'),
  double_nan: q('"NaN"', 'float'),
  decimal_0_1: q('0.1', 'decimal'),
  decimal_1_0: q('1.0', 'decimal'),
  decimal_neg0: q('-0', 'decimal'),
  decimal_1e5: q('1E+5', 'decimal'),
  bytes: q('"//4AgA=="', 'bytes'),
  bytes_utf8: q('"aGVsbG8="', 'bytes'),
  bytes_old: q('"//4AgA=="', 'bytes'),
  uuid: q(`"${UUID_TEXT}"`, 'uuid'),
  objectid: q(`"${OID}"`, 'objectId'),
  date: q('"2024-01-02T03:04:05.678Z"', 'timestamp'),
  text_scripts: q(JSON.stringify(SCRIPTS)),
  text_empty: q(JSON.stringify('')),
  text_numeric: q(JSON.stringify('18446744073709551615')),
  null: q('null'),
  boolean: q('false'),
  nested: q('{"a":[1,2.5,{"b":null}],"big":9223372036854775807}'),
  nested_bytes: q('{"raw":"/w=="}', { '/raw': 'bytes' }),
  marker_binary: q('{"$binary":"aGVsbG8="}'),
  marker_binary_text: q(JSON.stringify('{"$binary":"aGVsbG8="}')),
  name_dotted: ['a.b', q(JSON.stringify('dotted'))],
  name_dollar: ['$top', q(JSON.stringify('dollar'))],
  name_proto: ['__proto__', q(JSON.stringify('proto'))],
  name_ferry_types: ['ferry:types', q(JSON.stringify('{"/a":"bytes"}'))],
};

/** Typed rows: `n` and the row's columns. */
// biome-ignore format: a table reads best one row per line
const fromColumns: Record<string, MessageView> = {
  u64_2p53p1: body('{"n":1,"u64":9007199254740993}'),
  u64_max: body('{"n":2,"u64":18446744073709551615}'),
  i64_max: body('{"n":3,"i64":9223372036854775807}'),
  i64_min: body('{"n":4,"i64":-9223372036854775808}'),
  f64_0_1: body('{"n":5,"f64":0.1}'),
  f64_1: body('{"n":6,"f64":1.0}'),
  f64_neg0: body('{"n":7,"f64":-0.0}'),
  f64_1e5: body('{"n":8,"f64":100000.0}'),
  f64_nan: body('{"n":9,"f64":"NaN"}', { '/f64': 'float' }),
  f64_inf: body('{"n":10,"f64":"Infinity"}', { '/f64': 'float' }),
  decimals: body('{"n":11,"dec":0.10,"pi":3.14159265358979323846}', { '/dec': 'decimal', '/pi': 'decimal' }),
  decimals_neg: body('{"n":12,"dec":-1.50,"pi":0.00000000000000000000}', { '/dec': 'decimal', '/pi': 'decimal' }),
  str_scripts: body(`{"n":13,"s":${JSON.stringify(SCRIPTS)}}`),
  str_empty: body(`{"n":14,"s":${JSON.stringify('')}}`),
  str_true: body(`{"n":15,"s":${JSON.stringify('true')}}`),
  str_json: body(`{"n":16,"s":${JSON.stringify('{"a":1}')}}`),
  str_quoted: body(`{"n":17,"s":${JSON.stringify('"quoted"')}}`),
  str_marker_binary: body(`{"n":18,"s":${JSON.stringify('{"$binary":"aGVsbG8="}')}}`),
  str_marker_types: body(`{"n":19,"s":${JSON.stringify('{"/a":"bytes"}')}}`),
  str_uint64_max: body(`{"n":20,"s":${JSON.stringify('18446744073709551615')}}`),
  str_not_utf8: body('{"n":21,"s":"//4AgA=="}', { '/s': 'bytes' }),
  nulls: body('{"n":22,"ns":null,"ni":null}'),
  not_nulls: body('{"n":23,"ns":"x","ni":-5}'),
  arrays: body('{"n":24,"au":[1,18446744073709551615],"an":["a",null]}'),
  times: body(`{"n":25,"d":"2024-01-02T00:00:00.000Z","dt":"2024-01-02T03:04:05.000Z","u":"${UUID_TEXT}"}`, { '/d': 'timestamp', '/dt': 'timestamp', '/u': 'uuid' }),
  misc: body('{"n":26,"e":"b","fs":"ab\\u0000\\u0000","tup":[7,"x"]}'),
  names: body('{"n":27,"a.b":"dotted","$top":"dollar","__proto__":"proto","ferry:types":"{\\"/a\\":\\"bytes\\"}"}'),
};

export function jsonBodyExpectation(kase: string): MessageView | Dead | undefined {
  const [family, name = ''] = kase.split('/');
  const one = (rows: Record<string, Row>, before?: string) => {
    const row = Object.hasOwn(rows, name) ? rows[name] : undefined;
    if (row === undefined) return undefined;
    return Array.isArray(row) ? messageView(row[0], row[1], before) : messageView(name, row, before);
  };
  if (family === 'fields') return one(fromFields);
  if (family === 'json') return one(fromJson);
  if (family === 'bson') return one(fromBson, `"_id":${JSON.stringify(name)},`);
  if (family === 'columns') return Object.hasOwn(fromColumns, name) ? fromColumns[name] : undefined;
  return undefined;
}
