import {
  ConfigError,
  type ConnectorRegistry,
  describeError,
  type Edge,
  type EndpointDescription,
  type EndpointRole,
  type EndpointSpec,
  type FerryConfig,
  type FlowSpec,
  getFlow,
  type Sink,
  type Source,
  sameTarget,
} from '@ferry/core';

/** A flow ready to run: its source and sink are built (options checked) but not opened. */
export interface BuiltFlow {
  readonly name: string;
  readonly edge: Edge;
  readonly source: Source;
  readonly sink: Sink;
  /** Where records the source rejects go; without one, a rejected record stops the flow. */
  readonly deadLetter?: Sink;
  readonly spec: FlowSpec;
}

type Role = 'source' | 'sink' | 'deadLetter';

const roleWords: Record<Role, string> = { source: 'source', sink: 'sink', deadLetter: 'dead-letter sink' };

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
  const { kind, options } = endpointOptions(config, endpoint);
  return registry.get(kind).describeEndpoint(role, options);
}

/** Names the flow (and the role) in a problem; drops the inner `[ferry]` so it is said once. */
function within(where: string, error: unknown): ConfigError {
  const message = describeError(error).replace(/^\[ferry\] /, '');
  return new ConfigError(`[ferry] ${where}: ${message}`, { cause: error });
}

function kindOf(config: FerryConfig, endpoint: EndpointSpec): string {
  return endpointOptions(config, endpoint).kind;
}

function edgeOf(config: FerryConfig, flowName: string, flow: FlowSpec, registry: ConnectorRegistry): Edge {
  try {
    return registry.edge(kindOf(config, flow.source), kindOf(config, flow.sink));
  } catch (error) {
    throw within(`flow "${flowName}"`, error);
  }
}

/** A flow's edge name (`S2Q`) from its connections' kinds, permitted or not; undefined when a kind is unknown. */
export function edgeName(config: FerryConfig, flow: FlowSpec, registry: ConnectorRegistry): string | undefined {
  try {
    const from = registry.get(kindOf(config, flow.source)).letter;
    const to = registry.get(kindOf(config, flow.sink)).letter;
    return `${from}2${to}`;
  } catch {
    return undefined;
  }
}

function build(config: FerryConfig, flowName: string, flow: FlowSpec, role: Role, registry: ConnectorRegistry) {
  const endpoint = flow[role];
  if (endpoint === undefined) throw new ConfigError(`[ferry] flow "${flowName}" has no ${roleWords[role]}`);
  try {
    const { kind, options } = endpointOptions(config, endpoint);
    const connector = registry.get(kind);
    return role === 'source' ? connector.createSource(options) : connector.createSink(options);
  } catch (error) {
    throw within(`flow "${flowName}", ${roleWords[role]}`, error);
  }
}

/**
 * A sink or dead-letter sink that writes where the flow reads (the same
 * stream, queue, collection or table on the same server, as the connectors
 * tell from the options): the flow would move its own records in a circle.
 * Call it once the endpoints built, so that their options are valid.
 */
function circularTarget(config: FerryConfig, flowName: string, flow: FlowSpec, registry: ConnectorRegistry) {
  const source = endpointOptions(config, flow.source);
  const connector = registry.get(source.kind);
  if (connector.target === undefined) return undefined;
  const from = connector.target('source', source.options);
  for (const role of ['sink', 'deadLetter'] as const) {
    const endpoint = flow[role];
    if (endpoint === undefined) continue;
    const to = endpointOptions(config, endpoint);
    if (to.kind !== source.kind || from === undefined || !sameTarget(from, connector.target('sink', to.options))) {
      continue;
    }
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

/**
 * Resolves a flow's connections, checks its edge (two stores are refused with
 * the reason) and builds its source and sink through the registry, whose
 * factories check their options eagerly; refuses a sink that is the source.
 * Nothing is opened.
 */
export function buildFlow(config: FerryConfig, flowName: string, registry: ConnectorRegistry): BuiltFlow {
  const spec = getFlow(config, flowName);
  const edge = edgeOf(config, flowName, spec, registry);
  const source = build(config, flowName, spec, 'source', registry) as Source;
  const sink = build(config, flowName, spec, 'sink', registry) as Sink;
  const deadLetter =
    spec.deadLetter === undefined ? undefined : (build(config, flowName, spec, 'deadLetter', registry) as Sink);
  const circular = circularTarget(config, flowName, spec, registry);
  if (circular !== undefined) throw circular;
  return { name: flowName, edge, source, sink, deadLetter, spec };
}

export interface FlowCheck {
  readonly name: string;
  /** The edge name (`S2S`), when the kinds are known. */
  readonly edge?: string;
  /** Empty when the flow would build. */
  readonly problems: string[];
}

/**
 * Builds every flow of a config without opening anything, collecting every
 * problem (the edge, the source, the sink, the dead-letter sink) rather than
 * stopping at the first.
 */
export function validateConfig(config: FerryConfig, registry: ConnectorRegistry): FlowCheck[] {
  return Object.entries(config.flows).map(([name, flow]) => {
    const problems: string[] = [];
    const edge = edgeName(config, flow, registry);
    // An unknown kind is the source's or the sink's problem, said once below.
    if (edge !== undefined) {
      try {
        edgeOf(config, name, flow, registry);
      } catch (error) {
        problems.push(describeError(error));
      }
    }
    for (const role of ['source', 'sink', 'deadLetter'] as const) {
      if (flow[role] === undefined) continue;
      try {
        build(config, name, flow, role, registry);
      } catch (error) {
        problems.push(describeError(error));
      }
    }
    if (problems.length === 0) {
      const circular = circularTarget(config, name, flow, registry);
      if (circular !== undefined) problems.push(circular.message);
    }
    return edge === undefined ? { name, problems } : { name, edge, problems };
  });
}
