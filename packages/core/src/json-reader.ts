import type { JsonTypes } from './json.js';
import { numberFromLiteral } from './json-number.js';
import { JsonError, JsonParser, Literal } from './json-parser.js';
import {
  Decimal,
  isScalarType,
  isValueObject,
  pointerSegments,
  Scalar,
  setEntry,
  timestampFromText,
  type Value,
  type ValueObject,
} from './value.js';

export { JsonError };

/**
 * JSON text as a value, losslessly (the reverse of `toJson`): integer
 * literals of any size are integers, other literals floats where a float
 * holds them exactly and decimals otherwise, and `types` turns the tagged
 * texts back into bytes, timestamps, scalars, decimals and floats. Throws a
 * JsonError for text that is not JSON, an object that holds a key twice (one
 * of its values would be lost), or types that do not fit it.
 */
export function fromJson(text: string, types?: JsonTypes): Value {
  const keep = types !== undefined && Object.keys(types).length > 0;
  const value = new JsonParser(text, keep).document();
  if (!keep) return value;
  return applyTypes(value, types);
}

function applyTypes(root: Value, types: JsonTypes): Value {
  let result = root;
  for (const [at, tag] of Object.entries(types)) {
    const segments = pointerSegments(at);
    if (segments.length === 0) {
      result = typed(result, tag, at);
      continue;
    }
    let parent: unknown = result;
    for (const segment of segments.slice(0, -1)) parent = child(parent, segment, at);
    const last = segments[segments.length - 1]!;
    const held = child(parent, last, at);
    if (Array.isArray(parent)) parent[Number(last)] = typed(held, tag, at);
    else setEntry(parent as ValueObject, last, typed(held, tag, at));
  }
  return settleLiterals(result);
}

function child(parent: unknown, segment: string, at: string): Value {
  if (Array.isArray(parent) && /^(0|[1-9]\d*)$/.test(segment) && Number(segment) < parent.length) {
    return parent[Number(segment)] as Value;
  }
  if (isValueObject(parent) && Object.hasOwn(parent, segment)) return parent[segment] as Value;
  throw new JsonError(`types name ${at}, which the JSON does not hold`);
}

const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A tagged JSON value as the kind its tag names; throws naming the path when the text does not fit. */
function typed(held: Value, tag: string, at: string): Value {
  const bad = (what: string) => new JsonError(`${at || '/'} is tagged ${tag} but ${what}`);
  if (tag === 'decimal') {
    if (!(held instanceof Literal)) throw bad('is not a number');
    return new Decimal(held.text);
  }
  if (typeof held !== 'string') throw bad('is not text');
  switch (tag) {
    case 'bytes':
      if (!base64Text.test(held)) throw bad('is not base64');
      return Buffer.from(held, 'base64');
    case 'timestamp': {
      const date = timestampFromText(held);
      if (date === undefined) throw bad('is not an ISO 8601 UTC time with milliseconds');
      return date;
    }
    case 'float':
      if (held === 'NaN') return Number.NaN;
      if (held === 'Infinity') return Number.POSITIVE_INFINITY;
      if (held === '-Infinity') return Number.NEGATIVE_INFINITY;
      throw bad('is not NaN, Infinity or -Infinity');
    default:
      if (!isScalarType(tag)) throw new JsonError(`${at || '/'} has an unknown type tag ${JSON.stringify(tag)}`);
      try {
        return new Scalar(tag, held);
      } catch (error) {
        throw bad((error as Error).message);
      }
  }
}

/** Number literals left after the tags as what they read as untagged. */
function settleLiterals(value: unknown): Value {
  if (value instanceof Literal) return numberFromLiteral(value.text);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = settleLiterals(value[i]);
    return value;
  }
  if (isValueObject(value)) {
    for (const key in value) if (Object.hasOwn(value, key)) value[key] = settleLiterals(value[key]);
  }
  return value as Value;
}

/** Parses a types annotation as stored beside a value: a JSON object of pointers to tags. */
export function parseJsonTypes(text: string): JsonTypes {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JsonError(`the types annotation is not JSON: ${(error as Error).message}`);
  }
  if (!isValueObject(parsed)) throw new JsonError('the types annotation is not a JSON object');
  for (const [at, tag] of Object.entries(parsed)) {
    if (typeof tag !== 'string') throw new JsonError(`the types annotation gives ${at} a tag that is not text`);
    if (at !== '' && !at.startsWith('/')) throw new JsonError(`the types annotation names ${at}, not a JSON pointer`);
  }
  return parsed as JsonTypes;
}
