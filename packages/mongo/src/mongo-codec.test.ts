import { Binary, BSON, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { documentToValue, recordToDocument, renderId } from './index.js';
import { unwritableReason } from './mongo-codec.js';

const record = (id: string, value: Record<string, unknown>) => ({ id, value, readAt: 0, bytes: 0 });

describe('mongo codec', () => {
  it('renders _id as the record id: ObjectId hex, strings as is, numbers, else canonical Extended JSON', () => {
    const oid = new ObjectId('65f000000000000000000001');
    expect(renderId(oid)).toBe('65f000000000000000000001');
    expect(renderId('order-1')).toBe('order-1');
    expect(renderId(42)).toBe('42');
    expect(renderId({ a: 1 })).toBe('{"a":{"$numberInt":"1"}}');
    expect(renderId(new Date(0))).toBe('{"$date":{"$numberLong":"0"}}');
  });

  it('turns a document into relaxed Extended JSON and back into the same BSON (M2M)', () => {
    const doc = {
      _id: new ObjectId(),
      at: new Date('2024-02-03T04:05:06.789Z'),
      bin: new Binary(Buffer.from('hi'), 0),
      n: 1.5,
      nested: { list: [1, 'x'] },
    };
    const value = documentToValue(doc);
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
    expect(value.at).toEqual({ $date: '2024-02-03T04:05:06.789Z' });
    const back = recordToDocument(record('ignored', value));
    expect(BSON.serialize(back)).toEqual(BSON.serialize(doc));
  });

  it('carries an int64 as a JSON number (relaxed Extended JSON): exact up to 2^53, written back as a number', () => {
    const value = documentToValue({ _id: 1, small: Long.fromNumber(5), large: Long.fromNumber(2 ** 40) });
    expect(value).toEqual({ _id: 1, small: 5, large: 2 ** 40 });
    expect(recordToDocument(record('1', value))).toEqual({ _id: 1, small: 5, large: 2 ** 40 });
  });

  it('uses the record id as _id when the value has none, _id first', () => {
    expect(Object.keys(recordToDocument(record('1-0', { a: 1, b: 'x' })))).toEqual(['_id', 'a', 'b']);
    expect(recordToDocument(record('1-0', { a: 1 }))._id).toBe('1-0');
  });

  it('refuses top-level $ names and unreadable Extended JSON, and documents over 16 MiB', () => {
    expect(() => recordToDocument(record('r', { $inc: { a: 1 } }))).toThrow(/field name "\$inc" starts with "\$"/);
    expect(() => recordToDocument(record('r', { a: { $oid: 'nope' } }))).toThrow(/not valid Extended JSON/);
    expect(unwritableReason({ _id: 'r', blob: 'x'.repeat(16 * 1024 * 1024) })).toMatch(/over MongoDB's limit/);
    expect(unwritableReason({ _id: 'r', a: 1 })).toBeUndefined();
  });
});
