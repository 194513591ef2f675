import { type EndpointSpec, type FerryConfig, type FlowSpec, letterOfKind, type SystemLetter } from '@ferry/core';
import type { EndpointDepth, FlowInfo } from './dashboard-snapshot.js';
import { endpointOptions } from './flow-builder.js';

type Role = EndpointDepth['roles'][number]['role'];

/**
 * A stream, queue, collection or table that the config names, with what a
 * depth probe needs to count it: the connection's kind and the merged keys
 * (the URL among them, which never leaves the process).
 */
export interface ConfigEndpoint {
  readonly id: string;
  readonly letter: SystemLetter;
  readonly kind: string;
  readonly connection: string;
  readonly what: EndpointDepth['what'];
  readonly name: string;
  /** The database of a collection or a table, when the config names one. */
  readonly database?: string;
  readonly roles: { flow: string; role: Role }[];
  /** The connection's keys merged with the endpoint's, as a connector gets them. */
  readonly options: Readonly<Record<string, unknown>>;
}

const roles: readonly Role[] = ['source', 'sink', 'deadLetter'];

/** Where a collection or a table is when the endpoint names no database: the MongoDB URL's path, ClickHouse's `default`. */
function defaultDatabase(kind: string, url: string | undefined): string | undefined {
  if (kind === 'clickhouse') return 'default';
  if (kind !== 'mongo' || url === undefined) return undefined;
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(url)?.[1];
  return path === undefined ? undefined : decodeURIComponent(path);
}

function describe(
  config: FerryConfig,
  endpoint: EndpointSpec,
): Omit<ConfigEndpoint, 'id' | 'roles' | 'letter'> & { letter?: SystemLetter } {
  const { kind, options } = endpointOptions(config, endpoint);
  const o = options as Record<string, unknown>;
  const text = (key: string) => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
  let letter: SystemLetter | undefined;
  try {
    letter = letterOfKind(kind);
  } catch {
    letter = undefined;
  }
  const base = { kind, connection: endpoint.connection, options: o, ...(letter === undefined ? {} : { letter }) };
  if (text('stream') !== undefined) return { ...base, what: 'stream', name: text('stream')! };
  if (text('queue') !== undefined) return { ...base, what: 'queue', name: text('queue')! };
  if (text('exchange') !== undefined) return { ...base, what: 'exchange', name: text('exchange')! };
  const database = text('database') ?? defaultDatabase(kind, text('url'));
  const withDatabase = database === undefined ? {} : { database };
  if (text('collection') !== undefined)
    return { ...base, ...withDatabase, what: 'collection', name: text('collection')! };
  return { ...base, ...withDatabase, what: 'table', name: text('table') ?? '' };
}

/**
 * Every stream, queue, collection and table the config's flows name, once
 * each (a stream that one flow writes and another reads is one endpoint with
 * two roles), in the order the flows name them.
 */
export function configEndpoints(config: FerryConfig): ConfigEndpoint[] {
  const byId = new Map<string, ConfigEndpoint>();
  for (const [flow, spec] of Object.entries(config.flows)) {
    for (const role of roles) {
      const endpoint = spec[role];
      if (endpoint === undefined) continue;
      let found: ReturnType<typeof describe>;
      try {
        found = describe(config, endpoint);
      } catch {
        continue; // A flow that does not build is reported by `ferry validate`, not here.
      }
      if (found.letter === undefined || found.name === '') continue;
      const id = `${found.connection}/${found.database === undefined ? '' : `${found.database}.`}${found.name}`;
      const known = byId.get(id);
      if (known !== undefined) known.roles.push({ flow, role });
      else byId.set(id, { ...found, letter: found.letter, id, roles: [{ flow, role }] });
    }
  }
  return [...byId.values()];
}

/** A flow's edge name (`S2Q`), or undefined when its connections are unknown. */
export function edgeOfFlow(config: FerryConfig, spec: FlowSpec): string | undefined {
  try {
    const from = letterOfKind(endpointOptions(config, spec.source).kind);
    const to = letterOfKind(endpointOptions(config, spec.sink).kind);
    return `${from}2${to}`;
  } catch {
    return undefined;
  }
}

function label(config: FerryConfig, endpoint: EndpointSpec): string {
  try {
    const found = describe(config, endpoint);
    return `${found.connection}/${found.database === undefined ? '' : `${found.database}.`}${found.name}`;
  } catch {
    return endpoint.connection;
  }
}

/** The config's flows as the dashboard lists them: names and endpoints, never URLs. */
export function flowInfos(config: FerryConfig): FlowInfo[] {
  return Object.entries(config.flows).map(([name, spec]) => {
    const edge = edgeOfFlow(config, spec);
    return {
      name,
      ...(edge === undefined ? {} : { edge }),
      source: label(config, spec.source),
      sink: label(config, spec.sink),
      ...(spec.deadLetter === undefined ? {} : { deadLetter: label(config, spec.deadLetter) }),
      follow: !spec.stopWhenEmpty,
    };
  });
}
