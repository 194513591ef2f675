import { type ConnectionSpec, describeError, withTimeout } from '@ferry/core';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { MongoClient, MongoServerError } from 'mongodb';
import { maskUrl, redisOptionsFromUrl } from './control.js';

export interface ConnectionCheck {
  readonly name: string;
  readonly kind: string;
  /** The URL without its password. */
  readonly target: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly detail: string;
}

const timeoutMs = 4000;

function answered<T>(promise: Promise<T>, what: string): Promise<T> {
  return withTimeout(promise, timeoutMs, () => new Error(`${what}: no answer in ${timeoutMs / 1000} s`));
}

/** Classifies a failure in the words an operator acts on. */
function explain(error: unknown): string {
  const text = describeError(error);
  if (/NOAUTH|WRONGPASS|invalid username|ACCESS_REFUSED|403|401|Authentication/i.test(text)) {
    return `credentials refused: ${text}`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|no answer|timed out/i.test(text)) return `unreachable: ${text}`;
  return text;
}

async function checkRedis(url: string): Promise<{ version?: string; detail: string }> {
  const redis = new Redis({
    ...redisOptionsFromUrl(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  redis.on('error', (error) => {
    lastError = error;
  });
  try {
    // ioredis rejects a failed connect with "Connection is closed"; the cause came as an event.
    await answered(redis.connect(), 'connect').catch((error) => {
      throw lastError ?? error;
    });
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    return { ...(version === undefined ? {} : { version }), detail: 'reachable, PING and INFO answered' };
  } finally {
    redis.disconnect();
  }
}

async function checkRabbit(url: string): Promise<{ version?: string; detail: string }> {
  const connection = await answered(amqpConnect(url, { timeout: timeoutMs }), 'connect');
  try {
    const version = connection.connection.serverProperties.version;
    return { ...(version === undefined ? {} : { version }), detail: 'reachable, logged in' };
  } finally {
    await connection.close().catch(() => {});
  }
}

async function checkClickHouse(url: string): Promise<{ version?: string; detail: string }> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }
  u.username = '';
  u.password = '';
  u.pathname = '/';
  u.search = '?query=SELECT%20version()';
  const response = await answered(fetch(u, { headers }), 'HTTP');
  const body = (await response.text()).trim();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`);
  return { version: body, detail: 'reachable, query answered' };
}

/**
 * MongoDB through the driver the mongo connector uses: connect (server
 * selection, and the credentials of the URL checked by the handshake), then
 * `ping` and `buildInfo` for the version. A refused login is told apart from
 * an unreachable server by its error code.
 */
async function checkMongo(url: string): Promise<{ version?: string; detail: string }> {
  const client = new MongoClient(url, {
    appName: 'ferry doctor',
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  try {
    try {
      await client.connect();
    } catch (error) {
      if (error instanceof MongoServerError && [18, 11, 13].includes(Number(error.code))) {
        throw new Error(`Authentication failed (code ${error.code}): ${error.message}`);
      }
      throw error;
    }
    const admin = client.db('admin');
    await admin.command({ ping: 1 });
    const info = await admin.command({ buildInfo: 1 });
    const version = typeof info.version === 'string' ? info.version : undefined;
    const user = /^mongodb(?:\+srv)?:\/\/[^@/]+@/.test(url);
    return {
      ...(version === undefined ? {} : { version }),
      detail: `reachable, ping and buildInfo answered${user ? ', logged in' : ''}`,
    };
  } finally {
    await client.close().catch(() => {});
  }
}

/** Checks one connection: reachable, server version where cheap, credentials. */
export async function checkConnection(name: string, connection: ConnectionSpec): Promise<ConnectionCheck> {
  const { kind, url } = connection;
  const base = { name, kind, target: maskUrl(url) };
  try {
    const found =
      kind === 'redis-stream'
        ? await checkRedis(url)
        : kind === 'rabbitmq'
          ? await checkRabbit(url)
          : kind === 'clickhouse'
            ? await checkClickHouse(url)
            : kind === 'mongo'
              ? await checkMongo(url)
              : await Promise.reject(new Error(`no check for kind ${JSON.stringify(kind)}`));
    return { ...base, ok: true, ...found };
  } catch (error) {
    return { ...base, ok: false, detail: explain(error) };
  }
}

/** A plain table: one row per connection. */
export function formatChecks(checks: readonly ConnectionCheck[]): string {
  const rows = [
    ['CONNECTION', 'KIND', 'TARGET', 'STATUS', 'VERSION', 'DETAIL'],
    ...checks.map((c) => [c.name, c.kind, c.target, c.ok ? 'ok' : 'FAILED', c.version ?? '-', c.detail]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
