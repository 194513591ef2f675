import { type ConnectorRegistry, formatIssues } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { JobStore } from '../control/jobs.js';
import { BadRequestError, flowRequest } from '../jobs/job-spec.js';
import type { ServerConfig } from '../server-config.js';

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

/** Schedules: a flow queued every N seconds or on a cron pattern, listed, removed. */
export function registerScheduleRoutes(
  app: FastifyInstance,
  store: JobStore,
  server: ServerConfig,
  registry: ConnectorRegistry,
): void {
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
}
