import { describeError, withTimeout } from '@ferry/core';
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { ConfigEndpoint } from './config-endpoints.js';
import { redisOptionsFromUrl } from './control.js';
import type { DeadLetterEntry } from './dashboard-snapshot.js';

/**
 * Counts what waits in a stream, queue, collection or table, with one cheap
 * call of each system's own client: XLEN, a passive queue declare's message
 * count, estimatedDocumentCount, `SELECT count()`. One client per connection,
 * opened on first use and kept; a failure is the caller's to show, never fatal.
 */
export interface DepthProbe {
  /** The count; rejects with a short reason. */
  depth(endpoint: ConfigEndpoint): Promise<number>;
  /** The newest dead letters, where they can be read without taking them; undefined otherwise. */
  latest(endpoint: ConfigEndpoint, count: number): Promise<DeadLetterEntry[] | undefined>;
  close(): Promise<void>;
}

export interface DepthProbeOptions {
  /** How long one count may take before it is reported as unanswered. */
  readonly timeoutMs?: number;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

function answered<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(promise, ms, () => new Error(`${what}: no answer in ${ms / 1000} s`));
}

/** A dead letter as the pump writes it (reason, sourceId, rejectedAt…), from a decoded value. */
function entryOf(value: Record<string, unknown>, id?: string): DeadLetterEntry {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const sourceId = text(value.sourceId);
  const at = text(value.rejectedAt);
  return {
    ...(id === undefined ? {} : { id }),
    reason: text(value.reason) ?? '(no reason recorded)',
    ...(sourceId === undefined ? {} : { sourceId }),
    ...(at === undefined ? {} : { at }),
  };
}

/** A stream entry's fields: the `fields` codec's keys, or the `json` codec's one field holding the value. */
function streamEntry(id: string, fields: readonly string[], jsonField: string): DeadLetterEntry {
  const value: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) value[fields[i]!] = fields[i + 1];
  if (value.reason === undefined && typeof value[jsonField] === 'string') {
    try {
      const parsed = JSON.parse(value[jsonField] as string) as unknown;
      if (parsed !== null && typeof parsed === 'object') return entryOf(parsed as Record<string, unknown>, id);
    } catch {
      // Not JSON: shown without a reason.
    }
  }
  return entryOf(value, id);
}

/** The part of a driver's message an operator acts on: RabbitMQ's `NOT_FOUND - no queue …`, ClickHouse's exception text. */
export function shortReason(message: string): string {
  const amqp = /NOT_FOUND - ([^"]+)/.exec(message)?.[1];
  if (amqp !== undefined) return amqp.trim();
  const clickhouse = /DB::Exception: (.+?)(?:, e\.what\(\)|$)/.exec(message)?.[1];
  if (clickhouse !== undefined) return clickhouse.trim();
  return message.replace(/^\[[^\]]+\] /, '');
}

export function createDepthProbe(options: DepthProbeOptions = {}): DepthProbe {
  const timeoutMs = options.timeoutMs ?? 3000;
  const redis = new Map<string, Redis>();
  const rabbit = new Map<string, Promise<ChannelModel>>();
  const mongo = new Map<string, Promise<MongoClient>>();

  const redisOf = (e: ConfigEndpoint): Redis => {
    let client = redis.get(e.connection);
    if (client === undefined) {
      client = new Redis({
        ...redisOptionsFromUrl(String(e.options.url)),
        connectionName: 'ferry:dashboard',
        lazyConnect: true,
        connectTimeout: timeoutMs,
        maxRetriesPerRequest: 1,
      });
      client.on('error', () => {});
      redis.set(e.connection, client);
    }
    return client;
  };

  const rabbitOf = (e: ConfigEndpoint): Promise<ChannelModel> => {
    let model = rabbit.get(e.connection);
    if (model === undefined) {
      model = amqpConnect(String(e.options.url), {
        timeout: timeoutMs,
        clientProperties: { connection_name: 'ferry:dashboard' },
      });
      const forget = () => {
        if (rabbit.get(e.connection) === model) rabbit.delete(e.connection);
      };
      model.then((m) => {
        m.on('error', () => {});
        m.on('close', forget);
      }, forget);
      rabbit.set(e.connection, model);
    }
    return model;
  };

  const mongoOf = (e: ConfigEndpoint): Promise<MongoClient> => {
    let client = mongo.get(e.connection);
    if (client === undefined) {
      const c = new MongoClient(String(e.options.url), {
        appName: 'ferry dashboard',
        serverSelectionTimeoutMS: timeoutMs,
        connectTimeoutMS: timeoutMs,
      });
      const pending: Promise<MongoClient> = c.connect().catch(async (error: unknown) => {
        if (mongo.get(e.connection) === pending) mongo.delete(e.connection);
        await c.close().catch(() => {});
        throw error;
      });
      // The caller sees the failure; this copy only keeps it from being reported as unhandled.
      pending.catch(() => {});
      client = pending;
      mongo.set(e.connection, client);
    }
    return client;
  };

  const collectionOf = async (e: ConfigEndpoint) => {
    if (e.database === undefined) throw new Error('no database: give database in the connection or the url path');
    return (await mongoOf(e)).db(e.database).collection(e.name);
  };

  const clickhouseCount = async (e: ConfigEndpoint): Promise<number> => {
    const database = e.database ?? 'default';
    if (!identifier.test(database) || !identifier.test(e.name)) throw new Error('not a plain table name');
    const url = new URL(String(e.options.url));
    const user = typeof e.options.username === 'string' ? e.options.username : decodeURIComponent(url.username);
    const password = typeof e.options.password === 'string' ? e.options.password : decodeURIComponent(url.password);
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (user !== '') headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    url.search = '';
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: `SELECT count() FROM ${database}.${e.name} FORMAT TabSeparated`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.text()).trim();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.split('\n')[0]!.slice(0, 200)}`);
    return Number(body);
  };

  const count = async (e: ConfigEndpoint): Promise<number> => {
    switch (e.kind) {
      case 'redis-stream':
        return redisOf(e).xlen(e.name);
      case 'rabbitmq': {
        if (e.what === 'exchange') throw new Error('an exchange holds no messages');
        const channel = await (await rabbitOf(e)).createChannel();
        // A missing queue closes the channel with 404: the error is the answer, the channel is spent.
        channel.on('error', () => {});
        try {
          return (await channel.checkQueue(e.name)).messageCount;
        } finally {
          await channel.close().catch(() => {});
        }
      }
      case 'mongo':
        return (await collectionOf(e)).estimatedDocumentCount();
      case 'clickhouse':
        return clickhouseCount(e);
      default:
        throw new Error(`no depth for kind ${JSON.stringify(e.kind)}`);
    }
  };

  return {
    async depth(e) {
      try {
        return await answered(count(e), timeoutMs, e.what);
      } catch (error) {
        throw new Error(shortReason(describeError(error)), { cause: error });
      }
    },
    async latest(e, n) {
      if (e.kind === 'redis-stream') {
        const field = typeof e.options.field === 'string' ? e.options.field : 'data';
        const entries = await answered(redisOf(e).xrevrange(e.name, '+', '-', 'COUNT', n), timeoutMs, 'XREVRANGE');
        return entries.map(([id, fields]) => streamEntry(id, fields, field));
      }
      if (e.kind === 'mongo') {
        const docs = await answered(
          (await collectionOf(e))
            .find({}, { projection: { reason: 1, sourceId: 1, rejectedAt: 1 } })
            .sort({ rejectedAt: -1 })
            .limit(n)
            .toArray(),
          timeoutMs,
          'find',
        );
        return docs.map((d) => entryOf(d as Record<string, unknown>, String(d._id)));
      }
      return undefined;
    },
    async close() {
      const closing: Promise<unknown>[] = [];
      for (const client of redis.values()) client.disconnect();
      for (const model of rabbit.values()) closing.push(model.then((m) => m.close()).catch(() => {}));
      for (const client of mongo.values()) closing.push(client.then((c) => c.close()).catch(() => {}));
      redis.clear();
      rabbit.clear();
      mongo.clear();
      await Promise.allSettled(closing);
    },
  };
}
