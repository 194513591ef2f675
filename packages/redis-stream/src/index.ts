import type { ConnectorDefinition } from '@ferry/core';
import { redisStreamTarget } from './redis-stream-config.js';
import { createRedisStreamSink } from './redis-stream-sink.js';
import { createRedisStreamSource } from './redis-stream-source.js';

export {
  DecodeError,
  decodeFields,
  decodeFieldValue,
  decodeJson,
  encodeFields,
  encodeFieldValue,
  encodeJson,
  type RedisStreamCodec,
} from './redis-stream-codec.js';
export {
  type RedisClientInput,
  type RedisStreamSinkConfig,
  type RedisStreamSinkOptions,
  type RedisStreamSourceConfig,
  type RedisStreamSourceOptions,
  redisStreamSinkOptionsSchema,
  redisStreamSourceOptionsSchema,
} from './redis-stream-config.js';
export { directMoveScript } from './redis-stream-direct.js';
export { addEntriesScript, createRedisStreamSink, scriptChunk } from './redis-stream-sink.js';
export { createRedisStreamSource, type RedisStreamHandle } from './redis-stream-source.js';

/** What the runner registers under the kind `redis-stream` (letter S). */
export const redisStreamConnector: ConnectorDefinition = {
  kind: 'redis-stream',
  letter: 'S',
  createSource: createRedisStreamSource,
  createSink: createRedisStreamSink,
  target: redisStreamTarget,
};
