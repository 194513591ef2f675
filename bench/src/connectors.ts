import { clickHouseConnector } from '@ferry/clickhouse';
import { type ConnectorDefinition, createConnectorRegistry } from '@ferry/core';
import { mongoConnector } from '@ferry/mongo';
import { rabbitMqConnector } from '@ferry/rabbitmq';
import { redisStreamConnector } from '@ferry/redis-stream';

/**
 * The systems the bench measures, in the order of its table: every edge the
 * registry permits between them gets a row. A new system is its package's
 * definition added here (with a `bench` end, or its edges are skipped).
 */
export const connectors: readonly ConnectorDefinition[] = [
  redisStreamConnector,
  rabbitMqConnector,
  mongoConnector,
  clickHouseConnector,
];

export const registry = createConnectorRegistry(connectors);
