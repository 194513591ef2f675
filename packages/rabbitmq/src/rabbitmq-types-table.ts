import type { TypeTableRow } from '@ferry/core';

/**
 * How each kind of value is written in a JSON body (codec `json`, the
 * default; the README's "Types" table): JSON's own kinds directly, the others
 * as a string or number literal tagged in the `ferry-types` header. Every kind
 * reads back as itself.
 */
export const rabbitMqTypes: readonly TypeTableRow[] = [
  {
    kind: 'text',
    stored: 'a JSON string (a lone UTF-16 surrogate as its escape `\\ud800`, which reads back the same)',
  },
  { kind: 'boolean', stored: '`true` / `false`' },
  { kind: 'null', stored: '`null`' },
  { kind: 'integer', stored: 'an integer literal of any size (`18446744073709551615`)' },
  {
    kind: 'float',
    stored:
      'a literal with a fraction or exponent (`5.0`, `-0.0`, `1e+21`); NaN and ±Infinity as strings tagged `float`',
  },
  { kind: 'decimal', stored: 'a number literal of its text (`1.50`), tagged `decimal`' },
  { kind: 'bytes', stored: 'a base64 string, tagged `bytes`' },
  { kind: 'timestamp', stored: 'an ISO 8601 string, UTC, milliseconds, tagged `timestamp`' },
  { kind: 'scalar', stored: 'a string of its text, tagged `objectId` / `uuid`' },
  { kind: 'array', stored: 'a JSON array' },
  { kind: 'object', stored: 'a JSON object' },
];
