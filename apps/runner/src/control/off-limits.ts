import {
  ConfigError,
  type ConnectorDefinition,
  type ConnectorRegistry,
  type EndpointRole,
  type FerryConfig,
} from '@ferry/core';
import { defaultControlUrl, defaultQueuePrefix } from '../server-config.js';
import { defaultConnectionKind } from './index.js';

/** Where the control store is: its Redis and the prefix of every key the runner and BullMQ keep there. */
export interface ControlArea {
  readonly url: string;
  readonly prefix: string;
}

/** The control store a config names, or the one a runner uses when it names none. */
export function controlAreaOf(config: FerryConfig): ControlArea {
  return { url: config.control?.url ?? defaultControlUrl, prefix: config.control?.prefix ?? defaultQueuePrefix };
}

/** The control store's server as connectors' `target` names servers: its Redis connector's own answer. */
function controlServer(area: ControlArea, registry: ConnectorRegistry): string | undefined {
  if (!registry.has(defaultConnectionKind)) return undefined;
  try {
    return registry.get(defaultConnectionKind).target?.('sink', { url: area.url, stream: area.prefix })?.server;
  } catch {
    return undefined;
  }
}

/**
 * A check that refuses an endpoint on the control store's keys: the same
 * server and database as the control store, and a name under its prefix
 * (BullMQ's queue and events, the journal, locks, leases). A flow there
 * would move or add entries the runner itself depends on.
 */
export function controlStoreGuard(area: ControlArea, registry: ConnectorRegistry) {
  const server = controlServer(area, registry);
  return (connector: ConnectorDefinition, role: EndpointRole, options: object): ConfigError | undefined => {
    if (server === undefined || connector.target?.(role, options)?.server !== server) return undefined;
    const { what, name } = connector.describeEndpoint(role, options);
    if (name !== area.prefix && !name.startsWith(`${area.prefix}:`)) return undefined;
    return new ConfigError(
      `[ferry] ${what} "${name}" is the control store's (${server}, prefix "${area.prefix}"), where ferry keeps its jobs, journal and locks: name a ${what} outside "${area.prefix}:"`,
    );
  };
}
