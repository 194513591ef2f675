import type { TypeTableRow } from '@ferry/core';

/**
 * How each kind of value is written with the `fields` codec, the default (the
 * README's "Types" tables): a value that is not text is its text, and its
 * kind a tag in the entry's `ferry:types` field. Every kind reads back as
 * itself. The `json` codec writes the value as core's lossless JSON in one
 * field, with the same tags in `ferry:types`.
 */
export const redisStreamTypes: readonly TypeTableRow[] = [
  {
    kind: 'text',
    stored: 'its UTF-8 bytes, untagged (text with a lone UTF-16 surrogate is refused: UTF-8 cannot hold it)',
  },
  { kind: 'boolean', stored: '`true` / `false`, tagged `boolean`' },
  { kind: 'null', stored: '`null`, tagged `null`' },
  { kind: 'integer', stored: 'decimal digits of any size (`18446744073709551615`), tagged `integer`' },
  {
    kind: 'float',
    stored: 'the shortest text that reads back as the same float (`0.1`, `5`, `-0`, `NaN`, `Infinity`), tagged `float`',
  },
  { kind: 'decimal', stored: 'its text (`1.50`), tagged `decimal`' },
  { kind: 'bytes', stored: 'the bytes, tagged `bytes` only when they are UTF-8' },
  { kind: 'timestamp', stored: 'ISO 8601 text, UTC, milliseconds, tagged `timestamp`' },
  { kind: 'scalar', stored: 'its text (24 hex digits, or a lowercase UUID), tagged `objectId` / `uuid`' },
  {
    kind: 'array',
    stored:
      'lossless JSON (integers as integer literals, floats with a fraction or exponent), tagged `json`, inner kinds by deeper pointers',
  },
  {
    kind: 'object',
    stored:
      'lossless JSON (integers as integer literals, floats with a fraction or exponent), tagged `json`, inner kinds by deeper pointers',
  },
];
