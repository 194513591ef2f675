import { forgetSecrets, rememberSecrets } from '@ferry/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, installedConnectors } from '../connectors.js';
import type { JobStore } from '../control/jobs.js';
import type { FlowJobData } from '../jobs/job-spec.js';
import { parseServerConfig } from '../server-config.js';
import { createApi } from './api.js';

const server = parseServerConfig({
  connections: {
    default: { kind: 'redis-stream', url: 'redis://user:hunter2@127.0.0.1:6379' },
    mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017/db' },
    ch: { kind: 'clickhouse', url: 'http://127.0.0.1:8123' },
  },
  flows: { demo: { source: { stream: 'in' }, sink: { stream: 'out' }, parallelism: 1 } },
});

/** A store that only remembers what was submitted: a 400 must submit nothing. */
function fakeStore() {
  const submitted: FlowJobData[] = [];
  const store = {
    submit: async (data: FlowJobData) => {
      submitted.push(data);
      return `job-${submitted.length}`;
    },
    get: async () => undefined,
    cancel: async () => undefined,
    schedule: async () => undefined,
  } as unknown as JobStore;
  return { store, submitted };
}

const redis = { ping: async () => 'PONG' } as unknown as Redis;
const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function api(token?: string) {
  const { store, submitted } = fakeStore();
  const app = createApi({ store, redis, prefix: 't', server, registry: createRegistry(), token });
  apps.push(app);
  return { app, submitted };
}

const post = (url: string, payload: string | object, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url,
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

const s2sDict = {
  source_stream: 'in',
  target_stream: 'out',
  source_read_batch_num: 1,
  target_write_batch_num: 1,
  target_q_max_len: 100000,
  max_exec_cnt: 10,
  source_connection_hash: null,
  target_connection_hash: null,
  source_redis_agent_host: 'http://127.0.0.1:24021/',
};

describe('HTTP API validation', () => {
  it('answers /s2s/ with the job id as plain text and queues the original loop', async () => {
    const { app, submitted } = api();
    const res = await app.inject(post('/s2s/', s2sDict));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('job-1');
    expect(submitted[0]).toMatchObject({
      name: 's2s',
      fullRule: 'original',
      flow: { batchSize: 1, maxBatches: 10, whenFull: 'stop', source: { mode: 'range' } },
    });
    expect(JSON.stringify(submitted[0])).not.toContain('hunter2');
  });

  it.each([
    ['malformed JSON', '/flows', '{"source": ', /JSON/],
    [
      'a wrong type',
      '/flows',
      { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: 'ten' },
      /batchSize: .*"ten"/,
    ],
    [
      'a negative batch size',
      '/flows',
      { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: -5 },
      /batchSize: .*-5/,
    ],
    [
      'an unknown connection',
      '/flows',
      { source: { connection: 'nope', stream: 'a' }, sink: { stream: 'b' } },
      /no connection named "nope"/,
    ],
    [
      'an M2C flow',
      '/flows',
      { source: { connection: 'mongo', collection: 'c' }, sink: { connection: 'ch', table: 't' } },
      /M2C is not permitted/,
    ],
    [
      'a URL in an endpoint',
      '/flows',
      { source: { stream: 'a', url: 'redis://evil:1' }, sink: { stream: 'b' } },
      /source\.url: a connection key, set in the config file/,
    ],
    ['an unknown flow name', '/flows', { flow: 'nope' }, /no flow named "nope"; the config names "demo"/],
    ['parallelism on a range source', '/flows', { flow: 'demo', parallelism: 4 }, /parallelism: .*one reader/],
    ['a negative s2s batch', '/s2s/', { ...s2sDict, source_read_batch_num: -1 }, /source_read_batch_num: .*-1/],
    [
      'an s2s unknown connection',
      '/s2s/',
      { ...s2sDict, target_connection_hash: 'gone' },
      /no connection named "gone"/,
    ],
  ])('refuses %s with 400 naming it, and queues nothing', async (_label, url, body, message) => {
    const { app, submitted } = api();
    const res = await app.inject(post(url, body));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
    expect(submitted).toEqual([]);
  });

  it('queues a named flow and a spec with 202 { id }', async () => {
    const { app, submitted } = api();
    const a = await app.inject(post('/flows', { flow: 'demo' }));
    expect(a.statusCode).toBe(202);
    expect(a.json()).toEqual({ id: 'job-1' });
    const b = await app.inject(
      post('/flows', { name: 'x', source: { stream: 'a', mode: 'group' }, sink: { stream: 'b' }, parallelism: 3 }),
    );
    expect(b.statusCode).toBe(202);
    expect(submitted.map((d) => [d.name, d.parallelism])).toEqual([
      ['demo', 1],
      ['x', 3],
    ]);
  });

  it('answers 404 for an unknown job, and 400 for what is no job id ferry gives', async () => {
    const { app } = api();
    const unknown = 'ae0b7a8e-0a4c-4f55-8a36-7b5e0e6c2b11';
    expect((await app.inject({ method: 'GET', url: `/jobs/${unknown}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/jobs/${unknown}/cancel` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/jobs/repeat:nightly:1764806400000' })).statusCode).toBe(404);
    for (const id of ['meta', 'events', 'repeat:nightly', 'repeat:a:b:1', 'ferry:cancelled', unknown.toUpperCase()]) {
      const get = await app.inject({ method: 'GET', url: `/jobs/${encodeURIComponent(id)}` });
      expect(get.statusCode, id).toBe(400);
      expect(get.json().error).toContain('[ferry] invalid path:\n  - id: expected a job id as ferry gives them');
      expect((await app.inject({ method: 'POST', url: `/jobs/${encodeURIComponent(id)}/cancel` })).statusCode).toBe(
        400,
      );
    }
    const schedule = await app.inject({ method: 'DELETE', url: '/schedules/a%3Ab' });
    expect(schedule.statusCode).toBe(400);
    expect(schedule.json().error).toContain('id: expected 1 to 100 letters, digits, _ . -');
  });

  it('refuses a schedule more often than api.minScheduleSeconds, by every or by cron', async () => {
    const { app } = api();
    const res = await app.inject(post('/schedules', { id: 'fast', every: 0.001, flow: 'demo' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe(
      '[ferry] invalid schedule:\n  - every: at least 1 s between runs (api.minScheduleSeconds), got 0.001',
    );
    const { store } = fakeStore();
    const strict = parseServerConfig({ ...server.config, api: { minScheduleSeconds: 60 } });
    const slow = createApi({ store, redis, prefix: 't', server: strict, registry: createRegistry() });
    apps.push(slow);
    const cron = await slow.inject(post('/schedules', { id: 'c', cron: '*/30 * * * * *', flow: 'demo' }));
    expect(cron.statusCode).toBe(400);
    expect(cron.json().error).toBe(
      '[ferry] invalid schedule:\n  - cron: at least 60 s between runs (api.minScheduleSeconds), got "*/30 * * * * *", 30 s apart',
    );
    expect((await slow.inject(post('/schedules', { id: 'e', every: 30, flow: 'demo' }))).statusCode).toBe(400);
    expect((await slow.inject(post('/schedules', { id: 'c', cron: '*/5 * * * *', flow: 'demo' }))).statusCode).toBe(
      201,
    );
    expect((await slow.inject(post('/schedules', { id: 'e', every: 60, flow: 'demo' }))).statusCode).toBe(201);
  });

  it('refuses a query parameter given twice, on every route', async () => {
    const { app } = api('s3cret');
    for (const url of [
      '/ui?token=a&token=b',
      '/ui/?token=s3cret&token=b',
      '/jobs?limit=1&limit=2',
      '/health?x=1&x=2',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
      expect(res.statusCode, url).toBe(400);
      expect(res.body, url).not.toContain('<html');
    }
    const res = await app.inject({ method: 'GET', url: '/ui?token=a&token=b' });
    expect(res.json().error).toBe(
      '[ferry] invalid query:\n  - token: given more than once; give each query parameter once',
    );
  });

  it('opens POST /s2s/ alone without a token to a loopback peer when s2sWithoutToken is set', async () => {
    const { store, submitted } = fakeStore();
    const app = createApi({
      store,
      redis,
      prefix: 't',
      server,
      registry: createRegistry(),
      token: 's3cret',
      s2sWithoutToken: true,
    });
    apps.push(app);
    const local = { remoteAddress: '127.0.0.1' };
    expect((await app.inject({ ...post('/s2s/', s2sDict), ...local })).statusCode).toBe(200);
    expect((await app.inject({ ...post('/s2s', s2sDict), ...local })).statusCode).toBe(200);
    expect((await app.inject({ ...post('/flows', { flow: 'demo' }), ...local })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/jobs', ...local })).statusCode).toBe(401);
    expect((await app.inject({ ...post('/s2s/', s2sDict), remoteAddress: '10.0.0.7' })).statusCode).toBe(401);
    expect(submitted).toHaveLength(2);
  });

  it('masks every secret it was given in its answers, as written or encoded', async () => {
    const secret = 'p@ss wörd-9';
    rememberSecrets([secret]);
    const { app } = api();
    const res = await app.inject({ method: 'GET', url: `/jobs/${encodeURIComponent(secret)}` });
    forgetSecrets();
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.body).toContain('***');
    expect(res.body).not.toContain(secret);
    expect(res.body).not.toContain(encodeURIComponent(secret));
  });

  it('lists connections by name and kind, never their URLs', async () => {
    const { app } = api();
    const res = await app.inject({ method: 'GET', url: '/connections' });
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('127.0.0.1');
    expect(res.json().connections[0]).toEqual({ name: 'default', kind: 'redis-stream', installed: true });
  });

  it('needs the bearer token on every route but /health', async () => {
    const { app, submitted } = api('s3cret');
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/edges' })).statusCode).toBe(401);
    expect((await app.inject(post('/s2s/', s2sDict))).statusCode).toBe(401);
    expect((await app.inject(post('/s2s/', s2sDict, { authorization: 'Bearer wrong' }))).statusCode).toBe(401);
    expect(submitted).toEqual([]);
    const ok = await app.inject({ method: 'GET', url: '/edges', headers: { authorization: 'Bearer s3cret' } });
    expect(ok.statusCode).toBe(200);
    // Every registered system, and every ordered pair of them, whatever systems ship.
    expect(ok.json().edges).toHaveLength(installedConnectors.length ** 2);
    expect(ok.json().systems).toEqual(
      installedConnectors.map(({ letter, kind, title, holds }) => ({ letter, kind, title, holds, installed: true })),
    );
    expect(ok.json().systems).toEqual(
      expect.arrayContaining([
        { letter: 'S', kind: 'redis-stream', title: 'Redis Streams', holds: 'stream', installed: true },
        { letter: 'Q', kind: 'rabbitmq', title: 'RabbitMQ', holds: 'stream', installed: true },
        { letter: 'M', kind: 'mongo', title: 'MongoDB', holds: 'store', installed: true },
        { letter: 'C', kind: 'clickhouse', title: 'ClickHouse', holds: 'store', installed: true },
      ]),
    );
    expect(ok.json().edges.find((e: { name: string }) => e.name === 'M2C')).toMatchObject({
      allowed: false,
      installed: false,
    });
  });

  it('refuses a body over the limit', async () => {
    const { app } = api();
    const res = await app.inject(
      post('/flows', { source: { stream: 'a'.repeat(2 * 1024 * 1024) }, sink: { stream: 'b' } }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBeTypeOf('string');
  });

  it('serves an OpenAPI document naming every route', async () => {
    const { app } = api();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/s2s/',
        '/flows',
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/cancel',
        '/schedules',
        '/metrics',
        '/health',
      ]),
    );
    // The systems' kinds and letters are the registry's.
    expect(doc.components.schemas.Connection.properties.kind.enum).toEqual(installedConnectors.map((c) => c.kind));
    expect(doc.components.schemas.Connection.properties.kind.enum).toEqual(
      expect.arrayContaining(['redis-stream', 'rabbitmq', 'mongo', 'clickhouse']),
    );
    expect(doc.components.schemas.Edge.properties.from.enum).toEqual(installedConnectors.map((c) => c.letter));
    expect(doc.info.description).toMatch(
      /^Moves data between Redis Streams, RabbitMQ, MongoDB, ClickHouse.* as jobs\.$/,
    );
  });
});
