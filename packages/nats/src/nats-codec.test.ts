import { Decimal } from '@ferry/core';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, headerProblem, recordHeaders } from './nats-codec.js';
import { parseAckSubject } from './nats-pull.js';

const bytes = (text: string) => Buffer.from(text);

describe('nats codec', () => {
  it('json: a body is one JSON object, read losslessly with its types header', () => {
    expect(decodeBody(bytes('{"n":18446744073709551616,"p":1.50}'), 'json', '{"/p":"decimal"}')).toEqual({
      ok: true,
      value: { n: 18446744073709551616n, p: new Decimal('1.50') },
    });
    expect(decodeBody(bytes('[1]'), 'json')).toEqual({ ok: false, reason: 'body is JSON but an array, not an object' });
    expect(decodeBody(bytes(''), 'json')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^body is not JSON/),
    });
    expect(decodeBody(Buffer.from([0x7b, 0xff, 0x7d]), 'json')).toEqual({ ok: false, reason: 'body is not UTF-8' });
    expect(decodeBody(bytes('{"a":"x"}'), 'json', '{"/a":"bytes"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the ferry-types header does not fit the body: /),
    });
    expect(decodeBody(bytes('{"a":1}'), 'json', 'nope')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the ferry-types header cannot be read/),
    });
    expect(decodeBody(bytes('{"a":1,"a":2}'), 'json')).toMatchObject({ ok: false });
  });

  it('raw: any body as { data }, and a { data } value back as its bytes; anything else as JSON', () => {
    expect(decodeBody(Buffer.from([0, 255]), 'raw')).toEqual({ ok: true, value: { data: Buffer.from([0, 255]) } });
    expect(Buffer.from(encodeBody({ data: Buffer.from([0, 255]) }, 'raw').body)).toEqual(Buffer.from([0, 255]));
    expect(encodeBody({ data: Buffer.from([1]), other: 1n }, 'raw')).toEqual({
      body: Buffer.from('{"data":"AQ==","other":1}'),
      types: '{"/data":"bytes"}',
    });
  });

  it("headers: the server's and the codec's are left out, a repeated one is the JSON array of its values", () => {
    const h = headers();
    h.set('Nats-Msg-Id', 'x');
    h.set('nats-expected-stream', 'S');
    h.set('ferry-types', '{}');
    h.set('trace', 'a');
    h.append('tag', 'one');
    h.append('tag', 'two');
    expect(recordHeaders(h)).toEqual({ trace: 'a', tag: '["one","two"]' });
    expect(recordHeaders(undefined)).toBeUndefined();
  });

  it('headerProblem names what NATS cannot carry exactly', () => {
    expect(headerProblem('trace', 'grüße')).toBeUndefined();
    expect(headerProblem('a b', 'x')).toMatch(/printable ASCII/);
    expect(headerProblem('a:b', 'x')).toMatch(/printable ASCII/);
    expect(headerProblem('', 'x')).toMatch(/printable ASCII/);
    expect(headerProblem('Nats-Rollup', 'all')).toMatch(/instructions to the NATS server/);
    expect(headerProblem('k', 'a\r\nb')).toMatch(/line break/);
    expect(headerProblem('k', ' a')).toMatch(/white space/);
  });

  it('reads the delivery count and the stream sequence from both forms of ack subject', () => {
    expect(parseAckSubject('$JS.ACK.S.c.3.42.17.1700000000000000000.5')).toEqual({
      deliveries: 3,
      streamSeq: 42,
      pending: 5,
    });
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.S.c.2.7.9.1700000000000000000.0.token')).toEqual({
      deliveries: 2,
      streamSeq: 7,
      pending: 0,
    });
    expect(parseAckSubject('_INBOX.x')).toBeUndefined();
    expect(parseAckSubject(undefined)).toBeUndefined();
  });
});
