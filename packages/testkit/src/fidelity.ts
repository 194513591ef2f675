import { isUtf8 } from 'node:buffer';

/**
 * The fidelity matrix's shared vocabulary (see `FidelityEnd` in @ferry/core):
 * the data set's constants, what a dead letter looks like, and the `json`
 * family, JSON bodies with a `ferry-types` header as an outside publisher
 * sends them, which every system that carries JSON bodies seeds and reads
 * back alike. The other families belong to the system that seeds them.
 */

/** Text in many scripts, with direction marks, emoji sequences and an override. */
export const SCRIPTS = 'Grüße · Привет · 你好 · こんにちは · مرحبا · \u200Fשלום\u200E · 👋🏽 👨‍👩‍👧 · \u202Eabc\u202C';
/** Bytes that are not UTF-8. */
export const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
export const OID = '65a1b2c3d4e5f60718293a4b';
export const UUID_TEXT = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A record the pump dead-lettered, with its reason (run-specific names replaced by `<source>`/`<target>`). */
export interface Dead {
  readonly dead: string;
}

export const dead = (reason: string): Dead => ({ dead: reason });

export function isDead(outcome: unknown): outcome is Dead {
  return typeof outcome === 'object' && outcome !== null && 'dead' in outcome;
}

/** Text when the bytes are UTF-8, else the bytes. */
export function textOrBytes(bytes: Buffer): string | Buffer {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes;
}

/** A JSON pointer to a top-level key. */
export const pointer = (key: string) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** A kind tag for the key itself, or tags by JSON pointer below the key (`''` is the key). */
export type Tag = string | Readonly<Record<string, string>>;

/** The tags of one key, by JSON pointer from the top. */
export function typesOf(key: string, tag: Tag | undefined): Record<string, string> {
  if (tag === undefined) return {};
  if (typeof tag === 'string') return { [pointer(key)]: tag };
  return Object.fromEntries(Object.entries(tag).map(([at, name]) => [pointer(key) + at, name]));
}

// ---------------------------------------------------------------------------
// The json family: a body `{"<key>": <json>}` (or the whole `body`), the tags in `ferry-types`.

export interface JsonBody {
  readonly name: string;
  readonly key: string;
  /** The key's value as JSON text in the body `{"<key>": <json>}`. */
  readonly json: string;
  /** The whole body, when it is not `{"<key>": <json>}`. */
  readonly body?: Buffer;
  readonly types?: Readonly<Record<string, string>>;
}

// biome-ignore format: a table reads best one row per line
export const jsonBodies: readonly JsonBody[] = [
  // integer literals of any size are integers
  { name: 'int_2p53p1', key: 'int_2p53p1', json: '9007199254740993' },
  { name: 'int64_max', key: 'int64_max', json: '9223372036854775807' },
  { name: 'int64_min', key: 'int64_min', json: '-9223372036854775808' },
  { name: 'uint64_max', key: 'uint64_max', json: '18446744073709551615' },
  { name: 'small_int', key: 'small_int', json: '5' },
  { name: 'int_neg0', key: 'int_neg0', json: '-0' },
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  { name: 'float_0_1', key: 'float_0_1', json: '0.1' },
  { name: 'float_1_0', key: 'float_1_0', json: '1.0' },
  { name: 'float_neg0', key: 'float_neg0', json: '-0.0' },
  { name: 'float_1e5', key: 'float_1e5', json: '1e5' },
  { name: 'decimal_pi', key: 'decimal_pi', json: '3.14159265358979323846' },
  { name: 'key_twice', key: 'key_twice', json: '', body: Buffer.from('{"key_twice":1,"key_twice":2}') },
  { name: 'literal_007', key: 'literal_007', json: '007' },
  // text
  { name: 'text_scripts', key: 'text_scripts', json: JSON.stringify(SCRIPTS) },
  { name: 'text_escaped', key: 'text_escaped', json: '"caf\\u00e9 \\ud83d\\udc4b \\u200f"' },
  { name: 'text_empty', key: 'text_empty', json: '""' },
  { name: 'json_true', key: 'json_true', json: '"true"' },
  { name: 'json_object', key: 'json_object', json: JSON.stringify('{"a":1}') },
  { name: 'json_quoted', key: 'json_quoted', json: JSON.stringify('"quoted"') },
  { name: 'marker_binary_text', key: 'marker_binary_text', json: JSON.stringify('{"$binary":"aGVsbG8="}') },
  // other JSON kinds
  { name: 'null', key: 'null', json: 'null' },
  { name: 'boolean', key: 'boolean', json: 'true' },
  { name: 'nested', key: 'nested', json: '{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}' },
  { name: 'array_u64', key: 'array_u64', json: '[1,18446744073709551615]' },
  { name: 'marker_binary_object', key: 'marker_binary_object', json: '{"$binary":"aGVsbG8="}' },
  { name: 'proto_nested', key: 'proto_nested', json: '{"__proto__":{"polluted":true}}' },
  // bytes: base64 text the ferry-types header tags
  { name: 'bytes', key: 'bytes', json: '"//4AgA=="', types: { '/bytes': 'bytes' } },
  // field names
  { name: 'name_dotted', key: 'a.b', json: '"dotted"' },
  { name: 'name_dollar', key: '$top', json: '"dollar"' },
  { name: 'name_proto', key: '__proto__', json: '"proto"' },
  { name: 'name_ferry_types', key: 'ferry:types', json: JSON.stringify('{"/a":"bytes"}') },
  // a NUL in a key: text anywhere but in a BSON name
  { name: 'name_nul', key: 'a\0b', json: '"x"' },
  // what no target holds
  { name: 'lone_surrogate', key: 'lone_surrogate', json: '"\\ud800"' },
  { name: 'body_not_utf8', key: 'body_not_utf8', json: '', body: Buffer.concat([Buffer.from('{"body_not_utf8":"'), NOT_UTF8, Buffer.from('"}')]) },
  { name: 'types_misfit', key: 'types_misfit', json: '"abc"', types: { '/types_misfit': 'bytes' } },
];

/** The bytes a publisher sends for a case. */
export function bodyOf(kase: JsonBody): Buffer {
  return kase.body ?? Buffer.from(`{${JSON.stringify(kase.key)}:${kase.json}}`);
}

// ---------------------------------------------------------------------------
// What a system of JSON bodies holds, as its own client reads it.

/** A message: its body (text when UTF-8) and its `ferry-types` header parsed. */
export interface MessageView {
  readonly body: string | Buffer;
  readonly types?: Readonly<Record<string, string>>;
}

/** One key: its value as JSON text in the body, and its tags in the `ferry-types` header. */
export type JsonCell = { readonly json: string; readonly tag?: Tag } | Dead;

export const jsonCell = (json: string, tag?: Tag): JsonCell => (tag === undefined ? { json } : { json, tag });

/** The message of a record of one key, after what the source put before it (MongoDB's `"_id":…,`). */
export function messageView(key: string, cell: JsonCell, before = ''): MessageView | Dead {
  if ('dead' in cell) return cell;
  const types = typesOf(key, cell.tag);
  const body = `{${before}${JSON.stringify(key)}:${cell.json}}`;
  return Object.keys(types).length === 0 ? { body } : { body, types };
}

/** A message as a whole: its body text and its tags. */
export const messageOf = (json: string, types?: Readonly<Record<string, string>>): MessageView =>
  types === undefined ? { body: json } : { body: json, types };
