import { randomBytes } from 'node:crypto';

/**
 * Helpers for the connector packages' test ends (`<package>/testing`), kept
 * apart from the contract suites so that loading them loads no test runner.
 */

/**
 * A name of its own for a test end: `<prefix><scope><sep><label><sep><random>`,
 * with every character the system does not take in a name replaced by `_`.
 */
export function endName(parts: {
  readonly prefix: string;
  readonly scope: string;
  readonly label: string;
  readonly separator: string;
  /** The characters a name may hold. */
  readonly allowed: RegExp;
}): string {
  const raw = [parts.scope, parts.label, randomBytes(3).toString('hex')].join(parts.separator);
  return parts.prefix + [...raw].map((char) => (parts.allowed.test(char) ? char : '_')).join('');
}

/**
 * The top-level members of a JSON object text, each as its key and the raw
 * text of its value (so that no number passes through a JavaScript number).
 * Throws when the text is not one JSON object.
 */
export function jsonMembers(text: string): [string, string][] {
  const members: [string, string][] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new Error(`not a JSON object: ${text.slice(0, 40)}`);
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return members;
  for (;;) {
    const keyEnd = endOfValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') throw new Error(`expected ":" at ${i}`);
    const start = skipSpace(text, i + 1);
    const end = endOfValue(text, start);
    members.push([key, text.slice(start, end)]);
    i = skipSpace(text, end);
    if (text[i] === '}') return members;
    if (text[i] !== ',') throw new Error(`expected "," at ${i}`);
    i = skipSpace(text, i + 1);
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  return i;
}

/** Where the JSON value that starts at `i` ends. */
function endOfValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (first === '{' || first === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const char = text[j]!;
      if (char === '"') {
        j = endOfValue(text, j);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if ((char === '}' || char === ']') && --depth === 0) return j + 1;
      j++;
    }
    throw new Error(`unterminated JSON value at ${i}`);
  }
  let j = i;
  while (j < text.length && !',}] \t\r\n'.includes(text[j]!)) j++;
  return j;
}

/**
 * A JSON body's top-level keys as a held record shows them: a string as its
 * text, `null` as null, a number or boolean as its literal, a nested value as
 * its JSON text; a key the `ferry-types` header tags `bytes` as its bytes.
 */
export function heldFromJson(body: string, typesHeader: string | undefined): Record<string, string | Buffer | null> {
  const types = typesHeader === undefined ? {} : (JSON.parse(typesHeader) as Record<string, string>);
  const out: Record<string, string | Buffer | null> = {};
  for (const [key, raw] of jsonMembers(body)) {
    const pointer = `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    let value: string | Buffer | null = raw;
    if (raw === 'null') value = null;
    else if (raw.startsWith('"')) value = JSON.parse(raw) as string;
    if (types[pointer] === 'bytes' && typeof value === 'string') value = Buffer.from(value, 'base64');
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
