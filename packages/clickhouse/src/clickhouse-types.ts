/**
 * ClickHouse column types as DESCRIBE TABLE writes them (`Nullable(UInt64)`,
 * `Decimal(18, 4)`, `Enum8('a' = 1, 'b' = -2)`, `DateTime('UTC')`,
 * `Tuple(a UInt8, b String)`), parsed once per column at open.
 */
export interface ColumnType {
  /** `UInt64`, `Nullable`, `Array`… */
  readonly name: string;
  readonly args: readonly TypeArg[];
  /** The type as the server wrote it, for messages. */
  readonly text: string;
}

export type TypeArg =
  | { readonly kind: 'type'; readonly type: ColumnType }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'string'; readonly text: string; readonly value?: string };

/** Thrown for a type text this parser cannot read; the caller names the column. */
export class TypeSyntaxError extends Error {
  override readonly name = 'TypeSyntaxError';
}

export function parseColumnType(text: string): ColumnType {
  const parser = new TypeParser(text);
  const type = parser.type();
  parser.end();
  return type;
}

class TypeParser {
  #at = 0;

  constructor(readonly text: string) {}

  #fail(what: string): never {
    throw new TypeSyntaxError(`cannot read the type ${JSON.stringify(this.text)}: ${what} at ${this.#at}`);
  }

  /** Current releases write a named Tuple over several lines (`Tuple(\n    a UInt8,\n    b String)`). */
  #space(): void {
    while (/\s/.test(this.text[this.#at] ?? '')) this.#at += 1;
  }

  end(): void {
    this.#space();
    if (this.#at !== this.text.length) this.#fail('unexpected text');
  }

  #identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.#at));
    if (match === null) this.#fail('expected a type name');
    this.#at += match[0].length;
    return match[0];
  }

  type(): ColumnType {
    this.#space();
    const start = this.#at;
    const name = this.#identifier();
    const args: TypeArg[] = [];
    this.#space();
    if (this.text[this.#at] === '(') {
      this.#at += 1;
      for (;;) {
        args.push(this.#arg());
        this.#space();
        const c = this.text[this.#at];
        this.#at += 1;
        if (c === ')') break;
        if (c !== ',') this.#fail('expected , or )');
      }
    }
    return { name, args, text: this.text.slice(start, this.#at) };
  }

  #arg(): TypeArg {
    this.#space();
    const c = this.text[this.#at];
    if (c === "'") {
      const text = this.#quoted();
      this.#space();
      if (this.text[this.#at] !== '=') return { kind: 'string', text };
      this.#at += 1;
      this.#space();
      return { kind: 'string', text, value: this.#number() };
    }
    if (c !== undefined && /[-0-9]/.test(c)) return { kind: 'number', text: this.#number() };
    // A named tuple element (`a UInt8`): the name goes, the type stays.
    const mark = this.#at;
    this.#identifier();
    if (/^\s+[A-Za-z_]/.test(this.text.slice(this.#at))) return { kind: 'type', type: this.type() };
    this.#at = mark;
    return { kind: 'type', type: this.type() };
  }

  #number(): string {
    const match = /^-?\d+/.exec(this.text.slice(this.#at));
    if (match === null) this.#fail('expected a number');
    this.#at += match[0].length;
    return match[0];
  }

  /** A single-quoted string with backslash escapes, as DESCRIBE writes Enum names and time zones. */
  #quoted(): string {
    this.#at += 1;
    let out = '';
    for (;;) {
      const c = this.text[this.#at];
      if (c === undefined) this.#fail('unterminated string');
      this.#at += 1;
      if (c === "'") return out;
      if (c === '\\') {
        const next = this.text[this.#at];
        if (next === undefined) this.#fail('unterminated string');
        this.#at += 1;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next === '0' ? '\0' : next;
      } else out += c;
    }
  }
}

/**
 * A type's text on one line, as 18.16 wrote every type: current releases
 * break a named Tuple over lines, which would split a reason in a dead letter.
 * Whitespace inside quotes (an Enum member's name) is kept.
 */
export function compactType(text: string): string {
  let out = '';
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const c = text[at]!;
    if (quoted) {
      out += c;
      if (c === '\\') out += text[++at] ?? '';
      else if (c === "'") quoted = false;
    } else if (/\s/.test(c)) {
      while (/\s/.test(text[at + 1] ?? '')) at += 1;
      if (!out.endsWith('(') && text[at + 1] !== ')' && out !== '') out += ' ';
    } else {
      out += c;
      if (c === "'") quoted = true;
    }
  }
  return out.trimEnd();
}

/** The type argument at `i` when it is a type; throws naming the type otherwise. */
export function typeArg(type: ColumnType, i: number): ColumnType {
  const arg = type.args[i];
  if (arg?.kind !== 'type') throw new TypeSyntaxError(`${type.text}: argument ${i + 1} is not a type`);
  return arg.type;
}

/** The type argument at `i` when it is a number. */
export function numberArg(type: ColumnType, i: number): number {
  const arg = type.args[i];
  if (arg?.kind !== 'number') throw new TypeSyntaxError(`${type.text}: argument ${i + 1} is not a number`);
  return Number(arg.text);
}

/** The type argument at `i` when it is a string (a time zone), else undefined. */
export function stringArg(type: ColumnType, i: number): string | undefined {
  const arg = type.args[i];
  return arg?.kind === 'string' ? arg.text : undefined;
}

/** Decimal(P,S), Decimal32(S)…: precision and scale. */
export function decimalShape(type: ColumnType): { precision: number; scale: number } {
  switch (type.name) {
    case 'Decimal':
      return { precision: numberArg(type, 0), scale: type.args.length > 1 ? numberArg(type, 1) : 0 };
    case 'Decimal32':
      return { precision: 9, scale: numberArg(type, 0) };
    case 'Decimal64':
      return { precision: 18, scale: numberArg(type, 0) };
    case 'Decimal128':
      return { precision: 38, scale: numberArg(type, 0) };
    case 'Decimal256':
      return { precision: 76, scale: numberArg(type, 0) };
    default:
      throw new TypeSyntaxError(`${type.text} is not a Decimal`);
  }
}

/** Bytes of a Decimal's stored integer: 4, 8, 16 or 32, by precision as the server chooses. */
export function decimalBytes(precision: number): 4 | 8 | 16 | 32 {
  return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
}

/** Enum8/16 members: name → value and value → name. */
export function enumMembers(type: ColumnType): { byName: Map<string, number>; byValue: Map<number, string> } {
  const byName = new Map<string, number>();
  const byValue = new Map<number, string>();
  for (const arg of type.args) {
    if (arg.kind !== 'string' || arg.value === undefined) throw new TypeSyntaxError(`${type.text}: not an Enum member`);
    byName.set(arg.text, Number(arg.value));
    byValue.set(Number(arg.value), arg.text);
  }
  return { byName, byValue };
}

/** Integer types: bits and sign, or undefined for any other type. */
export function integerShape(name: string): { bits: 8 | 16 | 32 | 64 | 128 | 256; signed: boolean } | undefined {
  const match = /^(U?)Int(8|16|32|64|128|256)$/.exec(name);
  if (match === null) return undefined;
  return { bits: Number(match[2]) as 8 | 16 | 32 | 64 | 128 | 256, signed: match[1] === '' };
}

/** The type without Nullable/LowCardinality wrappers. */
export function innerType(type: ColumnType): ColumnType {
  let inner = type;
  while (inner.name === 'Nullable' || inner.name === 'LowCardinality') inner = typeArg(inner, 0);
  return inner;
}
