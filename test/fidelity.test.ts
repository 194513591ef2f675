/**
 * The fidelity matrix (issue 16): one torture dataset, seeded at each source
 * in that system's own native forms with its own driver, moved through all
 * 14 edges and the round trips with ferry's connectors and pump, and read
 * back at each target with the target's own driver — never through ferry.
 *
 * The expectations are tables, one row per case and one column per target,
 * taken from the connectors' README type tables:
 * packages/redis-stream/README.md "Types: stream fields ↔ ferry values",
 * packages/rabbitmq/README.md "Types: JSON bodies ↔ ferry values",
 * packages/mongo/README.md "Types: BSON ↔ ferry values",
 * packages/clickhouse/README.md "Types: ClickHouse ↔ ferry values".
 * A cell is the exact value the target's driver reads, or a dead letter with
 * its reason (run-specific names shown as <source> and <target>).
 *
 * How each target is read:
 * - S: XRANGE as bytes (`xrangeBuffer`); a field is a string only when its
 *   bytes are UTF-8, `ferry:types` is shown parsed, `_source_id` is the key.
 * - Q: basic.get; the body as text, compared as JSON text byte for byte, and
 *   the `ferry-types` header parsed.
 * - M: find with `promoteValues: false`, shown as canonical Extended JSON so
 *   that Int32/Int64/Double/Decimal128/Binary subtypes are spelled out.
 * - C: every column through `toString()` (String columns through `hex()`,
 *   DateTime as unix seconds) in JSONEachRow, so no value passes through a JS number.
 */

import { createClickHouseSink, createClickHouseSource } from '@ferry/clickhouse';
import type { Sink } from '@ferry/core';
import { createMongoSink, createMongoSource } from '@ferry/mongo';
import { createRabbitMqSink, createRabbitMqSource } from '@ferry/rabbitmq';
import { createRedisStreamSink, createRedisStreamSource } from '@ferry/redis-stream';
import { uniqueName } from '@ferry/testkit';
import { Binary, BSONRegExp, Decimal128, type Document, Double, Int32, Long, ObjectId, UUID } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { redisUrl } from './support/cli.js';
import {
  canonical,
  type Dead,
  type MessageView,
  move,
  type Outcome,
  pick,
  type RowView,
  readCollection,
  readQueue,
  readStream,
  readTable,
  type StreamView,
} from './support/fidelity.js';
import { clickHouseUrl, useWorld } from './support/world.js';

const world = useWorld('fidelity');
const checkpointKeys: string[] = [];

afterAll(async () => {
  if (checkpointKeys.length === 0) return;
  const keys = checkpointKeys.map((key) => `'${key}'`).join(', ');
  await world.ch
    .command({ query: `ALTER TABLE default.ferry_checkpoints DELETE WHERE key IN (${keys})` })
    .catch(() => undefined);
});

// ---------------------------------------------------------------------------
// The cells of the tables

/** A kind tag for the key itself, or tags by JSON pointer below the key (`''` is the key). */
type Tag = string | Readonly<Record<string, string>>;
/** S: the field's bytes, its tag in `ferry:types`, and its name when it is not the key. */
type SCell = { readonly s: string | Buffer; readonly tag?: Tag; readonly name?: string | Buffer } | Dead;
/** Q: the key's value as JSON text in the body, and its tags in the `ferry-types` header. */
type QCell = { readonly json: string; readonly tag?: Tag } | Dead;
/** M: the key's value as canonical Extended JSON. */
type MCell = { readonly bson: string } | Dead;
/** C: the column's value as the server prints it; a String column's bytes. */
type CCell = { readonly ch: string | Buffer | null } | Dead;

const s = (value: string | Buffer, tag?: Tag, name?: string | Buffer): SCell => ({
  s: value,
  ...(tag === undefined ? {} : { tag }),
  ...(name === undefined ? {} : { name }),
});
const q = (json: string, tag?: Tag): QCell => (tag === undefined ? { json } : { json, tag });
const m = (bson: string): MCell => ({ bson });
const c = (value: string | Buffer | null): CCell => ({ ch: value });
const dead = (reason: string): Dead => ({ dead: reason });
/** Text stays text: the same bytes in a stream field, a JSON string in a body, a BSON String. */
const text = (value: string) => ({ S: s(value), Q: q(JSON.stringify(value)), M: m(JSON.stringify(value)) });

const pointer = (key: string) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;

function typesOf(key: string, tag: Tag | undefined): Record<string, string> {
  if (tag === undefined) return {};
  if (typeof tag === 'string') return { [pointer(key)]: tag };
  return Object.fromEntries(Object.entries(tag).map(([at, name]) => [pointer(key) + at, name]));
}

/** What a source puts before the key in every record (MongoDB's `_id`). */
interface Prefix {
  readonly fields: [string, string][];
  readonly json: string;
}

function streamView(key: string, cell: SCell, prefix?: Prefix): Outcome {
  if ('dead' in cell) return cell;
  const types = typesOf(key, cell.tag);
  const fields = [...(prefix?.fields ?? []), [cell.name ?? key, cell.s] as const];
  return Object.keys(types).length === 0 ? { fields } : { fields, types };
}

function messageView(key: string, cell: QCell, prefix?: Prefix): Outcome {
  if ('dead' in cell) return cell;
  const types = typesOf(key, cell.tag);
  const body = `{${prefix?.json ?? ''}${JSON.stringify(key)}:${cell.json}}`;
  return Object.keys(types).length === 0 ? { body } : { body, types };
}

function documentView(key: string, cell: MCell): Outcome {
  return 'dead' in cell ? cell : `{${JSON.stringify(key)}:${cell.bson}}`;
}

function rowView(key: string, cell: CCell): Outcome {
  return 'dead' in cell ? cell : [[key, cell.ch]];
}

// ---------------------------------------------------------------------------
// The torture dataset

const SCRIPTS = 'Grüße · Привет · 你好 · こんにちは · مرحبا · \u200Fשלום\u200E · 👋🏽 👨‍👩‍👧 · \u202Eabc\u202C';
/** Bytes that are not UTF-8. */
const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
const NOT_UTF8_BSON = '{"$binary":{"base64":"//4AgA==","subType":"00"}}';
const OID = '65a1b2c3d4e5f60718293a4b';
const UUID_TEXT = '0f8fad5b-d9cb-469f-a165-70867728950e';
const beyondInt64 = (path: string) =>
  `field ${path} is the integer 18446744073709551615, beyond Int64, the widest integer BSON has (a Decimal128 would change its kind)`;
const dollarName = (key: string) =>
  `field name "${key}" starts with "$": MongoDB reserves top-level $ names for operators, so the document could not be queried or replaced`;
/** A ClickHouse sink's reason: key, column, type, then why. */
const column = (key: string, type: string, why: string) =>
  `key "${key}" → column "${key}" ${type} of default.<target>: ${why}`;

// S: entries as an outside producer writes them with XADD: field texts and bytes.
// Tagged cases carry `ferry:types` as the README tells a producer to write it.

interface SCase {
  readonly name: string;
  /** The field, and the record key every target sees (and the ClickHouse column it goes to). */
  readonly key: string;
  readonly value: string | Buffer;
  /** The kind an outside producer gives it in `ferry:types`. */
  readonly tag?: string;
  /** The entry's fields, when they are not just `key value` (and the tag). */
  readonly fields?: (string | Buffer)[];
  /** The ClickHouse column type of the key, for S→C. */
  readonly col?: string;
  readonly S: SCell;
  readonly Q: QCell;
  readonly M: MCell;
  readonly C: CCell;
}

const notUtf8Name = Buffer.from([0x6e, 0xff]);
const undecodable = (why: string) => dead(`entry of stream "<source>" cannot be decoded: ${why}`);
const nameNotUtf8 =
  'field name 0x6eff is not UTF-8: only a Redis stream can hold it (the fields codec copies it to another stream as it is)';

// biome-ignore format: a table reads best one row per line
const sCases: SCase[] = [
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  { name: 'int_2p53p1', key: 'int_2p53p1', value: '9007199254740993', ...text('9007199254740993'), col: 'UInt64', C: c('9007199254740993') },
  { name: 'int64_max', key: 'int64_max', value: '9223372036854775807', ...text('9223372036854775807'), col: 'Int64', C: c('9223372036854775807') },
  { name: 'int64_min', key: 'int64_min', value: '-9223372036854775808', ...text('-9223372036854775808'), col: 'Int64', C: c('-9223372036854775808') },
  { name: 'uint64_max', key: 'uint64_max', value: '18446744073709551615', ...text('18446744073709551615'), col: 'UInt64', C: c('18446744073709551615') },
  { name: 'uint64_max_in_string', key: 'uint64_max_in_string', value: '18446744073709551615', ...text('18446744073709551615'), col: 'String', C: c('18446744073709551615') },
  // decimals as field text
  { name: 'dec_0_1', key: 'dec_0_1', value: '0.1', ...text('0.1'), col: 'Float64', C: c('0.1') },
  { name: 'dec_1_0', key: 'dec_1_0', value: '1.0', ...text('1.0'), col: 'Decimal(9, 1)', C: c('1.0') },
  { name: 'dec_neg0_uint', key: 'dec_neg0_uint', value: '-0', ...text('-0'), col: 'UInt32', C: dead(column('dec_neg0_uint', 'UInt32', 'text "-0" is -0, whose sign would be lost')) },
  { name: 'dec_neg0_float', key: 'dec_neg0_float', value: '-0', ...text('-0'), col: 'Float64', C: c('-0') },
  { name: 'dec_1e5', key: 'dec_1e5', value: '1e5', ...text('1e5'), col: 'UInt32', C: c('100000') },
  { name: 'dec_007', key: 'dec_007', value: '007', ...text('007'), col: 'UInt32', C: dead(column('dec_007', 'UInt32', 'text "007" is not a number literal')) },
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  { name: 'dec_8_digits', key: 'dec_8_digits', value: '99999999', ...text('99999999'), col: 'Decimal(9, 1)', C: c('99999999.0') },
  { name: 'dec_9_digits', key: 'dec_9_digits', value: '100000000', ...text('100000000'), col: 'Decimal(9, 1)', C: dead(column('dec_9_digits', 'Decimal(9, 1)', 'text "100000000" has more than 8 integer digits')) },
  { name: 'dec_007_string', key: 'dec_007_string', value: '007', ...text('007'), col: 'String', C: c('007') },
  // text
  { name: 'text_scripts', key: 'text_scripts', value: SCRIPTS, ...text(SCRIPTS), col: 'String', C: c(SCRIPTS) },
  { name: 'text_empty', key: 'text_empty', value: '', ...text(''), col: 'String', C: c('') },
  { name: 'null_text', key: 'null_text', value: 'null', ...text('null'), col: 'Nullable(String)', C: c('null') },
  { name: 'nested_text', key: 'nested_text', value: '{"a":[1,{"b":null}],"c":{"d":"e"}}', ...text('{"a":[1,{"b":null}],"c":{"d":"e"}}'), col: 'String', C: c('{"a":[1,{"b":null}],"c":{"d":"e"}}') },
  { name: 'json_true', key: 'json_true', value: 'true', ...text('true'), col: 'String', C: c('true') },
  { name: 'json_object', key: 'json_object', value: '{"a":1}', ...text('{"a":1}'), col: 'String', C: c('{"a":1}') },
  { name: 'json_quoted', key: 'json_quoted', value: '"quoted"', ...text('"quoted"'), col: 'String', C: c('"quoted"') },
  { name: 'marker_binary', key: 'marker_binary', value: '{"$binary":"aGVsbG8="}', ...text('{"$binary":"aGVsbG8="}'), col: 'String', C: c('{"$binary":"aGVsbG8="}') },
  { name: 'marker_types', key: 'marker_types', value: '{"/a":"bytes"}', ...text('{"/a":"bytes"}'), col: 'String', C: c('{"/a":"bytes"}') },
  // bytes that are not UTF-8: bytes, untagged
  { name: 'bytes', key: 'bytes', value: NOT_UTF8, S: s(NOT_UTF8), Q: q('"//4AgA=="', 'bytes'), M: m(NOT_UTF8_BSON), col: 'String', C: c(NOT_UTF8) },
  // kinds a producer states in ferry:types
  { name: 'tagged_integer', key: 'tagged_integer', value: '18446744073709551615', tag: 'integer', S: s('18446744073709551615', 'integer'), Q: q('18446744073709551615'), M: dead(beyondInt64('/tagged_integer')), col: 'UInt64', C: c('18446744073709551615') },
  { name: 'tagged_decimal', key: 'tagged_decimal', value: '1.50', tag: 'decimal', S: s('1.50', 'decimal'), Q: q('1.50', 'decimal'), M: m('{"$numberDecimal":"1.50"}'), col: 'Decimal(9, 2)', C: c('1.50') },
  { name: 'tagged_float', key: 'tagged_float', value: '-0', tag: 'float', S: s('-0', 'float'), Q: q('-0.0'), M: m('{"$numberDouble":"-0.0"}'), col: 'Float64', C: c('-0') },
  { name: 'tagged_null', key: 'tagged_null', value: 'null', tag: 'null', S: s('null', 'null'), Q: q('null'), M: m('null'), col: 'Nullable(String)', C: c(null) },
  { name: 'tagged_boolean', key: 'tagged_boolean', value: 'true', tag: 'boolean', S: s('true', 'boolean'), Q: q('true'), M: m('true'), col: 'UInt8', C: c('1') },
  { name: 'tagged_json', key: 'tagged_json', value: '{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}', tag: 'json', S: s('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}', 'json'), Q: q('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}'), M: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"x.y":{"$k":true}}'), col: 'String', C: c('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}') },
  { name: 'tagged_timestamp', key: 'tagged_timestamp', value: '2024-01-02T03:04:05.678Z', tag: 'timestamp', S: s('2024-01-02T03:04:05.678Z', 'timestamp'), Q: q('"2024-01-02T03:04:05.678Z"', 'timestamp'), M: m('{"$date":{"$numberLong":"1704164645678"}}'), col: 'DateTime', C: dead(column('tagged_timestamp', 'DateTime', 'a timestamp 2024-01-02T03:04:05.678Z has milliseconds, which DateTime cannot hold')) },
  { name: 'tagged_objectid', key: 'tagged_objectid', value: OID, tag: 'objectId', S: s(OID, 'objectId'), Q: q(`"${OID}"`, 'objectId'), M: m(`{"$oid":"${OID}"}`), col: 'String', C: c(OID) },
  // field names
  { name: 'name_dotted', key: 'a.b', value: 'dotted', ...text('dotted'), col: 'String', C: c('dotted') },
  { name: 'name_dollar', key: '$top', value: 'dollar', ...text('dollar'), M: dead(dollarName('$top')), col: 'String', C: c('dollar') },
  { name: 'name_proto', key: '__proto__', value: 'proto', ...text('proto'), col: 'String', C: c('proto') },
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  { name: 'name_ferry_types', key: 'ferry:types', value: '{"/a":"bytes"}', fields: ['\\ferry:types', '{"/a":"bytes"}'], S: s('{"/a":"bytes"}', undefined, '\\ferry:types'), Q: q(JSON.stringify('{"/a":"bytes"}')), M: m(JSON.stringify('{"/a":"bytes"}')), col: 'String', C: c('{"/a":"bytes"}') },
  // no value outside a stream: S→S copies the entry as it is, any other sink refuses it
  { name: 'name_not_utf8', key: 'name_not_utf8', value: 'x', fields: [notUtf8Name, 'x'], S: s('x', undefined, notUtf8Name), Q: undecodable(nameNotUtf8), M: undecodable(nameNotUtf8), C: undecodable(nameNotUtf8) },
  { name: 'tag_misfit', key: 'tag_misfit', value: 'hello', tag: 'integer', S: s('hello', 'integer'), Q: undecodable('field "tag_misfit" is tagged integer but "hello" is not an integer'), M: undecodable('field "tag_misfit" is tagged integer but "hello" is not an integer'), C: undecodable('field "tag_misfit" is tagged integer but "hello" is not an integer') },
];

function sFields(kase: SCase): (string | Buffer)[] {
  if (kase.fields !== undefined) return kase.fields;
  const fields = [kase.key, kase.value];
  if (kase.tag !== undefined) fields.push('ferry:types', JSON.stringify({ [pointer(kase.key)]: kase.tag }));
  return fields;
}

// Q: JSON bodies as an outside publisher sends them with amqplib; bytes with the `ferry-types` header the README names.

interface QCase {
  readonly name: string;
  readonly key: string;
  /** The key's value as JSON text in the body `{"<key>": <json>}`. */
  readonly json: string;
  /** The whole body, when it is not `{"<key>": <json>}`. */
  readonly body?: Buffer;
  readonly types?: Record<string, string>;
  /** The ClickHouse column type of the key, for Q→C (none: the table has no such column). */
  readonly col?: string;
  readonly S: SCell;
  readonly Q: QCell;
  readonly M: MCell;
  readonly C: CCell;
}

const loneSurrogate = 'holds a lone UTF-16 surrogate';
const notJson007 = 'body is not JSON: not JSON: bad number at position 15';
const keyTwice =
  'body is not JSON: key "key_twice" appears twice in an object at position 15: one of its values would be lost';

// biome-ignore format: a table reads best one row per line
const qCases: QCase[] = [
  // integer literals of any size are integers
  { name: 'int_2p53p1', key: 'int_2p53p1', json: '9007199254740993', S: s('9007199254740993', 'integer'), Q: q('9007199254740993'), M: m('{"$numberLong":"9007199254740993"}'), col: 'UInt64', C: c('9007199254740993') },
  { name: 'int64_max', key: 'int64_max', json: '9223372036854775807', S: s('9223372036854775807', 'integer'), Q: q('9223372036854775807'), M: m('{"$numberLong":"9223372036854775807"}'), col: 'Int64', C: c('9223372036854775807') },
  { name: 'int64_min', key: 'int64_min', json: '-9223372036854775808', S: s('-9223372036854775808', 'integer'), Q: q('-9223372036854775808'), M: m('{"$numberLong":"-9223372036854775808"}'), col: 'Int64', C: c('-9223372036854775808') },
  { name: 'uint64_max', key: 'uint64_max', json: '18446744073709551615', S: s('18446744073709551615', 'integer'), Q: q('18446744073709551615'), M: dead(beyondInt64('/uint64_max')), col: 'UInt64', C: c('18446744073709551615') },
  { name: 'small_int', key: 'small_int', json: '5', S: s('5', 'integer'), Q: q('5'), M: m('{"$numberInt":"5"}'), col: 'UInt8', C: c('5') },
  { name: 'int_neg0', key: 'int_neg0', json: '-0', S: s('0', 'integer'), Q: q('0'), M: m('{"$numberInt":"0"}'), col: 'UInt32', C: c('0') },
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  { name: 'float_0_1', key: 'float_0_1', json: '0.1', S: s('0.1', 'float'), Q: q('0.1'), M: m('{"$numberDouble":"0.1"}'), col: 'Float64', C: c('0.1') },
  { name: 'float_1_0', key: 'float_1_0', json: '1.0', S: s('1', 'float'), Q: q('1.0'), M: m('{"$numberDouble":"1.0"}'), col: 'Float64', C: c('1') },
  { name: 'float_neg0', key: 'float_neg0', json: '-0.0', S: s('-0', 'float'), Q: q('-0.0'), M: m('{"$numberDouble":"-0.0"}'), col: 'UInt32', C: dead(column('float_neg0', 'UInt32', 'a float -0 would lose its sign')) },
  { name: 'float_1e5', key: 'float_1e5', json: '1e5', S: s('100000', 'float'), Q: q('100000.0'), M: m('{"$numberDouble":"100000.0"}'), col: 'Float64', C: c('100000') },
  { name: 'decimal_pi', key: 'decimal_pi', json: '3.14159265358979323846', S: s('3.14159265358979323846', 'decimal'), Q: q('3.14159265358979323846', 'decimal'), M: m('{"$numberDecimal":"3.14159265358979323846"}'), col: 'Decimal(38, 20)', C: c('3.14159265358979323846') },
  { name: 'key_twice', key: 'key_twice', json: '', body: Buffer.from('{"key_twice":1,"key_twice":2}'), S: dead(keyTwice), Q: dead(keyTwice), M: dead(keyTwice), col: 'UInt8', C: dead(keyTwice) },
  { name: 'literal_007', key: 'literal_007', json: '007', S: dead(notJson007), Q: dead(notJson007), M: dead(notJson007), col: 'UInt32', C: dead(notJson007) },
  // text
  { name: 'text_scripts', key: 'text_scripts', json: JSON.stringify(SCRIPTS), ...text(SCRIPTS), col: 'String', C: c(SCRIPTS) },
  { name: 'text_escaped', key: 'text_escaped', json: '"caf\\u00e9 \\ud83d\\udc4b \\u200f"', ...text('café 👋 \u200f'), col: 'String', C: c('café 👋 \u200f') },
  { name: 'text_empty', key: 'text_empty', json: '""', ...text(''), col: 'String', C: c('') },
  { name: 'json_true', key: 'json_true', json: '"true"', ...text('true'), col: 'String', C: c('true') },
  { name: 'json_object', key: 'json_object', json: JSON.stringify('{"a":1}'), ...text('{"a":1}'), col: 'String', C: c('{"a":1}') },
  { name: 'json_quoted', key: 'json_quoted', json: JSON.stringify('"quoted"'), ...text('"quoted"'), col: 'String', C: c('"quoted"') },
  { name: 'marker_binary_text', key: 'marker_binary_text', json: JSON.stringify('{"$binary":"aGVsbG8="}'), ...text('{"$binary":"aGVsbG8="}'), col: 'String', C: c('{"$binary":"aGVsbG8="}') },
  // other JSON kinds
  { name: 'null', key: 'null', json: 'null', S: s('null', 'null'), Q: q('null'), M: m('null'), col: 'Nullable(String)', C: c(null) },
  { name: 'boolean', key: 'boolean', json: 'true', S: s('true', 'boolean'), Q: q('true'), M: m('true'), col: 'UInt8', C: c('1') },
  { name: 'nested', key: 'nested', json: '{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}', S: s('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}', 'json'), Q: q('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}'), M: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"n":{"x.y":"z"}}'), col: 'String', C: c('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}') },
  { name: 'array_u64', key: 'array_u64', json: '[1,18446744073709551615]', S: s('[1,18446744073709551615]', 'json'), Q: q('[1,18446744073709551615]'), M: dead(beyondInt64('/array_u64/1')), col: 'Array(UInt64)', C: c('[1,18446744073709551615]') },
  { name: 'marker_binary_object', key: 'marker_binary_object', json: '{"$binary":"aGVsbG8="}', S: s('{"$binary":"aGVsbG8="}', 'json'), Q: q('{"$binary":"aGVsbG8="}'), M: m('{"$binary":"aGVsbG8="}'), col: 'String', C: c('{"$binary":"aGVsbG8="}') },
  { name: 'proto_nested', key: 'proto_nested', json: '{"__proto__":{"polluted":true}}', S: s('{"__proto__":{"polluted":true}}', 'json'), Q: q('{"__proto__":{"polluted":true}}'), M: m('{"__proto__":{"polluted":true}}'), col: 'String', C: c('{"__proto__":{"polluted":true}}') },
  // bytes: base64 text the ferry-types header tags
  { name: 'bytes', key: 'bytes', json: '"//4AgA=="', types: { '/bytes': 'bytes' }, S: s(NOT_UTF8), Q: q('"//4AgA=="', 'bytes'), M: m(NOT_UTF8_BSON), col: 'String', C: c(NOT_UTF8) },
  // field names
  { name: 'name_dotted', key: 'a.b', json: '"dotted"', ...text('dotted'), col: 'String', C: c('dotted') },
  { name: 'name_dollar', key: '$top', json: '"dollar"', ...text('dollar'), M: dead(dollarName('$top')), col: 'String', C: c('dollar') },
  { name: 'name_proto', key: '__proto__', json: '"proto"', ...text('proto'), col: 'String', C: c('proto') },
  { name: 'name_ferry_types', key: 'ferry:types', json: JSON.stringify('{"/a":"bytes"}'), S: s('{"/a":"bytes"}', undefined, '\\ferry:types'), Q: q(JSON.stringify('{"/a":"bytes"}')), M: m(JSON.stringify('{"/a":"bytes"}')), col: 'String', C: c('{"/a":"bytes"}') },
  // a NUL in a key: text anywhere but in a BSON name
  { name: 'name_nul', key: 'a\0b', json: '"x"', ...text('x'), M: dead('field name /a\0b holds a NUL, which BSON names cannot'), col: 'String', C: c('x') },
  // what no target holds
  { name: 'lone_surrogate', key: 'lone_surrogate', json: '"\\ud800"', S: dead(`field "lone_surrogate" ${loneSurrogate}, which UTF-8 (and so Redis text) cannot hold`), Q: q('"\\ud800"'), M: dead(`field /lone_surrogate ${loneSurrogate}, which BSON's UTF-8 cannot hold`), col: 'String', C: dead(column('lone_surrogate', 'String', 'text "\\ud800" holds a lone surrogate, which UTF-8 cannot')) },
  { name: 'body_not_utf8', key: 'body_not_utf8', json: '', body: Buffer.concat([Buffer.from('{"body_not_utf8":"'), NOT_UTF8, Buffer.from('"}')]), S: dead('body is not UTF-8'), Q: dead('body is not UTF-8'), M: dead('body is not UTF-8'), col: 'String', C: dead('body is not UTF-8') },
  { name: 'types_misfit', key: 'types_misfit', json: '"abc"', types: { '/types_misfit': 'bytes' }, S: dead('the ferry-types header does not fit the body: /types_misfit is tagged bytes but is not base64'), Q: dead('the ferry-types header does not fit the body: /types_misfit is tagged bytes but is not base64'), M: dead('the ferry-types header does not fit the body: /types_misfit is tagged bytes but is not base64'), col: 'String', C: dead('the ferry-types header does not fit the body: /types_misfit is tagged bytes but is not base64') },
];

// M: documents inserted with the mongodb driver, every value of its own BSON type; `_id` is the case's name.

interface MCase {
  readonly name: string;
  readonly key: string;
  readonly bson: unknown;
  readonly S: SCell;
  readonly Q: QCell;
  readonly M: MCell;
}

const unreadable = (why: string) => dead(`document of <source> cannot be carried outside MongoDB: ${why}`);

// biome-ignore format: a table reads best one row per line
const mCases: MCase[] = [
  { name: 'int32', key: 'int32', bson: new Int32(5), S: s('5', 'integer'), Q: q('5'), M: m('{"$numberInt":"5"}') },
  { name: 'int64_small', key: 'int64_small', bson: Long.fromNumber(5), S: s('5', 'integer'), Q: q('5'), M: m('{"$numberLong":"5"}') },
  { name: 'int64_2p53p1', key: 'int64_2p53p1', bson: Long.fromString('9007199254740993'), S: s('9007199254740993', 'integer'), Q: q('9007199254740993'), M: m('{"$numberLong":"9007199254740993"}') },
  { name: 'int64_max', key: 'int64_max', bson: Long.MAX_VALUE, S: s('9223372036854775807', 'integer'), Q: q('9223372036854775807'), M: m('{"$numberLong":"9223372036854775807"}') },
  { name: 'int64_min', key: 'int64_min', bson: Long.MIN_VALUE, S: s('-9223372036854775808', 'integer'), Q: q('-9223372036854775808'), M: m('{"$numberLong":"-9223372036854775808"}') },
  { name: 'double_1_0', key: 'double_1_0', bson: new Double(1), S: s('1', 'float'), Q: q('1.0'), M: m('{"$numberDouble":"1.0"}') },
  { name: 'double_neg0', key: 'double_neg0', bson: new Double(-0), S: s('-0', 'float'), Q: q('-0.0'), M: m('{"$numberDouble":"-0.0"}') },
  { name: 'double_0_1', key: 'double_0_1', bson: new Double(0.1), S: s('0.1', 'float'), Q: q('0.1'), M: m('{"$numberDouble":"0.1"}') },
  { name: 'double_nan', key: 'double_nan', bson: new Double(Number.NaN), S: s('NaN', 'float'), Q: q('"NaN"', 'float'), M: m('{"$numberDouble":"NaN"}') },
  { name: 'decimal_0_1', key: 'decimal_0_1', bson: Decimal128.fromString('0.1'), S: s('0.1', 'decimal'), Q: q('0.1', 'decimal'), M: m('{"$numberDecimal":"0.1"}') },
  { name: 'decimal_1_0', key: 'decimal_1_0', bson: Decimal128.fromString('1.0'), S: s('1.0', 'decimal'), Q: q('1.0', 'decimal'), M: m('{"$numberDecimal":"1.0"}') },
  { name: 'decimal_neg0', key: 'decimal_neg0', bson: Decimal128.fromString('-0'), S: s('-0', 'decimal'), Q: q('-0', 'decimal'), M: m('{"$numberDecimal":"-0"}') },
  { name: 'decimal_1e5', key: 'decimal_1e5', bson: Decimal128.fromString('1E+5'), S: s('1E+5', 'decimal'), Q: q('1E+5', 'decimal'), M: m('{"$numberDecimal":"1E+5"}') },
  { name: 'decimal_nan', key: 'decimal_nan', bson: Decimal128.fromString('NaN'), S: unreadable('field /decimal_nan is Decimal128 NaN, which no other system holds'), Q: unreadable('field /decimal_nan is Decimal128 NaN, which no other system holds'), M: m('{"$numberDecimal":"NaN"}') },
  { name: 'bytes', key: 'bytes', bson: new Binary(NOT_UTF8, 0), S: s(NOT_UTF8), Q: q('"//4AgA=="', 'bytes'), M: m(NOT_UTF8_BSON) },
  { name: 'bytes_utf8', key: 'bytes_utf8', bson: new Binary(Buffer.from('hello'), 0), S: s('hello', 'bytes'), Q: q('"aGVsbG8="', 'bytes'), M: m('{"$binary":{"base64":"aGVsbG8=","subType":"00"}}') },
  { name: 'bytes_old', key: 'bytes_old', bson: new Binary(NOT_UTF8, 2), S: s(NOT_UTF8), Q: q('"//4AgA=="', 'bytes'), M: m('{"$binary":{"base64":"//4AgA==","subType":"02"}}') },
  { name: 'uuid', key: 'uuid', bson: new UUID(UUID_TEXT), S: s(UUID_TEXT, 'uuid'), Q: q(`"${UUID_TEXT}"`, 'uuid'), M: m('{"$binary":{"base64":"D4+tW9nLRp+hZXCGdyiVDg==","subType":"04"}}') },
  { name: 'binary_user', key: 'binary_user', bson: new Binary(Buffer.from('x'), 0x80), S: unreadable('field /binary_user is Binary of subtype 128, which only MongoDB holds (subtypes 0 and 2 are bytes, 4 a UUID)'), Q: unreadable('field /binary_user is Binary of subtype 128, which only MongoDB holds (subtypes 0 and 2 are bytes, 4 a UUID)'), M: m('{"$binary":{"base64":"eA==","subType":"80"}}') },
  { name: 'regex', key: 'regex', bson: new BSONRegExp('^a', 'i'), S: unreadable('field /regex is BSON regular expression, which only MongoDB holds'), Q: unreadable('field /regex is BSON regular expression, which only MongoDB holds'), M: m('{"$regularExpression":{"pattern":"^a","options":"i"}}') },
  { name: 'objectid', key: 'objectid', bson: new ObjectId(OID), S: s(OID, 'objectId'), Q: q(`"${OID}"`, 'objectId'), M: m(`{"$oid":"${OID}"}`) },
  { name: 'date', key: 'date', bson: new Date(1704164645678), S: s('2024-01-02T03:04:05.678Z', 'timestamp'), Q: q('"2024-01-02T03:04:05.678Z"', 'timestamp'), M: m('{"$date":{"$numberLong":"1704164645678"}}') },
  { name: 'text_scripts', key: 'text_scripts', bson: SCRIPTS, ...text(SCRIPTS) },
  { name: 'text_empty', key: 'text_empty', bson: '', ...text('') },
  { name: 'text_numeric', key: 'text_numeric', bson: '18446744073709551615', ...text('18446744073709551615') },
  { name: 'null', key: 'null', bson: null, S: s('null', 'null'), Q: q('null'), M: m('null') },
  { name: 'boolean', key: 'boolean', bson: false, S: s('false', 'boolean'), Q: q('false'), M: m('false') },
  { name: 'nested', key: 'nested', bson: { a: [new Int32(1), new Double(2.5), { b: null }], big: Long.MAX_VALUE }, S: s('{"a":[1,2.5,{"b":null}],"big":9223372036854775807}', 'json'), Q: q('{"a":[1,2.5,{"b":null}],"big":9223372036854775807}'), M: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"big":{"$numberLong":"9223372036854775807"}}') },
  { name: 'nested_bytes', key: 'nested_bytes', bson: { raw: new Binary(Buffer.from([0xff]), 0) }, S: s('{"raw":"/w=="}', { '': 'json', '/raw': 'bytes' }), Q: q('{"raw":"/w=="}', { '/raw': 'bytes' }), M: m('{"raw":{"$binary":{"base64":"/w==","subType":"00"}}}') },
  { name: 'marker_binary', key: 'marker_binary', bson: { $binary: 'aGVsbG8=' }, S: s('{"$binary":"aGVsbG8="}', 'json'), Q: q('{"$binary":"aGVsbG8="}'), M: m('{"$binary":"aGVsbG8="}') },
  { name: 'marker_binary_text', key: 'marker_binary_text', bson: '{"$binary":"aGVsbG8="}', ...text('{"$binary":"aGVsbG8="}') },
  { name: 'name_dotted', key: 'a.b', bson: 'dotted', ...text('dotted') },
  { name: 'name_dollar', key: '$top', bson: 'dollar', ...text('dollar') },
  { name: 'name_proto', key: '__proto__', bson: 'proto', ...text('proto') },
  { name: 'name_ferry_types', key: 'ferry:types', bson: '{"/a":"bytes"}', S: s('{"/a":"bytes"}', undefined, '\\ferry:types'), Q: q(JSON.stringify('{"/a":"bytes"}')), M: m(JSON.stringify('{"/a":"bytes"}')) },
];

/** A document of one key, `__proto__` included as data. */
function documentOf(id: string, key: string, value: unknown): Document {
  const doc: Document = { _id: id };
  Object.defineProperty(doc, key, { value, enumerable: true, writable: true, configurable: true });
  return doc;
}

// C: rows inserted with @clickhouse/client into typed columns; each table has the cursor `n` and the row's
// columns, and a row's record holds them all. Floats are inserted by their bits (18.16 parses float text inexactly).

interface CTable {
  readonly columns: string;
  readonly rows: string;
}

const floatBits = (value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(value);
  return `reinterpretAsFloat64(unhex('${bytes.toString('hex')}'))`;
};

// biome-ignore format: one table a line
const cTables: Record<string, CTable> = {
  u64: { columns: 'n UInt32, u64 UInt64', rows: '(1, 9007199254740993), (2, 18446744073709551615)' },
  i64: { columns: 'n UInt32, i64 Int64', rows: '(3, 9223372036854775807), (4, -9223372036854775808)' },
  f64: { columns: 'n UInt32, f64 Float64', rows: [0.1, 1, -0, 1e5, Number.NaN, Number.POSITIVE_INFINITY].map((f, i) => `(${5 + i}, ${floatBits(f)})`).join(', ') },
  dec: { columns: 'n UInt32, dec Decimal(9, 2), pi Decimal(38, 20)', rows: "(11, toDecimal32('0.1', 2), toDecimal128('3.14159265358979323846', 20)), (12, toDecimal32('-1.5', 2), toDecimal128('0', 20))" },
  str: { columns: 'n UInt32, s String', rows: [SCRIPTS, '', 'true', '{"a":1}', '"quoted"', '{"$binary":"aGVsbG8="}', '{"/a":"bytes"}', '18446744073709551615'].map((t, i) => `(${13 + i}, unhex('${Buffer.from(t).toString('hex')}'))`).concat(`(21, unhex('${NOT_UTF8.toString('hex')}'))`).join(', ') },
  nullable: { columns: 'n UInt32, ns Nullable(String), ni Nullable(Int64)', rows: "(22, NULL, NULL), (23, 'x', -5)" },
  array: { columns: 'n UInt32, au Array(UInt64), an Array(Nullable(String))', rows: "(24, [1, 18446744073709551615], ['a', NULL])" },
  time: { columns: "n UInt32, d Date, dt DateTime('UTC'), u UUID", rows: `(25, toDate('2024-01-02'), toDateTime(1704164645, 'UTC'), toUUID('${UUID_TEXT}'))` },
  misc: { columns: "n UInt32, e Enum8('a' = 1, 'b' = 2), fs FixedString(4), tup Tuple(UInt8, String)", rows: "(26, 'b', 'ab\\0\\0', (7, 'x'))" },
  names: { columns: 'n UInt32, `a.b` String, `$top` String, `__proto__` String, `ferry:types` String', rows: `(27, 'dotted', 'dollar', 'proto', '{"/a":"bytes"}')` },
};

interface CCase {
  readonly name: string;
  readonly table: keyof typeof cTables;
  readonly n: number;
  readonly S: Outcome;
  readonly Q: Outcome;
  /** The row at the C2C target, its columns as at the source. */
  readonly C: Outcome;
}

/** The S view of a ClickHouse row: `n` (an integer) and its columns, each [name, text, tag?]. */
function fields(n: number, ...rest: [string, string | Buffer, string?][]): StreamView {
  const types: Record<string, string> = { '/n': 'integer' };
  for (const [name, , tag] of rest) if (tag !== undefined) types[pointer(name)] = tag;
  return { fields: [['n', String(n)], ...rest.map(([name, value]) => [name, value] as const)], types };
}
const body = (json: string, types?: Record<string, string>): MessageView =>
  types === undefined ? { body: json } : { body: json, types };
const row = (n: number, ...rest: [string, string | Buffer | null][]): RowView => [['n', String(n)], ...rest];
const cText = (n: number, value: string): Pick<CCase, 'S' | 'Q' | 'C'> => ({
  S: fields(n, ['s', value]),
  Q: body(`{"n":${n},"s":${JSON.stringify(value)}}`),
  C: row(n, ['s', value]),
});

// biome-ignore format: a table reads best one row per line
const cCases: CCase[] = [
  { name: 'u64_2p53p1', table: 'u64', n: 1, S: fields(1, ['u64', '9007199254740993', 'integer']), Q: body('{"n":1,"u64":9007199254740993}'), C: row(1, ['u64', '9007199254740993']) },
  { name: 'u64_max', table: 'u64', n: 2, S: fields(2, ['u64', '18446744073709551615', 'integer']), Q: body('{"n":2,"u64":18446744073709551615}'), C: row(2, ['u64', '18446744073709551615']) },
  { name: 'i64_max', table: 'i64', n: 3, S: fields(3, ['i64', '9223372036854775807', 'integer']), Q: body('{"n":3,"i64":9223372036854775807}'), C: row(3, ['i64', '9223372036854775807']) },
  { name: 'i64_min', table: 'i64', n: 4, S: fields(4, ['i64', '-9223372036854775808', 'integer']), Q: body('{"n":4,"i64":-9223372036854775808}'), C: row(4, ['i64', '-9223372036854775808']) },
  { name: 'f64_0_1', table: 'f64', n: 5, S: fields(5, ['f64', '0.1', 'float']), Q: body('{"n":5,"f64":0.1}'), C: row(5, ['f64', '0.1']) },
  { name: 'f64_1', table: 'f64', n: 6, S: fields(6, ['f64', '1', 'float']), Q: body('{"n":6,"f64":1.0}'), C: row(6, ['f64', '1']) },
  { name: 'f64_neg0', table: 'f64', n: 7, S: fields(7, ['f64', '-0', 'float']), Q: body('{"n":7,"f64":-0.0}'), C: row(7, ['f64', '-0']) },
  { name: 'f64_1e5', table: 'f64', n: 8, S: fields(8, ['f64', '100000', 'float']), Q: body('{"n":8,"f64":100000.0}'), C: row(8, ['f64', '100000']) },
  { name: 'f64_nan', table: 'f64', n: 9, S: fields(9, ['f64', 'NaN', 'float']), Q: body('{"n":9,"f64":"NaN"}', { '/f64': 'float' }), C: row(9, ['f64', 'nan']) },
  { name: 'f64_inf', table: 'f64', n: 10, S: fields(10, ['f64', 'Infinity', 'float']), Q: body('{"n":10,"f64":"Infinity"}', { '/f64': 'float' }), C: row(10, ['f64', 'inf']) },
  { name: 'decimals', table: 'dec', n: 11, S: fields(11, ['dec', '0.10', 'decimal'], ['pi', '3.14159265358979323846', 'decimal']), Q: body('{"n":11,"dec":0.10,"pi":3.14159265358979323846}', { '/dec': 'decimal', '/pi': 'decimal' }), C: row(11, ['dec', '0.10'], ['pi', '3.14159265358979323846']) },
  { name: 'decimals_neg', table: 'dec', n: 12, S: fields(12, ['dec', '-1.50', 'decimal'], ['pi', '0.00000000000000000000', 'decimal']), Q: body('{"n":12,"dec":-1.50,"pi":0.00000000000000000000}', { '/dec': 'decimal', '/pi': 'decimal' }), C: row(12, ['dec', '-1.50'], ['pi', '0.00000000000000000000']) },
  { name: 'str_scripts', table: 'str', n: 13, ...cText(13, SCRIPTS) },
  { name: 'str_empty', table: 'str', n: 14, ...cText(14, '') },
  { name: 'str_true', table: 'str', n: 15, ...cText(15, 'true') },
  { name: 'str_json', table: 'str', n: 16, ...cText(16, '{"a":1}') },
  { name: 'str_quoted', table: 'str', n: 17, ...cText(17, '"quoted"') },
  { name: 'str_marker_binary', table: 'str', n: 18, ...cText(18, '{"$binary":"aGVsbG8="}') },
  { name: 'str_marker_types', table: 'str', n: 19, ...cText(19, '{"/a":"bytes"}') },
  { name: 'str_uint64_max', table: 'str', n: 20, ...cText(20, '18446744073709551615') },
  { name: 'str_not_utf8', table: 'str', n: 21, S: fields(21, ['s', NOT_UTF8]), Q: body('{"n":21,"s":"//4AgA=="}', { '/s': 'bytes' }), C: row(21, ['s', NOT_UTF8]) },
  { name: 'nulls', table: 'nullable', n: 22, S: fields(22, ['ns', 'null', 'null'], ['ni', 'null', 'null']), Q: body('{"n":22,"ns":null,"ni":null}'), C: row(22, ['ns', null], ['ni', null]) },
  { name: 'not_nulls', table: 'nullable', n: 23, S: fields(23, ['ns', 'x'], ['ni', '-5', 'integer']), Q: body('{"n":23,"ns":"x","ni":-5}'), C: row(23, ['ns', 'x'], ['ni', '-5']) },
  { name: 'arrays', table: 'array', n: 24, S: fields(24, ['au', '[1,18446744073709551615]', 'json'], ['an', '["a",null]', 'json']), Q: body('{"n":24,"au":[1,18446744073709551615],"an":["a",null]}'), C: row(24, ['au', '[1,18446744073709551615]'], ['an', "['a',NULL]"]) },
  { name: 'times', table: 'time', n: 25, S: fields(25, ['d', '2024-01-02T00:00:00.000Z', 'timestamp'], ['dt', '2024-01-02T03:04:05.000Z', 'timestamp'], ['u', UUID_TEXT, 'uuid']), Q: body(`{"n":25,"d":"2024-01-02T00:00:00.000Z","dt":"2024-01-02T03:04:05.000Z","u":"${UUID_TEXT}"}`, { '/d': 'timestamp', '/dt': 'timestamp', '/u': 'uuid' }), C: row(25, ['d', '2024-01-02'], ['dt', '1704164645'], ['u', UUID_TEXT]) },
  { name: 'misc', table: 'misc', n: 26, S: fields(26, ['e', 'b'], ['fs', 'ab\0\0'], ['tup', '[7,"x"]', 'json']), Q: body('{"n":26,"e":"b","fs":"ab\\u0000\\u0000","tup":[7,"x"]}'), C: row(26, ['e', 'b'], ['fs', 'ab\0\0'], ['tup', "(7,'x')"]) },
  { name: 'names', table: 'names', n: 27, S: fields(27, ['a.b', 'dotted'], ['$top', 'dollar'], ['__proto__', 'proto'], ['\\ferry:types', '{"/a":"bytes"}']), Q: body('{"n":27,"a.b":"dotted","$top":"dollar","__proto__":"proto","ferry:types":"{\\"/a\\":\\"bytes\\"}"}'), C: row(27, ['a.b', 'dotted'], ['$top', 'dollar'], ['__proto__', 'proto'], ['ferry:types', '{"/a":"bytes"}']) },
];

// ---------------------------------------------------------------------------
// Targets and runs

type Letter = 'S' | 'Q' | 'M' | 'C';

interface Target {
  readonly sink: Sink;
  read(): Promise<Map<string, Outcome>>;
  /** Run-specific names, replaced in reasons by their placeholders. */
  readonly names: Record<string, string>;
}

const quoted = (name: string) => `\`${name}\``;

/** A new stream, queue, collection or table as a sink, and how to read it back raw. */
async function target(letter: Letter, label: string, columns?: string): Promise<Target> {
  switch (letter) {
    case 'S': {
      const stream = world.streams.name(label);
      return {
        sink: createRedisStreamSink({ url: redisUrl, stream }),
        read: () => readStream(world.streams.redis, stream),
        names: { '<target>': stream },
      };
    }
    case 'Q': {
      const queue = uniqueName(`fidelity.${label}`);
      await world.vhost.channel.assertQueue(queue, { durable: true });
      return {
        sink: createRabbitMqSink({ url: world.vhost.url, queue }),
        read: () => readQueue(world.vhost.channel, queue),
        names: { '<target>': queue },
      };
    }
    case 'M': {
      const collection = uniqueName(`fidelity.${label}`);
      return {
        sink: createMongoSink({ url: world.mongo.url, database: world.db.databaseName, collection }),
        read: () => readCollection(world.db, collection),
        names: { '<target>': collection },
      };
    }
    case 'C': {
      const table = await world.table(`_source_id String, ${columns}`, '_source_id');
      return {
        sink: createClickHouseSink({ url: clickHouseUrl, table }),
        read: () => readTable(world.ch, table),
        names: { '<target>': table },
      };
    }
  }
}

/** What a target holds for one source id: its view, its dead letter, or neither. */
function outcome(id: string, dead: Map<string, Dead>, views: Map<string, Outcome>, columns?: string[]): Outcome {
  const letter = dead.get(id);
  const view = views.get(id);
  if (letter !== undefined && view !== undefined) return { dead: `written AND dead-lettered: ${letter.dead}` };
  if (letter !== undefined) return letter;
  if (view === undefined) return 'missing';
  return columns === undefined ? view : pick(view as RowView, columns);
}

async function fromS(to: Letter, options: Record<string, unknown> = {}): Promise<void> {
  const stream = world.streams.name(`from-s.${to}`);
  const cases = new Map<string, SCase>();
  for (const kase of sCases) {
    cases.set((await world.streams.redis.xadd(stream, '*', ...sFields(kase))) as string, kase);
  }
  const columns = sCases.flatMap((k) => (k.col === undefined ? [] : [`${quoted(k.key)} ${k.col}`])).join(', ');
  const out = await target(to, `s2${to.toLowerCase()}`, columns);
  const dead = await move(createRedisStreamSource({ url: redisUrl, stream, ...options }), out.sink, {
    '<source>': stream,
    ...out.names,
  });
  const views = await out.read();
  const actual: Record<string, Outcome> = {};
  const expected: Record<string, Outcome> = {};
  for (const [id, kase] of cases) {
    actual[kase.name] = outcome(id, dead, views, to === 'C' ? [kase.key] : undefined);
    expected[kase.name] = expectation(to, kase.key, kase);
  }
  expect(actual).toEqual(expected);
}

function expectation(to: Letter, key: string, cells: Partial<Record<Letter, unknown>>, prefix?: Prefix): Outcome {
  switch (to) {
    case 'S':
      return streamView(key, cells.S as SCell, prefix);
    case 'Q':
      return messageView(key, cells.Q as QCell, prefix);
    case 'M':
      return documentView(key, cells.M as MCell);
    case 'C':
      return rowView(key, cells.C as CCell);
  }
}

async function fromQ(to: Letter): Promise<void> {
  const queue = uniqueName('fidelity.from-q');
  const channel = world.vhost.channel;
  await channel.assertQueue(queue, { durable: true });
  for (const kase of qCases) {
    const content = kase.body ?? Buffer.from(`{${JSON.stringify(kase.key)}:${kase.json}}`);
    channel.sendToQueue(queue, content, {
      persistent: true,
      contentType: 'application/json',
      messageId: kase.name,
      ...(kase.types === undefined ? {} : { headers: { 'ferry-types': JSON.stringify(kase.types) } }),
    });
  }
  await channel.waitForConfirms();
  const columns = qCases.flatMap((k) => (k.col === undefined ? [] : [`${quoted(k.key)} ${k.col}`])).join(', ');
  const out = await target(to, `q2${to.toLowerCase()}`, columns);
  const dead = await move(createRabbitMqSource({ url: world.vhost.url, queue }), out.sink, {
    '<source>': queue,
    ...out.names,
  });
  const views = await out.read();
  const actual: Record<string, Outcome> = {};
  const expected: Record<string, Outcome> = {};
  for (const kase of qCases) {
    actual[kase.name] = outcome(kase.name, dead, views, to === 'C' ? [kase.key] : undefined);
    expected[kase.name] = expectation(to, kase.key, kase);
  }
  expect(actual).toEqual(expected);
}

async function fromM(to: Letter): Promise<void> {
  const collection = uniqueName('fidelity.from-m');
  await world.db.collection(collection).insertMany(mCases.map((k) => documentOf(k.name, k.key, k.bson)));
  const out = await target(to, `m2${to.toLowerCase()}`);
  const mongoWhere = `collection "${collection}" at ${new URL(world.mongo.url).host}, database "${world.db.databaseName}"`;
  const dead = await move(
    createMongoSource({ url: world.mongo.url, database: world.db.databaseName, collection }),
    out.sink,
    { '<source>': mongoWhere, ...out.names },
  );
  const views = await out.read();
  const actual: Record<string, Outcome> = {};
  const expected: Record<string, Outcome> = {};
  for (const kase of mCases) {
    actual[kase.name] = outcome(kase.name, dead, views);
    // Every record also holds the document's `_id` (the case's name, a String): first, as text.
    const prefix = { fields: [['_id', kase.name]] as [string, string][], json: `"_id":${JSON.stringify(kase.name)},` };
    expected[kase.name] = expectation(to, kase.key, kase, prefix);
  }
  expect(actual).toEqual(expected);
}

/** The ClickHouse source tables, made and filled once. */
let cSeeded: Promise<Record<string, string>> | undefined;

function seedC(): Promise<Record<string, string>> {
  cSeeded ??= (async () => {
    const names: Record<string, string> = {};
    for (const [label, { columns, rows }] of Object.entries(cTables)) {
      const table = await world.table(columns, 'n');
      await world.ch.command({ query: `INSERT INTO default.\`${table}\` VALUES ${rows}` });
      names[label] = table;
    }
    return names;
  })();
  return cSeeded;
}

async function fromC(to: Letter): Promise<void> {
  const tables = await seedC();
  const columns = Object.values(cTables)
    .map((t) => t.columns.replace(/^n UInt32, /, ''))
    .join(', ');
  const out = await target(to, `c2${to.toLowerCase()}`, `n UInt32, ${columns}`);
  const dead = new Map<string, Dead>();
  for (const table of Object.values(tables)) {
    const checkpointKey = uniqueName(`fidelity.c2${to.toLowerCase()}`);
    checkpointKeys.push(checkpointKey);
    const source = createClickHouseSource({ url: clickHouseUrl, table, cursor: 'n', checkpointKey });
    for (const [id, letter] of await move(source, out.sink, { '<source>': table, ...out.names })) dead.set(id, letter);
  }
  const views = await out.read();
  const actual: Record<string, Outcome> = {};
  const expected: Record<string, Outcome> = {};
  for (const kase of cCases) {
    const want = kase[to as 'S' | 'Q' | 'C'];
    const keys = Array.isArray(want) ? want.map(([name]) => name as string) : undefined;
    actual[kase.name] = outcome(String(kase.n), dead, views, keys);
    expected[kase.name] = want;
  }
  expect(actual).toEqual(expected);
}

// ---------------------------------------------------------------------------
// The 14 edges

describe('fidelity matrix: from Redis Streams (fields as an outside producer writes them)', () => {
  it('S→S on the same server (the default: one script moves the entries)', () => fromS('S'));
  it('S→S the usual way (direct: false)', () => fromS('S', { direct: false }));
  it('S→Q', () => fromS('Q'));
  it('S→M', () => fromS('M'));
  it('S→C', () => fromS('C'));
});

describe('fidelity matrix: from RabbitMQ (JSON bodies as an outside publisher sends them)', () => {
  it('Q→S', () => fromQ('S'));
  it('Q→Q', () => fromQ('Q'));
  it('Q→M', () => fromQ('M'));
  it('Q→C', () => fromQ('C'));
});

describe('fidelity matrix: from MongoDB (BSON values of every type)', () => {
  it('M→S', () => fromM('S'));
  it('M→Q', () => fromM('Q'));
  it('M→M', () => fromM('M'));
});

describe('fidelity matrix: from ClickHouse (typed columns)', () => {
  it('C→S', () => fromC('S'));
  it('C→Q', () => fromC('Q'));
  it('C→C', () => fromC('C'));
});

// ---------------------------------------------------------------------------
// Round trips: what goes out of a system and comes back is what it was

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

  it('S→C(String columns)→S: every field text comes back byte for byte', async () => {
    const fields = [...roundTripFields, ['$top', 'dollar'] as [string, string]];
    const origin = world.streams.name('rt.scs');
    const id = (await redis().xadd(origin, '*', ...fields.flat())) as string;
    // A user's field `ferry:types` is the key `ferry:types`, and so the column.
    const columns = fields.map(([name]) => `${quoted(name.replace(/^\\/, ''))} String`).join(', ');
    const table = await world.table(`_source_id String, ${columns}`, '_source_id');
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream: origin }),
      createClickHouseSink({ url: clickHouseUrl, table }),
    );
    const back = world.streams.name('rt.scs.back');
    const checkpointKey = uniqueName('fidelity.rt.scs');
    checkpointKeys.push(checkpointKey);
    // The cursor is the id column the first hop wrote: the record id of the way back is the entry's own.
    const source = createClickHouseSource({ url: clickHouseUrl, table, cursor: '_source_id', checkpointKey });
    await moveAll(source, createRedisStreamSink({ url: redisUrl, stream: back }));
    expect((await readStream(redis(), back)).get(id)).toEqual({ fields });
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

  it('C→S→C: UInt64, Int64 and Decimal(38, 10) values come back exactly', async () => {
    const columns = 'n UInt32, u UInt64, i Int64, d Decimal(38, 10)';
    const from = await world.table(columns, 'n');
    await world.ch.command({
      query: `INSERT INTO default.\`${from}\` VALUES (1, 18446744073709551615, -9223372036854775808, toDecimal128('1234567890123456789012345678.0123456789', 10)), (2, 9007199254740993, 9223372036854775807, toDecimal128('0.1', 10))`,
    });
    const stream = world.streams.name('rt.csc');
    const checkpointKey = uniqueName('fidelity.rt.csc');
    checkpointKeys.push(checkpointKey);
    const source = createClickHouseSource({ url: clickHouseUrl, table: from, cursor: 'n', checkpointKey });
    // No source-id field in the stream: the way back would refuse to put another id in _source_id.
    await moveAll(source, createRedisStreamSink({ url: redisUrl, stream, sourceIdField: false }));
    const to = await world.table(`_source_id String, ${columns}`, 'n');
    await moveAll(
      createRedisStreamSource({ url: redisUrl, stream }),
      createClickHouseSink({ url: clickHouseUrl, table: to }),
    );
    const rows = [...(await readTable(world.ch, to)).values()].sort((a, b) => Number(a[0]![1]) - Number(b[0]![1]));
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
