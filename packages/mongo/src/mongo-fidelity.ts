import type { FidelityEnd, FidelitySourceCase } from '@ferry/core';
import { type Dead, dead, NOT_UTF8, OID, SCRIPTS, UUID_TEXT } from '@ferry/testkit/fidelity';
import {
  Binary,
  BSON,
  BSONRegExp,
  type Db,
  Decimal128,
  type Document,
  Double,
  Int32,
  Long,
  ObjectId,
  UUID,
} from 'mongodb';

/**
 * MongoDB in the fidelity matrix. As a source, the `bson` family: documents
 * inserted with the mongodb driver, every value of its own BSON type, `_id`
 * the case's name. As a target, what find reads back of every case, with
 * `promoteValues: false` and shown as canonical Extended JSON so that
 * Int32/Int64/Double/Decimal128/Binary subtypes are spelled out, from the
 * README's "Types: BSON ↔ ferry values".
 */

/** One key: its value as canonical Extended JSON. */
type MCell = { readonly bson: string } | Dead;

const m = (bson: string): MCell => ({ bson });

/** A document of one key, without its `_id`, as canonical Extended JSON. */
function documentView(key: string, cell: MCell): string | Dead {
  return 'dead' in cell ? cell : `{${JSON.stringify(key)}:${cell.bson}}`;
}

/** Canonical Extended JSON (`{"$numberLong":"5"}`, `{"$numberDouble":"1.0"}`…). */
export function canonical(value: unknown): string {
  return BSON.EJSON.stringify(value as Document, { relaxed: false });
}

const NOT_UTF8_BSON = '{"$binary":{"base64":"//4AgA==","subType":"00"}}';
const beyondInt64 = (path: string) =>
  `field ${path} is the integer 18446744073709551615, beyond Int64, the widest integer BSON has (a Decimal128 would change its kind)`;
const dollarName = (key: string) =>
  `field name "${key}" starts with "$": MongoDB reserves top-level $ names for operators, so the document could not be queried or replaced`;
const loneSurrogate = 'holds a lone UTF-16 surrogate';

// ---------------------------------------------------------------------------
// As a source: the bson family. After M→M a document is as it was: each case's `same`.

interface BsonCase {
  readonly name: string;
  readonly key: string;
  readonly bson: unknown;
  /** Why the source cannot hand it to another system. */
  readonly refused?: string;
  /** The document after M→M. */
  readonly same: MCell;
}

const unreadable = (why: string) => `document of <source> cannot be carried outside MongoDB: ${why}`;

// biome-ignore format: a table reads best one row per line
const bsonCases: BsonCase[] = [
  { name: 'int32', key: 'int32', bson: new Int32(5), same: m('{"$numberInt":"5"}') },
  { name: 'int64_small', key: 'int64_small', bson: Long.fromNumber(5), same: m('{"$numberLong":"5"}') },
  { name: 'int64_2p53p1', key: 'int64_2p53p1', bson: Long.fromString('9007199254740993'), same: m('{"$numberLong":"9007199254740993"}') },
  { name: 'int64_max', key: 'int64_max', bson: Long.MAX_VALUE, same: m('{"$numberLong":"9223372036854775807"}') },
  { name: 'int64_min', key: 'int64_min', bson: Long.MIN_VALUE, same: m('{"$numberLong":"-9223372036854775808"}') },
  { name: 'double_1_0', key: 'double_1_0', bson: new Double(1), same: m('{"$numberDouble":"1.0"}') },
  { name: 'double_neg0', key: 'double_neg0', bson: new Double(-0), same: m('{"$numberDouble":"-0.0"}') },
  { name: 'double_0_1', key: 'double_0_1', bson: new Double(0.1), same: m('{"$numberDouble":"0.1"}') },
  { name: 'double_nan', key: 'double_nan', bson: new Double(Number.NaN), same: m('{"$numberDouble":"NaN"}') },
  { name: 'decimal_0_1', key: 'decimal_0_1', bson: Decimal128.fromString('0.1'), same: m('{"$numberDecimal":"0.1"}') },
  { name: 'decimal_1_0', key: 'decimal_1_0', bson: Decimal128.fromString('1.0'), same: m('{"$numberDecimal":"1.0"}') },
  { name: 'decimal_neg0', key: 'decimal_neg0', bson: Decimal128.fromString('-0'), same: m('{"$numberDecimal":"-0"}') },
  { name: 'decimal_1e5', key: 'decimal_1e5', bson: Decimal128.fromString('1E+5'), same: m('{"$numberDecimal":"1E+5"}') },
  { name: 'decimal_nan', key: 'decimal_nan', bson: Decimal128.fromString('NaN'), refused: unreadable('field /decimal_nan is Decimal128 NaN, which no other system holds'), same: m('{"$numberDecimal":"NaN"}') },
  { name: 'bytes', key: 'bytes', bson: new Binary(NOT_UTF8, 0), same: m(NOT_UTF8_BSON) },
  { name: 'bytes_utf8', key: 'bytes_utf8', bson: new Binary(Buffer.from('hello'), 0), same: m('{"$binary":{"base64":"aGVsbG8=","subType":"00"}}') },
  { name: 'bytes_old', key: 'bytes_old', bson: new Binary(NOT_UTF8, 2), same: m('{"$binary":{"base64":"//4AgA==","subType":"02"}}') },
  { name: 'uuid', key: 'uuid', bson: new UUID(UUID_TEXT), same: m('{"$binary":{"base64":"D4+tW9nLRp+hZXCGdyiVDg==","subType":"04"}}') },
  { name: 'binary_user', key: 'binary_user', bson: new Binary(Buffer.from('x'), 0x80), refused: unreadable('field /binary_user is Binary of subtype 128, which only MongoDB holds (subtypes 0 and 2 are bytes, 4 a UUID)'), same: m('{"$binary":{"base64":"eA==","subType":"80"}}') },
  { name: 'regex', key: 'regex', bson: new BSONRegExp('^a', 'i'), refused: unreadable('field /regex is BSON regular expression, which only MongoDB holds'), same: m('{"$regularExpression":{"pattern":"^a","options":"i"}}') },
  { name: 'objectid', key: 'objectid', bson: new ObjectId(OID), same: m(`{"$oid":"${OID}"}`) },
  { name: 'date', key: 'date', bson: new Date(1704164645678), same: m('{"$date":{"$numberLong":"1704164645678"}}') },
  { name: 'text_scripts', key: 'text_scripts', bson: SCRIPTS, same: m(JSON.stringify(SCRIPTS)) },
  { name: 'text_empty', key: 'text_empty', bson: '', same: m(JSON.stringify('')) },
  { name: 'text_numeric', key: 'text_numeric', bson: '18446744073709551615', same: m(JSON.stringify('18446744073709551615')) },
  { name: 'null', key: 'null', bson: null, same: m('null') },
  { name: 'boolean', key: 'boolean', bson: false, same: m('false') },
  { name: 'nested', key: 'nested', bson: { a: [new Int32(1), new Double(2.5), { b: null }], big: Long.MAX_VALUE }, same: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"big":{"$numberLong":"9223372036854775807"}}') },
  { name: 'nested_bytes', key: 'nested_bytes', bson: { raw: new Binary(Buffer.from([0xff]), 0) }, same: m('{"raw":{"$binary":{"base64":"/w==","subType":"00"}}}') },
  { name: 'marker_binary', key: 'marker_binary', bson: { $binary: 'aGVsbG8=' }, same: m('{"$binary":"aGVsbG8="}') },
  { name: 'marker_binary_text', key: 'marker_binary_text', bson: '{"$binary":"aGVsbG8="}', same: m(JSON.stringify('{"$binary":"aGVsbG8="}')) },
  { name: 'name_dotted', key: 'a.b', bson: 'dotted', same: m(JSON.stringify('dotted')) },
  { name: 'name_dollar', key: '$top', bson: 'dollar', same: m(JSON.stringify('dollar')) },
  { name: 'name_proto', key: '__proto__', bson: 'proto', same: m(JSON.stringify('proto')) },
  { name: 'name_ferry_types', key: 'ferry:types', bson: '{"/a":"bytes"}', same: m(JSON.stringify('{"/a":"bytes"}')) },
];

/** A document of one key, `__proto__` included as data. */
function documentOf(id: string, key: string, value: unknown): Document {
  const doc: Document = { _id: id };
  Object.defineProperty(doc, key, { value, enumerable: true, writable: true, configurable: true });
  return doc;
}

// ---------------------------------------------------------------------------
// As a target: what find reads of each case, by family (a key that is not the case's name comes first)

type Row = MCell | [key: string, cell: MCell];

// biome-ignore format: a table reads best one row per line
const fromFields: Record<string, Row> = {
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  int_2p53p1: m(JSON.stringify('9007199254740993')),
  int64_max: m(JSON.stringify('9223372036854775807')),
  int64_min: m(JSON.stringify('-9223372036854775808')),
  uint64_max: m(JSON.stringify('18446744073709551615')),
  uint64_max_in_string: m(JSON.stringify('18446744073709551615')),
  // decimals as field text
  dec_0_1: m(JSON.stringify('0.1')),
  dec_1_0: m(JSON.stringify('1.0')),
  dec_neg0_uint: m(JSON.stringify('-0')),
  dec_neg0_float: m(JSON.stringify('-0')),
  dec_1e5: m(JSON.stringify('1e5')),
  dec_007: m(JSON.stringify('007')),
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  dec_8_digits: m(JSON.stringify('99999999')),
  dec_9_digits: m(JSON.stringify('100000000')),
  dec_007_string: m(JSON.stringify('007')),
  // text
  text_scripts: m(JSON.stringify(SCRIPTS)),
  text_empty: m(JSON.stringify('')),
  null_text: m(JSON.stringify('null')),
  nested_text: m(JSON.stringify('{"a":[1,{"b":null}],"c":{"d":"e"}}')),
  json_true: m(JSON.stringify('true')),
  json_object: m(JSON.stringify('{"a":1}')),
  json_quoted: m(JSON.stringify('"quoted"')),
  marker_binary: m(JSON.stringify('{"$binary":"aGVsbG8="}')),
  marker_types: m(JSON.stringify('{"/a":"bytes"}')),
  // bytes that are not UTF-8: bytes, untagged
  bytes: m(NOT_UTF8_BSON),
  // kinds a producer states in ferry:types
  tagged_integer: dead(beyondInt64('/tagged_integer')),
  tagged_decimal: m('{"$numberDecimal":"1.50"}'),
  tagged_float: m('{"$numberDouble":"-0.0"}'),
  tagged_null: m('null'),
  tagged_boolean: m('true'),
  tagged_json: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"x.y":{"$k":true}}'),
  tagged_timestamp: m('{"$date":{"$numberLong":"1704164645678"}}'),
  tagged_objectid: m(`{"$oid":"${OID}"}`),
  // field names
  name_dotted: ['a.b', m(JSON.stringify('dotted'))],
  name_dollar: ['$top', dead(dollarName('$top'))],
  name_proto: ['__proto__', m(JSON.stringify('proto'))],
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  name_ferry_types: ['ferry:types', m(JSON.stringify('{"/a":"bytes"}'))],
};

// biome-ignore format: a table reads best one row per line
const fromJson: Record<string, Row> = {
  // integer literals of any size are integers
  int_2p53p1: m('{"$numberLong":"9007199254740993"}'),
  int64_max: m('{"$numberLong":"9223372036854775807"}'),
  int64_min: m('{"$numberLong":"-9223372036854775808"}'),
  uint64_max: dead(beyondInt64('/uint64_max')),
  small_int: m('{"$numberInt":"5"}'),
  int_neg0: m('{"$numberInt":"0"}'),
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  float_0_1: m('{"$numberDouble":"0.1"}'),
  float_1_0: m('{"$numberDouble":"1.0"}'),
  float_neg0: m('{"$numberDouble":"-0.0"}'),
  float_1e5: m('{"$numberDouble":"100000.0"}'),
  decimal_pi: m('{"$numberDecimal":"3.14159265358979323846"}'),
  // text
  text_scripts: m(JSON.stringify(SCRIPTS)),
  text_escaped: m(JSON.stringify('café 👋 \u200f')),
  text_empty: m(JSON.stringify('')),
  json_true: m(JSON.stringify('true')),
  json_object: m(JSON.stringify('{"a":1}')),
  json_quoted: m(JSON.stringify('"quoted"')),
  marker_binary_text: m(JSON.stringify('{"$binary":"aGVsbG8="}')),
  // other JSON kinds
  null: m('null'),
  boolean: m('true'),
  nested: m('{"a":[{"$numberInt":"1"},{"$numberDouble":"2.5"},{"b":null}],"n":{"x.y":"z"}}'),
  array_u64: dead(beyondInt64('/array_u64/1')),
  marker_binary_object: m('{"$binary":"aGVsbG8="}'),
  proto_nested: m('{"__proto__":{"polluted":true}}'),
  // bytes: base64 text the ferry-types header tags
  bytes: m(NOT_UTF8_BSON),
  // field names
  name_dotted: ['a.b', m(JSON.stringify('dotted'))],
  name_dollar: ['$top', dead(dollarName('$top'))],
  name_proto: ['__proto__', m(JSON.stringify('proto'))],
  name_ferry_types: ['ferry:types', m(JSON.stringify('{"/a":"bytes"}'))],
  // a NUL in a key: text anywhere but in a BSON name
  name_nul: ['a\0b', dead('field name /a\0b holds a NUL, which BSON names cannot')],
  // what no target holds
  lone_surrogate: dead(`field /lone_surrogate ${loneSurrogate}, which BSON's UTF-8 cannot hold`),
};

function expectation(kase: string): string | Dead | undefined {
  const [family, name = ''] = kase.split('/');
  const rows = family === 'fields' ? fromFields : family === 'json' ? fromJson : undefined;
  const row = rows !== undefined && Object.hasOwn(rows, name) ? rows[name] : undefined;
  if (row === undefined) return undefined;
  return Array.isArray(row) ? documentView(row[0], row[1]) : documentView(name, row);
}

/**
 * Every document of a collection, read with `promoteValues: false` so that
 * Int32, Int64 and Double stay apart: by `_id` (as text), each as canonical
 * Extended JSON without its `_id`, where every BSON type is spelled out.
 */
export async function readCollection(db: Db, collection: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const doc of await db.collection(collection).find({}, { promoteValues: false }).toArray()) {
    const { _id, ...rest } = doc as Document;
    out.set(typeof _id === 'string' ? _id : canonical(_id), canonical(rest));
  }
  return out;
}

/** MongoDB's row and column of the fidelity matrix, in the end's database on `url`. */
export function mongoFidelity(db: Db, url: string, name: (label: string) => string): FidelityEnd {
  const cases: FidelitySourceCase[] = bsonCases.map((kase) => ({
    name: kase.name,
    ...(kase.refused === undefined ? { reads: `bson/${kase.name}` } : { refused: kase.refused }),
    same: documentView(kase.key, kase.same),
  }));
  return {
    cases,
    async seed(label) {
      const collection = name(label);
      await db.collection(collection).insertMany(bsonCases.map((k) => documentOf(k.name, k.key, k.bson)));
      return { names: [collection], cases: new Map(bsonCases.map((kase) => [kase.name, kase.name])) };
    },
    create: async () => undefined,
    read: (collection) => readCollection(db, collection),
    expect: expectation,
    where: (collection) => `collection "${collection}" at ${new URL(url).host}, database "${db.databaseName}"`,
  };
}
