export { decodeBody, encodeBody, type NatsCodec } from './nats-codec.js';
export {
  type NatsSinkConfig,
  type NatsSinkOptions,
  type NatsSourceConfig,
  type NatsSourceOptions,
  natsSinkOptionsSchema,
  natsSourceOptionsSchema,
} from './nats-config.js';
export { natsConnector, natsConnector as default } from './nats-connector.js';
export { inspectNats } from './nats-inspect.js';
export { createNatsSink } from './nats-sink.js';
export { createNatsSource, type NatsHandle } from './nats-source.js';
export { natsTypes } from './nats-types.js';
