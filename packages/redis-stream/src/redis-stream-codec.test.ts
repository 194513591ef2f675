import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decodeFields,
  decodeFieldValue,
  decodeJson,
  encodeFields,
  encodeFieldValue,
  encodeJson,
} from './redis-stream-codec.js';

const tricky: Record<string, unknown> = {
  int: 42,
  negative: -7,
  float: 3.25,
  yes: true,
  no: false,
  nothing: null,
  nested: { a: [1, { b: 'c' }], d: null },
  list: [1, 'two', false],
  plain: 'hello world',
  empty: '',
  unicode: 'grüße, 世界 🚀',
  numberString: '1',
  negativeString: '-3',
  trueString: 'true',
  nullString: 'null',
  objectString: '{"a":1}',
  arrayString: '[1,2]',
  quotedString: '"x"',
  notJsonButLooksIt: '{not json',
  dash: '-',
  word: 'nope',
  spaced: ' 1',
  trailing: '1 ',
  scientific: '1e5',
  idLike: '1700000000000-0',
  braces: '{}',
  brackets: '[]',
  lonelyQuote: '"',
  big: 1e21,
  tiny: -1.5e-7,
};

describe('fields codec', () => {
  it('round-trips every JSON value exactly', () => {
    expect(decodeFields(encodeFields(tricky))).toEqual(tricky);
  });

  it('keeps plain strings readable and escapes only what would decode as something else', () => {
    expect(encodeFieldValue('hello')).toBe('hello');
    expect(encodeFieldValue('nope')).toBe('nope');
    expect(encodeFieldValue('{not json')).toBe('{not json');
    expect(encodeFieldValue(' 1')).toBe(' 1');
    expect(encodeFieldValue('')).toBe('');
    expect(encodeFieldValue('1')).toBe('"1"');
    expect(encodeFieldValue('true')).toBe('"true"');
    expect(encodeFieldValue('"x"')).toBe('"\\"x\\""');
    expect(encodeFieldValue(1)).toBe('1');
    expect(encodeFieldValue(null)).toBe('null');
    expect(encodeFieldValue({ a: 1 })).toBe('{"a":1}');
  });

  it('reads a foreign producer plainly: text stays text, JSON-looking text is parsed', () => {
    expect(decodeFieldValue('hello')).toBe('hello');
    expect(decodeFieldValue('123')).toBe(123);
    expect(decodeFieldValue('1700000000000-0')).toBe('1700000000000-0');
    expect(decodeFieldValue('{broken')).toBe('{broken');
  });

  it('leaves out keys JSON cannot hold, and the skipped key', () => {
    expect(encodeFields({ a: undefined, b: () => 1, c: 1, _source_id: 'old' }, '_source_id')).toEqual(['c', '1']);
  });

  it('keeps a field named __proto__ as data', () => {
    const value = decodeFields(['__proto__', '{"polluted":true}']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('json codec', () => {
  it('round-trips the whole value in one field', () => {
    const fields = encodeJson(tricky, 'data');
    expect(fields).toHaveLength(2);
    expect(decodeJson(fields, 'data')).toEqual(tricky);
    expect(decodeJson(['other', 'x', ...fields], 'data')).toEqual(tricky);
  });

  it('rejects a missing field, text that is not JSON, and JSON that is not an object', () => {
    expect(() => decodeJson(['x', '{}'], 'data')).toThrow(/field "data" is missing/);
    expect(() => decodeJson(['data', 'not json'], 'data')).toThrow(/field "data" is not JSON/);
    expect(() => decodeJson(['data', '[1]'], 'data')).toThrow(/holds an array, not a JSON object/);
    expect(() => decodeJson(['data', 'null'], 'data')).toThrow(/holds null/);
    expect(() => decodeJson(['data', '5'], 'data')).toThrow(DecodeError);
  });
});

describe('bytes that are not UTF-8', () => {
  it('read as { $binary: base64 } and written back as the same bytes', () => {
    const bytes = Buffer.from([0xc3, 0x28, 0xff]);
    expect(decodeFieldValue(bytes)).toEqual({ $binary: 'wyj/' });
    expect(encodeFieldValue({ $binary: 'wyj/' })).toEqual(bytes);
    // Only that exact shape: another object stays JSON.
    expect(encodeFieldValue({ $binary: 'wyj/', more: 1 })).toBe('{"$binary":"wyj/","more":1}');
  });
});
