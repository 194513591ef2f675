import type { TypeTableRow } from '@ferry/core';

/**
 * How each kind of value is written as BSON and read back (the README's
 * "Types" table). Documents are read with every number as its own BSON type,
 * so Int32, Int64 and Double stay apart.
 */
export const mongoTypes: readonly TypeTableRow[] = [
  { kind: 'text', stored: 'String (text with a lone UTF-16 surrogate is refused: UTF-8 cannot hold it)' },
  { kind: 'boolean', stored: 'Boolean' },
  { kind: 'null', stored: 'Null' },
  {
    kind: 'integer',
    stored:
      'Int32 from −2^31 to 2^31−1, else Int64 to ±2^63; a wider one is dead-lettered (Decimal128 would change its kind)',
  },
  { kind: 'float', stored: 'Double, always (a whole float stays a Double; -0.0, NaN and ±Infinity included)' },
  {
    kind: 'decimal',
    stored: 'Decimal128 when it holds the digits exactly; more than 34 digits are dead-lettered',
    readBack: "decimal with Decimal128's text: the same digits and exponent (`1e5` reads `1E+5`)",
  },
  { kind: 'bytes', stored: 'Binary subtype 0' },
  { kind: 'timestamp', stored: 'Date' },
  { kind: 'scalar', stored: '`objectId`: ObjectId; `uuid`: Binary subtype 4' },
  { kind: 'array', stored: 'Array' },
  {
    kind: 'object',
    stored: 'Object (a field name with a NUL is refused, and a top-level name starting with `$`)',
  },
];
