// Over 250 lines: every route is declared here once with its zod schemas, the source of the OpenAPI document.
import type { ConnectorRegistry } from '@ferry/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { andList } from '../cli/format.js';
import type { ControlStore } from '../control/index.js';
import type { JobStore } from '../control/jobs.js';
import { readStoredMetrics } from '../control/metrics.js';
import { registerDashboard } from '../dashboard/dashboard.js';
import { dashboardRouteDocs } from '../dashboard/dashboard-doc.js';
import { createDashboardMonitor, type DashboardMonitorOptions } from '../dashboard/dashboard-monitor.js';
import { edgeInfos, systemInfos } from '../dashboard/systems.js';
import { BadRequestError, flowRequest, s2sRequest } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';
import { createAuthHook } from './api-auth.js';
import { addRoutes, apiRoute } from './api-route.js';
import {
  errorSchema,
  healthSchema,
  jobIdParamsSchema,
  jobSchema,
  jobStateSchema,
  jobsQuerySchema,
  registrySchemas,
  scheduleIdParamsSchema,
  scheduleListSchema,
  scheduleSchema,
} from './api-schemas.js';
import { maskAnswer } from './masked-answers.js';
import { createMetricsRegistry } from './metrics-registry.js';
import { openApiDocument } from './openapi.js';
import { refuseRepeatedQuery } from './repeated-query.js';
import { s2sDictSchema } from './s2s.js';
import { checkScheduleInterval } from './schedule-interval.js';

export interface ApiOptions {
  readonly store: JobStore;
  readonly redis: ControlStore;
  readonly prefix: string;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  /** When set, every route but /health needs `Authorization: Bearer <token>` (or the dashboard's cookie for it). */
  readonly token?: string;
  /** `POST /s2s/` needs no token from a loopback peer (the original worker's callers send none). */
  readonly s2sWithoutToken?: boolean;
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

  app.addHook('onRequest', refuseRepeatedQuery);
  app.addHook('onSend', maskAnswer);
  if (options.token !== undefined) {
    app.addHook('onRequest', createAuthHook(options.token, { s2sWithoutToken: options.s2sWithoutToken === true }));
  }

  if (options.dashboard !== false) {
    const settings = options.dashboard ?? {};
    const monitor = createDashboardMonitor({ store, server, registry, version: options.version, ...settings });
    app.register(async (scope) => registerDashboard(scope, { monitor, token: options.token, uiDir: settings.uiDir }));
  }

  const { system, edge, connection, flowRequest: flowRequestSchema, components } = registrySchemas(registry);
  const idAnswer = z.object({ id: z.string() });
  const noJob = (id: string) => ({ error: `no job ${JSON.stringify(id)}` });
  const notFound = (what: string) => ({ description: `no such ${what}`, schema: errorSchema });

  const metrics = createMetricsRegistry({
    stored: () => readStoredMetrics(options.redis, options.prefix),
    jobs: async () => {
      const [counts, cancelled] = await Promise.all([store.counts(), store.cancelledCount()]);
      return { counts, cancelled };
    },
  });

  const routes = [
    apiRoute({
      method: 'GET',
      url: '/health',
      summary: 'Liveness; needs no token',
      public: true,
      answers: { 200: { description: 'up, and whether the control store answers', schema: healthSchema } },
      handler: async () => {
        const ok = (await options.redis.ping().catch(() => 'down')) === 'PONG';
        return { status: ok ? 'ok' : 'degraded', controlStore: ok ? 'up' : 'down', version: options.version };
      },
    }),
    // The original endpoint: the job id as plain text, as Flask returned the Celery task id.
    apiRoute({
      method: 'POST',
      url: '/s2s/',
      aliases: ['/s2s'],
      summary: 'The original S2S worker: queue the config dict, answer the job id as text',
      body: s2sDictSchema,
      check: (body) => s2sRequest(body, server, registry),
      answers: { 200: { description: 'the job id', schema: z.string(), media: 'text/plain' } },
      handler: async ({ body }, reply) => {
        const id = await store.submit(body);
        return reply.type('text/plain; charset=utf-8').send(id);
      },
    }),
    apiRoute({
      method: 'POST',
      url: '/flows',
      summary: 'Queue a flow: a flow spec of the config schema (plus name, parallelism) or { "flow": "NAME" }',
      body: flowRequestSchema,
      check: (body) => flowRequest(body, server, registry),
      answers: { 202: { description: 'queued', schema: idAnswer } },
      handler: async ({ body }, reply) => reply.code(202).send({ id: await store.submit(body) }),
    }),
    apiRoute({
      method: 'GET',
      url: '/jobs',
      summary: 'List jobs, newest first',
      query: jobsQuerySchema,
      answers: { 200: { description: 'jobs', schema: z.object({ jobs: z.array(jobSchema) }) } },
      handler: async ({ query }) => ({ jobs: await store.list(query.state, query.limit) }),
    }),
    apiRoute({
      method: 'GET',
      url: '/jobs/:id',
      summary: 'A job: state, progress, result, error',
      params: jobIdParamsSchema,
      answers: { 200: { description: 'the job', schema: jobSchema }, 404: notFound('job') },
      handler: async ({ params }, reply) => (await store.get(params.id)) ?? reply.code(404).send(noJob(params.id)),
    }),
    apiRoute({
      method: 'POST',
      url: '/jobs/:id/cancel',
      summary: 'Cancel a job: a waiting job is removed, a running one stops cleanly',
      params: jobIdParamsSchema,
      answers: {
        202: { description: 'cancelling', schema: z.object({ id: z.string(), state: jobStateSchema }) },
        404: notFound('job'),
      },
      handler: async ({ params }, reply) => {
        const state = await store.cancel(params.id);
        if (state === undefined) return reply.code(404).send(noJob(params.id));
        return reply.code(202).send({ id: params.id, state });
      },
    }),
    apiRoute({
      method: 'POST',
      url: '/schedules',
      summary: 'Create or replace a schedule: { id, every (seconds) | cron, flow: NAME | spec, parallelism? }',
      body: scheduleSchema,
      invalid: 'schedule',
      answers: { 201: { description: 'scheduled', schema: idAnswer } },
      handler: async ({ body }, reply) => {
        const { id, every, cron, flow, parallelism } = body;
        checkScheduleInterval(body, server.minScheduleSeconds);
        const request =
          typeof flow === 'string'
            ? { flow, ...(parallelism === undefined ? {} : { parallelism }) }
            : { ...flow, ...(parallelism === undefined ? {} : { parallelism }) };
        const data = flowRequest(request, server, registry);
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
      },
    }),
    apiRoute({
      method: 'GET',
      url: '/schedules',
      summary: 'List schedules',
      answers: { 200: { description: 'schedules', schema: scheduleListSchema } },
      handler: async () => ({ schedules: await store.schedules() }),
    }),
    apiRoute({
      method: 'DELETE',
      url: '/schedules/:id',
      summary: 'Remove a schedule',
      params: scheduleIdParamsSchema,
      answers: { 204: { description: 'removed' }, 404: notFound('schedule') },
      handler: async ({ params }, reply) => {
        if (!(await store.removeSchedule(params.id))) {
          return reply.code(404).send({ error: `no schedule ${JSON.stringify(params.id)}` });
        }
        return reply.code(204).send();
      },
    }),
    apiRoute({
      method: 'GET',
      url: '/edges',
      summary: 'The edge matrix of the registered systems',
      answers: {
        200: {
          description: 'every ordered pair of systems, and the systems',
          schema: z.object({ edges: z.array(edge), systems: z.array(system) }),
        },
      },
      handler: async () => ({ edges: edgeInfos(registry), systems: systemInfos(registry) }),
    }),
    // Names and kinds only: URLs carry hosts and credentials.
    apiRoute({
      method: 'GET',
      url: '/connections',
      summary: 'Connection names and kinds (never URLs)',
      answers: { 200: { description: 'connections', schema: z.object({ connections: z.array(connection) }) } },
      handler: async () => ({
        connections: Object.entries(server.config.connections).map(([name, c]) => ({
          name,
          kind: c.kind,
          installed: registry.has(c.kind),
        })),
      }),
    }),
    apiRoute({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus text exposition: counters and batch histograms per flow and edge, backlogs, jobs by state',
      answers: { 200: { description: 'metrics', media: 'text/plain' } },
      handler: async (_input, reply) => {
        const text = await metrics.metrics();
        return reply.type(metrics.contentType).send(text);
      },
    }),
    apiRoute({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This document',
      answers: { 200: { description: 'OpenAPI 3.1', media: 'application/json' } },
      // Made on first ask: a plug-in's schema that cannot be described must not keep the API from serving jobs.
      handler: async () => {
        document ??= openApiDocument({
          title: 'ferry',
          version: options.version ?? '0.0.0',
          description: `Moves data between ${andList(registry.list().map((c) => c.title))} as jobs.`,
          routes: docs,
          components,
        });
        return document;
      },
    }),
  ];
  let document: object | undefined;
  const docs = [...addRoutes(app, routes, errorSchema), ...(options.dashboard === false ? [] : dashboardRouteDocs)];

  return app;
}
