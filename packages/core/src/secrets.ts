/**
 * Secrets out of every text ferry shows: URLs are parsed wherever they stand
 * in a text (any scheme) and their credentials masked, and the secret values
 * a process was given (passwords, tokens, file contents) are masked wherever
 * they appear, as written or encoded.
 */

const mask = '***';

/**
 * `scheme://`, any scheme: redis, amqps, mongodb+srv, https, ftp, one ferry
 * has never heard of; only where a scheme can start (not inside a word), so
 * that a long word is read once.
 */
const schemeStart = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\//g;

/** Where a host starts after the `@` that ends a URL's userinfo; `/` for no host (`chdb://user:pw@/dir`). */
const hostStart = /^[\p{L}\p{N}[_/-]/u;

/** A quote followed by what follows a JSON string: the userinfo would run out of its string. */
const leavesString = /(?<!\\)"\s*[,:}\]]/;

/** Query-string keys whose values are secrets; `authSource`, `authMechanism` are not. */
const secretParameter = /pass|pwd|secret|token|credential|signature|^sig$|^key$|apikey|api_key|private/i;

/** Config keys whose values are secrets. */
const secretKey = /password|passwd|secret|token|passphrase|credential|apikey|api_key|^key$/i;

/** Userinfo is looked for this far past `://`, so that a long line costs no more than a short one. */
const longestUserinfo = 512;

/** Values shorter than this are not masked wherever they appear: they would blot out ordinary words. */
const shortest = 3;

/** The secrets this process was given, as written. */
const remembered = new Set<string>();

interface Found {
  /** The text with the URL's credentials masked. */
  readonly text: string;
  /** What was masked, as written and decoded. */
  readonly secrets: readonly string[];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The index of the `@` that ends the userinfo of a URL whose authority starts `region`, or -1. */
function userinfoEnd(region: string): number {
  for (let at = region.lastIndexOf('@'); at > 0; at = region.lastIndexOf('@', at - 1)) {
    const userinfo = region.slice(0, at);
    if (hostStart.test(region.slice(at + 1)) && !leavesString.test(userinfo)) return at;
  }
  return -1;
}

/** `user:***`, or `***` for userinfo that is a token alone. */
function maskUserinfo(userinfo: string, secrets: string[]): string {
  const colon = userinfo.indexOf(':');
  const secret = colon < 0 ? userinfo : userinfo.slice(colon + 1);
  if (secret === '') return userinfo;
  const user = colon < 0 ? '' : userinfo.slice(0, colon);
  // A password that is its user name is shown with it anyway; a lone user name (`redis://ferry@h`) would blot out words.
  if (colon >= 0 && secret !== user) secrets.push(secret, decoded(secret));
  return colon < 0 ? mask : `${user}:${mask}`;
}

/** The URL's own text after its authority: path, query and fragment up to a space or a quote. */
function maskQuery(rest: string, secrets: string[]): string {
  return rest.replace(/([?&;])([^=&#;\s]+)=([^&#;\s"'<>]*)/g, (whole, sep: string, key: string, value: string) => {
    if (value === '' || !secretParameter.test(decoded(key))) return whole;
    secrets.push(value, decoded(value.replaceAll('+', ' ')));
    return `${sep}${key}=${mask}`;
  });
}

function scan(text: string): Found {
  const starts = [...text.matchAll(schemeStart)].map((m) => ({ at: m.index, end: m.index + m[0].length }));
  if (starts.length === 0) return { text, secrets: [] };
  const secrets: string[] = [];
  let out = '';
  let last = 0;
  starts.forEach(({ end }, i) => {
    // A URL ends at the line's end or where the next one starts.
    const region = text.slice(end, starts[i + 1]?.at ?? text.length).split('\n', 1)[0] ?? '';
    const userEnd = userinfoEnd(region.slice(0, longestUserinfo));
    out += text.slice(last, end);
    if (userEnd > 0) out += `${maskUserinfo(region.slice(0, userEnd), secrets)}@`;
    const tail = region.slice(userEnd + 1);
    let urlLength = tail.search(/[\s"'<>`]|$/);
    // Punctuation that ends the sentence is not the URL's, as linkifiers read it.
    while (urlLength > 0 && '.,:;)]'.includes(tail.charAt(urlLength - 1))) urlLength -= 1;
    out += maskQuery(tail.slice(0, urlLength), secrets);
    last = end + userEnd + 1 + urlLength;
  });
  return { text: out + text.slice(last), secrets };
}

/** Masks the credentials of every URL in a text: userinfo (`user:***@`) and secret query parameters (`password=***`). */
export function maskUrls(text: string): string {
  return scan(text).text;
}

/** The secrets the URLs of a text hold (passwords, tokens, secret query parameters), as written and decoded. */
export function urlSecrets(text: string): string[] {
  return [...new Set(scan(text).secrets)];
}

/** WHATWG's encoding of a URL's password (`new URL`'s `password`), which differs from encodeURIComponent. */
function userinfoEncoded(value: string): string {
  const url = new URL('x://h');
  url.password = value;
  return url.password;
}

/** A value as it may be written: verbatim, percent-encoded, form-encoded, escaped in JSON once or twice (a message quoting it, in a JSON answer). */
function encodings(value: string): string[] {
  const forms = [
    value,
    encodeURIComponent(value),
    userinfoEncoded(value),
    new URLSearchParams({ v: value }).toString().slice(2),
  ];
  const escaped = forms.map((form) => JSON.stringify(form).slice(1, -1));
  return [...new Set([...forms, ...escaped, ...escaped.map((form) => JSON.stringify(form).slice(1, -1))])];
}

/** Secrets to mask from now on wherever a text goes through maskSecrets; too short ones are left out. */
export function rememberSecrets(values: Iterable<string>): void {
  for (const value of values) if (value.length >= shortest) for (const form of encodings(value)) remembered.add(form);
}

/** Forgets every remembered secret (for tests). */
export function forgetSecrets(): void {
  remembered.clear();
}

/**
 * A text safe to show: every URL's credentials masked, then every secret
 * remembered (or given) masked wherever it appears.
 */
export function maskSecrets(text: string, secrets: Iterable<string> = remembered): string {
  let out = maskUrls(text);
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) if (secret.length >= shortest) out = out.split(secret).join(mask);
  return out;
}

/** The error with its message and stack masked, in place: for errors that are stored or sent as they are. */
export function maskError<E>(error: E): E {
  if (!(error instanceof Error)) return error;
  error.message = maskSecrets(error.message);
  if (error.stack !== undefined) error.stack = maskSecrets(error.stack);
  return error;
}

/** The secrets of a config: values of secret-named keys (`password`, `token`…), and what its URLs hold. */
export function secretsOf(input: unknown, key = ''): string[] {
  if (typeof input === 'string') return secretKey.test(key) ? [input, ...urlSecrets(input)] : urlSecrets(input);
  if (typeof input === 'number' || typeof input === 'bigint') return secretKey.test(key) ? [String(input)] : [];
  if (Array.isArray(input)) return input.flatMap((item) => secretsOf(item, key));
  if (input !== null && typeof input === 'object') {
    return Object.entries(input).flatMap(([name, value]) => secretsOf(value, name));
  }
  return [];
}

/** Whether a config key holds a secret (`password`, `apiToken`, `passphrase`…). */
export function isSecretKey(key: string): boolean {
  return secretKey.test(key);
}
