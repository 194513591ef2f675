import {
  type ApiAllowConnection,
  type ConnectorRegistry,
  connectionOnlyKeys,
  type EndpointRole,
  matchesName,
} from '@ferry/core';
import { z } from 'zod';
import type { ServerConfig } from '../server-config.js';
import type { FlowPlan } from './flow-builder.js';
import type { FlowRole } from './flow-endpoints.js';

/**
 * What an API caller may ask of the operator's connections: on each endpoint,
 * its connector's data-plane keys (and those `api.allow` opens) only; names
 * within `api.allow`'s patterns; nothing that deletes records where
 * `api.allow` refuses it. Everything else is the config file's.
 */

const roles = ['source', 'sink', 'deadLetter'] as const;
const endpointRole = (role: FlowRole): EndpointRole => (role === 'source' ? 'source' : 'sink');

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The keys of a connector's zod option schema, through a transform; undefined for a plug-in's other schema. */
function optionKeys(schema: unknown): readonly string[] | undefined {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodPipe) return optionKeys(schema.in);
  return undefined;
}

/** The keys an API caller may set on an endpoint of `connection` in `role`, beside `connection` itself. */
export function callerKeys(server: ServerConfig, registry: ConnectorRegistry, connection: string, role: FlowRole) {
  const kind = server.config.connections[connection]?.kind;
  const connector = kind !== undefined && registry.has(kind) ? registry.get(kind) : undefined;
  // A plug-in written in JavaScript may declare none: then only `connection` is the caller's.
  const declared = connector?.dataPlaneKeys?.[endpointRole(role)] ?? [];
  const opened = server.config.api?.allow?.[connection]?.keys ?? [];
  return { connector, keys: [...new Set([...declared, ...opened])] };
}

/** One endpoint's keys beyond what its caller may set, one line each, with why. */
function refusedKeys(
  endpoint: Record<string, unknown>,
  role: FlowRole,
  server: ServerConfig,
  registry: ConnectorRegistry,
) {
  const connection = typeof endpoint.connection === 'string' ? endpoint.connection : 'default';
  // An unknown connection is said by the plan, with the names the config has.
  if (server.config.connections[connection] === undefined) return [];
  const { connector, keys } = callerKeys(server, registry, connection, role);
  const known = optionKeys(connector?.options[endpointRole(role)]) ?? [];
  const owned = new Set<string>([
    ...connectionOnlyKeys,
    ...known,
    ...Object.keys(server.config.connections[connection] ?? {}),
  ]);
  const allowed = keys.length > 0 ? keys.join(', ') : 'connection';
  return Object.keys(endpoint)
    .filter((key) => key !== 'connection' && !keys.includes(key))
    .map((key) => {
      const why = owned.has(key) ? 'a connection key, set in the config file' : `not a key API callers may set`;
      return `  - ${role}.${key}: ${why}; through the API only ${allowed} may be set on connection "${connection}"`;
    });
}

/** Refuses, before anything is planned, every endpoint key a caller may not set: the lines of a 400, or none. */
export function callerKeyProblems(flow: Record<string, unknown>, server: ServerConfig, registry: ConnectorRegistry) {
  return roles.flatMap((role) => {
    const endpoint = flow[role];
    return isObject(endpoint) ? refusedKeys(endpoint, role, server, registry) : [];
  });
}

function scopeProblems(plan: FlowPlan, role: FlowRole, allow: ApiAllowConnection, connection: string): string[] {
  const endpoint = plan[role];
  if (endpoint === undefined) return [];
  const { connector, options } = endpoint;
  const problems: string[] = [];
  const { what, name } = connector.describeEndpoint(endpointRole(role), options);
  if (allow.names !== undefined && !matchesName(name, allow.names)) {
    problems.push(
      `  - ${role}.${what}: "${name}" is not a name API callers may use on connection "${connection}" (api.allow.${connection}.names: ${allow.names.join(', ')})`,
    );
  }
  if (!allow.destructive) {
    const refusal = `connection "${connection}" refuses it to API callers (api.allow.${connection}.destructive: false)`;
    if (connector.destructive === undefined) {
      problems.push(`  - ${role}: its connector does not tell what deletes records, and ${refusal}`);
    } else {
      const use = connector.destructive(endpointRole(role), options);
      if (use !== undefined) problems.push(`  - ${role}.${use.key}: ${use.reason}, and ${refusal}`);
    }
  }
  return problems;
}

/** A planned flow of an API caller against `api.allow`'s names and destructive modes: the lines of a 400, or none. */
export function callerScopeProblems(plan: FlowPlan, server: ServerConfig): string[] {
  return roles.flatMap((role) => {
    const connection = plan.spec[role]?.connection;
    const allow = connection === undefined ? undefined : server.config.api?.allow?.[connection];
    return allow === undefined || connection === undefined ? [] : scopeProblems(plan, role, allow, connection);
  });
}
