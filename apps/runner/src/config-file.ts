import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError, type ConnectorRegistry, describeError, type FerryConfig, parseConfig } from '@ferry/core';
import { parseDocument } from 'yaml';
import { loadPlugins } from './plugins.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** `${VAR}` or `${VAR:-default}`; `$${` is a literal `${`. */
const reference = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

interface Missing {
  readonly variable: string;
  readonly path: string;
}

function interpolateString(text: string, env: Env, path: string, missing: Missing[]): string {
  return text.replace(reference, (whole, escaped: string, variable: string, fallback: string | undefined) => {
    if (escaped === '$') return whole.slice(1);
    const value = env[variable];
    // As in the shell, `:-` also applies when the variable is set but empty.
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    missing.push({ variable, path });
    return whole;
  });
}

function walk(value: unknown, env: Env, path: string, missing: Missing[]): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path, missing);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, env, `${path}[${i}]`, missing));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = walk(item, env, path === '' ? key : `${path}.${key}`, missing);
    }
    return out;
  }
  return value;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value (never in keys)
 * from the environment. An unset variable without a default is a ConfigError
 * naming the variable and every place that uses it.
 */
export function interpolateEnv(input: unknown, env: Env = process.env, sourceLabel = 'config'): unknown {
  const missing: Missing[] = [];
  const output = walk(input, env, '', missing);
  if (missing.length > 0) {
    const lines = missing.map((m) => `  - ${m.path || '(top level)'} uses \${${m.variable}}, which is not set`);
    throw new ConfigError(
      `[ferry] ${sourceLabel}: environment variable${missing.length > 1 ? 's' : ''} not set:\n${lines.join('\n')}\n` +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the syntax
        'set them, or give a default as ${NAME:-default}',
    );
  }
  return output;
}

function lineOf(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = describeError(error);
    const at = /position (\d+)/.exec(message);
    const where =
      at?.[1] === undefined
        ? ''
        : (({ line, column }) => ` at line ${line}, column ${column}`)(lineOf(text, Number(at[1])));
    throw new ConfigError(`[ferry] cannot parse ${file} as JSON${where}: ${message}`, { cause: error });
  }
}

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    // yaml's message already says "at line L, column C" and quotes the line.
    throw new ConfigError(`[ferry] cannot parse ${file} as YAML: ${first.message.trimEnd()}`, { cause: first });
  }
  return doc.toJS();
}

/** Parses config text by the file's extension: `.json` as JSON, anything else as YAML (a superset of JSON). */
export function parseConfigText(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  const data = ext === '.json' ? parseJson(text, file) : parseYaml(text, file);
  if (data === null || data === undefined)
    throw new ConfigError(`[ferry] ${file} is empty: expected connections and flows`);
  return data;
}

/** Reads a config file and interpolates the environment, without validating it: for callers that merge in overrides. */
export function readConfigInput(file: string, env: Env = process.env): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : describeError(error);
    throw new ConfigError(`[ferry] cannot read config file ${file}: ${why}`, { cause: error });
  }
  return interpolateEnv(parseConfigText(text, file), env, file);
}

/**
 * Loads and validates a YAML or JSON config file: connections and flows,
 * defaults filled in; connection kinds are not checked, nor plug-ins loaded
 * (see loadConfig).
 */
export function loadConfigFile(file: string, env: Env = process.env): FerryConfig {
  return parseConfig(readConfigInput(file, env), file);
}

export interface LoadedConfig {
  readonly config: FerryConfig;
  /** The given connectors and the config's plug-ins. */
  readonly registry: ConnectorRegistry;
}

/**
 * Loads a config file as the commands do: its plug-ins first (they extend
 * the registry), then the whole config checked, connection kinds included.
 */
export async function loadConfig(file: string, env: Env, registry: ConnectorRegistry): Promise<LoadedConfig> {
  const input = readConfigInput(file, env);
  const extended = await loadPlugins(input, file, registry);
  return { config: parseConfig(input, file, extended.kinds()), registry: extended };
}
