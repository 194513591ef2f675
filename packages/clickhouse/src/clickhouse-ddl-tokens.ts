/** Thrown for DDL text from config that is not what ferry accepts; the config schema names the key. */
export class DdlError extends Error {
  override readonly name = 'DdlError';
}

export type Token =
  | { readonly kind: 'name'; readonly text: string; readonly at: number }
  | { readonly kind: 'number'; readonly text: string; readonly at: number }
  | { readonly kind: 'string'; readonly text: string; readonly value: string; readonly at: number }
  | { readonly kind: 'punct'; readonly text: '(' | ')' | ',' | '=' | '-'; readonly at: number };

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;
const numberPattern = /^\d+(\.\d+)?/;

/**
 * Splits DDL text into names, numbers, single-quoted strings and `( ) , = -`;
 * anything else (`;`, backticks, double quotes, comments, operators, `{…}`)
 * is refused here, so that nothing the parser did not see can reach the server.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at += 1;
      continue;
    }
    const rest = text.slice(at);
    const name = namePattern.exec(rest);
    const number = numberPattern.exec(rest);
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0], at });
      at += name[0].length;
    } else if (number !== null) {
      if (/^[A-Za-z_]/.test(rest.slice(number[0].length))) throw unexpected(text, at);
      tokens.push({ kind: 'number', text: number[0], at });
      at += number[0].length;
    } else if (char === "'") {
      const { value, end } = readString(text, at);
      tokens.push({ kind: 'string', text: quoteString(value), value, at });
      at = end;
    } else if (char === '(' || char === ')' || char === ',' || char === '=' || char === '-') {
      // `--` opens a comment in SQL: never two minus signs in a row.
      if (char === '-' && text[at + 1] === '-') throw unexpected(text, at);
      tokens.push({ kind: 'punct', text: char, at });
      at += 1;
    } else {
      throw unexpected(text, at);
    }
  }
  return tokens;
}

function unexpected(text: string, at: number): DdlError {
  return new DdlError(
    `unexpected ${JSON.stringify(text.slice(at, at + 24))} at ${at}: only names, numbers, quoted strings and ( ) , = - are taken`,
  );
}

/** A single-quoted string with ClickHouse's escapes (`\'`, `\\`, `''`): its value and where it ends. */
function readString(text: string, start: number): { value: string; end: number } {
  let value = '';
  let at = start + 1;
  for (;;) {
    const char = text[at];
    if (char === undefined) throw new DdlError(`unterminated string at ${start}`);
    at += 1;
    if (char === "'") {
      if (text[at] !== "'") return { value, end: at };
      value += "'";
      at += 1;
    } else if (char === '\\') {
      const next = text[at];
      if (next === undefined) throw new DdlError(`unterminated string at ${start}`);
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next === '0' ? '\0' : next;
      at += 1;
    } else value += char;
  }
}

/** A string as a literal that holds nothing but it: what is sent is written anew, not the config's text. */
export function quoteString(value: string): string {
  const escaped = value
    .replaceAll('\\', '\\\\')
    .replaceAll("'", "\\'")
    .replaceAll('\n', '\\n')
    .replaceAll('\t', '\\t')
    .replaceAll('\0', '\\0');
  return `'${escaped}'`;
}

/** Reads tokens in order, with messages that quote the text at fault. */
export class TokenReader {
  #at = 0;

  constructor(
    readonly text: string,
    readonly tokens: readonly Token[],
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.#at + offset];
  }

  next(): Token {
    const token = this.tokens[this.#at];
    if (token === undefined) throw new DdlError(`${JSON.stringify(this.text)} ends too soon`);
    this.#at += 1;
    return token;
  }

  /** True, and consumed, when the next token is this punctuation or keyword (keywords in any case). */
  accept(text: string): boolean {
    const token = this.peek();
    if (token === undefined || token.kind === 'string') return false;
    if (token.text !== text && !(token.kind === 'name' && token.text.toUpperCase() === text)) return false;
    this.#at += 1;
    return true;
  }

  expect(text: string, what = JSON.stringify(text)): void {
    if (!this.accept(text)) throw this.fail(`expected ${what}`);
  }

  name(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'name') throw this.fail(`expected ${what}`);
    this.#at += 1;
    return token.text;
  }

  done(): boolean {
    return this.#at >= this.tokens.length;
  }

  /** An error quoting the text from the current token on. */
  fail(what: string): DdlError {
    const token = this.peek();
    if (token === undefined) return new DdlError(`${what}, but ${JSON.stringify(this.text)} ends there`);
    return new DdlError(`${what}, got ${JSON.stringify(this.text.slice(token.at, token.at + 24))} at ${token.at}`);
  }
}
