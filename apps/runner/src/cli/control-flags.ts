import type { ConnectorRegistry } from '@ferry/core';
import { connectControl } from '../control/index.js';
import { JobStore } from '../control/jobs.js';
import { controlSettings, loadServerConfig, type ServerConfig } from '../server-config.js';
import type { CliIo } from './command.js';
import { UsageError } from './run-args.js';

/** The flags of every command that reaches the control store: its config, its Redis, its key prefix. */
export const controlFlags = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function positiveInt(text: string | undefined, flag: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`[ferry] --${flag} expects an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

/** Runs `fn` with the job store of the control store that the flags, the environment or the config name. */
export async function withStore<T>(
  values: { config?: string; redis?: string; prefix?: string },
  io: CliIo,
  connectors: ConnectorRegistry,
  fn: (store: JobStore) => Promise<T>,
  loaded?: ServerConfig,
): Promise<T> {
  const server =
    loaded ??
    (values.config === undefined
      ? undefined
      : (await loadServerConfig(values.config, io.env, values.redis, connectors)).server);
  const control = controlSettings(values, io.env, server);
  const redis = await connectControl(control.url, {}, control.tls);
  const store = new JobStore(redis, control.prefix);
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => {});
    redis.disconnect();
  }
}
