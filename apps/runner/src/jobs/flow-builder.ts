import {
  type ConnectorRegistry,
  describeError,
  type Edge,
  type EndpointDescription,
  type EndpointSpec,
  type FerryConfig,
  type FlowSpec,
  getFlow,
  type Sink,
  type Source,
} from '@ferry/core';
import { controlAreaOf, controlStoreGuard } from '../control/off-limits.js';
import {
  circularTarget,
  createEndpoint,
  endpointOptions,
  type FlowEndpoints,
  type FlowRole,
  type ResolvedEndpoint,
  resolveEndpoint,
  resolveRole,
  roleWords,
  within,
} from './flow-endpoints.js';

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

/**
 * A flow resolved once and checked as `buildFlow` checks it (its edge, each
 * endpoint's options accepted by its connector, the sink not its source):
 * each of its pumps is built from it (`buildPlanned`) without reading the
 * config again.
 */
export interface FlowPlan {
  readonly name: string;
  /** The spec as configured, before a reader's name is filled in. */
  readonly spec: FlowSpec;
  readonly edge: Edge;
  readonly source: ResolvedEndpoint;
  readonly sink: ResolvedEndpoint;
  readonly deadLetter?: ResolvedEndpoint;
  /** How the source is read: one reader at a time, or competing ones (and the option that names each). */
  readonly reading: EndpointDescription;
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

/** Refuses an endpoint on the control store's keys, for every flow: said with the flow and the role. */
function keepOffControl(config: FerryConfig, flowName: string, registry: ConnectorRegistry) {
  const guard = controlStoreGuard(controlAreaOf(config), registry);
  return (role: FlowRole, { connector, options }: ResolvedEndpoint) => {
    const refused = guard(connector, role === 'source' ? 'source' : 'sink', options);
    if (refused !== undefined) throw within(`flow "${flowName}", ${roleWords[role]}`, refused);
  };
}

function build(config: FerryConfig, flowName: string, flow: FlowSpec, role: FlowRole, registry: ConnectorRegistry) {
  const endpoint = resolveRole(config, flowName, flow, role, registry);
  const built = createEndpoint(flowName, role, endpoint);
  keepOffControl(config, flowName, registry)(role, endpoint);
  return built;
}

/** The endpoints of a flow of the config, resolved, with the flow they build: the checks of `buildFlow`, in its order. */
function resolveFlow(config: FerryConfig, flowName: string, registry: ConnectorRegistry) {
  const spec = getFlow(config, flowName);
  const edge = edgeOf(config, flowName, spec, registry);
  const offControl = keepOffControl(config, flowName, registry);
  const at = (role: FlowRole) => {
    const endpoint = resolveRole(config, flowName, spec, role, registry);
    const built = createEndpoint(flowName, role, endpoint);
    offControl(role, endpoint);
    return { endpoint, built };
  };
  const source = at('source');
  const sink = at('sink');
  const deadLetter = spec.deadLetter === undefined ? undefined : at('deadLetter');
  const endpoints: FlowEndpoints = {
    source: source.endpoint,
    sink: sink.endpoint,
    ...(deadLetter === undefined ? {} : { deadLetter: deadLetter.endpoint }),
  };
  const circular = circularTarget(flowName, spec, endpoints);
  if (circular !== undefined) throw circular;
  const flow: BuiltFlow = {
    name: flowName,
    edge,
    source: source.built as Source,
    sink: sink.built as Sink,
    deadLetter: deadLetter?.built as Sink | undefined,
    spec,
  };
  return { spec, edge, endpoints, flow };
}

/**
 * Resolves a flow's connections, checks its edge (two stores are refused with
 * the reason) and builds its source and sink through the registry, whose
 * factories check their options eagerly; refuses a sink that is the source.
 * Nothing is opened.
 */
export function buildFlow(config: FerryConfig, flowName: string, registry: ConnectorRegistry): BuiltFlow {
  return resolveFlow(config, flowName, registry).flow;
}

/** The flow resolved and checked as `buildFlow` does, for its pumps to be built from: see `FlowPlan`. */
export function planFlow(config: FerryConfig, flowName: string, registry: ConnectorRegistry): FlowPlan {
  const { spec, edge, endpoints } = resolveFlow(config, flowName, registry);
  let reading: EndpointDescription;
  try {
    reading = endpoints.source.connector.describeEndpoint('source', endpoints.source.options);
  } catch (error) {
    throw within(`flow "${flowName}", source`, error);
  }
  return { name: flowName, spec, edge, ...endpoints, reading };
}

/**
 * One pump's flow, built from the plan: its source read under `reader` when
 * its connector names its competing readers (a Redis group's consumer given
 * none), so that a restart of this reader reads its own pending entries first.
 */
export function buildPlanned(plan: FlowPlan, reader?: string): BuiltFlow {
  const option = reader === undefined ? undefined : plan.reading.readerOption;
  const named = (endpoint: ResolvedEndpoint) => ({ ...endpoint, options: { ...endpoint.options, [option!]: reader } });
  const source = option === undefined ? plan.source : named(plan.source);
  const spec = option === undefined ? plan.spec : { ...plan.spec, source: { ...plan.spec.source, [option]: reader } };
  return {
    name: plan.name,
    edge: plan.edge,
    source: createEndpoint(plan.name, 'source', source) as Source,
    sink: createEndpoint(plan.name, 'sink', plan.sink) as Sink,
    deadLetter:
      plan.deadLetter === undefined ? undefined : (createEndpoint(plan.name, 'deadLetter', plan.deadLetter) as Sink),
    spec,
  };
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
      const circular = circularTarget(name, flow, {
        source: resolveEndpoint(config, flow.source, registry),
        sink: resolveEndpoint(config, flow.sink, registry),
        ...(flow.deadLetter === undefined ? {} : { deadLetter: resolveEndpoint(config, flow.deadLetter, registry) }),
      });
      if (circular !== undefined) problems.push(circular.message);
    }
    return edge === undefined ? { name, problems } : { name, edge, problems };
  });
}
