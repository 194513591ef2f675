import {
  type DeadLetterSummary,
  deadLetterSummary,
  type Inspector,
  type InspectSettings,
  inspectCall,
  withTimeout,
} from '@ferry/core';
import type { Redis } from 'ioredis';
import { RedisStreamClient } from './redis-stream-client.js';
import { decodeJson } from './redis-stream-codec.js';
import { parseConnectionOptions, parseSinkOptions, parseSourceOptions } from './redis-stream-config.js';

/** The stream an endpoint's options name, a source's or a sink's, and the `json` codec's field. */
function endpointOf(options: unknown): { stream: string; field: string } {
  try {
    return parseSourceOptions(options);
  } catch (error) {
    try {
      return parseSinkOptions(options);
    } catch {
      throw error;
    }
  }
}

/**
 * A dead letter as a stream entry: the `fields` codec's fields (reason,
 * sourceId, rejectedAt as ISO text), or the `json` codec's one field holding
 * the whole value; a stream of either can be a dead-letter sink.
 */
function summaryOf(id: string, fields: readonly string[], field: string): DeadLetterSummary {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i]!, fields[i + 1]!]);
  const value = Object.fromEntries(pairs);
  if (value.reason === undefined && value[field] !== undefined) {
    try {
      return deadLetterSummary(decodeJson(fields, field), id);
    } catch {
      // Not ferry's JSON: shown without a reason.
    }
  }
  return deadLetterSummary(value, id);
}

/**
 * Questions about one Redis server through the package's own client: PING
 * and INFO for the version, XLEN for a depth, XREVRANGE for the newest dead
 * letters (read, not taken). One connection, opened on first use and kept.
 */
export function inspectRedisStream(options: unknown, settings: InspectSettings): Inspector {
  const { url, tls } = parseConnectionOptions(options);
  const { timeoutMs } = settings;
  // The client names itself `ferry:<connectionName>` in CLIENT LIST.
  const connectionName = settings.clientName.replace(/^ferry:/, '');
  const client = new RedisStreamClient({ url, connectionName, tls });
  let opening: Promise<Redis> | undefined;

  /** The open connection; a failed open is forgotten, so that the next question tries again. */
  const connected = (): Promise<Redis> => {
    if (opening === undefined) {
      const attempt = client.open();
      opening = attempt;
      attempt.catch(() => {
        if (opening === attempt) opening = undefined;
      });
    }
    return opening;
  };

  return {
    probe: () =>
      inspectCall('the server', timeoutMs, async () => {
        const redis = await connected();
        const info = await client.call('INFO', () => redis.info('server'));
        const version = /redis_version:(\S+)/.exec(info)?.[1];
        return { ...(version === undefined ? {} : { version }), detail: 'reachable, PING and INFO answered' };
      }),

    async depth(endpoint) {
      const { stream } = endpointOf(endpoint);
      return inspectCall('stream', timeoutMs, async () => {
        const redis = await connected();
        return client.call('XLEN', () => redis.xlen(stream));
      });
    },

    async latest(endpoint, count) {
      const { stream, field } = endpointOf(endpoint);
      const entries = await inspectCall('XREVRANGE', timeoutMs, async () => {
        const redis = await connected();
        return client.call('XREVRANGE', () => redis.xrevrange(stream, '+', '-', 'COUNT', count));
      });
      return entries.map(([id, fields]) => summaryOf(id, fields, field));
    },

    async close() {
      opening = undefined;
      await withTimeout(client.close(), timeoutMs, () => new Error('close: no answer')).catch(() => undefined);
    },
  };
}
