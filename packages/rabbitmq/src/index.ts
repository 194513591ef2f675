export { decodeBody, encodeBody, type RabbitMqCodec, stringifyHeaders } from './rabbitmq-codec.js';
export {
  type RabbitMqSinkConfig,
  type RabbitMqSinkOptions,
  type RabbitMqSourceConfig,
  type RabbitMqSourceOptions,
  rabbitMqSinkOptionsSchema,
  rabbitMqSourceOptionsSchema,
} from './rabbitmq-config.js';
export { rabbitMqConnector } from './rabbitmq-connector.js';
export { inspectRabbitMq } from './rabbitmq-inspect.js';
export { createRabbitMqSink } from './rabbitmq-sink.js';
export { createRabbitMqSource, type RabbitMqHandle } from './rabbitmq-source.js';
