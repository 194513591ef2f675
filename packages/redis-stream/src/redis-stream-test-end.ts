import { isUtf8 } from 'node:buffer';
import type { HeldRecord, OpenTestEnd, RecordValue, TestEnd } from '@ferry/core';
import { endName } from '@ferry/testkit/ends';
import { Redis } from 'ioredis';
import { redisStreamFidelity } from './redis-stream-fidelity.js';

const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const seedChunk = 1000;

/** A JSON pointer to a top-level key, as `ferry:types` names it. */
const pointer = (key: string) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/**
 * A value as an outside producer writes it with XADD: each key a field, text
 * as it is, bytes as they are, and the other kinds as their text with the
 * kind in `ferry:types`, as the README tells a producer to write them.
 */
function fieldsOf(value: RecordValue): (string | Buffer)[] {
  const fields: (string | Buffer)[] = [];
  const types: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      fields.push(key, item);
    } else if (item instanceof Uint8Array) {
      const bytes = Buffer.from(item);
      fields.push(key, bytes);
      if (isUtf8(bytes)) types[pointer(key)] = 'bytes';
    } else if (typeof item === 'bigint' || typeof item === 'boolean' || item === null) {
      fields.push(key, String(item));
      types[pointer(key)] = item === null ? 'null' : typeof item === 'bigint' ? 'integer' : 'boolean';
    } else {
      throw new Error(
        `[redis-stream test end] cannot seed key "${key}": only text, bytes, integers, booleans and null`,
      );
    }
  }
  if (Object.keys(types).length > 0) fields.push('ferry:types', JSON.stringify(types));
  return fields;
}

/** An entry as a held record: `_source_id` as its id, each other field's text (bytes tagged or not UTF-8 as a Buffer). */
function heldOf(raw: Buffer[]): HeldRecord {
  let id: string | undefined;
  let types: Record<string, string> = {};
  const fields: [string, Buffer][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString();
    if (name === '_source_id') id = raw[i + 1]!.toString();
    else if (name === 'ferry:types') types = JSON.parse(raw[i + 1]!.toString());
    else fields.push([name, raw[i + 1]!]);
  }
  const value: Record<string, string | Buffer | null> = {};
  for (const [name, bytes] of fields) {
    const tag = types[pointer(name)];
    const held = tag === 'bytes' || !isUtf8(bytes) ? bytes : tag === 'null' ? null : bytes.toString();
    Object.defineProperty(value, name, { value: held, enumerable: true, writable: true, configurable: true });
  }
  return { id, value };
}

/** Redis Streams (S) on REDIS_URL: streams of their own, read back with XRANGE. */
export const openRedisStreamTestEnd: OpenTestEnd = async ({ scope }) => {
  const url = redisUrl();
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const names: string[] = [];
  const name = (label: string) => {
    const made = endName({ prefix: 'ferry.test.', scope, label, separator: '.', allowed: /[\w.:-]/ });
    names.push(made);
    return made;
  };
  const end: TestEnd = {
    connection: () => ({ kind: 'redis-stream', url }),
    name,
    endpoint: (name) => ({ stream: name }),
    // XADD makes the stream.
    create: async () => undefined,
    async seed(name, values) {
      const ids: string[] = [];
      for (let start = 0; start < values.length; start += seedChunk) {
        const pipeline = redis.pipeline();
        for (const value of values.slice(start, start + seedChunk)) pipeline.xadd(name, '*', ...fieldsOf(value));
        for (const [error, id] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          ids.push(id as string);
        }
      }
      return ids;
    },
    async readBack(name) {
      return (await redis.xrangeBuffer(name, '-', '+')).map(([, raw]) => heldOf(raw));
    },
    count: (name) => redis.xlen(name),
    // A range-mode source deletes what was acked; a group-mode one too (XACK and XDEL).
    left: (name) => redis.xlen(name),
    async drop(name) {
      await redis.del(name);
    },
    directMove: 'same-server script',
    fidelity: redisStreamFidelity(redis, name),
    async close() {
      if (names.length > 0) await redis.del(...names);
      await redis.quit();
    },
  };
  return end;
};

export { readStream, type StreamView } from './redis-stream-fidelity.js';
