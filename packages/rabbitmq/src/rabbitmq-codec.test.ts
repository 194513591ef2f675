import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, stringifyHeaders } from './rabbitmq-codec.js';

const bytes = (text: string) => Buffer.from(text);

describe('json codec', () => {
  it('accepts a JSON object', () => {
    expect(decodeBody(bytes('{"a":1,"b":[true,null]}'), 'json')).toEqual({
      ok: true,
      value: { a: 1, b: [true, null] },
    });
  });

  it('rejects arrays, numbers, null and text that is not JSON, with the reason', () => {
    expect(decodeBody(bytes('[1,2]'), 'json')).toEqual({
      ok: false,
      reason: 'body is JSON but an array, not an object',
    });
    expect(decodeBody(bytes('42'), 'json')).toEqual({ ok: false, reason: 'body is JSON but a number, not an object' });
    expect(decodeBody(bytes('null'), 'json')).toEqual({ ok: false, reason: 'body is JSON but null, not an object' });
    const bad = decodeBody(bytes('hello'), 'json');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^body is not JSON: Unexpected token/);
  });

  it('encodes a value as a JSON body', () => {
    const encoded = encodeBody({ a: 'grüße' }, 'json');
    expect(encoded.contentType).toBe('application/json');
    expect(JSON.parse(encoded.body.toString('utf8'))).toEqual({ a: 'grüße' });
  });
});

describe('raw codec', () => {
  it('round-trips any bytes as base64 with their content type', () => {
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const decoded = decodeBody(body, 'raw', 'application/octet-stream');
    expect(decoded).toEqual({
      ok: true,
      value: { data: body.toString('base64'), contentType: 'application/octet-stream' },
    });
    const encoded = encodeBody(decoded.ok ? decoded.value : {}, 'raw');
    expect(encoded.body.equals(body)).toBe(true);
    expect(encoded.contentType).toBe('application/octet-stream');
  });

  it('keeps a missing content type missing, and sends other values as JSON', () => {
    const decoded = decodeBody(bytes('not json'), 'raw');
    expect(decoded).toEqual({ ok: true, value: { data: bytes('not json').toString('base64'), contentType: null } });
    expect(encodeBody(decoded.ok ? decoded.value : {}, 'raw')).toEqual({
      body: bytes('not json'),
      contentType: undefined,
    });
    expect(encodeBody({ data: 'x', other: 1 }, 'raw').contentType).toBe('application/json');
  });
});

describe('headers', () => {
  it('keeps strings, JSON-encodes the rest and drops the broker delivery count', () => {
    expect(
      stringifyHeaders({ s: 'text', n: 3, b: false, o: { k: [1] }, buf: Buffer.from('hi'), 'x-delivery-count': 2 }),
    ).toEqual({ s: 'text', n: '3', b: 'false', o: '{"k":[1]}', buf: 'hi' });
    expect(stringifyHeaders(undefined)).toEqual({});
  });
});
