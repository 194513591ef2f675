import type { ClickHouseClient } from '@clickhouse/client';
import type { FidelityEnd, FidelitySourceCase } from '@ferry/core';
import { type Dead, dead, NOT_UTF8, OID, SCRIPTS, textOrBytes, UUID_TEXT } from '@ferry/testkit/fidelity';

/**
 * ClickHouse in the fidelity matrix. As a source, the `columns` family: rows
 * inserted with @clickhouse/client into typed columns; each table has the
 * cursor `n` and the row's columns, and a row's record holds them all. Floats
 * are inserted by their bits (18.16 parses float text inexactly). As a
 * target, every column of what it holds through `toString()` (String columns
 * through `hex()`, DateTime as unix seconds) in JSONEachRow, so that no value
 * passes through a JS number, from the README's "Types: ClickHouse ↔ ferry values".
 */

/** A row: each column's value as the server prints it (`toString`, or the bytes of a String), null for NULL. */
export type RowView = (readonly [string, string | Buffer | null])[];

/** One key: its column's type, and the column's value as the server prints it (a String column's bytes). */
type CCell = { readonly ch: string | Buffer | null } | Dead;

const c = (value: string | Buffer | null): CCell => ({ ch: value });
/** A ClickHouse sink's reason: key, column, type, then why. */
const column = (key: string, type: string, why: string) =>
  `key "${key}" → column "${key}" ${type} of default.<target>: ${why}`;
const row = (n: number, ...rest: [string, string | Buffer | null][]): RowView => [['n', String(n)], ...rest];

const quoted = (name: string) => `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;

// ---------------------------------------------------------------------------
// As a source: the columns family

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

interface ColumnsCase {
  readonly name: string;
  readonly table: keyof typeof cTables;
  readonly n: number;
}

// biome-ignore format: a table reads best one row per line
const columnsCases: ColumnsCase[] = [
  { name: 'u64_2p53p1', table: 'u64', n: 1 },
  { name: 'u64_max', table: 'u64', n: 2 },
  { name: 'i64_max', table: 'i64', n: 3 },
  { name: 'i64_min', table: 'i64', n: 4 },
  { name: 'f64_0_1', table: 'f64', n: 5 },
  { name: 'f64_1', table: 'f64', n: 6 },
  { name: 'f64_neg0', table: 'f64', n: 7 },
  { name: 'f64_1e5', table: 'f64', n: 8 },
  { name: 'f64_nan', table: 'f64', n: 9 },
  { name: 'f64_inf', table: 'f64', n: 10 },
  { name: 'decimals', table: 'dec', n: 11 },
  { name: 'decimals_neg', table: 'dec', n: 12 },
  { name: 'str_scripts', table: 'str', n: 13 },
  { name: 'str_empty', table: 'str', n: 14 },
  { name: 'str_true', table: 'str', n: 15 },
  { name: 'str_json', table: 'str', n: 16 },
  { name: 'str_quoted', table: 'str', n: 17 },
  { name: 'str_marker_binary', table: 'str', n: 18 },
  { name: 'str_marker_types', table: 'str', n: 19 },
  { name: 'str_uint64_max', table: 'str', n: 20 },
  { name: 'str_not_utf8', table: 'str', n: 21 },
  { name: 'nulls', table: 'nullable', n: 22 },
  { name: 'not_nulls', table: 'nullable', n: 23 },
  { name: 'arrays', table: 'array', n: 24 },
  { name: 'times', table: 'time', n: 25 },
  { name: 'misc', table: 'misc', n: 26 },
  { name: 'names', table: 'names', n: 27 },
];

// ---------------------------------------------------------------------------
// As a target: what each case's column holds, by family (a key that is not the case's name comes first)

/** A key's column type, and what it holds. */
interface At {
  readonly col: string;
  readonly cell: CCell;
}

const at = (col: string, cell: CCell): At => ({ col, cell });
type Row = At | [key: string, at: At];

// biome-ignore format: a table reads best one row per line
const fromFields: Record<string, Row> = {
  // 64-bit integers as field text: text stays text; a typed column takes a number literal's exact value
  int_2p53p1: at('UInt64', c('9007199254740993')),
  int64_max: at('Int64', c('9223372036854775807')),
  int64_min: at('Int64', c('-9223372036854775808')),
  uint64_max: at('UInt64', c('18446744073709551615')),
  uint64_max_in_string: at('String', c('18446744073709551615')),
  // decimals as field text
  dec_0_1: at('Float64', c('0.1')),
  dec_1_0: at('Decimal(9, 1)', c('1.0')),
  dec_neg0_uint: at('UInt32', dead(column('dec_neg0_uint', 'UInt32', 'text "-0" is -0, whose sign would be lost'))),
  dec_neg0_float: at('Float64', c('-0')),
  dec_1e5: at('UInt32', c('100000')),
  dec_007: at('UInt32', dead(column('dec_007', 'UInt32', 'text "007" is not a number literal'))),
  // Decimal(9, 1) holds at most 9 − 1 = 8 integer digits
  dec_8_digits: at('Decimal(9, 1)', c('99999999.0')),
  dec_9_digits: at('Decimal(9, 1)', dead(column('dec_9_digits', 'Decimal(9, 1)', 'text "100000000" has more than 8 integer digits'))),
  dec_007_string: at('String', c('007')),
  // text
  text_scripts: at('String', c(SCRIPTS)),
  text_empty: at('String', c('')),
  null_text: at('Nullable(String)', c('null')),
  nested_text: at('String', c('{"a":[1,{"b":null}],"c":{"d":"e"}}')),
  json_true: at('String', c('true')),
  json_object: at('String', c('{"a":1}')),
  json_quoted: at('String', c('"quoted"')),
  marker_binary: at('String', c('{"$binary":"aGVsbG8="}')),
  marker_types: at('String', c('{"/a":"bytes"}')),
  // bytes that are not UTF-8: bytes, untagged
  bytes: at('String', c(NOT_UTF8)),
  // kinds a producer states in ferry:types
  tagged_integer: at('UInt64', c('18446744073709551615')),
  tagged_decimal: at('Decimal(9, 2)', c('1.50')),
  tagged_float: at('Float64', c('-0')),
  tagged_null: at('Nullable(String)', c(null)),
  tagged_boolean: at('UInt8', c('1')),
  tagged_json: at('String', c('{"a":[1,2.5,{"b":null}],"x.y":{"$k":true}}')),
  tagged_timestamp: at('DateTime', dead(column('tagged_timestamp', 'DateTime', 'a timestamp 2024-01-02T03:04:05.678Z has milliseconds, which DateTime cannot hold'))),
  tagged_objectid: at('String', c(OID)),
  // field names
  name_dotted: ['a.b', at('String', c('dotted'))],
  name_dollar: ['$top', at('String', c('dollar'))],
  name_proto: ['__proto__', at('String', c('proto'))],
  // A user's field named ferry:types is written by ferry (and so by a producer that means it as data) with one more `\`.
  name_ferry_types: ['ferry:types', at('String', c('{"/a":"bytes"}'))],
};

// biome-ignore format: a table reads best one row per line
const fromJson: Record<string, Row> = {
  // integer literals of any size are integers
  int_2p53p1: at('UInt64', c('9007199254740993')),
  int64_max: at('Int64', c('9223372036854775807')),
  int64_min: at('Int64', c('-9223372036854775808')),
  uint64_max: at('UInt64', c('18446744073709551615')),
  small_int: at('UInt8', c('5')),
  int_neg0: at('UInt32', c('0')),
  // literals with a fraction or exponent: floats where a float holds them, else decimals
  float_0_1: at('Float64', c('0.1')),
  float_1_0: at('Float64', c('1')),
  float_neg0: at('UInt32', dead(column('float_neg0', 'UInt32', 'a float -0 would lose its sign'))),
  float_1e5: at('Float64', c('100000')),
  decimal_pi: at('Decimal(38, 20)', c('3.14159265358979323846')),
  // text
  text_scripts: at('String', c(SCRIPTS)),
  text_escaped: at('String', c('café 👋 \u200f')),
  text_empty: at('String', c('')),
  json_true: at('String', c('true')),
  json_object: at('String', c('{"a":1}')),
  json_quoted: at('String', c('"quoted"')),
  marker_binary_text: at('String', c('{"$binary":"aGVsbG8="}')),
  // other JSON kinds
  null: at('Nullable(String)', c(null)),
  boolean: at('UInt8', c('1')),
  nested: at('String', c('{"a":[1,2.5,{"b":null}],"n":{"x.y":"z"}}')),
  array_u64: at('Array(UInt64)', c('[1,18446744073709551615]')),
  marker_binary_object: at('String', c('{"$binary":"aGVsbG8="}')),
  proto_nested: at('String', c('{"__proto__":{"polluted":true}}')),
  // bytes: base64 text the ferry-types header tags
  bytes: at('String', c(NOT_UTF8)),
  // field names
  name_dotted: ['a.b', at('String', c('dotted'))],
  name_dollar: ['$top', at('String', c('dollar'))],
  name_proto: ['__proto__', at('String', c('proto'))],
  name_ferry_types: ['ferry:types', at('String', c('{"/a":"bytes"}'))],
  // a NUL in a key: text anywhere but in a BSON name
  name_nul: ['a\0b', at('String', c('x'))],
  // what no target holds
  lone_surrogate: at('String', dead(column('lone_surrogate', 'String', 'text "\\ud800" holds a lone surrogate, which UTF-8 cannot'))),
};

/** Typed rows after C→C: their columns as at the source. */
// biome-ignore format: a table reads best one row per line
const fromColumns: Record<string, RowView> = {
  u64_2p53p1: row(1, ['u64', '9007199254740993']),
  u64_max: row(2, ['u64', '18446744073709551615']),
  i64_max: row(3, ['i64', '9223372036854775807']),
  i64_min: row(4, ['i64', '-9223372036854775808']),
  f64_0_1: row(5, ['f64', '0.1']),
  f64_1: row(6, ['f64', '1']),
  f64_neg0: row(7, ['f64', '-0']),
  f64_1e5: row(8, ['f64', '100000']),
  f64_nan: row(9, ['f64', 'nan']),
  f64_inf: row(10, ['f64', 'inf']),
  decimals: row(11, ['dec', '0.10'], ['pi', '3.14159265358979323846']),
  decimals_neg: row(12, ['dec', '-1.50'], ['pi', '0.00000000000000000000']),
  str_scripts: row(13, ['s', SCRIPTS]),
  str_empty: row(14, ['s', '']),
  str_true: row(15, ['s', 'true']),
  str_json: row(16, ['s', '{"a":1}']),
  str_quoted: row(17, ['s', '"quoted"']),
  str_marker_binary: row(18, ['s', '{"$binary":"aGVsbG8="}']),
  str_marker_types: row(19, ['s', '{"/a":"bytes"}']),
  str_uint64_max: row(20, ['s', '18446744073709551615']),
  str_not_utf8: row(21, ['s', NOT_UTF8]),
  nulls: row(22, ['ns', null], ['ni', null]),
  not_nulls: row(23, ['ns', 'x'], ['ni', '-5']),
  arrays: row(24, ['au', '[1,18446744073709551615]'], ['an', "['a',NULL]"]),
  times: row(25, ['d', '2024-01-02'], ['dt', '1704164645'], ['u', UUID_TEXT]),
  misc: row(26, ['e', 'b'], ['fs', 'ab\0\0'], ['tup', "(7,'x')"]),
  names: row(27, ['a.b', 'dotted'], ['$top', 'dollar'], ['__proto__', 'proto'], ['ferry:types', '{"/a":"bytes"}']),
};

/** A case's key, column type and cell, or its rows' columns and view. */
function lookup(kase: string): { columns: string[]; view: RowView | Dead } | undefined {
  const [family, name = ''] = kase.split('/');
  if (family === 'columns') {
    const found = columnsCases.find((k) => k.name === name);
    if (found === undefined || !Object.hasOwn(fromColumns, name)) return undefined;
    return { columns: cTables[found.table]!.columns.split(/, (?![^(]*\))/), view: fromColumns[name]! };
  }
  const rows = family === 'fields' ? fromFields : family === 'json' ? fromJson : undefined;
  const found = rows !== undefined && Object.hasOwn(rows, name) ? rows[name] : undefined;
  if (found === undefined) return undefined;
  const [key, { col, cell }] = Array.isArray(found) ? found : [name, found];
  return { columns: [`${quoted(key)} ${col}`], view: 'dead' in cell ? cell : [[key, cell.ch]] };
}

/** Only the listed columns of a row, in that order (a wide table's other columns hold their defaults). */
export function pick(row: RowView, keys: readonly string[]): RowView {
  return keys.map((key) => {
    const found = row.find(([name]) => name === key);
    return [key, found === undefined ? 'no such column' : found[1]] as const;
  });
}

/**
 * How a column is read back so that no value passes through a JS number or
 * a lossy text: the bytes of strings, unix seconds of DateTime, and a
 * decimal's stored integer as its bytes: 18.16 prints a Decimal128 of 38
 * digits with NUL bytes for some of them (`toString(toDecimal128(
 * '1234567890123456789012345678.0123456789', 10))` is
 * `1\0\0\0\0\0\0\090123456789012345678.0123456789`), though it stores it exactly.
 */
function readExpression(name: string, type: string): string {
  const column = `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
  if (/^(Nullable\()?(String|FixedString\(\d+\))\)?$/.test(type)) return `hex(${column})`;
  if (/^DateTime\b/.test(type)) return `toString(toUnixTimestamp(${column}))`;
  if (decimalShape(type) !== undefined) return `hex(reinterpretAsString(${column}))`;
  return `toString(${column})`;
}

/** A decimal column's scale and the bytes of its stored integer, or undefined for other types. */
function decimalShape(type: string): { scale: number; bytes: number } | undefined {
  const general = /^Decimal\((\d+), (\d+)\)$/.exec(type);
  if (general !== null) {
    const precision = Number(general[1]);
    return { scale: Number(general[2]), bytes: precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32 };
  }
  const sized = /^Decimal(32|64|128|256)\((\d+)\)$/.exec(type);
  return sized === null ? undefined : { scale: Number(sized[2]), bytes: Number(sized[1]) / 8 };
}

/** A decimal column's stored integer (little-endian two's complement; reinterpretAsString drops trailing zero bytes) as its text. */
function decimalText(hex: string, { scale, bytes }: { scale: number; bytes: number }): string {
  const held = Buffer.alloc(bytes);
  Buffer.from(hex, 'hex').copy(held);
  let stored = 0n;
  for (let i = bytes - 1; i >= 0; i--) stored = (stored << 8n) | BigInt(held[i]!);
  const bits = BigInt(bytes * 8);
  if (stored >> (bits - 1n) === 1n) stored -= 1n << bits;
  const negative = stored < 0n;
  const digits = (negative ? -stored : stored).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${whole}` : whole;
}

/**
 * Every row of a table: by its `_source_id`, each column as the server
 * prints it (every value a string in JSONEachRow, 64-bit integers included),
 * String columns as their bytes.
 */
export async function readTable(ch: ClickHouseClient, table: string): Promise<Map<string, RowView>> {
  const columns = await (await ch.query({ query: `DESCRIBE TABLE default.\`${table}\``, format: 'JSONEachRow' })).json<{
    name: string;
    type: string;
  }>();
  const list = columns.map((c) => `${readExpression(c.name, c.type)} AS \`c${columns.indexOf(c)}\``).join(', ');
  const rows = await (
    await ch.query({ query: `SELECT ${list} FROM default.\`${table}\``, format: 'JSONEachRow' })
  ).json<Record<string, string | null>>();
  const out = new Map<string, RowView>();
  for (const row of rows) {
    const view: RowView = [];
    let sourceId = '';
    columns.forEach((column, i) => {
      const held = row[`c${i}`] ?? null;
      const decimal = decimalShape(column.type);
      const strings = readExpression(column.name, column.type).startsWith('hex(');
      let value: string | Buffer | null = held;
      if (held !== null && decimal !== undefined) value = decimalText(held, decimal);
      else if (held !== null && strings) value = textOrBytes(Buffer.from(held, 'hex'));
      if (column.name === '_source_id') sourceId = String(value);
      else view.push([column.name, value]);
    });
    out.set(sourceId, view);
  }
  return out;
}

/** ClickHouse's row and column of the fidelity matrix, on the end's client; names of the end's own. */
export function clickHouseFidelity(ch: ClickHouseClient, name: (label: string) => string): FidelityEnd {
  const cases: FidelitySourceCase[] = columnsCases.map((kase) => ({ name: kase.name, reads: `columns/${kase.name}` }));
  return {
    cases,
    async seed(label) {
      const names: string[] = [];
      for (const [tableLabel, { columns, rows }] of Object.entries(cTables)) {
        const table = name(`${label}_${tableLabel}`);
        await ch.command({ query: `CREATE TABLE default.${quoted(table)} (${columns}) ENGINE = MergeTree ORDER BY n` });
        await ch.command({ query: `INSERT INTO default.${quoted(table)} VALUES ${rows}` });
        names.push(table);
      }
      // A row's record id is its cursor's value.
      return { names, cases: new Map(columnsCases.map((kase) => [String(kase.n), kase.name])) };
    },
    async create(table, kases) {
      const columns: string[] = [];
      for (const kase of kases) {
        for (const definition of lookup(kase)?.columns ?? [])
          if (!columns.includes(definition)) columns.push(definition);
      }
      await ch.command({
        query: `CREATE TABLE default.${quoted(table)} (_source_id String, ${columns.join(', ')}) ENGINE = MergeTree ORDER BY _source_id`,
      });
    },
    read: (table) => readTable(ch, table),
    expect: (kase) => lookup(kase)?.view,
    shown(view, kase) {
      const want = lookup(kase)?.view;
      return Array.isArray(want)
        ? pick(
            view as RowView,
            want.map(([key]) => key),
          )
        : view;
    },
  };
}
