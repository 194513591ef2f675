import type { ConnectorRegistry } from '@ferry/core';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ControlStore } from '../control/index.js';
import type { JobStore } from '../control/jobs.js';
import { collectMetrics } from '../control/metrics.js';
import { registerDashboard } from '../dashboard/dashboard.js';
import { createDashboardMonitor, type DashboardMonitorOptions } from '../dashboard/dashboard-monitor.js';
import { edgeInfos, systemInfos } from '../dashboard/systems.js';
import { BadRequestError } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';
import { createAuthHook } from './api-auth.js';
import { registerJobRoutes } from './job-routes.js';
import { openApiDocument } from './openapi.js';
import { registerScheduleRoutes } from './schedule-routes.js';

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

  registerJobRoutes(app, store, server, registry);
  registerScheduleRoutes(app, store, server, registry);

  app.get('/edges', async () => ({ edges: edgeInfos(registry), systems: systemInfos(registry) }));

  // Names and kinds only: URLs carry hosts and credentials.
  app.get('/connections', async () => ({
    connections: Object.entries(server.config.connections).map(([name, c]) => ({
      name,
      kind: c.kind,
      installed: registry.has(c.kind),
    })),
  }));

  app.get('/metrics', async (_request, reply) => {
    const [counts, cancelled] = await Promise.all([store.counts(), store.cancelledCount()]);
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return collectMetrics(options.redis, options.prefix, counts, cancelled);
  });

  app.get('/openapi.json', async () => openApiDocument(options.version ?? '0.0.0', registry));

  return app;
}
