import { literal } from './clickhouse-ddl-column.js';
import { DdlError, TokenReader, tokenize } from './clickhouse-ddl-tokens.js';

const mergeTrees = [
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
];

/** The engines a `create` option takes unless the connection's `engines` names more: they keep their data on the server's own disks. */
export const defaultEngines: readonly string[] = [...mergeTrees, ...mergeTrees.map((name) => `Replicated${name}`)];

/** Functions a key (ORDER BY, PARTITION BY…) or an engine argument may call: computed from the row alone, reading nothing else. */
const keyFunctions = new Set([
  'tuple',
  'toDate',
  'toDateTime',
  'toYear',
  'toMonth',
  'toDayOfMonth',
  'toDayOfWeek',
  'toHour',
  'toYYYYMM',
  'toYYYYMMDD',
  'toYYYYMMDDhhmmss',
  'toMonday',
  'toStartOfYear',
  'toStartOfQuarter',
  'toStartOfMonth',
  'toStartOfWeek',
  'toStartOfDay',
  'toStartOfHour',
  'toStartOfFifteenMinutes',
  'toStartOfFiveMinute',
  'toStartOfMinute',
  'intDiv',
  'modulo',
  'intHash32',
  'intHash64',
  'cityHash64',
  'sipHash64',
  'xxHash32',
  'xxHash64',
  'murmurHash3_32',
  'murmurHash3_64',
  'farmHash64',
  'rand',
]);

const clauses: Record<string, { words: readonly string[]; read: (reader: TokenReader) => string }> = {
  PARTITION: { words: ['PARTITION', 'BY'], read: (r) => expression(r) },
  ORDER: { words: ['ORDER', 'BY'], read: (r) => expression(r) },
  PRIMARY: { words: ['PRIMARY', 'KEY'], read: (r) => expression(r) },
  SAMPLE: { words: ['SAMPLE', 'BY'], read: (r) => expression(r) },
  SETTINGS: { words: ['SETTINGS'], read: (r) => list(r, () => setting(r)) },
};

/**
 * The engine clause of a `create` option, parsed and written anew:
 * `Engine[(args)]` of `engines` (the MergeTree family by default), then
 * PARTITION BY, ORDER BY, PRIMARY KEY, SAMPLE BY and SETTINGS, each at most
 * once. Keys and arguments are columns, literals and the pure functions above;
 * anything else (`url(…)`, subqueries, comments, `;`) is a DdlError quoting it.
 */
export function engineSql(text: string, engines: readonly string[] = defaultEngines): string {
  const reader = new TokenReader(text, tokenize(text));
  const engine = reader.name('an engine name such as MergeTree');
  if (!engines.includes(engine)) {
    throw new DdlError(
      `engine ${JSON.stringify(engine)} is not allowed: expected one of ${engines.join(', ')}; name it in the connection's engines to allow it`,
    );
  }
  const parts = [reader.peek()?.text === '(' ? `${engine}(${callArgs(reader)})` : engine];
  const seen = new Set<string>();
  while (!reader.done()) {
    const word = reader.peek()?.kind === 'name' ? reader.peek()!.text.toUpperCase() : '';
    const clause = Object.hasOwn(clauses, word) ? clauses[word] : undefined;
    if (clause === undefined || seen.has(word)) {
      throw reader.fail('expected PARTITION BY, ORDER BY, PRIMARY KEY, SAMPLE BY or SETTINGS, each once');
    }
    seen.add(word);
    for (const keyword of clause.words) reader.expect(keyword);
    parts.push(`${clause.words.join(' ')} ${clause.read(reader)}`);
  }
  return parts.join(' ');
}

/** `(a, b)` after a function or engine name: literals and expressions, possibly none. */
function callArgs(reader: TokenReader): string {
  reader.expect('(');
  if (reader.accept(')')) return '';
  const sql = list(reader, () => argument(reader));
  reader.expect(')', '"," or ")"');
  return sql;
}

function argument(reader: TokenReader): string {
  const token = reader.peek();
  if (token?.kind === 'string') return literal(reader, 'string');
  if (token?.kind === 'number' || token?.text === '-') return number(reader);
  return expression(reader);
}

/** A column, a tuple `(a, b)`, or a call of a key function. */
function expression(reader: TokenReader): string {
  if (reader.accept('(')) {
    const sql = list(reader, () => argument(reader));
    reader.expect(')', '"," or ")"');
    return `(${sql})`;
  }
  const name = reader.name('a column, a tuple or a function such as toYYYYMM(ts)');
  if (reader.peek()?.text !== '(') return name;
  if (!keyFunctions.has(name)) {
    throw new DdlError(`function ${JSON.stringify(name)} is not one a key or engine argument may call`);
  }
  return `${name}(${callArgs(reader)})`;
}

function number(reader: TokenReader): string {
  const minus = reader.accept('-') ? '-' : '';
  const token = reader.peek();
  if (token?.kind !== 'number') throw reader.fail('expected a number');
  reader.next();
  return `${minus}${token.text}`;
}

function setting(reader: TokenReader): string {
  const name = reader.name('a setting name');
  reader.expect('=');
  return `${name} = ${reader.peek()?.kind === 'string' ? literal(reader, 'string') : number(reader)}`;
}

function list(reader: TokenReader, item: () => string): string {
  const items = [item()];
  while (reader.accept(',')) items.push(item());
  return items.join(', ');
}
