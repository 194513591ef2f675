import type { ConnectorDefinition } from '@ferry/core';
import { mongoTarget } from './mongo-config.js';
import { createMongoSink } from './mongo-sink.js';
import { createMongoSource } from './mongo-source.js';

export { documentToValue, maxDocumentBytes, recordToDocument, renderId } from './mongo-codec.js';
export {
  type MongoSinkConfig,
  type MongoSinkOptions,
  type MongoSourceConfig,
  type MongoSourceOptions,
  mongoSinkOptionsSchema,
  mongoSourceOptionsSchema,
} from './mongo-config.js';
export { createMongoSink } from './mongo-sink.js';
export { createMongoSource, type MongoHandle } from './mongo-source.js';

/** What the runner registers under the kind `mongo` (letter M). */
export const mongoConnector: ConnectorDefinition = {
  kind: 'mongo',
  letter: 'M',
  createSource: createMongoSource,
  createSink: createMongoSink,
  target: mongoTarget,
};
