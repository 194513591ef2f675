import type { ConnectorRegistry } from '@ferry/core';
import { andList } from '../cli/format.js';

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const answers = (ok: Record<string, unknown>) => ({
  ...ok,
  '400': { description: 'Bad request: the field, the value and what is allowed', ...json(error) },
  '401': { description: 'Missing or wrong bearer token', ...json(error) },
});

/** The API described for clients and tools; written by hand, kept next to the routes; the systems from the registry. */
export function openApiDocument(version: string, registry: ConnectorRegistry): object {
  const systems = registry.list();
  const kinds = { enum: registry.kinds() };
  const letters = { enum: systems.map((c) => c.letter) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'ferry',
      version,
      description: `Moves data between ${andList(systems.map((c) => c.title))} as jobs.`,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            state: { enum: ['waiting', 'active', 'completed', 'failed', 'cancelled'] },
            progress: { type: 'object', description: 'records, batches, bytes, rate, elapsedMs, backlog, lastError' },
            result: {
              type: 'object',
              description: 'records, batches, bytes, stopReason (empty, maxBatches, full, aborted), edge, worker',
            },
            error: { type: 'string' },
            attempts: { type: 'integer' },
          },
        },
        System: {
          type: 'object',
          properties: {
            letter: letters,
            kind: kinds,
            title: { type: 'string' },
            holds: { enum: ['store', 'stream'] },
            installed: { type: 'boolean' },
          },
        },
        Edge: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'source letter, 2, sink letter: S2Q' },
            from: letters,
            to: letters,
            allowed: { type: 'boolean' },
            reason: { type: 'string', description: 'why a refused edge is refused' },
            installed: { type: 'boolean' },
          },
        },
        Connection: {
          type: 'object',
          properties: { name: { type: 'string' }, kind: kinds, installed: { type: 'boolean' } },
        },
        S2sConfig: {
          type: 'object',
          required: [
            'source_stream',
            'target_stream',
            'source_read_batch_num',
            'target_write_batch_num',
            'max_exec_cnt',
          ],
          properties: {
            source_stream: { type: 'string' },
            target_stream: { type: 'string' },
            source_read_batch_num: { type: 'integer', minimum: 1 },
            target_write_batch_num: { type: 'integer', minimum: 1 },
            target_q_max_len: { type: 'integer', minimum: 1, default: 100000 },
            max_exec_cnt: { type: 'integer', minimum: 1 },
            source_connection_hash: {
              type: ['string', 'null'],
              description: 'a connection of the config; null: default',
            },
            target_connection_hash: { type: ['string', 'null'] },
            source_redis_agent_host: { description: 'accepted and ignored' },
            target_redis_agent_host: { description: 'accepted and ignored' },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/s2s/': {
        post: {
          summary: 'The original S2S worker: queue the config dict, answer the job id as text',
          requestBody: json({ $ref: '#/components/schemas/S2sConfig' }),
          responses: answers({
            '200': { description: 'the job id', content: { 'text/plain': { schema: { type: 'string' } } } },
          }),
        },
      },
      '/flows': {
        post: {
          summary: 'Queue a flow: a flow spec of the config schema (plus name, parallelism) or { "flow": "NAME" }',
          requestBody: json({ type: 'object' }),
          responses: answers({
            '202': { description: 'queued', ...json({ type: 'object', properties: { id: { type: 'string' } } }) },
          }),
        },
      },
      '/jobs': {
        get: {
          summary: 'List jobs',
          parameters: [
            { name: 'state', in: 'query', schema: { enum: ['waiting', 'active', 'completed', 'failed', 'cancelled'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: answers({
            '200': {
              description: 'jobs',
              ...json({
                type: 'object',
                properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } },
              }),
            },
          }),
        },
      },
      '/jobs/{id}': {
        get: {
          summary: 'A job: state, progress, result, error',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: answers({
            '200': { description: 'the job', ...json({ $ref: '#/components/schemas/Job' }) },
            '404': { description: 'no such job', ...json(error) },
          }),
        },
      },
      '/jobs/{id}/cancel': {
        post: {
          summary: 'Cancel a job: a waiting job is removed, a running one stops cleanly',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: answers({
            '202': { description: 'cancelling', ...json({ type: 'object' }) },
            '404': { description: 'no such job', ...json(error) },
          }),
        },
      },
      '/schedules': {
        get: {
          summary: 'List schedules',
          responses: answers({ '200': { description: 'schedules', ...json({ type: 'object' }) } }),
        },
        post: {
          summary: 'Create or replace a schedule: { id, every (seconds) | cron, flow: NAME | spec, parallelism? }',
          requestBody: json({ type: 'object', required: ['id', 'flow'] }),
          responses: answers({ '201': { description: 'scheduled', ...json({ type: 'object' }) } }),
        },
      },
      '/schedules/{id}': {
        delete: {
          summary: 'Remove a schedule',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: answers({
            '204': { description: 'removed' },
            '404': { description: 'no such schedule', ...json(error) },
          }),
        },
      },
      '/edges': {
        get: {
          summary: 'The edge matrix of the registered systems',
          responses: answers({
            '200': {
              description: 'edges and systems',
              ...json({
                type: 'object',
                properties: {
                  edges: { type: 'array', items: { $ref: '#/components/schemas/Edge' } },
                  systems: { type: 'array', items: { $ref: '#/components/schemas/System' } },
                },
              }),
            },
          }),
        },
      },
      '/connections': {
        get: {
          summary: 'Connection names and kinds (never URLs)',
          responses: answers({
            '200': {
              description: 'connections',
              ...json({
                type: 'object',
                properties: { connections: { type: 'array', items: { $ref: '#/components/schemas/Connection' } } },
              }),
            },
          }),
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus text exposition',
          responses: answers({ '200': { description: 'metrics', content: { 'text/plain': {} } } }),
        },
      },
      '/health': {
        get: {
          summary: 'Liveness; needs no token',
          security: [],
          responses: { '200': { description: 'ok', ...json({ type: 'object' }) } },
        },
      },
      '/ui': {
        get: {
          summary:
            'The dashboard page; with ?token=<token> the token becomes an HttpOnly session cookie (303 to /ui/) that the page and the API accept',
          parameters: [{ name: 'token', in: 'query', schema: { type: 'string' } }],
          responses: {
            '200': { description: 'the page', content: { 'text/html': {} } },
            '303': { description: 'token taken: the session cookie is set' },
            '401': { description: 'no or wrong token: a login form (HTML) or an Error (JSON)' },
          },
        },
      },
      '/ui/events': {
        get: {
          summary:
            'Server-Sent Events: a `snapshot` event (jobs with rates, depths over time, dead letters, schedules, edges) when something changed, at most once a second',
          responses: answers({ '200': { description: 'an event stream', content: { 'text/event-stream': {} } } }),
        },
      },
      '/ui/snapshot': {
        get: {
          summary: "The dashboard's picture now, as the event stream sends it",
          responses: answers({ '200': { description: 'the picture', ...json({ type: 'object' }) } }),
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: answers({ '200': { description: 'OpenAPI 3.1', ...json({ type: 'object' }) } }),
        },
      },
    },
  };
}
