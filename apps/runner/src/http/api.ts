import { type ConnectorRegistry, formatIssues } from '@ferry/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ControlStore } from '../control/index.js';
import { type JobState, type JobStore, jobStates } from '../control/jobs.js';
import { readStoredMetrics } from '../control/metrics.js';
import { registerDashboard } from '../dashboard/dashboard.js';
import { createDashboardMonitor, type DashboardMonitorOptions } from '../dashboard/dashboard-monitor.js';
import { edgeInfos, systemInfos } from '../dashboard/systems.js';
import { BadRequestError, flowRequest, s2sRequest } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';
import { createAuthHook } from './api-auth.js';
import { createMetricsRegistry } from './metrics-registry.js';
import { openApiDocument } from './openapi.js';

export interface ApiOptions {
  readonly store: JobStore;
  readonly redis: ControlStore;
  readonly prefix: string;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  /** When set, every route but /health needs `Authorization: Bearer <token>` (or the dashboard's cookie for it). */
  readonly token?: string;
  /** Largest request body, in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  readonly version?: string;
  /** The dashboard under /ui (on by default); false: the API only. */
  readonly dashboard?:
    | false
    | (Pick<DashboardMonitorOptions, 'intervalMs' | 'depthIntervalMs' | 'historyLength' | 'jobLimit'> & {
        readonly uiDir?: string;
      });
}

const scheduleSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected 1 to 100 letters, digits, _ . : -'),
    every: z
      .number()
      .positive()
      .max(366 * 24 * 3600)
      .optional(),
    cron: z.string().min(9).max(200).optional(),
    flow: z.union([z.string().min(1), z.looseObject({})]),
    parallelism: z.int().min(1).max(64).optional(),
  })
  .refine((s) => (s.every === undefined) !== (s.cron === undefined), {
    message: 'give exactly one of every (seconds) and cron (a cron pattern)',
    path: ['every'],
  });

/** The HTTP API: `/s2s/` for the original callers, flows, jobs, schedules, metrics. */
export function createApi(options: ApiOptions): FastifyInstance {
  const { store, server, registry } = options;
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024 });

  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    if (error instanceof BadRequestError) return reply.code(400).send({ error: error.message });
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    return reply.code(500).send({ error: `[ferry] internal error: ${error.message}` });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url}` }),
  );

  if (options.token !== undefined) app.addHook('onRequest', createAuthHook(options.token));

  if (options.dashboard !== false) {
    const settings = options.dashboard ?? {};
    const monitor = createDashboardMonitor({ store, server, registry, version: options.version, ...settings });
    app.register(async (scope) => registerDashboard(scope, { monitor, token: options.token, uiDir: settings.uiDir }));
  }

  app.get('/health', async () => {
    const ok = (await options.redis.ping().catch(() => 'down')) === 'PONG';
    return { status: ok ? 'ok' : 'degraded', controlStore: ok ? 'up' : 'down', version: options.version };
  });

  // The original endpoint: the job id as plain text, as Flask returned the Celery task id.
  const s2s = async (request: { body: unknown }, reply: { type(t: string): unknown }) => {
    const id = await store.submit(s2sRequest(request.body, server, registry));
    reply.type('text/plain; charset=utf-8');
    return id;
  };
  app.post('/s2s/', s2s);
  app.post('/s2s', s2s);

  app.post('/flows', async (request, reply) => {
    const id = await store.submit(flowRequest(request.body, server, registry));
    return reply.code(202).send({ id });
  });

  app.get('/jobs', async (request) => {
    const { state, limit } = request.query as { state?: string; limit?: string };
    if (state !== undefined && !(jobStates as readonly string[]).includes(state)) {
      throw new BadRequestError(
        `[ferry] invalid query:\n  - state: expected one of ${jobStates.join(', ')} (got ${JSON.stringify(state)})`,
      );
    }
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new BadRequestError(
        `[ferry] invalid query:\n  - limit: expected an integer from 1 to 1000 (got ${JSON.stringify(limit)})`,
      );
    }
    return { jobs: await store.list(state as JobState | undefined, n) };
  });

  app.get('/jobs/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await store.get(id);
    if (job === undefined) return reply.code(404).send({ error: `no job ${JSON.stringify(id)}` });
    return job;
  });

  app.post('/jobs/:id/cancel', async (request, reply) => {
    const { id } = request.params as { id: string };
    const state = await store.cancel(id);
    if (state === undefined) return reply.code(404).send({ error: `no job ${JSON.stringify(id)}` });
    return reply.code(202).send({ id, state });
  });

  app.post('/schedules', async (request, reply) => {
    const parsed = scheduleSchema.safeParse(request.body);
    if (!parsed.success)
      throw new BadRequestError(`[ferry] invalid schedule:\n${formatIssues(parsed.error.issues, request.body)}`);
    const { id, every, cron, flow, parallelism } = parsed.data;
    const body =
      typeof flow === 'string'
        ? { flow, ...(parallelism === undefined ? {} : { parallelism }) }
        : { ...flow, ...(parallelism === undefined ? {} : { parallelism }) };
    const data = flowRequest(body, server, registry);
    try {
      await store.schedule({
        id,
        ...(every === undefined ? {} : { everySeconds: every }),
        ...(cron === undefined ? {} : { cron }),
        data,
      });
    } catch (error) {
      throw new BadRequestError(
        `[ferry] invalid schedule:\n  - cron: ${(error as Error).message} (got ${JSON.stringify(cron)})`,
      );
    }
    return reply.code(201).send({ id });
  });

  app.get('/schedules', async () => ({ schedules: await store.schedules() }));

  app.delete('/schedules/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await store.removeSchedule(id))) return reply.code(404).send({ error: `no schedule ${JSON.stringify(id)}` });
    return reply.code(204).send();
  });

  app.get('/edges', async () => ({ edges: edgeInfos(registry), systems: systemInfos(registry) }));

  // Names and kinds only: URLs carry hosts and credentials.
  app.get('/connections', async () => ({
    connections: Object.entries(server.config.connections).map(([name, c]) => ({
      name,
      kind: c.kind,
      installed: registry.has(c.kind),
    })),
  }));

  const metrics = createMetricsRegistry({
    stored: () => readStoredMetrics(options.redis, options.prefix),
    jobs: async () => {
      const [counts, cancelled] = await Promise.all([store.counts(), store.cancelledCount()]);
      return { counts, cancelled };
    },
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.metrics();
    return reply.type(metrics.contentType).send(text);
  });

  app.get('/openapi.json', async () => openApiDocument(options.version ?? '0.0.0', registry));

  return app;
}
