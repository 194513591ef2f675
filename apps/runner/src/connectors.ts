import { clickHouseConnector } from '@ferry/clickhouse';
import { ConfigError, type ConnectionKind, type ConnectorDefinition, connectionKinds } from '@ferry/core';
import { mongoConnector } from '@ferry/mongo';
import { rabbitMqConnector } from '@ferry/rabbitmq';
import { redisStreamConnector } from '@ferry/redis-stream';

/** The connectors this release ships; the others come with their packages. */
export const installedConnectors: readonly ConnectorDefinition[] = [
  redisStreamConnector,
  rabbitMqConnector,
  clickHouseConnector,
  mongoConnector,
];

/** Connectors keyed by kind: how the runner turns a connection's `kind` into a source or a sink. */
export interface ConnectorRegistry {
  /** The connector for a kind, or a ConfigError saying that it is unknown or not available yet. */
  get(kind: string): ConnectorDefinition;
  has(kind: string): boolean;
  /** The installed kinds, in registration order. */
  kinds(): ConnectionKind[];
}

export function createRegistry(connectors: readonly ConnectorDefinition[] = installedConnectors): ConnectorRegistry {
  const byKind = new Map<string, ConnectorDefinition>();
  for (const connector of connectors) {
    if (byKind.has(connector.kind)) {
      throw new ConfigError(`[ferry] two connectors registered for kind "${connector.kind}"`);
    }
    byKind.set(connector.kind, connector);
  }
  return {
    get(kind) {
      const connector = byKind.get(kind);
      if (connector !== undefined) return connector;
      const installed = [...byKind.keys()].join(', ') || 'none';
      if ((connectionKinds as readonly string[]).includes(kind)) {
        throw new ConfigError(
          `[ferry] the ${kind} connector is not available yet in this release (installed: ${installed})`,
        );
      }
      throw new ConfigError(
        `[ferry] unknown connection kind "${kind}": expected one of ${connectionKinds.join(', ')} (installed: ${installed})`,
      );
    },
    has(kind) {
      return byKind.has(kind);
    },
    kinds() {
      return [...byKind.values()].map((c) => c.kind);
    },
  };
}
