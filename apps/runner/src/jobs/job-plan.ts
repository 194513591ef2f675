import { type ConnectorRegistry, type FerryConfig, getFlow, type Sink, withFree } from '@ferry/core';
import type { ServerConfig } from '../server-config.js';
import { type BuiltFlow, buildPlanned, type FlowPlan, planFlow } from './flow-builder.js';
import type { ResolvedEndpoint } from './flow-endpoints.js';
import { digest, serverOf } from './flow-identity.js';
import type { FlowJobData } from './job-spec.js';

/**
 * A job's flow, planned once per job from the worker's config (connections
 * resolved, checked): what the job locks, and the flow of each of its pumps.
 */
export interface JobPlan {
  readonly flow: FlowPlan;
  /** The source allows one reader at a time (a range, a checkpointed cursor): the job holds `lockName`. */
  readonly singleReader: boolean;
  readonly lockName: string;
  /** One pump's flow, its source read under `reader`; with the original full rule for `/s2s/`. */
  instance(reader: string): BuiltFlow;
}

/** The worker's config with the job's flow in it: a flow of the config by name, or the spec the job carries. */
function configOfJob(server: ServerConfig, data: FlowJobData): FerryConfig {
  const spec = data.flow ?? getFlow(server.config, data.name);
  return { ...server.config, flows: { ...server.config.flows, [data.name]: spec } };
}

/**
 * The lock key of a single-reader source: its kind and a digest (no server
 * address or name reaches a key in clear) of the server and the stream,
 * queue, collection or table, as the connector's `target` names them, so
 * that `localhost` and 127.0.0.1 are one lock; a connector without `target`
 * is locked by its URL's server and what `describeEndpoint` names.
 */
export function sourceLockName(source: ResolvedEndpoint): string {
  const { connector, options } = source;
  const target = connector.target?.('source', options);
  if (target !== undefined) return `${connector.kind}:${digest(`${target.server}\n${target.name}`)}`;
  const { name, database } = connector.describeEndpoint('source', options);
  const server = serverOf((options as { url?: unknown }).url);
  return `${connector.kind}:${digest(`${server}\n${database ?? ''}\n${name}`)}`;
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

/** Plans a job's flow: resolved and checked once (a bad option told with its flow and role), built per pump. */
export function planJob(server: ServerConfig, data: FlowJobData, registry: ConnectorRegistry): JobPlan {
  const flow = planFlow(configOfJob(server, data), data.name, registry);
  const instance = (reader: string): BuiltFlow => {
    const built = buildPlanned(flow, reader);
    if (data.fullRule !== 'original') return built;
    return { ...built, sink: originalFullRule(built.sink, built.spec.batchSize) };
  };
  // Competing readers that need names of their own (a Redis group's consumers) get a leased
  // stable one each when they run (see openFlowReader); one is built now under another, as a check.
  if (data.parallelism > 1) instance(`ferry:${data.name}:check-0`);
  return { flow, singleReader: flow.reading.singleReader, lockName: sourceLockName(flow.source), instance };
}
