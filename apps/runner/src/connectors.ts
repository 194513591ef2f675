import { clickHouseConnector } from '@ferry/clickhouse';
import { type ConnectorDefinition, type ConnectorRegistry, createConnectorRegistry } from '@ferry/core';
import { mongoConnector } from '@ferry/mongo';
import { natsConnector } from '@ferry/nats';
import { rabbitMqConnector } from '@ferry/rabbitmq';
import { redisStreamConnector } from '@ferry/redis-stream';

/**
 * The connectors this release ships, one line each, in the order the edge
 * matrix lists them. The only file of the runner that imports a connector
 * package: everything else is handed the registry made from this list (and
 * extended by a config's `plugins:`).
 */
export const installedConnectors: readonly ConnectorDefinition[] = [
  redisStreamConnector,
  rabbitMqConnector,
  mongoConnector,
  clickHouseConnector,
  natsConnector,
];

/** The registry of the installed connectors, or of the given ones (tests). */
export function createRegistry(connectors: readonly ConnectorDefinition[] = installedConnectors): ConnectorRegistry {
  return createConnectorRegistry(connectors);
}
