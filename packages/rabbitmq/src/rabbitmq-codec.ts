import { isRecordValue, type RecordValue } from '@ferry/core';

/** How a record value maps onto an AMQP message body. */
export type RabbitMqCodec = 'json' | 'raw';

export const jsonContentType = 'application/json';

export type DecodeResult = { readonly ok: true; readonly value: RecordValue } | { readonly ok: false; reason: string };

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * A body as a record value. `json`: the body must be one JSON object;
 * anything else is bad input, reported with the reason (never thrown, so
 * that the source can hand it to the pump as rejected). `raw`: any body, as
 * `{ data: <base64>, contentType }`.
 */
export function decodeBody(body: Uint8Array, codec: RabbitMqCodec, contentType?: string): DecodeResult {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (codec === 'raw') {
    return { ok: true, value: { data: buffer.toString('base64'), contentType: contentType ?? null } };
  }
  let value: unknown;
  try {
    // toString() without an encoding is utf8, and takes a faster path than naming it.
    value = JSON.parse(buffer.toString());
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isRecordValue(value)) return { ok: false, reason: `body is JSON but ${kindOf(value)}, not an object` };
  return { ok: true, value };
}

/** A body and its content type, ready to publish. */
export interface EncodedBody {
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

/**
 * A record value as a body. `raw`: a `{ data: <base64>, contentType }` value
 * (what the raw codec reads) is published as the original bytes and content
 * type; any other value as JSON.
 */
export function encodeBody(value: RecordValue, codec: RabbitMqCodec): EncodedBody {
  if (codec === 'raw' && typeof value.data === 'string') {
    const contentType = value.contentType;
    const keys = Object.keys(value);
    const onlyRaw = keys.every((key) => key === 'data' || key === 'contentType');
    if (onlyRaw && (contentType === undefined || contentType === null || typeof contentType === 'string')) {
      return { body: Buffer.from(value.data, 'base64'), contentType: contentType ?? undefined };
    }
  }
  return { body: Buffer.from(JSON.stringify(value)), contentType: jsonContentType };
}

/** Headers the broker keeps for itself: they describe one delivery, not the record. */
const brokerHeaders = new Set(['x-delivery-count']);

/** AMQP headers as record headers: strings kept, anything else JSON-encoded. */
export function stringifyHeaders(headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined || headers === null) return result;
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || !Object.hasOwn(headers, key) || brokerHeaders.has(key)) continue;
    if (typeof value === 'string') result[key] = value;
    else if (Buffer.isBuffer(value)) result[key] = value.toString('utf8');
    else result[key] = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
  }
  return result;
}
