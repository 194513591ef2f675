import { Decimal, sameValue } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, stringifyHeaders } from './rabbitmq-codec.js';

const bytes = (text: string) => Buffer.from(text);

describe('json codec', () => {
  it('accepts a JSON object, its integers exact at any size', () => {
    expect(decodeBody(bytes('{"a":1,"b":[true,null],"id":18446744073709551615,"f":1.5}'), 'json')).toEqual({
      ok: true,
      value: { a: 1n, b: [true, null], id: 18446744073709551615n, f: 1.5 },
    });
  });

  it('keeps a literal no float holds as a decimal, with its digits', () => {
    const decoded = decodeBody(bytes('{"pi":3.14159265358979323846264338327950288}'), 'json');
    expect(decoded).toEqual({ ok: true, value: { pi: new Decimal('3.14159265358979323846264338327950288') } });
  });

  it('rejects arrays, numbers, null, text that is not JSON and bodies that are not UTF-8, with the reason', () => {
    expect(decodeBody(bytes('[1,2]'), 'json')).toEqual({
      ok: false,
      reason: 'body is JSON but an array, not an object',
    });
    expect(decodeBody(bytes('42'), 'json')).toEqual({
      ok: false,
      reason: 'body is JSON but an integer, not an object',
    });
    expect(decodeBody(bytes('null'), 'json')).toEqual({ ok: false, reason: 'body is JSON but null, not an object' });
    const bad = decodeBody(bytes('hello'), 'json');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^body is not JSON: not JSON: unexpected "h" at position 0/);
    expect(decodeBody(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'json')).toEqual({
      ok: false,
      reason: 'body is not UTF-8',
    });
  });

  it('encodes a value as a JSON body, the kinds JSON cannot say in the types header', () => {
    const plain = encodeBody({ a: 'grüße', n: 5n, f: 5 }, 'json');
    expect(plain.contentType).toBe('application/json');
    expect(plain.body.toString()).toBe('{"a":"grüße","n":5,"f":5.0}');
    expect(plain.types).toBeUndefined();
    const value = { raw: Buffer.from([0xff]), when: new Date(0), d: new Decimal('1.50'), text: '{"$binary":"/w=="}' };
    const typed = encodeBody(value, 'json');
    expect(typed.types).toBe('{"/raw":"bytes","/when":"timestamp","/d":"decimal"}');
    const back = decodeBody(typed.body, 'json', 'application/json', Buffer.from(typed.types!));
    expect(back.ok && sameValue(back.value, value)).toBe(true);
  });

  it('refuses a types header that does not fit the body, saying so rather than that the body is not JSON', () => {
    const back = decodeBody(bytes('{"a":"!"}'), 'json', undefined, '{"/a":"bytes"}');
    expect(back).toEqual({
      ok: false,
      reason: 'the ferry-types header does not fit the body: /a is tagged bytes but is not base64',
    });
    expect(decodeBody(bytes('{"a":"!"}'), 'json', undefined, '{"/b":"bytes"}')).toEqual({
      ok: false,
      reason: 'the ferry-types header does not fit the body: types name /b, which the JSON does not hold',
    });
    expect(decodeBody(bytes('{"a":'), 'json', undefined, '{"/a":"bytes"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^body is not JSON: not JSON: /),
    });
    expect(decodeBody(bytes('{"a":"!"}'), 'json', undefined, '{"/a":')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the ferry-types header cannot be read: the types annotation is not JSON: /),
    });
  });

  it('writes text with a lone surrogate as its JSON escape, which reads back the same', () => {
    const value = { lone: 'a\ud800b', [`k\udc00`]: 1n };
    const encoded = encodeBody(value, 'json');
    expect(encoded.body.toString()).toBe('{"lone":"a\\ud800b","k\\udc00":1}');
    const back = decodeBody(encoded.body, 'json', 'application/json');
    expect(back.ok && sameValue(back.value, value)).toBe(true);
  });
});

describe('raw codec', () => {
  it('round-trips any bytes with their content type', () => {
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const decoded = decodeBody(body, 'raw', 'application/octet-stream');
    expect(decoded).toEqual({ ok: true, value: { data: body, contentType: 'application/octet-stream' } });
    const encoded = encodeBody(decoded.ok ? decoded.value : {}, 'raw');
    expect(encoded.body.equals(body)).toBe(true);
    expect(encoded.contentType).toBe('application/octet-stream');
  });

  it('keeps a missing content type missing, and sends other values as JSON', () => {
    const decoded = decodeBody(bytes('not json'), 'raw');
    expect(decoded).toEqual({ ok: true, value: { data: bytes('not json'), contentType: null } });
    expect(encodeBody(decoded.ok ? decoded.value : {}, 'raw')).toEqual({
      body: bytes('not json'),
      contentType: undefined,
    });
    expect(encodeBody({ data: 'x', other: 1n }, 'raw').contentType).toBe('application/json');
  });
});

describe('headers', () => {
  it('keeps strings, JSON-encodes the rest and drops the broker delivery count and the types header', () => {
    expect(
      stringifyHeaders({
        s: 'text',
        n: 3,
        b: false,
        o: { k: [1] },
        buf: Buffer.from('hi'),
        'x-delivery-count': 2,
        'ferry-types': '{}',
      }),
    ).toEqual({ s: 'text', n: '3', b: 'false', o: '{"k":[1]}', buf: 'hi' });
    expect(stringifyHeaders(undefined)).toEqual({});
  });
});
