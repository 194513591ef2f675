import type { ConnectorRegistry } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { type JobState, type JobStore, jobStates } from '../control/jobs.js';
import { BadRequestError, flowRequest, s2sRequest } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';

/** `/s2s/` for the original callers, `POST /flows`, and the jobs: listed, looked up, cancelled. */
export function registerJobRoutes(
  app: FastifyInstance,
  store: JobStore,
  server: ServerConfig,
  registry: ConnectorRegistry,
): void {
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
}
