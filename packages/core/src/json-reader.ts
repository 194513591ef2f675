import type { JsonTypes } from './json.js';
import { numberFromLiteral } from './json-number.js';
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

/** Thrown for text that is not JSON, or types that do not fit it; the message says where. */
export class JsonError extends Error {
  override readonly name = 'JsonError';
}

/** A number literal kept as text while types are applied: a decimal tag needs the digits as written. */
class Literal {
  constructor(readonly text: string) {}
}

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
  const value = new JsonReader(text, keep).document();
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

/** A recursive-descent reader over the text: strings without escapes are sliced, escapes decoded by JSON.parse. */
class JsonReader {
  #at = 0;

  constructor(
    readonly text: string,
    readonly keepLiterals: boolean,
  ) {}

  document(): Value {
    const value = this.#value();
    this.#space();
    if (this.#at < this.text.length) this.#fail('unexpected text after the JSON value');
    return value;
  }

  #fail(what: string): never {
    throw new JsonError(`not JSON: ${what} at position ${this.#at}`);
  }

  #space(): void {
    const text = this.text;
    let at = this.#at;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 32 || c === 10 || c === 13 || c === 9) at += 1;
      else break;
    }
    this.#at = at;
  }

  #value(): Value {
    this.#space();
    const c = this.text.charCodeAt(this.#at);
    if (c === 34 /* " */) return this.#string();
    if (c === 123 /* { */) return this.#object();
    if (c === 91 /* [ */) return this.#array();
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) return this.#number();
    if (this.text.startsWith('true', this.#at)) return this.#word(4, true);
    if (this.text.startsWith('false', this.#at)) return this.#word(5, false);
    if (this.text.startsWith('null', this.#at)) return this.#word(4, null);
    return this.#fail(Number.isNaN(c) ? 'unexpected end' : `unexpected ${JSON.stringify(this.text[this.#at])}`);
  }

  #word<T>(length: number, value: T): T {
    this.#at += length;
    return value;
  }

  #string(): string {
    const text = this.text;
    const start = this.#at + 1;
    let at = start;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        escaped = true;
        at += 2;
        continue;
      }
      if (c < 32 || Number.isNaN(c)) {
        this.#at = at;
        this.#fail(Number.isNaN(c) ? 'unterminated string' : 'control character in a string');
      }
      at += 1;
    }
    this.#at = at + 1;
    if (!escaped) return text.slice(start, at);
    try {
      return JSON.parse(text.slice(start - 1, at + 1)) as string;
    } catch (error) {
      this.#at = start;
      return this.#fail(`bad escape in a string (${(error as Error).message})`);
    }
  }

  #number(): bigint | number | Decimal {
    const text = this.text;
    const start = this.#at;
    let at = start;
    if (text.charCodeAt(at) === 45) at += 1;
    const digits = () => {
      const from = at;
      while (at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) at += 1;
      return at - from;
    };
    const first = text.charCodeAt(at);
    const whole = digits();
    if (whole === 0 || (first === 48 && whole > 1)) {
      this.#at = start;
      this.#fail('bad number');
    }
    if (text.charCodeAt(at) === 46) {
      at += 1;
      if (digits() === 0) {
        this.#at = start;
        this.#fail('bad number');
      }
    }
    const e = text.charCodeAt(at);
    if (e === 101 || e === 69) {
      at += 1;
      const sign = text.charCodeAt(at);
      if (sign === 43 || sign === 45) at += 1;
      if (digits() === 0) {
        this.#at = start;
        this.#fail('bad number');
      }
    }
    this.#at = at;
    const literal = text.slice(start, at);
    if (this.keepLiterals) return new Literal(literal) as unknown as number;
    return numberFromLiteral(literal);
  }

  #array(): Value[] {
    this.#at += 1;
    const items: Value[] = [];
    this.#space();
    if (this.text.charCodeAt(this.#at) === 93) {
      this.#at += 1;
      return items;
    }
    for (;;) {
      items.push(this.#value());
      this.#space();
      const c = this.text.charCodeAt(this.#at);
      this.#at += 1;
      if (c === 93) return items;
      if (c !== 44) this.#fail('expected , or ] in an array');
    }
  }

  #object(): ValueObject {
    this.#at += 1;
    const object: ValueObject = {};
    this.#space();
    if (this.text.charCodeAt(this.#at) === 125) {
      this.#at += 1;
      return object;
    }
    for (;;) {
      this.#space();
      if (this.text.charCodeAt(this.#at) !== 34) this.#fail('expected a key in an object');
      const at = this.#at;
      const key = this.#string();
      // JSON.parse keeps the last value of a key given twice: here that would lose the other one.
      if (Object.hasOwn(object, key)) {
        throw new JsonError(
          `key ${JSON.stringify(key)} appears twice in an object at position ${at}: one of its values would be lost`,
        );
      }
      this.#space();
      if (this.text.charCodeAt(this.#at) !== 58) this.#fail('expected : after a key');
      this.#at += 1;
      setEntry(object, key, this.#value());
      this.#space();
      const c = this.text.charCodeAt(this.#at);
      this.#at += 1;
      if (c === 125) return object;
      if (c !== 44) this.#fail('expected , or } in an object');
    }
  }
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
