import { DdlError, TokenReader, tokenize } from './clickhouse-ddl-tokens.js';

/** Types written by name alone. */
const plainTypes = new Set([
  ...['8', '16', '32', '64', '128', '256'].flatMap((bits) => [`Int${bits}`, `UInt${bits}`]),
  'Float32',
  'Float64',
  'String',
  'Date',
  'Date32',
  'UUID',
  'Bool',
  'IPv4',
  'IPv6',
]);

type Part = (reader: TokenReader) => string;

/** The families a `create` column may be of, each reading its own arguments. */
const families: Record<string, Part> = {
  DateTime: (r) => (r.peek()?.text === '(' ? args(r, () => literal(r, 'string')) : ''),
  DateTime64: (r) => args(r, () => `${literal(r, 'number')}${r.accept(',') ? `, ${literal(r, 'string')}` : ''}`),
  FixedString: (r) => args(r, () => literal(r, 'number')),
  Decimal: (r) => args(r, () => `${literal(r, 'number')}${r.accept(',') ? `, ${literal(r, 'number')}` : ''}`),
  Decimal32: (r) => args(r, () => literal(r, 'number')),
  Decimal64: (r) => args(r, () => literal(r, 'number')),
  Decimal128: (r) => args(r, () => literal(r, 'number')),
  Decimal256: (r) => args(r, () => literal(r, 'number')),
  Enum: (r) => args(r, () => list(r, () => enumMember(r))),
  Enum8: (r) => args(r, () => list(r, () => enumMember(r))),
  Enum16: (r) => args(r, () => list(r, () => enumMember(r))),
  Nullable: (r) => args(r, () => type(r)),
  LowCardinality: (r) => args(r, () => type(r)),
  Array: (r) => args(r, () => type(r)),
  Map: (r) => args(r, () => pair(r, type, type)),
  Tuple: (r) => args(r, () => list(r, () => tupleElement(r))),
  Nested: (r) => args(r, () => list(r, () => `${r.name('an element name')} ${type(r)}`)),
  SimpleAggregateFunction: (r) => args(r, () => pair(r, aggregateName, type)),
  AggregateFunction: (r) => args(r, () => pair(r, aggregateName, (r) => list(r, () => type(r)))),
};

/**
 * A column type of a `create` option, parsed: a type name ClickHouse knows and
 * its literal arguments (`Nullable(String)`, `Decimal(38, 10)`,
 * `DateTime64(3, 'UTC')`, `Enum8('a' = 1)`, `Array(Tuple(a UInt8, b String))`),
 * written anew as it is sent. `DEFAULT`, `MATERIALIZED`, `CODEC`, functions and
 * anything else after or inside the type is a DdlError quoting it.
 */
export function columnTypeSql(text: string): string {
  const reader = new TokenReader(text, tokenize(text));
  const sql = type(reader);
  if (!reader.done())
    throw reader.fail('a column type is a type name and its literal arguments only: expected the end');
  return sql;
}

/** The type written anew, or undefined when it is not one `columnTypeSql` takes. */
export function columnTypeOrUndefined(text: string): string | undefined {
  try {
    return columnTypeSql(text);
  } catch (error) {
    if (error instanceof DdlError) return undefined;
    throw error;
  }
}

function type(reader: TokenReader): string {
  const name = reader.name('a type name such as UInt64 or Nullable(String)');
  if (plainTypes.has(name)) return name;
  // Own keys only: `constructor` is no type.
  const family = Object.hasOwn(families, name) ? families[name] : undefined;
  if (family === undefined) throw new DdlError(`unknown column type ${JSON.stringify(name)}`);
  return `${name}${family(reader)}`;
}

function args(reader: TokenReader, inside: () => string): string {
  reader.expect('(');
  const sql = inside();
  reader.expect(')');
  return `(${sql})`;
}

function pair(reader: TokenReader, first: Part, second: Part): string {
  const sql = first(reader);
  reader.expect(',');
  return `${sql}, ${second(reader)}`;
}

function aggregateName(reader: TokenReader): string {
  return reader.name('an aggregate function name');
}

function list(reader: TokenReader, item: () => string): string {
  const items = [item()];
  while (reader.accept(',')) items.push(item());
  return items.join(', ');
}

/** A string literal, or a whole number (negative where `-` comes first). */
export function literal(reader: TokenReader, kind: 'string' | 'number'): string {
  const minus = kind === 'number' && reader.accept('-') ? '-' : '';
  const token = reader.peek();
  if (token?.kind !== kind || (kind === 'number' && token.text.includes('.'))) {
    throw reader.fail(kind === 'string' ? 'expected a quoted string' : 'expected a whole number');
  }
  reader.next();
  return `${minus}${token.text}`;
}

function enumMember(reader: TokenReader): string {
  const name = literal(reader, 'string');
  return reader.accept('=') ? `${name} = ${literal(reader, 'number')}` : name;
}

/** `UInt8` or, named, `a UInt8`: two names in a row. */
function tupleElement(reader: TokenReader): string {
  const named = reader.peek()?.kind === 'name' && reader.peek(1)?.kind === 'name';
  return named ? `${reader.name('an element name')} ${type(reader)}` : type(reader);
}
