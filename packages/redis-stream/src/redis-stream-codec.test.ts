import { Decimal, type RecordValue, Scalar, sameValue } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decodeFields,
  decodeFieldValue,
  decodeJson,
  EncodeError,
  encodeFields,
  encodeFieldValue,
  encodeJson,
  typesField,
} from './redis-stream-codec.js';

/** Text a user may write, each of which must come back as the same text. */
const texts: Record<string, string> = {
  numberLike: '18446744073709551615',
  unsafe: '9007199254740993',
  oneDotZero: '1.0',
  minusZero: '-0',
  exponent: '1e5',
  leadingZeros: '007',
  trueText: 'true',
  nullText: 'null',
  objectText: '{"a":1}',
  quoted: '"quoted"',
  marker: '{"$binary":"aGVsbG8="}',
  empty: '',
  scripts: 'grüße, 世界, שלום \u200f, 👋',
};

const typed: RecordValue = {
  integer: 18446744073709551615n,
  negative: -9223372036854775808n,
  float: 5,
  negativeZero: -0,
  nan: Number.NaN,
  decimal: new Decimal('1.50'),
  yes: true,
  nothing: null,
  when: new Date('2024-02-29T12:34:56.789Z'),
  utf8Bytes: Buffer.from('hello'),
  rawBytes: Buffer.from([0xff, 0xfe]),
  oid: new Scalar('objectId', '65a1b2c3d4e5f60718293a4b'),
  nested: { deep: [1n, 2.5, Buffer.from([0xc3, 0x28])], at: new Date(0) },
};

describe('fields codec', () => {
  it('writes text as it is, with no types field, and reads it back as the same text', () => {
    const fields = encodeFields(texts);
    expect(fields).not.toContain(typesField);
    expect(fields).toEqual(Object.entries(texts).flat());
    expect(decodeFields(fields)).toEqual(texts);
  });

  it('writes other kinds as their text and says which in the types field', () => {
    const fields = encodeFields({ n: 5n, f: 0.1, d: new Decimal('1.0'), b: false, z: null });
    expect(fields).toEqual([
      'n',
      '5',
      'f',
      '0.1',
      'd',
      '1.0',
      'b',
      'false',
      'z',
      'null',
      typesField,
      '{"/n":"integer","/f":"float","/d":"decimal","/b":"boolean","/z":"null"}',
    ]);
  });

  it('reads back every kind exactly', () => {
    const back = decodeFields(encodeFields(typed));
    expect(sameValue(back, typed)).toBe(true);
  });

  it('tags bytes only where they would read back as text', () => {
    expect(encodeFieldValue(Buffer.from('hi'))).toEqual({ text: Buffer.from('hi'), tag: 'bytes' });
    expect(encodeFieldValue(Buffer.from([0xff]))).toEqual({ text: Buffer.from([0xff]) });
    expect(decodeFieldValue(Buffer.from([0xff]))).toEqual(Buffer.from([0xff]));
  });

  it("escapes a user's field named like the types field, and reads it back", () => {
    const value = { 'ferry:types': 'mine', '\\ferry:types': 'also mine', n: 1n };
    const fields = encodeFields(value);
    expect(fields.slice(0, 4)).toEqual(['\\ferry:types', 'mine', '\\\\ferry:types', 'also mine']);
    expect(decodeFields(fields)).toEqual(value);
  });

  it('refuses a value of its own in the source-id field, and keeps one equal to the id', () => {
    expect(() => encodeFields({ _source_id: 'old', a: 'x' }, '_source_id', 'new')).toThrow(
      /own field "_source_id" \("old"\), which the sink's source-id field would overwrite/,
    );
    expect(encodeFields({ _source_id: 'same', a: 'x' }, '_source_id', 'same')).toEqual(['a', 'x']);
  });

  it('keeps a field named __proto__ as data', () => {
    const value = decodeFields(['__proto__', '{"polluted":true}', typesField, '{"/__proto__":"json"}']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what only a stream can hold: a name that is not UTF-8, a name twice', () => {
    expect(() => decodeFields([Buffer.from([0xff]), 'x'])).toThrow(/field name 0xff is not UTF-8/);
    expect(() => decodeFields(['a', '1', 'a', '2'])).toThrow(/field "a" appears twice/);
  });

  it('refuses text UTF-8 cannot hold, and values that are not values', () => {
    expect(() => encodeFields({ a: 'x\ud800' })).toThrow(EncodeError);
    expect(() => encodeFields({ a: undefined as never })).toThrow(/field "a" is undefined/);
  });

  it('refuses a types field that does not fit the entry', () => {
    expect(() => decodeFields(['n', 'x', typesField, '{"/n":"integer"}'])).toThrow(
      /field "n" is tagged integer but "x" is not an integer/,
    );
    expect(() => decodeFields(['n', '1', typesField, '{"/m":"integer"}'])).toThrow(/names field "m"/);
    expect(() => decodeFields(['n', '1', typesField, 'nope'])).toThrow(DecodeError);
    expect(() => decodeFields(['f', '1.0', typesField, '{"/f":"float"}'])).toThrow(/shortest text/);
  });
});

describe('json codec', () => {
  it('round-trips the whole value in one field, its types beside it', () => {
    const fields = encodeJson(typed, 'data');
    expect(fields[0]).toBe('data');
    expect(fields[2]).toBe(typesField);
    expect(sameValue(decodeJson(fields, 'data'), typed)).toBe(true);
    expect(encodeJson(texts, 'data')).toHaveLength(2);
    expect(decodeJson(encodeJson(texts, 'data'), 'data')).toEqual(texts);
  });

  it('rejects a missing field, text that is not JSON, and JSON that is not an object', () => {
    expect(() => decodeJson(['x', '{}'], 'data')).toThrow(/field "data" is missing/);
    expect(() => decodeJson(['data', 'not json'], 'data')).toThrow(/field "data" is not JSON/);
    expect(() => decodeJson(['data', '[1]'], 'data')).toThrow(/holds an array, not a JSON object/);
    expect(() => decodeJson(['data', 'null'], 'data')).toThrow(/holds null/);
    expect(() => decodeJson(['data', '5'], 'data')).toThrow(DecodeError);
  });
});
