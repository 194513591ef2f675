import { Decimal, type FerryRecord, type RecordValue, Scalar, sameValue } from '@ferry/core';
import { Binary, BSON, BSONRegExp, Decimal128, Double, Int32, Long, ObjectId, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { documentToValue, recordToDocument, renderId } from './index.js';
import { bsonFormat, deserializeOptions, unwritableReason } from './mongo-codec.js';

const record = (id: string, value: RecordValue): FerryRecord => ({ id, value, readAt: 0, bytes: 0 });

/** A document as the source reads it: through BSON, every number as its own type. */
const asRead = (doc: BSON.Document) => BSON.deserialize(BSON.serialize(doc), deserializeOptions);

describe('mongo codec', () => {
  it('renders _id as the record id: ObjectId hex, strings as is, numbers, else canonical Extended JSON', () => {
    const oid = new ObjectId('65f000000000000000000001');
    expect(renderId(oid)).toBe('65f000000000000000000001');
    expect(renderId('order-1')).toBe('order-1');
    expect(renderId(new Int32(42))).toBe('42');
    expect(renderId(Long.fromBigInt(9223372036854775807n))).toBe('9223372036854775807');
    expect(renderId({ a: 1 })).toBe('{"a":{"$numberInt":"1"}}');
    expect(renderId(new Date(0))).toBe('{"$date":{"$numberLong":"0"}}');
  });

  it('reads every BSON type ferry has a kind for exactly', () => {
    const value = documentToValue(
      asRead({
        _id: new ObjectId('65a1b2c3d4e5f60718293a4b'),
        i32: new Int32(5),
        i64: Long.fromBigInt(5n),
        big: Long.fromBigInt(-9223372036854775808n),
        one: new Double(1),
        zero: new Double(-0),
        dec: Decimal128.fromString('1.50'),
        at: new Date('2024-02-03T04:05:06.789Z'),
        bin: new Binary(Buffer.from([0xff, 0]), 0),
        uuid: new UUID('65a1b2c3-d4e5-4f60-8718-293a4b000000'),
        text: '{"$binary":"aGVsbG8="}',
        nested: { list: [new Int32(1), 'x', null, true] },
      }),
    );
    expect(
      sameValue(value, {
        _id: new Scalar('objectId', '65a1b2c3d4e5f60718293a4b'),
        i32: 5n,
        i64: 5n,
        big: -9223372036854775808n,
        one: 1,
        zero: -0,
        dec: new Decimal('1.50'),
        at: new Date('2024-02-03T04:05:06.789Z'),
        bin: Buffer.from([0xff, 0]),
        uuid: new Scalar('uuid', '65a1b2c3-d4e5-4f60-8718-293a4b000000'),
        text: '{"$binary":"aGVsbG8="}',
        nested: { list: [1n, 'x', null, true] },
      }),
    ).toBe(true);
  });

  it('refuses BSON types only MongoDB holds, naming the field', () => {
    expect(() => documentToValue(asRead({ re: new BSONRegExp('a', 'i') }))).toThrow(
      /field \/re is BSON regular expression, which only MongoDB holds/,
    );
    expect(() => documentToValue(asRead({ b: new Binary(Buffer.from('x'), 5) }))).toThrow(/subtype 5/);
  });

  it('writes each kind as the BSON type that holds it: integers Int32 or Int64, floats Double, decimals Decimal128', () => {
    const doc = recordToDocument(
      record('r', {
        small: 5n,
        wide: 9007199254740993n,
        float: 1,
        dec: new Decimal('0.1'),
        bytes: Buffer.from([1]),
        oid: new Scalar('objectId', '65a1b2c3d4e5f60718293a4b'),
        uuid: new Scalar('uuid', '65a1b2c3-d4e5-4f60-8718-293a4b000000'),
      }),
    );
    const back = asRead(doc);
    expect(back.small).toEqual(new Int32(5));
    expect(back.wide).toEqual(Long.fromBigInt(9007199254740993n));
    expect(back.float).toEqual(new Double(1));
    expect(back.dec.toString()).toBe('0.1');
    expect(back.bytes).toEqual(new Binary(Buffer.from([1]), 0));
    expect(back.oid).toEqual(new ObjectId('65a1b2c3d4e5f60718293a4b'));
    expect((back.uuid as Binary).sub_type).toBe(4);
  });

  it('refuses what no BSON type holds exactly', () => {
    expect(() => recordToDocument(record('r', { n: 18446744073709551615n }))).toThrow(/beyond Int64/);
    expect(() => recordToDocument(record('r', { d: new Decimal('1.2345678901234567890123456789012345678') }))).toThrow(
      /Decimal128 \(34 digits\) cannot hold/,
    );
    expect(() => recordToDocument(record('r', { 'a\0b': 'x' }))).toThrow(/NUL/);
    expect(() => recordToDocument(record('r', { t: 'x\ud800' }))).toThrow(/lone UTF-16 surrogate/);
  });

  it('writes a document a mongo source read from its BSON as read (M2M keeps every type)', () => {
    const doc = { _id: new Int32(7), re: new BSONRegExp('a', 'i'), l: Long.fromBigInt(5n) };
    const bytes = BSON.serialize(doc);
    const written = recordToDocument({
      id: '7',
      value: {},
      readAt: 0,
      bytes: 0,
      encoded: { format: bsonFormat, data: bytes },
    });
    expect(BSON.serialize(written)).toEqual(bytes);
  });

  it('uses the record id as _id when the value has none, _id first', () => {
    expect(Object.keys(recordToDocument(record('1-0', { a: 1n, b: 'x' })))).toEqual(['_id', 'a', 'b']);
    expect(recordToDocument(record('1-0', { a: 1n }))._id).toBe('1-0');
  });

  it('refuses top-level $ names and documents over 16 MiB', () => {
    expect(() => recordToDocument(record('r', { $inc: { a: 1n } }))).toThrow(/field name "\$inc" starts with "\$"/);
    expect(unwritableReason({ _id: 'r', blob: 'x'.repeat(16 * 1024 * 1024) })).toMatch(/over MongoDB's limit/);
    expect(unwritableReason({ _id: 'r', a: 1 })).toBeUndefined();
  });
});
