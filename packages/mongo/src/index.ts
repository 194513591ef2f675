export { documentToValue, maxDocumentBytes, recordToDocument, renderId } from './mongo-codec.js';
export {
  type MongoSinkConfig,
  type MongoSinkOptions,
  type MongoSourceConfig,
  type MongoSourceOptions,
  mongoSinkOptionsSchema,
  mongoSourceOptionsSchema,
} from './mongo-config.js';
export { mongoConnector } from './mongo-connector.js';
export { inspectMongo } from './mongo-inspect.js';
export { createMongoSink } from './mongo-sink.js';
export { createMongoSource, type MongoHandle } from './mongo-source.js';
