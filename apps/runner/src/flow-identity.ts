import { createHash } from 'node:crypto';
import type { EndpointSpec, FerryConfig, FlowSpec } from '@ferry/core';
import { endpointOptions } from './flow-builder.js';
import type { ConnectorRegistry } from './registry.js';

/** Endpoint keys that name what is read or written on a server, in a fixed order. */
const targetKeys = ['database', 'db', 'stream', 'queue', 'exchange', 'routingKey', 'collection', 'table'] as const;

/**
 * The server a URL names, as the same server from one run to the next: scheme,
 * host, port and path; never the credentials (a rotated password is the same
 * server) nor the query (client settings).
 */
function serverOf(url: unknown): string {
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
 * collection or table, and for a source its consumer group. Options that
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
  const { kind, options } = endpointOptions(config, endpoint);
  const o = options as Record<string, unknown>;
  const target = registry.get(kind).target?.(role, options);
  const parts = [kind];
  if (target !== undefined) parts.push(target.server, target.name);
  else {
    parts.push(serverOf(o.url));
    for (const key of targetKeys) if (o[key] !== undefined) parts.push(`${key}=${String(o[key])}`);
  }
  if (role === 'source' && o.mode === 'group') parts.push(`group=${String(o.group ?? 'ferry')}`);
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

/**
 * The flow with its reader's stable name as the consumer of a Redis group
 * that was given none, so that a restart of this reader reads its own
 * pending entries first; a consumer named in the config stays.
 */
export function withReader(flow: FlowSpec, reader: string): FlowSpec {
  const source = flow.source as Record<string, unknown>;
  if (source.mode !== 'group' || source.consumer !== undefined) return flow;
  return { ...flow, source: { ...flow.source, consumer: reader } };
}
