import type { ConnectorDefinition } from '@ferry/core';
import { rabbitMqTarget } from './rabbitmq-config.js';
import { createRabbitMqSink } from './rabbitmq-sink.js';
import { createRabbitMqSource } from './rabbitmq-source.js';

export { decodeBody, encodeBody, type RabbitMqCodec, stringifyHeaders } from './rabbitmq-codec.js';
export {
  type RabbitMqSinkConfig,
  type RabbitMqSinkOptions,
  type RabbitMqSourceConfig,
  type RabbitMqSourceOptions,
  rabbitMqSinkOptionsSchema,
  rabbitMqSourceOptionsSchema,
} from './rabbitmq-config.js';
export { createRabbitMqSink } from './rabbitmq-sink.js';
export { createRabbitMqSource, type RabbitMqHandle } from './rabbitmq-source.js';

/** What the runner registers under the kind `rabbitmq` (letter Q). */
export const rabbitMqConnector: ConnectorDefinition = {
  kind: 'rabbitmq',
  letter: 'Q',
  createSource: createRabbitMqSource,
  createSink: createRabbitMqSink,
  target: rabbitMqTarget,
};
