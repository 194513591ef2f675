import type { ConnectorDefinition, DestructiveUse, EndpointDescription, EndpointRole } from '@ferry/core';
import {
  parseSinkOptions,
  parseSourceOptions,
  redisStreamSinkOptionsSchema,
  redisStreamSourceOptionsSchema,
  redisStreamTarget,
} from './redis-stream-config.js';
import { inspectRedisStream } from './redis-stream-inspect.js';
import { createRedisStreamSink } from './redis-stream-sink.js';
import { createRedisStreamSource } from './redis-stream-source.js';
import { redisStreamTypes } from './redis-stream-types-table.js';

function describeEndpoint(role: 'source' | 'sink', options: unknown): EndpointDescription {
  if (role === 'sink') return { what: 'stream', name: parseSinkOptions(options).stream, singleReader: false };
  const source = parseSourceOptions(options);
  // A range is read from one cursor; a group's readers compete, each under a consumer name of its own.
  if (source.mode === 'range') return { what: 'stream', name: source.stream, singleReader: true };
  const named = (options as { consumer?: unknown }).consumer !== undefined;
  return {
    what: 'stream',
    name: source.stream,
    singleReader: false,
    ...(named ? {} : { readerOption: 'consumer' }),
    readerGroup: source.group,
  };
}

/** A range read deletes what it moved, a group read without `keep` what it acked, a trim the oldest entries. */
function destructive(role: EndpointRole, options: unknown): DestructiveUse | undefined {
  if (role === 'sink') {
    return parseSinkOptions(options).trim ? { key: 'trim', reason: 'trim deletes the oldest entries' } : undefined;
  }
  const { mode, keep } = parseSourceOptions(options);
  if (mode === 'range') return { key: 'mode', reason: 'mode "range" deletes each entry once moved' };
  return keep ? undefined : { key: 'keep', reason: 'mode "group" without keep: true deletes each entry once acked' };
}

/** Redis Streams, letter S: the reference system, a stream read by range or by consumer group. */
export const redisStreamConnector: ConnectorDefinition = {
  kind: 'redis-stream',
  letter: 'S',
  title: 'Redis Streams',
  schemes: ['redis:', 'rediss:'],
  holds: 'stream',
  options: { source: redisStreamSourceOptionsSchema, sink: redisStreamSinkOptionsSchema },
  dataPlaneKeys: {
    source: [
      'stream',
      'mode',
      'group',
      'consumer',
      'startId',
      'keep',
      'claimIdleMs',
      'maxDeliveries',
      'codec',
      'field',
      'direct',
    ],
    sink: ['stream', 'codec', 'field', 'maxLen', 'trim', 'sourceIdField', 'write'],
  },
  createSource: createRedisStreamSource,
  createSink: createRedisStreamSink,
  target: redisStreamTarget,
  describeEndpoint,
  destructive,
  bench: async () => (await import('./redis-stream-bench-end.js')).openRedisStreamBenchEnd,
  testing: async () => (await import('./redis-stream-test-end.js')).openRedisStreamTestEnd,
  inspect: inspectRedisStream,
  types: redisStreamTypes,
};
