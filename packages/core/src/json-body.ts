import { type JsonTypes, toJson } from './json.js';
import { fromJson, parseJsonTypes } from './json-reader.js';
import type { RecordValue } from './record.js';
import { typesHeader } from './record.js';
import { describeKind, isValueObject } from './value.js';

/** A message body read as a record value, or why it cannot be. */
export type DecodeResult = { readonly ok: true; readonly value: RecordValue } | { readonly ok: false; reason: string };

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function isJson(text: string): boolean {
  try {
    fromJson(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A JSON message body as a record value: one JSON object, read losslessly
 * (integers of any size, decimals a float cannot hold kept as decimals), with
 * the kinds JSON cannot say taken from the `ferry-types` header's text.
 * Anything else is bad input, reported with the reason and never thrown, so
 * that a source can hand it to the pump as rejected. How every system that
 * carries JSON bodies (RabbitMQ, NATS) reads them, in the same words.
 */
export function decodeJsonBody(body: Buffer, types?: string): DecodeResult {
  let parsedTypes: JsonTypes | undefined;
  try {
    parsedTypes = types === undefined ? undefined : parseJsonTypes(types);
  } catch (error) {
    return { ok: false, reason: `the ${typesHeader} header cannot be read: ${messageOf(error)}` };
  }
  // A body that is not UTF-8 decodes with U+FFFD in it: refused rather than read changed.
  const text = body.toString();
  if (text.includes('\uFFFD') && !Buffer.from(text).equals(body)) return { ok: false, reason: 'body is not UTF-8' };
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

/** A record value as a JSON body, and the `ferry-types` header's text when JSON cannot say every kind. Throws, naming the path, for what is not a value. */
export function encodeJsonBody(value: RecordValue): { readonly body: Buffer; readonly types?: string } {
  const { text, types } = toJson(value);
  // A lone UTF-16 surrogate is in the text as its escape (`\ud800`): UTF-8, and it reads back the same.
  return types === undefined ? { body: Buffer.from(text) } : { body: Buffer.from(text), types: JSON.stringify(types) };
}
