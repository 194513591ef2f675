import { describe, expect, it } from 'vitest';
import { columnTypeSql } from './clickhouse-ddl-column.js';
import { defaultEngines, engineSql } from './clickhouse-ddl-engine.js';
import { DdlError } from './clickhouse-ddl-tokens.js';

describe('create column types', () => {
  it('takes type names and their literal arguments, written anew', () => {
    for (const [text, sql] of [
      ['UInt64', 'UInt64'],
      ['Nullable(String)', 'Nullable(String)'],
      ['LowCardinality( String )', 'LowCardinality(String)'],
      ['Array(Tuple(a UInt8, b String))', 'Array(Tuple(a UInt8, b String))'],
      ['Tuple(String,UInt8)', 'Tuple(String, UInt8)'],
      ['Decimal(38, 10)', 'Decimal(38, 10)'],
      ['Decimal64(4)', 'Decimal64(4)'],
      ["DateTime64(3, 'UTC')", "DateTime64(3, 'UTC')"],
      ["DateTime('Europe/Paris')", "DateTime('Europe/Paris')"],
      ['DateTime', 'DateTime'],
      ['Map(String, UInt64)', 'Map(String, UInt64)'],
      ["Enum8('a' = 1, 'b' = -2)", "Enum8('a' = 1, 'b' = -2)"],
      ["Enum16('it''s' = 1, 'back\\\\slash' = 2)", "Enum16('it\\'s' = 1, 'back\\\\slash' = 2)"],
      ['FixedString(16)', 'FixedString(16)'],
      ['Nested(a UInt8, b Array(String))', 'Nested(a UInt8, b Array(String))'],
      ['SimpleAggregateFunction(sum, UInt64)', 'SimpleAggregateFunction(sum, UInt64)'],
    ]) {
      expect(columnTypeSql(text!)).toBe(sql);
    }
  });

  it('refuses defaults, codecs, functions, comments and anything after or inside the type, quoting it', () => {
    for (const [text, message] of [
      ['String DEFAULT (url(1))', /expected the end, got "DEFAULT \(url\(1\)\)"/],
      ["String MATERIALIZED url('http://h/')", /expected the end, got "MATERIALIZED url/],
      ['String CODEC(ZSTD(1))', /expected the end, got "CODEC/],
      ['String ALIAS now()', /expected the end, got "ALIAS/],
      ['UInt64; DROP TABLE x', /unexpected "; DROP TABLE/],
      ['String /* x */', /unexpected "\/\* x \*\/"/],
      ['String -- x', /unexpected "-- x"/],
      ['String `x`', /unexpected "`x`"/],
      ["url('http://127.0.0.1/')", /unknown column type "url"/],
      ['Nullable(url(1))', /unknown column type "url"/],
      ['Decimal(toUInt8(1), 2)', /expected a whole number, got "toUInt8/],
      ["DateTime(concat('a'))", /expected a quoted string, got "concat/],
      ["DateTime('UTC)", /unterminated string/],
      ['Array(String', /expected "\)", but "Array\(String" ends there/],
      ["Enum8('a' = 1 + 1)", /unexpected "\+ 1\)"/],
      ['constructor', /unknown column type "constructor"/],
      ['', /expected a type name/],
    ] as const) {
      expect(() => columnTypeSql(text)).toThrow(DdlError);
      expect(() => columnTypeSql(text)).toThrow(message);
    }
  });
});

describe('create engine clauses', () => {
  it('takes the MergeTree family with keys of columns, literals and pure functions', () => {
    for (const [text, sql] of [
      ['MergeTree ORDER BY id', 'MergeTree ORDER BY id'],
      [
        'MergeTree() order by (a, b) partition by toYYYYMM(at)',
        'MergeTree() ORDER BY (a, b) PARTITION BY toYYYYMM(at)',
      ],
      ['ReplacingMergeTree(version) ORDER BY key', 'ReplacingMergeTree(version) ORDER BY key'],
      [
        'VersionedCollapsingMergeTree(sign, v) ORDER BY tuple()',
        'VersionedCollapsingMergeTree(sign, v) ORDER BY tuple()',
      ],
      ['MergeTree(date, (id, x), 8192)', 'MergeTree(date, (id, x), 8192)'],
      [
        "ReplicatedMergeTree('/ch/{shard}/t', '{replica}') ORDER BY id SAMPLE BY intHash32(id) PRIMARY KEY id",
        "ReplicatedMergeTree('/ch/{shard}/t', '{replica}') ORDER BY id SAMPLE BY intHash32(id) PRIMARY KEY id",
      ],
      [
        "MergeTree ORDER BY id SETTINGS index_granularity = 8192, storage_policy = 'hot'",
        "MergeTree ORDER BY id SETTINGS index_granularity = 8192, storage_policy = 'hot'",
      ],
    ]) {
      expect(engineSql(text!)).toBe(sql);
    }
    expect(defaultEngines).toContain('ReplicatedSummingMergeTree');
  });

  it('refuses other engines unless named, and functions, subqueries and comments anywhere', () => {
    for (const [text, message] of [
      ["URL('http://127.0.0.1:1/anything', JSONEachRow)", /engine "URL" is not allowed: expected one of MergeTree, /],
      ['Memory', /engine "Memory" is not allowed/],
      ['MergeTree ORDER BY id; DROP TABLE x', /unexpected "; DROP TABLE x"/],
      ["MergeTree ORDER BY url('http://h/')", /function "url" is not one a key or engine argument may call/],
      ["MergeTree(file('x')) ORDER BY id", /function "file" is not one/],
      ['MergeTree PARTITION BY toYYYYMM(remote(x)) ORDER BY id', /function "remote" is not one/],
      ['MergeTree ORDER BY (SELECT 1)', /expected "," or "\)", got "1\)"/],
      ['MergeTree ORDER BY id TTL toDate(d)', /expected PARTITION BY, ORDER BY.*got "TTL toDate/],
      ['MergeTree ORDER BY a ORDER BY b', /each once, got "ORDER BY b"/],
      ['MergeTree ORDER BY id SETTINGS x = now()', /expected a number, got "now\(\)"/],
      ['MergeTree ORDER BY id /* x */', /unexpected "\/\* x \*\/"/],
      ['MergeTree ORDER BY id # x', /unexpected "# x"/],
      ['MergeTree ORDER BY "id"', /unexpected "\\"id\\""/],
    ] as const) {
      expect(() => engineSql(text)).toThrow(DdlError);
      expect(() => engineSql(text)).toThrow(message);
    }
  });

  it('takes an engine the operator names, its arguments parsed the same way', () => {
    const engines = [...defaultEngines, 'Memory', 'URL'];
    expect(engineSql('Memory', engines)).toBe('Memory');
    expect(engineSql("URL('http://h/x', JSONEachRow)", engines)).toBe("URL('http://h/x', JSONEachRow)");
    expect(() => engineSql("URL(concat('http://', 'h'), JSONEachRow)", engines)).toThrow(/function "concat"/);
  });
});
