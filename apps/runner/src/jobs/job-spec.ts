import { ConfigError, type ConnectorRegistry, FerryError, type FlowSpec, formatIssues, parseFlow } from '@ferry/core';
import { z } from 'zod';
import { s2sDictSchema, s2sFlow } from '../http/s2s.js';
import type { ServerConfig } from '../server-config.js';
import { callerKeyProblems, callerScopeProblems } from './api-scope.js';
import type { FlowPlan } from './flow-builder.js';
import { planJob } from './job-plan.js';

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

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function refuse(problems: readonly string[], where = 'flow'): void {
  if (problems.length > 0) throw new BadRequestError(`[ferry] invalid ${where}:\n${problems.join('\n')}`);
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

/** Checks a job the way the worker will plan it: schema, connections, edge, connector options, parallelism. */
export function checkJob(server: ServerConfig, data: FlowJobData, registry: ConnectorRegistry): FlowPlan {
  const { flow } = planJob(server, data, registry);
  const source = flow.reading;
  if (data.parallelism > 1 && source.singleReader) {
    const mode = (flow.spec.source as { mode?: unknown }).mode;
    throw new BadRequestError(
      `[ferry] invalid flow "${data.name}":\n  - parallelism: the source ${source.what} "${source.name}"${mode === undefined ? '' : ` in ${String(mode)} mode`} is read by one reader at a time (got ${data.parallelism}); use a source that allows competing readers (a consumer group, a queue)`,
    );
  }
  if (data.parallelism > 1 && flow.spec.maxBatches !== undefined) {
    throw new BadRequestError(
      `[ferry] invalid flow "${data.name}":\n  - parallelism: cannot be combined with maxBatches (got parallelism ${data.parallelism}, maxBatches ${flow.spec.maxBatches})`,
    );
  }
  return flow;
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
    // Only the data plane is the caller's: servers, credentials, DDL and filters are the config file's.
    refuse(callerKeyProblems(spec, server, registry));
    data = {
      name,
      flow: asBadRequest(() => parseFlow(spec, name)),
      parallelism: parseParallelism(parallelism, `flow "${name}"`),
      origin: 'flows',
    };
  }
  const plan = asBadRequest(() => checkJob(server, data, registry));
  // A flow of the config is the operator's own; a spec is the caller's, within api.allow.
  if (data.flow !== undefined) refuse(callerScopeProblems(plan, server), `flow "${data.name}"`);
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
  const plan = asBadRequest(() => checkJob(server, data, registry));
  refuse(callerScopeProblems(plan, server), '/s2s/ config');
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
