import {
  describeKind,
  fromJson,
  isValueObject,
  type JsonTypes,
  parseJsonTypes,
  type RecordValue,
  toJson,
  typesHeader,
} from '@ferry/core';

/** How a record value maps onto an AMQP message body. */
export type RabbitMqCodec = 'json' | 'raw';

export const jsonContentType = 'application/json';

export type DecodeResult = { readonly ok: true; readonly value: RecordValue } | { readonly ok: false; reason: string };

/**
 * A body as a record value. `json`: the body must be one JSON object, read
 * losslessly (integers of any size, decimals the float cannot hold kept as
 * decimals), with the kinds JSON cannot say taken from the `ferry-types`
 * header; anything else is bad input, reported with the reason (never thrown,
 * so that the source can hand it to the pump as rejected). `raw`: any body,
 * as `{ data: <bytes>, contentType }`.
 */
export function decodeBody(
  body: Uint8Array,
  codec: RabbitMqCodec,
  contentType?: string,
  types?: unknown,
): DecodeResult {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (codec === 'raw') return { ok: true, value: { data: buffer, contentType: contentType ?? null } };
  let parsedTypes: JsonTypes | undefined;
  try {
    parsedTypes = types === undefined ? undefined : parseJsonTypes(headerText(types));
  } catch (error) {
    return { ok: false, reason: `the ${typesHeader} header cannot be read: ${messageOf(error)}` };
  }
  // A body that is not UTF-8 decodes with U+FFFD in it: refused rather than read changed.
  const text = buffer.toString();
  if (text.includes('\uFFFD') && !Buffer.from(text).equals(buffer)) return { ok: false, reason: 'body is not UTF-8' };
  let value: unknown;
  try {
    value = fromJson(text, parsedTypes);
  } catch (error) {
    // Only on this error path: a body that is JSON, but that its types header does not fit, says so.
    if (parsedTypes !== undefined && isJson(text)) {
      return { ok: false, reason: `the ${typesHeader} header does not fit the body: ${messageOf(error)}` };
    }
    return { ok: false, reason: `body is not JSON: ${messageOf(error)}` };
  }
  if (!isValueObject(value)) return { ok: false, reason: `body is JSON but ${describeKind(value)}, not an object` };
  return { ok: true, value };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isJson(text: string): boolean {
  try {
    fromJson(text);
    return true;
  } catch {
    return false;
  }
}

/** A header as text: amqplib gives long strings as Buffers. */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  throw new Error(`the ${typesHeader} header is ${typeof value}, not text`);
}

/** A body, its content type, and the types header when JSON cannot say every kind. */
export interface EncodedBody {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly types?: string;
}

/**
 * A record value as a body. `raw`: a `{ data: <bytes>, contentType }` value
 * (what the raw codec reads) is published as those bytes and content type;
 * any other value as lossless JSON, its types in `types`. Throws, naming the
 * path, for what is not a value.
 */
export function encodeBody(value: RecordValue, codec: RabbitMqCodec): EncodedBody {
  if (codec === 'raw' && value.data instanceof Uint8Array) {
    const contentType = value.contentType;
    let onlyRaw = true;
    for (const key in value) if (key !== 'data' && key !== 'contentType') onlyRaw = false;
    if (onlyRaw && (contentType === undefined || contentType === null || typeof contentType === 'string')) {
      const data = value.data;
      return {
        body: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        contentType: contentType ?? undefined,
      };
    }
  }
  const { text, types } = toJson(value);
  // A lone UTF-16 surrogate is in the text as its escape (`\ud800`): UTF-8, and it reads back the same.
  return types === undefined
    ? { body: Buffer.from(text), contentType: jsonContentType }
    : { body: Buffer.from(text), contentType: jsonContentType, types: JSON.stringify(types) };
}

/** Headers the broker keeps for itself, or the codec: they describe one delivery or one body, not the record. */
const deliveryHeaders = new Set(['x-delivery-count', typesHeader]);

/** AMQP headers as record headers: strings kept, anything else as its JSON. */
export function stringifyHeaders(headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined || headers === null) return result;
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || !Object.hasOwn(headers, key) || deliveryHeaders.has(key)) continue;
    if (typeof value === 'string') result[key] = value;
    else if (Buffer.isBuffer(value)) result[key] = value.toString('utf8');
    else result[key] = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
  }
  return result;
}
