import { ConfigError, type FerryConfig, parseConfig } from '@ferry/core';
import { z } from 'zod';
import { type Env, readConfigInput } from './config-file.js';

export const defaultControlUrl = 'redis://127.0.0.1:6379';
export const defaultQueuePrefix = 'ferry';
export const defaultPort = 24104;
export const defaultHost = '127.0.0.1';

/**
 * The runner's own keys of a config file, next to `connections` and `flows`:
 * where the control store is, and the API's token. Core's config schema is
 * strict, so they are taken off before it parses the rest.
 */
const serverKeysSchema = z.strictObject({
  control: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
        .optional(),
      prefix: z.string().min(1).optional(),
    })
    .optional(),
  api: z.strictObject({ token: z.string().min(1).optional() }).optional(),
});

const parallelismSchema = z.int().min(1).max(64);

export interface ServerConfig {
  readonly config: FerryConfig;
  /** `parallelism` of each flow of the file that sets one. */
  readonly parallelism: Readonly<Record<string, number>>;
  readonly controlUrl?: string;
  readonly prefix?: string;
  readonly token?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Splits a config input into core's part and the runner's (`control`, `api`,
 * each flow's `parallelism`) and validates both.
 */
export function parseServerConfig(input: unknown, source = 'config'): ServerConfig {
  if (!isObject(input)) return { config: parseConfig(input, source), parallelism: {} };
  const { control, api, ...rest } = input;
  const keys = serverKeysSchema.safeParse({ control, api });
  if (!keys.success) {
    const lines = keys.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`[ferry] invalid ${source}:\n${lines.join('\n')}`, { cause: keys.error });
  }
  const parallelism: Record<string, number> = {};
  if (isObject(rest.flows)) {
    const flows: Record<string, unknown> = {};
    for (const [name, flow] of Object.entries(rest.flows)) {
      if (isObject(flow) && 'parallelism' in flow) {
        const { parallelism: p, ...others } = flow;
        const checked = parallelismSchema.safeParse(p);
        if (!checked.success) {
          throw new ConfigError(
            `[ferry] invalid ${source}:\n  - flows.${name}.parallelism: expected an integer from 1 to 64 (got ${JSON.stringify(p)})`,
          );
        }
        parallelism[name] = checked.data;
        flows[name] = others;
      } else {
        flows[name] = flow;
      }
    }
    rest.flows = flows;
  }
  return {
    config: parseConfig(rest, source),
    parallelism,
    controlUrl: keys.data.control?.url,
    prefix: keys.data.control?.prefix,
    token: keys.data.api?.token,
  };
}

/** The config of `ferry serve|api|worker`: a file, or one `default` redis-stream connection on the control store. */
export function loadServerConfig(file: string | undefined, env: Env, controlUrl?: string): ServerConfig {
  if (file !== undefined) return parseServerConfig(readConfigInput(file, env), file);
  const url = controlUrl ?? env.FERRY_REDIS_URL ?? defaultControlUrl;
  return parseServerConfig({ connections: { default: { kind: 'redis-stream', url } } }, 'default config');
}

export interface ControlSettings {
  readonly url: string;
  readonly prefix: string;
  readonly token?: string;
}

/** Flag, then environment, then config file, then default: where the control store is, and the token. */
export function controlSettings(
  flags: { redis?: string; prefix?: string },
  env: Env,
  server: ServerConfig | undefined,
): ControlSettings {
  const url = flags.redis ?? env.FERRY_REDIS_URL ?? server?.controlUrl ?? defaultControlUrl;
  if (!/^rediss?:\/\//.test(url)) {
    throw new ConfigError(`[ferry] the control store must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  const prefix = flags.prefix ?? env.FERRY_QUEUE_PREFIX ?? server?.prefix ?? defaultQueuePrefix;
  const token = env.FERRY_API_TOKEN || server?.token;
  return token === undefined || token === '' ? { url, prefix } : { url, prefix, token };
}
