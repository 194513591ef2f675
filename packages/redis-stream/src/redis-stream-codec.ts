import type { RecordValue } from '@ferry/core';

/** How a record value maps onto the field/value pairs of a stream entry. */
export type RedisStreamCodec = 'fields' | 'json';

/**
 * True when `JSON.parse` may accept the text: the decoder tries only these, so
 * plain text never pays for a thrown SyntaxError.
 */
function mayBeJson(text: string): boolean {
  const c = text.charCodeAt(0);
  return (
    c === 123 /* { */ ||
    c === 91 /* [ */ ||
    c === 34 /* " */ ||
    c === 45 /* - */ ||
    (c >= 48 && c <= 57) /* 0-9 */ ||
    c === 116 /* t */ ||
    c === 102 /* f */ ||
    c === 110 /* n */
  );
}

/**
 * A string is stored raw, readable by any other client, unless the decoder
 * would read it back as something else ("1", "true", "{…}"): then it is stored JSON-encoded.
 */
export function encodeFieldValue(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (!mayBeJson(value)) return value;
    try {
      JSON.parse(value);
    } catch {
      return value;
    }
    return JSON.stringify(value);
  }
  return JSON.stringify(value);
}

export function decodeFieldValue(text: string): unknown {
  if (!mayBeJson(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * `fields` codec: each top-level key becomes a stream field. Keys whose value
 * JSON cannot hold (undefined, functions) are left out, as JSON.stringify does.
 * Returns the flat `[field, value, field, value…]` list XADD takes.
 */
export function encodeFields(value: RecordValue, skipKey?: string): string[] {
  const out: string[] = [];
  for (const key in value) {
    if (key === skipKey || !Object.hasOwn(value, key)) continue;
    const text = encodeFieldValue(value[key]);
    if (text !== undefined) out.push(key, text);
  }
  return out;
}

export function decodeFields(fields: readonly string[]): RecordValue {
  const value: RecordValue = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i]!;
    // A field named __proto__ must stay data, not replace the object's prototype.
    if (key === '__proto__') {
      Object.defineProperty(value, key, {
        value: decodeFieldValue(fields[i + 1]!),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      value[key] = decodeFieldValue(fields[i + 1]!);
    }
  }
  return value;
}

/** `json` codec: the whole value, JSON-encoded, in one field. */
export function encodeJson(value: RecordValue, field: string): string[] {
  return [field, JSON.stringify(value)];
}

/** Thrown by a decoder; the source turns it into a RecordRejectedError naming the entry. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export function decodeJson(fields: readonly string[], field: string): RecordValue {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== field) continue;
    const text = fields[i + 1]!;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new DecodeError(`field "${field}" is not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw new DecodeError(`field "${field}" holds ${kind}, not a JSON object`);
    }
    return value as RecordValue;
  }
  throw new DecodeError(`field "${field}" is missing`);
}
