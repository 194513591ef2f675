import type { ConnectorDefinition } from '@ferry/core';
import { clickHouseTarget } from './clickhouse-config.js';
import { createClickHouseSink } from './clickhouse-sink.js';
import { createClickHouseSource } from './clickhouse-source.js';

export {
  type ClickHouseSinkConfig,
  type ClickHouseSinkOptions,
  type ClickHouseSourceConfig,
  type ClickHouseSourceOptions,
  clickHouseSinkOptionsSchema,
  clickHouseSourceOptionsSchema,
} from './clickhouse-config.js';
export { createClickHouseSink } from './clickhouse-sink.js';
export {
  type ClickHouseHandle,
  checkpointTable,
  createCheckpointTableSql,
  createClickHouseSource,
} from './clickhouse-source.js';
export { isIdentifier, quoteIdentifier } from './clickhouse-sql.js';

/** What the runner registers under the kind `clickhouse` (letter C). */
export const clickHouseConnector: ConnectorDefinition = {
  kind: 'clickhouse',
  letter: 'C',
  createSource: createClickHouseSource,
  createSink: createClickHouseSink,
  target: clickHouseTarget,
};
