import SwaggerParser from '@apidevtools/swagger-parser';
import type { ConnectorDefinition } from '@ferry/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, installedConnectors } from '../connectors.js';
import type { JobStore, JobView } from '../control/jobs.js';
import { parseServerConfig } from '../server-config.js';
import { createApi } from './api.js';
import { openApiPath } from './openapi.js';

const server = parseServerConfig({
  connections: {
    default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
    mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017/db' },
  },
  flows: { demo: { source: { stream: 'in' }, sink: { stream: 'out' } } },
});

const job: JobView = {
  id: '0b6f3c1e-5a7d-4c2b-9e8f-1a2b3c4d5e6f',
  name: 'demo',
  state: 'completed',
  origin: 'flows',
  attempts: 1,
  progress: { records: 10, batches: 1, bytes: 80, deadLettered: 0, rate: 100, elapsedMs: 100, edge: 'S2S' },
  result: {
    records: 10,
    batches: 1,
    bytes: 80,
    deadLettered: 0,
    rate: 100,
    elapsedMs: 100,
    stopReason: 'empty',
    edge: 'S2S',
    worker: 'host:1',
    instances: 1,
  },
  createdAt: new Date(0).toISOString(),
  startedAt: new Date(1).toISOString(),
  finishedAt: new Date(2).toISOString(),
};

const store = {
  submit: async () => 'job-2',
  get: async (id: string) => (id === job.id ? job : undefined),
  list: async () => [job],
  cancel: async (id: string) => (id === job.id ? 'cancelled' : undefined),
  schedules: async () => [{ id: 's', name: 'demo', everySeconds: 5, next: new Date(0).toISOString() }],
  schedule: async () => undefined,
  removeSchedule: async () => true,
} as unknown as JobStore;
const redis = { ping: async () => 'PONG' } as unknown as Redis;

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function api(options: { registry?: ReturnType<typeof createRegistry>; dashboard?: false } = {}) {
  const app = createApi({
    store,
    redis,
    prefix: 't',
    server,
    registry: options.registry ?? createRegistry(),
    ...options,
  });
  apps.push(app);
  return app;
}

async function documentOf(app: ReturnType<typeof api>) {
  return (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
}

type Operation = {
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
};

/** The document with every $ref replaced by what it names, and a JSON Schema 2020-12 checker for it. */
async function checker(doc: object) {
  const resolved = (await SwaggerParser.dereference(structuredClone(doc) as never)) as unknown as {
    paths: Record<string, Record<string, Operation>>;
  };
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  const check = (schema: object | undefined, value: unknown) => {
    expect(schema).toBeDefined();
    const validate = ajv.compile(schema!);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
  };
  return {
    answer(path: string, method: string, status: number, value: unknown) {
      const op = resolved.paths[path]![method]!;
      check(op.responses[status]?.content?.['application/json']?.schema, value);
    },
    accepts(path: string, method: string, value: unknown) {
      const schema = resolved.paths[path]![method]!.requestBody!.content['application/json']!.schema;
      return ajv.compile(schema)(value);
    },
  };
}

describe('the OpenAPI document, made from the routes’ zod schemas', () => {
  it('is valid OpenAPI 3.1, each $ref resolving, with the dashboard and without', async () => {
    for (const app of [api(), api({ dashboard: false })]) {
      const doc = await documentOf(app);
      expect(doc.openapi).toBe('3.1.0');
      await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
    }
  });

  it('documents only routes the server has, with their methods', async () => {
    const app = api();
    await app.ready();
    const doc = await documentOf(app);
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => [method.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1')] as const),
    );
    expect(documented.length).toBeGreaterThanOrEqual(16);
    for (const [method, url] of documented) {
      expect(app.hasRoute({ method: method as 'GET', url }), `${method} ${url}`).toBe(true);
    }
    expect(openApiPath('/jobs/:id/cancel')).toBe('/jobs/{id}/cancel');
    const bare = await documentOf(api({ dashboard: false }));
    expect(Object.keys(bare.paths)).not.toContain('/ui');
  });

  it('says which routes need the token as the server does', async () => {
    const app = createApi({ store, redis, prefix: 't', server, registry: createRegistry(), token: 's3cret' });
    apps.push(app);
    // The document itself needs the token.
    expect((await documentOf(app)).error).toMatch(/bearer token/);
    const { paths } = await documentOf(api());
    for (const [path, ops] of Object.entries(paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      if (path.startsWith('/ui')) continue; // the dashboard answers with its login page
      for (const [method, op] of Object.entries(ops)) {
        const url = path.replace(/\{\w+\}/g, 'x');
        const res = await app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          payload: method === 'get' ? undefined : {},
        });
        expect(res.statusCode, `${method} ${path}`).toBe(op.security?.length === 0 ? 200 : 401);
      }
    }
  });

  it('describes what the routes answer: each answer holds to its schema', async () => {
    const app = api();
    const doc = await documentOf(app);
    const { answer } = await checker(doc);
    const get = async (url: string) => (await app.inject({ method: 'GET', url })).json();
    answer('/health', 'get', 200, await get('/health'));
    answer('/edges', 'get', 200, await get('/edges'));
    answer('/connections', 'get', 200, await get('/connections'));
    answer('/jobs', 'get', 200, await get('/jobs?state=completed&limit=5'));
    answer('/jobs/{id}', 'get', 200, await get(`/jobs/${job.id}`));
    answer('/jobs/{id}', 'get', 404, await get('/jobs/0b6f3c1e-5a7d-4c2b-9e8f-000000000000'));
    answer('/jobs/{id}', 'get', 400, await get('/jobs/meta'));
    answer('/schedules', 'get', 200, await get('/schedules'));
    answer('/jobs', 'get', 400, await get('/jobs?limit=0'));
    const cancel = await app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` });
    answer('/jobs/{id}/cancel', 'post', 202, cancel.json());
    const flows = await app.inject({ method: 'POST', url: '/flows', payload: { flow: 'demo' } });
    answer('/flows', 'post', 202, flows.json());
    const refused = await app.inject({ method: 'POST', url: '/flows', payload: { flow: 'nope' } });
    answer('/flows', 'post', 400, refused.json());
  });

  it('describes what the routes take: bodies the API queues fit the document, and bodies of a wrong shape do not', async () => {
    const app = api();
    const { accepts } = await checker(await documentOf(app));
    const queued = [
      { flow: 'demo' },
      { flow: 'demo', parallelism: 1 },
      { source: { stream: 'a' }, sink: { stream: 'b' } },
      { name: 'x', source: { stream: 'a', mode: 'group' }, sink: { stream: 'b' }, parallelism: 3, batchSize: 10 },
      { source: { connection: 'mongo', collection: 'c' }, sink: { stream: 'b', maxLen: 10 } },
    ];
    for (const body of queued) {
      expect((await app.inject({ method: 'POST', url: '/flows', payload: body })).statusCode).toBe(202);
      expect(accepts('/flows', 'post', body), JSON.stringify(body)).toBe(true);
    }
    const wrong = [
      { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: 'ten' },
      { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: -5 },
      { flow: 'demo', extra: 1 },
      { source: { stream: 'a', mode: 'sideways' }, sink: { stream: 'b' } },
      { name: 'not a name', source: { stream: 'a' }, sink: { stream: 'b' } },
    ];
    for (const body of wrong) {
      expect((await app.inject({ method: 'POST', url: '/flows', payload: body })).statusCode).toBe(400);
      expect(accepts('/flows', 'post', body), JSON.stringify(body)).toBe(false);
    }
    const schedule = { id: 'every-5', every: 5, flow: 'demo' };
    expect((await app.inject({ method: 'POST', url: '/schedules', payload: schedule })).statusCode).toBe(201);
    expect(accepts('/schedules', 'post', schedule)).toBe(true);
    expect(accepts('/schedules', 'post', { id: 'x', flow: 'demo', every: 'often' })).toBe(false);
  });

  it('takes the kinds, letters and each endpoint’s keys from the registry, plug-ins included', async () => {
    const plugin: ConnectorDefinition = {
      kind: 'xbox',
      letter: 'X',
      title: 'Plug-in X',
      schemes: ['xbox:'],
      holds: 'stream',
      options: {
        source: z.strictObject({ url: z.string().optional(), box: z.string(), secret: z.string().optional() }),
        sink: z.strictObject({ url: z.string().optional(), box: z.string(), depth: z.int().optional() }),
      },
      dataPlaneKeys: { source: ['box'], sink: ['box', 'depth'] },
      createSource: () => ({}) as never,
      createSink: () => ({}) as never,
      describeEndpoint: () => ({ what: 'box', name: 'b', singleReader: false }),
    };
    // A plug-in may give no zod schemas at all: its endpoints are then its data-plane keys, of any value.
    const bare: ConnectorDefinition = {
      ...plugin,
      kind: 'ybox',
      letter: 'Y',
      schemes: ['ybox:'],
      options: { source: {}, sink: {} } as never,
    };
    const registry = createRegistry([...installedConnectors, plugin, bare]);
    const doc = await documentOf(api({ registry }));
    const schemas = doc.components.schemas;
    expect(schemas.Connection.properties.kind.enum).toEqual(registry.kinds());
    expect(schemas.System.properties.letter.enum).toEqual([...installedConnectors.map((c) => c.letter), 'X', 'Y']);
    // Only the keys a caller may choose; servers and secrets are the config's.
    expect(Object.keys(schemas.XboxSource.properties)).toEqual(['connection', 'box']);
    expect(Object.keys(schemas.XboxSink.properties)).toEqual(['connection', 'box', 'depth']);
    expect(schemas.FlowSpec.properties.source.anyOf).toContainEqual({ $ref: '#/components/schemas/XboxSource' });
    expect(schemas.YboxSink).toMatchObject({
      properties: { connection: { type: 'string' }, box: {}, depth: {} },
      additionalProperties: false,
    });
    for (const c of installedConnectors) {
      for (const role of ['source', 'sink'] as const) {
        const name = `${c.kind.replace(/(^|-)(\w)/g, (_m, _d, l: string) => l.toUpperCase())}${role === 'source' ? 'Source' : 'Sink'}`;
        const keys = Object.keys(schemas[name].properties);
        expect(keys[0]).toBe('connection');
        for (const key of keys.slice(1)) expect(c.dataPlaneKeys[role]).toContain(key);
        expect(keys).not.toContain('url');
      }
    }
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
  });
});
