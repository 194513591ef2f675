import type { TypeTableRow } from '@ferry/core';

/**
 * How each kind of value is held in a message (codec `json`): the body is
 * JSON, and the kinds JSON has no literal for are named in the `ferry-types`
 * header. A source of this system reads each back as the kind written. The
 * README's type table says the same.
 */
export const natsTypes: readonly TypeTableRow[] = [
  { kind: 'text', stored: 'JSON string' },
  { kind: 'boolean', stored: 'JSON true / false' },
  { kind: 'null', stored: 'JSON null' },
  { kind: 'integer', stored: 'JSON integer literal, any size' },
  { kind: 'float', stored: 'JSON number with a fraction or exponent (5.0); NaN, ±Infinity as text tagged float' },
  { kind: 'decimal', stored: 'JSON number literal as written (1.50), tagged decimal' },
  { kind: 'bytes', stored: 'base64 text, tagged bytes' },
  { kind: 'timestamp', stored: 'ISO 8601 UTC text with milliseconds, tagged timestamp' },
  { kind: 'scalar', stored: 'its text, tagged objectId or uuid' },
  { kind: 'array', stored: 'JSON array' },
  { kind: 'object', stored: 'JSON object' },
];
