import { numberFromLiteral } from './json-number.js';
import { type Decimal, setEntry, type Value, type ValueObject } from './value.js';

/** Thrown for text that is not JSON, or types that do not fit it; the message says where. */
export class JsonError extends Error {
  override readonly name = 'JsonError';
}

/** A number literal kept as text while types are applied: a decimal tag needs the digits as written. */
export class Literal {
  constructor(readonly text: string) {}
}

/** A recursive-descent parser over the text: strings without escapes are sliced, escapes decoded by JSON.parse. */
export class JsonParser {
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
