/**
 * The control store: the runner's own Redis, not a connector.
 *
 * Everything the runner keeps for itself lives here and talks to that Redis
 * with its own client (ioredis) and queue (BullMQ): the job queue and the
 * workers that run flow jobs, the batch journal, source locks, reader
 * leases, the metrics counters. Its keys are never a flow's source or sink.
 * The one tie to the connectors: a server given no config makes up a
 * `default` connection to the same Redis (see `defaultConnection`), where
 * the original `/s2s/` callers' streams are.
 *
 * This folder is the one place of the runner that may import ioredis or
 * bullmq, or name the redis-stream kind; everything else knows connectors
 * only through the registry, and holds a client of this store as a
 * `ControlStore`.
 */
import { ConfigError, ConnectionError, describeError, maskSecrets, type TlsSettings, tlsProblem } from '@ferry/core';
import { Redis, type RedisOptions } from 'ioredis';

/** A client of the control store, as the rest of the runner holds it. */
export type ControlStore = Redis;

export const queueName = 'ferry-flows';

/**
 * Where and as whom, from a redis:// URL: options that ioredis and BullMQ both
 * take (BullMQ wants options or a client rather than a URL).
 */
export function redisOptionsFromUrl(
  url: string,
): Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'> {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL's options, with a rediss:// store's CA and client certificate when given (the system CAs otherwise). */
export function controlRedisOptions(url: string, tls?: TlsSettings): ReturnType<typeof redisOptionsFromUrl> {
  const options = redisOptionsFromUrl(url);
  return tls === undefined || options.tls === undefined ? options : { ...options, tls: { ...tls } };
}

/** The URL without its credentials, for messages. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}

/** Redis keys of ferry's own, next to BullMQ's under the same prefix. */
export function controlKeys(prefix: string) {
  const base = `${prefix}:${queueName}:ferry`;
  return {
    cancel: (id: string) => `${base}:cancel:${id}`,
    cancelled: `${base}:cancelled`,
    /** Waiting jobs removed on cancel (they are no longer BullMQ's): id scored by when. */
    removed: `${base}:removed`,
    lock: (name: string) => `${base}:lock:${name}`,
    /** The API token made at the first start when none is configured, shared by every API process. */
    apiToken: `${base}:api-token`,
    metrics: `${base}:metrics`,
    /** The batch histograms' buckets and sums, per flow and edge. */
    histograms: `${base}:histograms`,
    backlog: `${base}:backlog`,
    journal: `${base}:journal`,
    /** A reader's lease on its stable name: source (digested), flow and slot. */
    reader: (source: string, flow: string, slot: number) => `${base}:reader:${source}:${flow}:${slot}`,
  };
}

/**
 * Connects to the control store or fails with a clear ConnectionError: a
 * server that cannot run the queue must not start as if it could.
 */
export async function connectControl(url: string, options: RedisOptions = {}, tls?: TlsSettings): Promise<Redis> {
  const redis = new Redis({
    ...controlRedisOptions(url, tls),
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: null,
    // ioredis 5's curve: back within 2 s of the store; ioredis 6's default waits up to 5 s, eating into the locks' 30 s.
    retryStrategy: (times) => Math.min(times * 50, 2000),
    ...options,
  });
  // Later losses reconnect on their own; only the first connect must succeed (its socket's error says why not).
  let socketError: unknown;
  redis.on('error', (error) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const problem = tlsProblem(socketError) ?? tlsProblem(error);
    if (problem !== undefined) {
      throw new ConfigError(`[ferry] the control store ${maskUrl(url)} cannot be reached over TLS: ${problem}`, {
        cause: error,
      });
    }
    throw new ConnectionError(
      `[ferry] the control store ${maskUrl(url)} is unreachable: ${describeError(error)}; start Redis or give --redis / FERRY_REDIS_URL`,
      { cause: error },
    );
  }
  return redis;
}

/**
 * The connection a server makes up when it is given no config: a stream
 * connection named `default` on the control store's own Redis (over its TLS),
 * where the original `/s2s/` callers' streams are.
 */
export function defaultConnection(
  url: string,
  tls?: TlsSettings,
): { readonly kind: string; readonly url: string; readonly tls?: TlsSettings } {
  return tls === undefined ? { kind: defaultConnectionKind, url } : { kind: defaultConnectionKind, url, tls };
}

/** The kind of the made-up default connection, for help texts. */
export const defaultConnectionKind = 'redis-stream';
