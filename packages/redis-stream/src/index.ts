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
export { redisStreamConnector } from './redis-stream-connector.js';
export { directMoveScript } from './redis-stream-direct.js';
export { inspectRedisStream } from './redis-stream-inspect.js';
export { addEntriesScript, createRedisStreamSink, scriptChunk } from './redis-stream-sink.js';
export { createRedisStreamSource, type RedisStreamHandle } from './redis-stream-source.js';
