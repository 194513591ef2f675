import { readFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import {
  ConfigError,
  type ConnectorRegistry,
  describeError,
  type FerryConfig,
  parseConfig,
  rememberSecrets,
  secretsOf,
} from '@ferry/core';
import { parseDocument } from 'yaml';
import { type Env, interpolateEnv } from './config-references.js';
import { loadPlugins } from './plugins.js';

export { type Env, interpolateEnv } from './config-references.js';

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

/** Aliases a config may use: enough for shared blocks, far too few for a billion laughs. */
const maxAliasCount = 100;

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    // yaml's message already says "at line L, column C" and quotes the line.
    throw new ConfigError(`[ferry] cannot parse ${file} as YAML: ${first.message.trimEnd()}`, { cause: first });
  }
  try {
    return doc.toJS({ maxAliasCount });
  } catch (error) {
    // Aliases expanded past the limit, or an alias to a node that is not there.
    throw new ConfigError(`[ferry] cannot parse ${file} as YAML: ${describeError(error)}`, { cause: error });
  }
}

/** Parses config text by the file's extension: `.json` as JSON, anything else as YAML (a superset of JSON). */
export function parseConfigText(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  const data = ext === '.json' ? parseJson(text, file) : parseYaml(text, file);
  if (data === null || data === undefined)
    throw new ConfigError(`[ferry] ${file} is empty: expected connections and flows`);
  return data;
}

/**
 * Reads a config file and resolves its `${VAR}` and `${file:…}` references,
 * without validating it: for callers that merge in overrides. Every secret it
 * holds is remembered, to be masked wherever ferry would show it.
 */
export function readConfigInput(file: string, env: Env = process.env): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : describeError(error);
    throw new ConfigError(`[ferry] cannot read config file ${file}: ${why}`, { cause: error });
  }
  const input = interpolateEnv(parseConfigText(text, file), env, file, dirname(file));
  rememberSecrets(secretsOf(input));
  return input;
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
