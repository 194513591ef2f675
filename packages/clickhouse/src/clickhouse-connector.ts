import type { ConnectorDefinition, DestructiveUse, EndpointDescription, EndpointRole } from '@ferry/core';
import {
  clickHouseSinkOptionsSchema,
  clickHouseSourceOptionsSchema,
  clickHouseTarget,
  parseSinkOptions,
  parseSourceOptions,
} from './clickhouse-config.js';
import { inspectClickHouse } from './clickhouse-inspect.js';
import { createClickHouseSink } from './clickhouse-sink.js';
import { createClickHouseSource } from './clickhouse-source.js';
import { clickHouseTypes } from './clickhouse-types-table.js';

function describeEndpoint(role: 'source' | 'sink', options: unknown): EndpointDescription {
  const { database, table } = role === 'source' ? parseSourceOptions(options) : parseSinkOptions(options);
  // A source reads by one checkpointed cursor: one reader at a time.
  return { what: 'table', name: table, database, singleReader: role === 'source' };
}

/** A move deletes the rows it read. */
function destructive(role: EndpointRole, options: unknown): DestructiveUse | undefined {
  if (role === 'sink' || parseSourceOptions(options).mode !== 'move') return undefined;
  return { key: 'mode', reason: 'mode "move" deletes each row once moved' };
}

/** ClickHouse, letter C: a store, read in cursor order from a checkpoint, written in RowBinary. */
export const clickHouseConnector: ConnectorDefinition = {
  kind: 'clickhouse',
  letter: 'C',
  title: 'ClickHouse',
  schemes: ['http:', 'https:', 'chdb:'],
  holds: 'store',
  options: { source: clickHouseSourceOptionsSchema, sink: clickHouseSinkOptionsSchema },
  dataPlaneKeys: {
    // checkpointKey is not here: it could name, and advance, another reader's position.
    source: ['table', 'cursor', 'mode', 'columns', 'jsonColumns', 'pollIntervalMs', 'deleteBatchRows'],
    sink: ['table', 'columns', 'unknownFields', 'idColumn', 'maxRows'],
  },
  createSource: createClickHouseSource,
  createSink: createClickHouseSink,
  target: clickHouseTarget,
  describeEndpoint,
  destructive,
  bench: async () => (await import('./clickhouse-bench-end.js')).openClickHouseBenchEnd,
  testing: async () => (await import('./clickhouse-test-end.js')).openClickHouseTestEnd,
  inspect: inspectClickHouse,
  types: clickHouseTypes,
};
