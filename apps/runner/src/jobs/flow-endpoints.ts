import {
  ConfigError,
  type ConnectorDefinition,
  type ConnectorRegistry,
  describeError,
  type EndpointDescription,
  type EndpointRole,
  type EndpointSpec,
  type FerryConfig,
  type FlowSpec,
  type Sink,
  type Source,
  sameTarget,
} from '@ferry/core';

/** An endpoint resolved in its config: its connector, and the options it is built with. */
export interface ResolvedEndpoint {
  readonly connector: ConnectorDefinition;
  /** The named connection without its kind, the endpoint's keys, and the connection's name. */
  readonly options: object;
}

export type FlowRole = 'source' | 'sink' | 'deadLetter';

export const roleWords: Record<FlowRole, string> = { source: 'source', sink: 'sink', deadLetter: 'dead-letter sink' };

/**
 * A connector's options: the named connection without its kind, the endpoint's
 * keys without the connection reference, and the connection's name for messages.
 */
export function endpointOptions(config: FerryConfig, endpoint: EndpointSpec): { kind: string; options: object } {
  const connection = config.connections[endpoint.connection];
  if (connection === undefined) {
    throw new ConfigError(`[ferry] no connection named "${endpoint.connection}"`);
  }
  const { kind, ...connectionKeys } = connection;
  const { connection: connectionName, ...endpointKeys } = endpoint;
  return { kind, options: { ...connectionKeys, ...endpointKeys, connectionName } };
}

/**
 * What an endpoint names (stream, queue, collection, table…), how it is read
 * (one reader or competing ones), as its connector tells from the merged
 * options; throws when they are not valid.
 */
export function describeEndpointOf(
  config: FerryConfig,
  endpoint: EndpointSpec,
  role: EndpointRole,
  registry: ConnectorRegistry,
): EndpointDescription {
  const { connector, options } = resolveEndpoint(config, endpoint, registry);
  return connector.describeEndpoint(role, options);
}

/** An endpoint's connector and merged options; an unknown connection or kind is a `ConfigError`. */
export function resolveEndpoint(
  config: FerryConfig,
  endpoint: EndpointSpec,
  registry: ConnectorRegistry,
): ResolvedEndpoint {
  const { kind, options } = endpointOptions(config, endpoint);
  return { connector: registry.get(kind), options };
}

/** Names the flow (and the role) in a problem; drops the inner `[ferry]` so it is said once. */
export function within(where: string, error: unknown): ConfigError {
  const message = describeError(error).replace(/^\[ferry\] /, '');
  return new ConfigError(`[ferry] ${where}: ${message}`, { cause: error });
}

/** A flow's endpoint in one role, resolved; what fails is said with the flow and the role. */
export function resolveRole(
  config: FerryConfig,
  flowName: string,
  flow: FlowSpec,
  role: FlowRole,
  registry: ConnectorRegistry,
) {
  const endpoint = flow[role];
  if (endpoint === undefined) throw new ConfigError(`[ferry] flow "${flowName}" has no ${roleWords[role]}`);
  try {
    return resolveEndpoint(config, endpoint, registry);
  } catch (error) {
    throw within(`flow "${flowName}", ${roleWords[role]}`, error);
  }
}

/** The source or sink of a resolved endpoint, its options checked by its connector's factory. */
export function createEndpoint(flowName: string, role: FlowRole, endpoint: ResolvedEndpoint): Source | Sink {
  try {
    const { connector, options } = endpoint;
    return role === 'source' ? connector.createSource(options) : connector.createSink(options);
  } catch (error) {
    throw within(`flow "${flowName}", ${roleWords[role]}`, error);
  }
}

/** A flow's endpoints, resolved. */
export interface FlowEndpoints {
  readonly source: ResolvedEndpoint;
  readonly sink: ResolvedEndpoint;
  readonly deadLetter?: ResolvedEndpoint;
}

/**
 * A sink or dead-letter sink that writes where the flow reads (the same
 * stream, queue, collection or table on the same server, as the connectors
 * tell from the options): the flow would move its own records in a circle.
 * Call it once the endpoints built, so that their options are valid.
 */
export function circularTarget(flowName: string, flow: FlowSpec, endpoints: FlowEndpoints) {
  const { connector, options } = endpoints.source;
  if (connector.target === undefined) return undefined;
  const from = connector.target('source', options);
  for (const role of ['sink', 'deadLetter'] as const) {
    const endpoint = flow[role];
    const to = endpoints[role];
    if (endpoint === undefined || to === undefined) continue;
    if (to.connector.kind !== connector.kind || from === undefined) continue;
    if (!sameTarget(from, connector.target('sink', to.options))) continue;
    const connections =
      endpoint.connection === flow.source.connection
        ? `connection "${endpoint.connection}"`
        : `connections "${flow.source.connection}" and "${endpoint.connection}", one server`;
    return new ConfigError(
      `[ferry] flow "${flowName}": its ${roleWords[role]} is its source, ${from.name} on ${from.server} (${connections}); it would move its own records in a circle: write to another ${from.name.split(' ')[0]}`,
    );
  }
  return undefined;
}
