import { type ConnectorRegistry, type FerryConfig, FerryError, parseConfig } from '@ferry/core';
import { type Env, readConfigInput } from '../config-file.js';
import { loadPlugins } from '../plugins.js';

/** A command line that cannot be understood: exit code 2, like a bad config. */
export class UsageError extends FerryError {
  override readonly name = 'UsageError';
}

/** The flags of `ferry run`, in node:util parseArgs form. */
export const runFlags = {
  'source-url': { type: 'string' },
  'sink-url': { type: 'string' },
  'source-kind': { type: 'string' },
  'sink-kind': { type: 'string' },
  source: { type: 'string', multiple: true },
  sink: { type: 'string', multiple: true },
  'batch-size': { type: 'string' },
  'max-batches': { type: 'string' },
  follow: { type: 'boolean' },
  'when-full': { type: 'string' },
  'poll-interval-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface RunFlagValues {
  'source-url'?: string;
  'sink-url'?: string;
  'source-kind'?: string;
  'sink-kind'?: string;
  source?: string[];
  sink?: string[];
  'batch-size'?: string;
  'max-batches'?: string;
  follow?: boolean;
  'when-full'?: string;
  'poll-interval-ms'?: string;
  json?: boolean;
  help?: boolean;
}

/** The URL schemes the registered connectors claim, as a URL starts: `redis://, rediss://, amqp://…`. */
export function knownSchemes(registry: ConnectorRegistry): string {
  return registry
    .list()
    .flatMap((c) => c.schemes.map((s) => `${s}//`))
    .join(', ');
}

/** The connection kind a URL's scheme stands for, as the registered connectors claim their schemes. */
export function inferKind(url: string, registry: ConnectorRegistry, flag = 'url'): string {
  const kind = registry.kindOfUrl(url);
  if (kind === undefined) {
    throw new UsageError(
      `[ferry] cannot tell the connection kind of --${flag} ${JSON.stringify(url)}: expected a URL starting with ${knownSchemes(registry)}, or give the kind with --${flag.replace(/-url$/, '-kind')}`,
    );
  }
  return kind;
}

/** `KEY=VALUE`, VALUE parsed as JSON when it parses (numbers, booleans, objects), else kept as a string. */
export function parseKeyValue(text: string, flag: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`[ferry] --${flag} expects KEY=VALUE, got ${JSON.stringify(text)}`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  try {
    return [key, JSON.parse(raw)];
  } catch {
    return [key, raw];
  }
}

function keyValues(list: readonly string[] | undefined, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list ?? []) {
    const [key, value] = parseKeyValue(item, flag);
    out[key] = value;
  }
  return out;
}

/** A number flag as a number when it reads as one; otherwise as given, so that zod names the field and the value. */
function numberOrText(text: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** The flow-level settings given as flags: batchSize, maxBatches, stopWhenEmpty, whenFull, pollIntervalMs. */
export function flowSettingsFromFlags(values: RunFlagValues): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (values['batch-size'] !== undefined) settings.batchSize = numberOrText(values['batch-size']);
  if (values['max-batches'] !== undefined) settings.maxBatches = numberOrText(values['max-batches']);
  if (values.follow === true) settings.stopWhenEmpty = false;
  if (values['when-full'] !== undefined) settings.whenFull = values['when-full'];
  if (values['poll-interval-ms'] !== undefined) settings.pollIntervalMs = numberOrText(values['poll-interval-ms']);
  return settings;
}

/** True when the flags describe a flow on their own, with no config file. */
export function isOneOff(values: RunFlagValues): boolean {
  return values['source-url'] !== undefined || values['sink-url'] !== undefined;
}

export const oneOffFlowName = 'one-off';

/**
 * The config object for a flow described by flags only: connections `source`
 * and `sink` and one flow, to be parsed by the same schema as a file.
 * Without `--sink-url` the sink uses the source's server.
 */
export function oneOffConfigInput(
  values: RunFlagValues,
  registry: ConnectorRegistry,
  flowName = oneOffFlowName,
): Record<string, unknown> {
  const sourceUrl = values['source-url'] ?? values['sink-url'];
  const sinkUrl = values['sink-url'] ?? values['source-url'];
  if (sourceUrl === undefined || sinkUrl === undefined) {
    throw new UsageError('[ferry] a flow without a config file needs --source-url (and --sink-url when it differs)');
  }
  const sourceKind = values['source-kind'] ?? inferKind(sourceUrl, registry, 'source-url');
  const sinkKind = values['sink-kind'] ?? inferKind(sinkUrl, registry, 'sink-url');
  return {
    connections: {
      source: { kind: sourceKind, url: sourceUrl },
      sink: { kind: sinkKind, url: sinkUrl },
    },
    flows: {
      [flowName]: {
        source: { ...keyValues(values.source, 'source'), connection: 'source' },
        sink: { ...keyValues(values.sink, 'sink'), connection: 'sink' },
        ...flowSettingsFromFlags(values),
      },
    },
  };
}

/** A file's config with one flow's settings and endpoint keys replaced by the flags. */
export function applyFlowOverrides(input: unknown, flowName: string, values: RunFlagValues): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const config = input as Record<string, unknown>;
  const flows = config.flows;
  if (flows === null || typeof flows !== 'object' || Array.isArray(flows)) return input;
  const flow = (flows as Record<string, unknown>)[flowName];
  // An unknown flow is reported by getFlow later, with the names the file has.
  if (flow === null || typeof flow !== 'object' || Array.isArray(flow)) return input;
  const current = flow as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...current, ...flowSettingsFromFlags(values) };
  for (const role of ['source', 'sink'] as const) {
    const extra = keyValues(values[role], role);
    if (Object.keys(extra).length === 0) continue;
    const endpoint = current[role];
    merged[role] = { ...(endpoint !== null && typeof endpoint === 'object' ? endpoint : {}), ...extra };
  }
  return { ...config, flows: { ...(flows as Record<string, unknown>), [flowName]: merged } };
}

export interface RunTarget {
  readonly config: FerryConfig;
  readonly flowName: string;
  /** The connectors the run builds with: the given ones and the config's plug-ins. */
  readonly registry: ConnectorRegistry;
}

/**
 * What `ferry run` runs: `<config-file> <flow-name>` with optional overrides,
 * or a one-off flow described by `--source-url`/`--sink-url` (and an optional
 * flow name). A config file's plug-ins are loaded before it is checked.
 */
export async function resolveRunTarget(
  positionals: readonly string[],
  values: RunFlagValues,
  env: Env,
  registry: ConnectorRegistry,
): Promise<RunTarget> {
  if (isOneOff(values)) {
    if (positionals.length > 1) {
      throw new UsageError(
        '[ferry] --source-url/--sink-url describe a flow without a config file: give at most a flow name, not a file',
      );
    }
    const flowName = positionals[0] ?? oneOffFlowName;
    const input = oneOffConfigInput(values, registry, flowName);
    return { config: parseConfig(input, 'flow from the command line', registry.kinds()), flowName, registry };
  }
  for (const flag of ['source-kind', 'sink-kind'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`[ferry] --${flag} goes with --source-url/--sink-url`);
  }
  const [file, flowName, ...rest] = positionals;
  if (file === undefined) throw new UsageError('[ferry] missing <config-file>: ferry run <config-file> <flow-name>');
  if (flowName === undefined) throw new UsageError('[ferry] missing <flow-name>: ferry run <config-file> <flow-name>');
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  const read = readConfigInput(file, env);
  const extended = await loadPlugins(read, file, registry);
  const input = applyFlowOverrides(read, flowName, values);
  return { config: parseConfig(input, file, extended.kinds()), flowName, registry: extended };
}
