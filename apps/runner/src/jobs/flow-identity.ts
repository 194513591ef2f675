import { createHash } from 'node:crypto';
import type { ConnectorRegistry, EndpointSpec, FerryConfig, FlowSpec } from '@ferry/core';
import type { FlowPlan } from './flow-builder.js';
import { describeEndpointOf, type ResolvedEndpoint, resolveEndpoint } from './flow-endpoints.js';

/** Endpoint keys that name what is read or written on a server, in a fixed order. */
const targetKeys = ['database', 'db', 'stream', 'queue', 'exchange', 'routingKey', 'collection', 'table'] as const;

/**
 * The server a URL names, as the same server from one run to the next: scheme,
 * host, port and path; never the credentials (a rotated password is the same
 * server) nor the query (client settings).
 */
export function serverOf(url: unknown): string {
  if (typeof url !== 'string') return '';
  try {
    const u = new URL(url);
    const path = u.pathname === '/' ? '' : u.pathname;
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '';
  }
}

/**
 * What an endpoint reads or writes, whatever its connection is called and
 * however it is written to: kind, server, database and stream, queue,
 * collection or table, and for a source what groups its competing readers
 * (a Redis consumer group, as its connector says). Options that
 * change how (codec, write path, batch settings) are not part of it. The
 * connector's own `target` says it where it can (the same normalized server
 * that refuses a flow whose sink is its source: `localhost` is 127.0.0.1);
 * else the URL and the naming keys do (an exchange, a plug-in without `target`).
 */
export function endpointIdentity(
  config: FerryConfig,
  endpoint: EndpointSpec,
  role: 'source' | 'sink',
  registry: ConnectorRegistry,
): string {
  return identityOf(resolveEndpoint(config, endpoint, registry), role);
}

/** `endpointIdentity` of an endpoint already resolved. */
export function identityOf(endpoint: ResolvedEndpoint, role: 'source' | 'sink'): string {
  const { connector, options } = endpoint;
  const o = options as Record<string, unknown>;
  const target = connector.target?.(role, options);
  const parts = [connector.kind];
  if (target !== undefined) parts.push(target.server, target.name);
  else {
    parts.push(serverOf(o.url));
    for (const key of targetKeys) if (o[key] !== undefined) parts.push(`${key}=${String(o[key])}`);
  }
  const group = role === 'source' ? connector.describeEndpoint('source', options).readerGroup : undefined;
  if (group !== undefined) parts.push(`group=${group}`);
  return parts.join(' ');
}

/** A short, stable digest for key names: no server address or name reaches a key in clear. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** The identities of a flow's source and sink. */
export function flowIdentity(
  config: FerryConfig,
  flow: FlowSpec,
  registry: ConnectorRegistry,
): { source: string; sink: string } {
  return {
    source: endpointIdentity(config, flow.source, 'source', registry),
    sink: endpointIdentity(config, flow.sink, 'sink', registry),
  };
}

/** The identities of a planned flow's source and sink. */
export function planIdentity(plan: FlowPlan): { source: string; sink: string } {
  return { source: identityOf(plan.source, 'source'), sink: identityOf(plan.sink, 'sink') };
}

/**
 * The flow with its reader's stable name in the option its connector names
 * for it (the consumer of a Redis group that was given none), so that a
 * restart of this reader reads its own pending entries first; a source whose
 * readers need no name, or that names its reader already, stays as it is.
 */
export function withReader(config: FerryConfig, flow: FlowSpec, reader: string, registry: ConnectorRegistry): FlowSpec {
  const option = describeEndpointOf(config, flow.source, 'source', registry).readerOption;
  if (option === undefined) return flow;
  return { ...flow, source: { ...flow.source, [option]: reader } };
}
