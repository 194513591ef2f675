import type { TypeTableRow } from '@ferry/core';

/**
 * How each kind of value is written, by the column it goes into, and what the
 * source reads back from those columns (the README's "Types" tables). A
 * value goes into a column only if the column stores exactly that value;
 * otherwise the record is dead-lettered with the reason. ¹ Not on ClickHouse 18.16.
 */
export const clickHouseTypes: readonly TypeTableRow[] = [
  {
    kind: 'text',
    stored:
      'String, FixedString(N) of exactly N bytes: its UTF-8 bytes (a lone surrogate is refused); text of a number, a date, a UUID, an enum member or `true`/`false` into such a column when exact',
    readBack: 'text from String; from any other column, the kind that column reads as (an integer column: integer)',
  },
  {
    kind: 'boolean',
    stored: 'Bool ¹; UInt8 as 1/0; String as `true`/`false`',
    readBack: 'boolean from Bool; integer from UInt8; text from String',
  },
  { kind: 'null', stored: 'NULL of a Nullable(T) column; any other column refuses it' },
  {
    kind: 'integer',
    stored:
      '(U)Int8…64 (and 128/256 ¹) when in range; Float64/32 and Decimal(P,S) when exact; String as decimal digits',
    readBack: 'integer from integer columns; float, decimal or text from the others',
  },
  {
    kind: 'float',
    stored:
      'Float64 bit for bit (NaN, ±Infinity, -0), Float32 when it holds the value; integer and Decimal columns when exact; String as its shortest text',
    readBack: 'float from Float columns; integer, decimal or text from the others',
  },
  {
    kind: 'decimal',
    stored:
      'Decimal(P,S) with at most S fraction and P−S integer digits; integer and Float columns when exact; String as its text',
    readBack:
      'decimal with exactly S fraction digits (`1.5` in Decimal(9,2) reads `1.50`); integer, float or text from the others',
  },
  {
    kind: 'bytes',
    stored: 'String, FixedString(N) of exactly N bytes: the bytes',
    readBack: 'text when the bytes are UTF-8, else bytes',
  },
  {
    kind: 'timestamp',
    stored:
      'DateTime (whole seconds), Date and Date32 ¹ (a UTC midnight), DateTime64(p) ¹ (milliseconds that fit p digits); String as ISO 8601 text',
    readBack: 'timestamp from date columns; text from String',
  },
  {
    kind: 'scalar',
    stored: '`uuid`: UUID; either type as its text into String',
    readBack: 'scalar `uuid` from UUID; text from String',
  },
  {
    kind: 'array',
    stored:
      'Array(T), each item as T takes it; Tuple of as many elements; String as lossless JSON when JSON alone says every kind inside',
    readBack: 'array from Array and Tuple; text from String (an array again when it is one of jsonColumns)',
  },
  {
    kind: 'object',
    stored: 'Map(K,V) ¹; String as lossless JSON when JSON alone says every kind inside',
    readBack:
      'object from Map (a Map holding a key twice is dead-lettered); text from String (an object again when it is one of jsonColumns)',
  },
];
