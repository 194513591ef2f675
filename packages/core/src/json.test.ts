import { describe, expect, it } from 'vitest';
import { toJson } from './json.js';
import { isFloatLiteralExact, numberFromLiteral } from './json-number.js';
import { fromJson, JsonError } from './json-reader.js';
import { Decimal, Scalar, sameValue, type Value } from './value.js';

describe('numberFromLiteral', () => {
  it('reads integer literals of any size as integers', () => {
    expect(numberFromLiteral('18446744073709551615')).toBe(18446744073709551615n);
    expect(numberFromLiteral('9007199254740993')).toBe(9007199254740993n);
    expect(numberFromLiteral('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(numberFromLiteral('0')).toBe(0n);
  });

  it('reads a literal a float holds exactly as a float, else as a decimal with its text', () => {
    expect(numberFromLiteral('0.1')).toBe(0.1);
    expect(numberFromLiteral('1.0')).toBe(1);
    expect(numberFromLiteral('1e5')).toBe(100000);
    expect(Object.is(numberFromLiteral('-0.0'), -0)).toBe(true);
    expect(numberFromLiteral('3.14159265358979323846')).toEqual(new Decimal('3.14159265358979323846'));
    expect(numberFromLiteral('1e400')).toEqual(new Decimal('1e400'));
    expect(numberFromLiteral('0.30000000000000004444')).toEqual(new Decimal('0.30000000000000004444'));
  });

  it('compares digits, not formats', () => {
    expect(isFloatLiteralExact('2.50', 2.5)).toBe(true);
    expect(isFloatLiteralExact('1.5E-7', 1.5e-7)).toBe(true);
    expect(isFloatLiteralExact('0.1000000000000000055511151231257827', 0.1)).toBe(false);
  });
});

describe('toJson and fromJson', () => {
  const value = {
    big: 18446744073709551615n,
    neg: -9223372036854775808n,
    small: 5n,
    float: 5,
    negZero: -0,
    tenth: 0.1,
    nan: Number.NaN,
    inf: Number.NEGATIVE_INFINITY,
    dec: new Decimal('1.50'),
    decInt: new Decimal('7'),
    bytes: Buffer.from([0xff, 0x00, 0x68]),
    when: new Date('2024-02-29T12:34:56.789Z'),
    oid: new Scalar('objectId', '65a1b2c3d4e5f60718293a4b'),
    text: 'שלום 👋 \u200f"quoted"',
    looksLikeMarker: { $binary: 'aGVsbG8=' },
    nested: [{ 'a/b~c': [1n, 2.5, null, true] }],
    empty: '',
  } satisfies Record<string, Value>;

  it('writes integers as integer literals and floats with a fraction or exponent', () => {
    const { text } = toJson({ a: 5n, b: 5, c: -0, d: 1e21, e: 18446744073709551615n });
    expect(text).toBe('{"a":5,"b":5.0,"c":-0.0,"d":1e+21,"e":18446744073709551615}');
  });

  it('tags what JSON cannot say, by JSON pointer', () => {
    const { types } = toJson(value);
    expect(types).toEqual({
      '/nan': 'float',
      '/inf': 'float',
      '/dec': 'decimal',
      '/decInt': 'decimal',
      '/bytes': 'bytes',
      '/when': 'timestamp',
      '/oid': 'objectId',
    });
    expect(toJson({ x: [{ 'a/b': Buffer.from('x') }] }).types).toEqual({ '/x/0/a~1b': 'bytes' });
    expect(toJson({ plain: 'text', n: 1n }).types).toBeUndefined();
  });

  it('reads back the same value of the same kind', () => {
    const { text, types } = toJson(value);
    const back = fromJson(text, types);
    expect(sameValue(back, value)).toBe(true);
    // A user's object that looks like an Extended JSON marker stays an object.
    expect((back as Record<string, Value>).looksLikeMarker).toEqual({ $binary: 'aGVsbG8=' });
  });

  it('keeps __proto__ as data', () => {
    const back = fromJson('{"__proto__":{"polluted":1}}') as Record<string, Value>;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps lone surrogates and escapes', () => {
    const text = 'a\ud800b\n\u0000';
    expect(fromJson(toJson({ text }).text)).toEqual({ text });
  });

  it('refuses text that is not JSON, naming the position', () => {
    expect(() => fromJson('{"a":01}')).toThrow(/bad number at position 5/);
    expect(() => fromJson('{"a":1} x')).toThrow(JsonError);
    expect(() => fromJson('{"a":"b')).toThrow(/unterminated string/);
    expect(() => fromJson('[1,]')).toThrow(JsonError);
  });

  it('refuses an object that holds a key twice, rather than keep one of its values', () => {
    expect(() => fromJson('{"a":1,"a":2}')).toThrow(
      'key "a" appears twice in an object at position 7: one of its values would be lost',
    );
    expect(() => fromJson('{"o":{"__proto__":1,"__proto__":2}}')).toThrow(JsonError);
    expect(() => fromJson('{"a":1,"b":{"a":2}}')).not.toThrow();
  });

  it('refuses types that do not fit the text', () => {
    expect(() => fromJson('{"a":"!!"}', { '/a': 'bytes' })).toThrow(/\/a is tagged bytes but is not base64/);
    expect(() => fromJson('{"a":1}', { '/b': 'bytes' })).toThrow(/does not hold/);
    expect(() => fromJson('{"a":"x"}', { '/a': 'decimal' })).toThrow(/is not a number/);
    expect(() => fromJson('{"a":"2024-01-01"}', { '/a': 'timestamp' })).toThrow(/ISO 8601/);
  });

  it('refuses what is not a value, naming its path', () => {
    expect(() => toJson({ a: [undefined as unknown as Value] })).toThrow(/\/a\/0: undefined is not a value/);
    expect(() => toJson({ a: new Map() as unknown as Value })).toThrow(/class instance is not a value/);
  });
});
