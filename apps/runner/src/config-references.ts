import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, describeError, rememberSecrets } from '@ferry/core';

export type Env = Readonly<Record<string, string | undefined>>;

const variable = String.raw`\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^{}]*)?\}`;

/**
 * `${VAR}`, `${VAR:-default}` or `${file:/path}` (whose path may use
 * `${VAR}`); `$${` is a literal `${`. One pass, so that nothing a reference
 * stands for is read as a reference again.
 */
const reference = new RegExp(
  String.raw`\$(\$?)\{(?:file:((?:[^{}$]|${variable}|\$(?!\{))+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}`,
  'g',
);
const variableOnly = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

interface Context {
  readonly env: Env;
  /** Where relative `${file:…}` paths start: the config file's folder. */
  readonly base: string;
  /** Each file read once, however often it is named. */
  readonly files: Map<string, string>;
  readonly problems: string[];
}

function envValue(name: string, fallback: string | undefined, where: string, context: Context): string | undefined {
  const value = context.env[name];
  // As in the shell, `:-` also applies when the variable is set but empty.
  if (value !== undefined && (value !== '' || fallback === undefined)) return value;
  if (fallback !== undefined) return fallback;
  context.problems.push(`  - ${where} uses \${${name}}, which is not set`);
  return undefined;
}

/** The file's text, its one trailing newline dropped; remembered as a secret. */
function fileValue(written: string, where: string, context: Context): string | undefined {
  let unset = false;
  const path = resolve(
    context.base,
    written.replace(variableOnly, (whole, name: string, fallback: string | undefined) => {
      const value = envValue(name, fallback, where, context);
      unset ||= value === undefined;
      return value ?? whole;
    }),
  );
  if (unset) return undefined;
  const known = context.files.get(path);
  if (known !== undefined) return known;
  try {
    const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    context.files.set(path, text);
    rememberSecrets([text]);
    return text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : describeError(error);
    context.problems.push(`  - ${where} reads \${file:${path}}: ${why}`);
    return undefined;
  }
}

function interpolateString(text: string, where: string, context: Context): string {
  return text.replace(
    reference,
    (whole, escaped: string, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
      if (escaped === '$') return whole.slice(1);
      const value =
        file !== undefined ? fileValue(file, where, context) : envValue(name ?? '', fallback, where, context);
      return value ?? whole;
    },
  );
}

function walk(value: unknown, path: string, context: Context): unknown {
  if (typeof value === 'string') return interpolateString(value, path || '(top level)', context);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`, context));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = walk(item, path === '' ? key : `${path}.${key}`, context);
    return out;
  }
  return value;
}

/**
 * Replaces `${VAR}`, `${VAR:-default}` and `${file:/path}` in every string
 * value of a config file (never in keys; never in what an API caller sends,
 * which does not come through here). A relative path starts at `base`. An
 * unset variable or a file that cannot be read is a ConfigError naming the
 * key and the variable or path, never what a file holds.
 */
export function interpolateEnv(input: unknown, env: Env = process.env, sourceLabel = 'config', base = '.'): unknown {
  const context: Context = { env, base, files: new Map(), problems: [] };
  const output = walk(input, '', context);
  if (context.problems.length > 0) {
    throw new ConfigError(
      `[ferry] ${sourceLabel}: ${context.problems.length > 1 ? 'references' : 'a reference'} not resolved:\n${context.problems.join('\n')}\n` +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the syntax
        'set the variables (or give a default as ${NAME:-default}) and give files that can be read',
    );
  }
  return output;
}
