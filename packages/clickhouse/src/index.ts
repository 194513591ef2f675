export {
  type ClickHouseSinkConfig,
  type ClickHouseSinkOptions,
  type ClickHouseSourceConfig,
  type ClickHouseSourceOptions,
  clickHouseSinkOptionsSchema,
  clickHouseSourceOptionsSchema,
} from './clickhouse-config.js';
export { clickHouseConnector } from './clickhouse-connector.js';
export { inspectClickHouse } from './clickhouse-inspect.js';
export { createClickHouseSink } from './clickhouse-sink.js';
export {
  type ClickHouseHandle,
  checkpointTable,
  createCheckpointTableSql,
  createClickHouseSource,
} from './clickhouse-source.js';
export { isIdentifier, quoteIdentifier } from './clickhouse-sql.js';
