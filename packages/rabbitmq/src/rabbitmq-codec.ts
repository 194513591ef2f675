import { type DecodeResult, decodeJsonBody, encodeJsonBody, type RecordValue, typesHeader } from '@ferry/core';

/** How a record value maps onto an AMQP message body. */
export type RabbitMqCodec = 'json' | 'raw';

export const jsonContentType = 'application/json';

/**
 * A body as a record value. `json`: core's JSON body (one object, read
 * losslessly, the kinds JSON cannot say from the `ferry-types` header);
 * anything else is bad input, reported with the reason. `raw`: any body, as
 * `{ data: <bytes>, contentType }`.
 */
export function decodeBody(
  body: Uint8Array,
  codec: RabbitMqCodec,
  contentType?: string,
  types?: unknown,
): DecodeResult {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (codec === 'raw') return { ok: true, value: { data: buffer, contentType: contentType ?? null } };
  let typesText: string | undefined;
  try {
    typesText = types === undefined ? undefined : headerText(types);
  } catch (error) {
    return { ok: false, reason: `the ${typesHeader} header cannot be read: ${(error as Error).message}` };
  }
  return decodeJsonBody(buffer, typesText);
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
  return { ...encodeJsonBody(value), contentType: jsonContentType };
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
