import type { ConnectorRegistry, EndpointSpec, FerryConfig } from '@ferry/core';
import { edgeName } from '../jobs/flow-builder.js';
import { endpointOptions } from '../jobs/flow-endpoints.js';
import type { EndpointDepth, FlowInfo } from './dashboard-snapshot.js';

type Role = EndpointDepth['roles'][number]['role'];

/**
 * A stream, queue, collection or table that the config names, with what a
 * depth probe needs to count it: the connection's kind and keys, and the
 * merged keys (the URL among them, which never leaves the process).
 */
export interface ConfigEndpoint {
  readonly id: string;
  readonly letter: string;
  readonly kind: string;
  readonly connection: string;
  /** `stream`, `queue`, `exchange`, `collection`, `table`…: as the connector describes it. */
  readonly what: string;
  readonly name: string;
  /** The database of a collection or a table, where the connector tells one. */
  readonly database?: string;
  readonly roles: { flow: string; role: Role }[];
  /** The connection's keys, without its kind: what an inspector of the connection is made from. */
  readonly connectionOptions: Readonly<Record<string, unknown>>;
  /** The connection's keys merged with the endpoint's, as a connector gets them. */
  readonly options: Readonly<Record<string, unknown>>;
}

const roles: readonly Role[] = ['source', 'sink', 'deadLetter'];

function describe(
  config: FerryConfig,
  endpoint: EndpointSpec,
  role: Role,
  registry: ConnectorRegistry,
): Omit<ConfigEndpoint, 'id' | 'roles'> {
  const { kind, options } = endpointOptions(config, endpoint);
  const connector = registry.get(kind);
  const { what, name, database } = connector.describeEndpoint(role === 'source' ? 'source' : 'sink', options);
  const { kind: _kind, ...connectionOptions } = config.connections[endpoint.connection]!;
  return {
    letter: connector.letter,
    kind,
    connection: endpoint.connection,
    what,
    name,
    ...(database === undefined ? {} : { database }),
    connectionOptions,
    options: options as Record<string, unknown>,
  };
}

const idOf = (found: { connection: string; database?: string; name: string }) =>
  `${found.connection}/${found.database === undefined ? '' : `${found.database}.`}${found.name}`;

/**
 * Every stream, queue, collection and table the config's flows name, once
 * each (a stream that one flow writes and another reads is one endpoint with
 * two roles), in the order the flows name them.
 */
export function configEndpoints(config: FerryConfig, registry: ConnectorRegistry): ConfigEndpoint[] {
  const byId = new Map<string, ConfigEndpoint>();
  for (const [flow, spec] of Object.entries(config.flows)) {
    for (const role of roles) {
      const endpoint = spec[role];
      if (endpoint === undefined) continue;
      let found: ReturnType<typeof describe>;
      try {
        found = describe(config, endpoint, role, registry);
      } catch {
        continue; // A flow that does not build is reported by `ferry validate`, not here.
      }
      if (found.name === '') continue;
      const id = idOf(found);
      const known = byId.get(id);
      if (known !== undefined) known.roles.push({ flow, role });
      else byId.set(id, { ...found, id, roles: [{ flow, role }] });
    }
  }
  return [...byId.values()];
}

function label(config: FerryConfig, endpoint: EndpointSpec, role: Role, registry: ConnectorRegistry): string {
  try {
    return idOf(describe(config, endpoint, role, registry));
  } catch {
    return endpoint.connection;
  }
}

/** The config's flows as the dashboard lists them: names and endpoints, never URLs. */
export function flowInfos(config: FerryConfig, registry: ConnectorRegistry): FlowInfo[] {
  return Object.entries(config.flows).map(([name, spec]) => {
    const edge = edgeName(config, spec, registry);
    return {
      name,
      ...(edge === undefined ? {} : { edge }),
      source: label(config, spec.source, 'source', registry),
      sink: label(config, spec.sink, 'sink', registry),
      ...(spec.deadLetter === undefined ? {} : { deadLetter: label(config, spec.deadLetter, 'deadLetter', registry) }),
      follow: !spec.stopWhenEmpty,
    };
  });
}
