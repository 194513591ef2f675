import {
  ConfigError,
  type ConnectorRegistry,
  type FerryConfig,
  FerryError,
  type FlowSpec,
  formatIssues,
  getFlow,
  parseFlow,
  type Sink,
  withFree,
} from '@ferry/core';
import { z } from 'zod';
import { s2sDictSchema, s2sFlow } from '../http/s2s.js';
import type { ServerConfig } from '../server-config.js';
import { type BuiltFlow, buildFlow, describeEndpointOf, endpointOptions } from './flow-builder.js';
import { digest, serverOf, withReader } from './flow-identity.js';

/**
 * What a job carries: a flow spec whose endpoints name connections (never
 * URLs or secrets: the worker resolves them from its own config), or the name
 * of a flow of the worker's config.
 */
export interface FlowJobData {
  /** The flow's name, for labels and messages. */
  readonly name: string;
  /** The spec; absent: the flow `name` of the worker's config. */
  readonly flow?: FlowSpec;
  /** Pump instances for a source that allows competing readers. */
  readonly parallelism: number;
  /** `/s2s/`: the target is full when its length plus a batch reaches maxLen, as the original QManager said. */
  readonly fullRule?: 'original';
  readonly origin: 's2s' | 'flows' | 'schedule' | 'cli';
  /** What earlier runs of this job moved before a worker shutdown put it back. */
  readonly done?: { records: number; batches: number; bytes: number; deadLettered: number; skippedFields?: number };
}

/** A request that cannot be queued: 400 with this message. */
export class BadRequestError extends FerryError {
  override readonly name = 'BadRequestError';
}

const flowNamePattern = /^[A-Za-z0-9_.:-]{1,100}$/;
/** Keys a request may not set on an endpoint: they belong to the named connection. */
const connectionOwnedKeys = ['url', 'client', 'kind', 'connectionName'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkEndpoints(flow: Record<string, unknown>): void {
  for (const role of ['source', 'sink', 'deadLetter'] as const) {
    const endpoint = flow[role];
    if (!isObject(endpoint)) continue;
    for (const key of connectionOwnedKeys) {
      if (key in endpoint) {
        throw new BadRequestError(
          `[ferry] invalid flow:\n  - ${role}.${key}: set by the named connection, not by a request; name a connection of the config instead`,
        );
      }
    }
  }
}

const parallelismSchema = z.int().min(1).max(64).default(1);

function parseParallelism(value: unknown, where: string): number {
  const result = parallelismSchema.safeParse(value);
  if (!result.success) {
    throw new BadRequestError(
      `[ferry] invalid ${where}:\n${formatIssues(result.error.issues, value)}`.replace('(top level)', 'parallelism'),
    );
  }
  return result.data;
}

/** True when the source allows one reader at a time (a range, a checkpointed cursor), as its connector says. */
export function isSingleReader(config: FerryConfig, flow: FlowSpec, registry: ConnectorRegistry): boolean {
  return describeEndpointOf(config, flow.source, 'source', registry).singleReader;
}

/**
 * The lock key of a single-reader source: its kind and a digest (no server
 * address or name reaches a key in clear) of the server and the stream,
 * queue, collection or table, as the connector's `target` names them, so
 * that `localhost` and 127.0.0.1 are one lock; a connector without `target`
 * is locked by its URL's server and what `describeEndpoint` names.
 */
export function sourceLockName(config: FerryConfig, flow: FlowSpec, registry: ConnectorRegistry): string {
  const { kind, options } = endpointOptions(config, flow.source);
  const connector = registry.get(kind);
  const target = connector.target?.('source', options);
  if (target !== undefined) return `${kind}:${digest(`${target.server}\n${target.name}`)}`;
  const { name, database } = connector.describeEndpoint('source', options);
  const server = serverOf((options as { url?: unknown }).url);
  return `${kind}:${digest(`${server}\n${database ?? ''}\n${name}`)}`;
}

/** Builds the job's flow (connections resolved, connectors' options checked), without opening anything. */
export function flowOfJob(server: ServerConfig, data: FlowJobData): { config: FerryConfig; spec: FlowSpec } {
  const spec = data.flow ?? getFlow(server.config, data.name);
  return { config: { ...server.config, flows: { ...server.config.flows, [data.name]: spec } }, spec };
}

export function buildJobFlow(
  server: ServerConfig,
  data: FlowJobData,
  registry: ConnectorRegistry,
  instance = 0,
): BuiltFlow {
  const { config, spec } = flowOfJob(server, data);
  let flowSpec = spec;
  // Competing readers that need names of their own (a Redis group's consumers): the worker
  // gives each a leased stable one (see openFlowReader); this one only serves a check.
  if (data.parallelism > 1) flowSpec = withReader(config, spec, `ferry:${data.name}:check-${instance}`, registry);
  const built = buildFlow({ ...config, flows: { ...config.flows, [data.name]: flowSpec } }, data.name, registry);
  if (data.fullRule !== 'original') return built;
  return { ...built, sink: originalFullRule(built.sink, built.spec.batchSize) };
}

/**
 * The original QManager's `_is_q_available`: room only when length + batch < max, and then a whole batch.
 * Every other member is the sink's own (core's withFree), so that what a source
 * recognises in it, such as the target of a same-server move, still applies.
 */
export function originalFullRule(sink: Sink, batchSize: number): Sink {
  return withFree(sink, async () => {
    const room = await sink.free();
    return room > batchSize ? room : 0;
  });
}

/** Checks a job the way the worker will build it: schema, connections, edge, connector options. */
export function checkJob(server: ServerConfig, data: FlowJobData, registry: ConnectorRegistry): void {
  const { config, spec } = flowOfJob(server, data);
  // Built as written first, so that a bad option is told with its flow and role.
  buildFlow(config, data.name, registry);
  const source = describeEndpointOf(config, spec.source, 'source', registry);
  if (data.parallelism > 1 && source.singleReader) {
    const mode = (spec.source as { mode?: unknown }).mode;
    throw new BadRequestError(
      `[ferry] invalid flow "${data.name}":\n  - parallelism: the source ${source.what} "${source.name}"${mode === undefined ? '' : ` in ${String(mode)} mode`} is read by one reader at a time (got ${data.parallelism}); use a source that allows competing readers (a consumer group, a queue)`,
    );
  }
  if (data.parallelism > 1 && spec.maxBatches !== undefined) {
    throw new BadRequestError(
      `[ferry] invalid flow "${data.name}":\n  - parallelism: cannot be combined with maxBatches (got parallelism ${data.parallelism}, maxBatches ${spec.maxBatches})`,
    );
  }
  buildJobFlow(server, data, registry);
}

/**
 * A `POST /flows` body: `{ "flow": "NAME" }` (a flow of the config, with an
 * optional `parallelism`) or a flow spec in the config file's schema, with an
 * optional `name` and `parallelism`.
 */
export function flowRequest(body: unknown, server: ServerConfig, registry: ConnectorRegistry): FlowJobData {
  if (!isObject(body)) {
    throw new BadRequestError(
      `[ferry] invalid request: expected a JSON object (a flow spec or { "flow": "NAME" }), got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
    );
  }
  let data: FlowJobData;
  if ('flow' in body) {
    const { flow: name, parallelism, ...rest } = body;
    if (typeof name !== 'string') {
      throw new BadRequestError(
        `[ferry] invalid request:\n  - flow: expected the name of a flow of the config (got ${JSON.stringify(name)})`,
      );
    }
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new BadRequestError(
        `[ferry] invalid request:\n  - ${extra[0]}: unknown key next to "flow" (allowed: flow, parallelism)`,
      );
    }
    if (!(name in server.config.flows)) {
      const known = Object.keys(server.config.flows);
      throw new BadRequestError(
        `[ferry] invalid request:\n  - flow: no flow named ${JSON.stringify(name)}; the config names ${known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : 'none'}`,
      );
    }
    data = {
      name,
      parallelism: parseParallelism(parallelism ?? server.parallelism[name], 'request'),
      origin: 'flows',
    };
  } else {
    const { name = 'api', parallelism, ...spec } = body;
    if (typeof name !== 'string' || !flowNamePattern.test(name)) {
      throw new BadRequestError(
        `[ferry] invalid request:\n  - name: expected 1 to 100 letters, digits, _ . : - (got ${JSON.stringify(name)})`,
      );
    }
    checkEndpoints(spec);
    data = {
      name,
      flow: asBadRequest(() => parseFlow(spec, name)),
      parallelism: parseParallelism(parallelism, `flow "${name}"`),
      origin: 'flows',
    };
  }
  asBadRequest(() => checkJob(server, data, registry));
  return data;
}

/** A `POST /s2s/` body: the original config dict. */
export function s2sRequest(body: unknown, server: ServerConfig, registry: ConnectorRegistry): FlowJobData {
  const parsed = s2sDictSchema.safeParse(body);
  if (!parsed.success) {
    throw new BadRequestError(`[ferry] invalid /s2s/ config:\n${formatIssues(parsed.error.issues, body)}`);
  }
  const spec = asBadRequest(() => parseFlow(s2sFlow(parsed.data), 's2s'));
  const data: FlowJobData = { name: 's2s', flow: spec, parallelism: 1, fullRule: 'original', origin: 's2s' };
  asBadRequest(() => checkJob(server, data, registry));
  return data;
}

function asBadRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ConfigError && !(error instanceof BadRequestError)) {
      throw new BadRequestError(error.message, { cause: error });
    }
    throw error;
  }
}
