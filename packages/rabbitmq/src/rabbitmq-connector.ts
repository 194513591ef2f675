import type { ConnectorDefinition, EndpointDescription } from '@ferry/core';
import {
  parseSinkOptions,
  parseSourceOptions,
  rabbitMqSinkOptionsSchema,
  rabbitMqSourceOptionsSchema,
  rabbitMqTarget,
} from './rabbitmq-config.js';
import { inspectRabbitMq } from './rabbitmq-inspect.js';
import { createRabbitMqSink } from './rabbitmq-sink.js';
import { createRabbitMqSource } from './rabbitmq-source.js';
import { rabbitMqTypes } from './rabbitmq-types-table.js';

function describeEndpoint(role: 'source' | 'sink', options: unknown): EndpointDescription {
  // A queue hands each message to one of any number of competing readers.
  if (role === 'source') return { what: 'queue', name: parseSourceOptions(options).queue, singleReader: false };
  const { queue, exchange } = parseSinkOptions(options);
  return queue !== undefined
    ? { what: 'queue', name: queue, singleReader: false }
    : { what: 'exchange', name: exchange ?? '', singleReader: false };
}

/** RabbitMQ, letter Q: a queue read with acks, written with publisher confirms. */
export const rabbitMqConnector: ConnectorDefinition = {
  kind: 'rabbitmq',
  letter: 'Q',
  title: 'RabbitMQ',
  schemes: ['amqp:', 'amqps:'],
  holds: 'stream',
  options: { source: rabbitMqSourceOptionsSchema, sink: rabbitMqSinkOptionsSchema },
  dataPlaneKeys: {
    source: ['queue', 'codec', 'prefetch', 'lingerMs', 'maxDeliveries'],
    sink: ['queue', 'exchange', 'routingKey', 'routingKeyField', 'codec', 'maxLen', 'sourceIdHeader', 'timestamp'],
  },
  createSource: createRabbitMqSource,
  createSink: createRabbitMqSink,
  target: rabbitMqTarget,
  describeEndpoint,
  bench: async () => (await import('./rabbitmq-bench-end.js')).openRabbitMqBenchEnd,
  testing: async () => (await import('./rabbitmq-test-end.js')).openRabbitMqTestEnd,
  inspect: inspectRabbitMq,
  types: rabbitMqTypes,
};
