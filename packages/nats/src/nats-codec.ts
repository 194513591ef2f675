import { type DecodeResult, decodeJsonBody, encodeJsonBody, type RecordValue, typesHeader } from '@ferry/core';
import type { MsgHdrs } from '@nats-io/transport-node';

/** How a record value maps onto a message's body. */
export type NatsCodec = 'json' | 'raw';

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A body as a record value. `json`: core's JSON body (one object, read
 * losslessly, the kinds JSON cannot say from the `ferry-types` header);
 * anything else is bad input, reported with the reason. `raw`: any body, as
 * `{ data: <bytes> }`.
 */
export function decodeBody(body: Uint8Array, codec: NatsCodec, types?: string): DecodeResult {
  const buffer = bufferOf(body);
  if (codec === 'raw') return { ok: true, value: { data: Buffer.from(buffer) } };
  return decodeJsonBody(buffer, types);
}

/** A body, and the types header when JSON cannot say every kind. */
export interface EncodedBody {
  readonly body: Uint8Array;
  readonly types?: string;
}

/**
 * A record value as a body. `raw`: a value that is exactly `{ data: <bytes> }`
 * (what the raw codec reads) is published as those bytes; any other value
 * as lossless JSON, its types in `types`. Throws, naming the path, for what
 * is not a value.
 */
export function encodeBody(value: RecordValue, codec: NatsCodec): EncodedBody {
  if (codec === 'raw' && value.data instanceof Uint8Array) {
    let onlyData = true;
    for (const key in value) if (key !== 'data') onlyData = false;
    if (onlyData) return { body: value.data };
  }
  return encodeJsonBody(value);
}

/**
 * Headers whose names start with `Nats-` are the server's: it acts on them
 * (`Nats-Msg-Id`, `Nats-Expected-Last-Sequence`, `Nats-Rollup`…) or sets
 * them. They describe one publish, not the record.
 */
export function isServerHeader(name: string): boolean {
  return name.length >= 5 && name.slice(0, 5).toLowerCase() === 'nats-';
}

/** The id header: the stream drops a second message with the same one within its duplicate window. */
export const msgIdHeader = 'Nats-Msg-Id';

/**
 * A message's headers as record headers: the server's (`Nats-…`) and the
 * codec's (`ferry-types`) left out; a header given more than once as the
 * JSON array of its values.
 */
export function recordHeaders(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  let result: Record<string, string> | undefined;
  for (const [key, values] of headers) {
    if (isServerHeader(key) || key === typesHeader || values.length === 0) continue;
    result ??= {};
    result[key] = values.length === 1 ? values[0]! : JSON.stringify(values);
  }
  return result;
}

/** A header name NATS carries: printable ASCII, no colon (what the client checks, said as a reason). */
const headerName = /^[!-9;-~]+$/;

/**
 * Why a header cannot travel exactly in a NATS message, or undefined when it
 * can: a header line ends at CR or LF, and the client trims the value.
 */
export function headerProblem(key: string, value: string): string | undefined {
  if (!headerName.test(key)) {
    return `header ${JSON.stringify(key)}: a NATS header name is printable ASCII without spaces or colons`;
  }
  if (isServerHeader(key)) {
    return `header "${key}": headers named Nats-… are instructions to the NATS server, not data it keeps as given`;
  }
  if (/[\r\n]/.test(value)) return `header "${key}": a NATS header value cannot hold a line break`;
  if (value !== value.trim()) {
    return `header "${key}": a NATS header value loses white space at its start and end`;
  }
  return undefined;
}
