import type { ConnectorDefinition, DestructiveUse, EndpointDescription, EndpointRole } from '@ferry/core';
import {
  mongoSinkOptionsSchema,
  mongoSourceOptionsSchema,
  mongoTarget,
  parseSinkOptions,
  parseSourceOptions,
} from './mongo-config.js';
import { inspectMongo } from './mongo-inspect.js';
import { createMongoSink } from './mongo-sink.js';
import { createMongoSource } from './mongo-source.js';
import { mongoTypes } from './mongo-types-table.js';

function describeEndpoint(role: 'source' | 'sink', options: unknown): EndpointDescription {
  const { database, collection } = role === 'source' ? parseSourceOptions(options) : parseSinkOptions(options);
  // A source reads by one checkpointed cursor: one reader at a time.
  return { what: 'collection', name: collection, database, singleReader: role === 'source' };
}

/** A move deletes the documents it read; an upsert replaces those of the same _id. */
function destructive(role: EndpointRole, options: unknown): DestructiveUse | undefined {
  if (role === 'source') {
    const moves = parseSourceOptions(options).mode === 'move';
    return moves ? { key: 'mode', reason: 'mode "move" deletes each document once moved' } : undefined;
  }
  const upserts = parseSinkOptions(options).mode === 'upsert';
  return upserts ? { key: 'mode', reason: 'mode "upsert" replaces the documents of the same _id' } : undefined;
}

/** MongoDB, letter M: a store, read in cursor order from a checkpoint. */
export const mongoConnector: ConnectorDefinition = {
  kind: 'mongo',
  letter: 'M',
  title: 'MongoDB',
  schemes: ['mongodb:', 'mongodb+srv:'],
  holds: 'store',
  options: { source: mongoSourceOptionsSchema, sink: mongoSinkOptionsSchema },
  dataPlaneKeys: {
    // checkpointKey is not here: it could name, and advance, another reader's position.
    source: ['collection', 'mode', 'cursor', 'pollMs'],
    sink: ['collection', 'mode', 'maxDocuments'],
  },
  createSource: createMongoSource,
  createSink: createMongoSink,
  target: mongoTarget,
  describeEndpoint,
  destructive,
  bench: async () => (await import('./mongo-bench-end.js')).openMongoBenchEnd,
  testing: async () => (await import('./mongo-test-end.js')).openMongoTestEnd,
  inspect: inspectMongo,
  types: mongoTypes,
};
