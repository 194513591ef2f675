import {
  ConfigError,
  type ConnectorRegistry,
  type FerryConfig,
  parseConfig,
  parseOptions,
  resolveTls,
  type TlsSettings,
  tlsSchema,
} from '@ferry/core';
import { type Env, readConfigInput } from './config-file.js';
import { defaultConnection } from './control/index.js';
import { loadPlugins } from './plugins.js';

export const defaultControlUrl = 'redis://127.0.0.1:6379';
export const defaultQueuePrefix = 'ferry';
export const defaultPort = 24104;
export const defaultHost = '127.0.0.1';

export interface ServerConfig {
  readonly config: FerryConfig;
  /** `parallelism` of each flow of the file. */
  readonly parallelism: Readonly<Record<string, number>>;
  readonly controlUrl?: string;
  readonly prefix?: string;
  readonly controlTls?: NonNullable<FerryConfig['control']>['tls'];
  readonly token?: string;
  /** `POST /s2s/` without a token, on a loopback address only. */
  readonly s2sWithoutToken: boolean;
  /** The shortest `every` of a schedule, in seconds. */
  readonly minScheduleSeconds: number;
}

/** A config with the runner's keys (`control`, `api`, each flow's `parallelism`), all checked by core's schema. */
export function parseServerConfig(input: unknown, source = 'config', kinds?: readonly string[]): ServerConfig {
  const config = parseConfig(input, source, kinds);
  const parallelism = Object.fromEntries(Object.entries(config.flows).map(([name, flow]) => [name, flow.parallelism]));
  return {
    config,
    parallelism,
    controlUrl: config.control?.url,
    prefix: config.control?.prefix,
    controlTls: config.control?.tls,
    token: config.api?.token,
    s2sWithoutToken: config.api?.s2sWithoutToken ?? false,
    minScheduleSeconds: config.api?.minScheduleSeconds ?? 1,
  };
}

export interface LoadedServerConfig {
  readonly server: ServerConfig;
  /** The given connectors and the config's plug-ins. */
  readonly registry: ConnectorRegistry;
}

/**
 * The config of `ferry serve|api|worker` and the commands beside them: a file
 * (its plug-ins loaded first, then checked), or one `default` connection on
 * the control store.
 */
export async function loadServerConfig(
  file: string | undefined,
  env: Env,
  controlUrl: string | undefined,
  registry: ConnectorRegistry,
): Promise<LoadedServerConfig> {
  if (file !== undefined) {
    const input = readConfigInput(file, env);
    const extended = await loadPlugins(input, file, registry);
    return { server: parseServerConfig(input, file, extended.kinds()), registry: extended };
  }
  const url = controlUrl ?? env.FERRY_REDIS_URL ?? defaultControlUrl;
  const input = { connections: { default: defaultConnection(url, controlTls(url, env, undefined)) } };
  return { server: parseServerConfig(input, 'default config', registry.kinds()), registry };
}

export interface ControlSettings {
  readonly url: string;
  readonly prefix: string;
  /** A rediss:// store's CA and client certificate, read. */
  readonly tls?: TlsSettings;
  readonly token?: string;
}

/** The environment's files of a rediss:// control store, beside FERRY_REDIS_URL. */
const tlsEnv = { caFile: 'FERRY_REDIS_CA_FILE', certFile: 'FERRY_REDIS_CERT_FILE', keyFile: 'FERRY_REDIS_KEY_FILE' };

/** The control store's tls: from the environment when it names a file, else the config's `control.tls`. */
export function controlTls(url: string, env: Env, server: ServerConfig | undefined): TlsSettings | undefined {
  const fromEnv = Object.entries(tlsEnv).filter(([, name]) => (env[name] ?? '') !== '');
  const options =
    fromEnv.length > 0
      ? parseOptions(
          tlsSchema,
          Object.fromEntries(fromEnv.map(([key, name]) => [key, env[name]])),
          '[ferry] FERRY_REDIS_*_FILE',
        )
      : server?.controlTls;
  return resolveControlTls(url, options);
}

/** Reads the files of a control store's tls; a tls beside a redis:// URL would go unused, and is refused. */
export function resolveControlTls(url: string, options: ServerConfig['controlTls']): TlsSettings | undefined {
  if (options === undefined) return undefined;
  if (!url.startsWith('rediss://')) {
    throw new ConfigError(
      `[ferry] the control store's tls applies to a rediss:// URL: use rediss:// to connect over TLS`,
    );
  }
  return resolveTls(options, 'the control store');
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
  const tls = controlTls(url, env, server);
  return {
    url,
    prefix,
    ...(tls === undefined ? {} : { tls }),
    ...(token === undefined || token === '' ? {} : { token }),
  };
}

/** The server config on the control store it runs with, so that every flow planned with it keeps off that store's keys. */
export function withControl(server: ServerConfig, control: ControlSettings): ServerConfig {
  const { url, prefix } = control;
  return { ...server, controlUrl: url, prefix, config: { ...server.config, control: { url, prefix } } };
}
